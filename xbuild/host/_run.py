"""The one way host probing runs a program: logged, captured, bounded in time; exit codes are data."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

log = logging.getLogger("xbuild.host")


@dataclass(frozen=True, kw_only=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


# Tests swap this for a recording double; OSError (exec failed) and TimeoutExpired propagate.
Runner = Callable[[Sequence[str], str | None, float, Mapping[str, str] | None], Completed]


def run_capture(
    argv: Sequence[str], stdin: str | None = None, timeout: float = 10.0, env: Mapping[str, str] | None = None
) -> Completed:
    """Run `argv` with text I/O captured; OSError and subprocess.TimeoutExpired propagate."""
    log.debug("running %s", shlex.join(a if "\n" not in a else "<script>" for a in argv))
    proc = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else dict(env),
        check=False,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        encoding="utf-8",
        errors="replace",
    )
    return Completed(argv=tuple(argv), returncode=proc.returncode, stdout=proc.stdout, stderr=proc.stderr)


def tail(text: str, lines: int = 5) -> str:
    """The last lines of a program's output, for error messages."""
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(kept)
