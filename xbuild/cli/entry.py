"""The console script. An unchanged offline `plan` is replayed from its record before the CLI
(typer, rich, the planner) is even imported; every other command line goes to `cli.main`."""

from __future__ import annotations

import sys

from xbuild.cli import replay


def run() -> None:
    argv = sys.argv[1:]
    if replay.eligible(argv):
        try:
            code = replay.replay(argv)
        except KeyboardInterrupt:
            sys.stderr.write("interrupted\n")
            sys.exit(130)
        except OSError as exc:  # stdout or stderr closed under us (a pipe reader that quit)
            sys.stderr.write(f"ERROR cannot write the output: {exc.strerror}\n")
            sys.exit(1)
        if code is not None:
            sys.exit(code)
    # Imported here, not at the top: this is what the replay saves (start-up), not a cycle.
    from xbuild.cli.main import run as run_cli

    run_cli()
