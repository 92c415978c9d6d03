"""The console script. An unchanged offline `plan` is replayed from its record before the CLI
(typer, rich, the planner) is even imported; every other command line goes to `cli.main`."""

from __future__ import annotations

import gc
import signal
import sys
import threading
from types import FrameType

from xbuild.cli import replay

# Commands that may fetch from an index, and the flags that mean this run will not.
_MAY_FETCH = frozenset({"plan", "build", "bundle"})
_NO_FETCH = frozenset({"--offline", "--help", "-h"})


def run() -> None:
    # A cold plan decodes megabytes of index JSON into hundreds of thousands of containers that
    # live for a moment; the default gen-0 threshold (700) ran the cycle collector over them
    # again and again, a tenth of the run's CPU. Reference counting still frees them at once;
    # the collector runs every 100,000 allocations instead (the older generations keep their ratios).
    gc.set_threshold(100_000, 10, 10)
    # Until `cli.main` traps them itself, a Ctrl-C or SIGTERM while modules load ends the process
    # with one line and 130/143, not a KeyboardInterrupt traceback or a death by signal.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _early_signal)
    try:
        _run(sys.argv[1:])
    except KeyboardInterrupt:
        _early_signal(signal.SIGINT, None)


def _run(argv: list[str]) -> None:
    if replay.eligible(argv):
        try:
            code = replay.replay(argv)
        except OSError as exc:  # stdout or stderr closed under us (a pipe reader that quit)
            sys.stderr.write(f"ERROR cannot write the output: {exc.strerror}\n")
            sys.exit(1)
        if code is not None:
            sys.exit(code)
    _preload_tls(argv)
    # Imported here, not at the top: this is what the replay saves (start-up), not a cycle.
    from xbuild.cli.main import run as run_cli

    run_cli()


def _preload_tls(argv: list[str]) -> None:
    """Start loading the TLS context now, for a run that may go online: OpenSSL parses the CA
    bundle on the other core, without the GIL, while the CLI's modules import, and the first
    request finds it ready instead of waiting for it (a cold plan's first connection waited
    10-14 ms: bench/trace_requests.py's "tls" lines). The index's Fetcher starts the same load
    for library callers; it runs once. A run that never connects spends that CPU on the other
    core; exit waits for the thread."""
    args = replay.before_dashes(argv)
    if replay.command_of(args) in _MAY_FETCH and not _NO_FETCH.intersection(args):
        threading.Thread(target=_load_tls, name="xbuild-tls-early").start()


def _load_tls() -> None:
    from xbuild.util.tls import load_quietly  # ssl and certifi: only for runs that may fetch

    load_quietly()


def _early_signal(signum: int, frame: FrameType | None) -> None:
    sys.stderr.write("interrupted\n")
    sys.exit(128 + signum)
