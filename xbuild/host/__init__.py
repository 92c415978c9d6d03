"""Host facts: what this machine can run and build, and targets taken from real interpreters.

`facts.gather()` collects them (I/O at the edge, every source injectable); the parsers in
`binfmt`, `libc` and `interpreter` are pure; `probe` runs the probe script in an interpreter.
"""

from xbuild.host.binfmt import BinfmtEntry, Emulator, parse_binfmt_entry, runnable_arches
from xbuild.host.engine import EngineFacts
from xbuild.host.facts import HostFacts, gather, host_target
from xbuild.host.interpreter import (
    Environment,
    InterpreterFacts,
    classify_environment,
    require_extension_capable,
)
from xbuild.host.libc import glibc_version_from_ldd, libc_from_interpreter_path, musl_version_from_banner
from xbuild.host.probe import probe_interpreter, target_from_header, target_from_interpreter

__all__ = [
    "BinfmtEntry",
    "Emulator",
    "EngineFacts",
    "Environment",
    "HostFacts",
    "InterpreterFacts",
    "classify_environment",
    "gather",
    "glibc_version_from_ldd",
    "host_target",
    "libc_from_interpreter_path",
    "musl_version_from_banner",
    "parse_binfmt_entry",
    "probe_interpreter",
    "require_extension_capable",
    "runnable_arches",
    "target_from_header",
    "target_from_interpreter",
]
