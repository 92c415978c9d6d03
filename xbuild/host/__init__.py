"""Host facts: what this machine can run and build, and targets taken from real interpreters.

`facts.gather()` collects them (I/O at the edge, every source injectable); the parsers in
`binfmt`, `libc` and `interpreter` are pure; `probe` runs the probe script in an interpreter.
"""

# No re-exports: importing one host module (say, the cache) must not load the probes, the
# binfmt parser and the engine client too. Import what you use from its module.
