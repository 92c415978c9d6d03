"""The one subprocess chokepoint: log the command, stream output to a log file, raise a typed error.

Each command runs in its own process group, so a timeout or an interrupt stops the whole tree
(compilers spawned by a build backend included), not just the direct child.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from xbuild.errors import EngineError
from xbuild.util import signals

log = logging.getLogger(__name__)

# Process groups running now: pid -> Popen (plain dict ops are atomic, safe from a signal handler).
_RUNNING: dict[int, subprocess.Popen[bytes]] = {}


def stop_all() -> None:
    for proc in list(_RUNNING.values()):
        _kill_group(proc)


signals.on_interrupt("subprocesses", stop_all)


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def call(
    cmd: Sequence[str],
    *,
    log_path: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    what: str = "command",
) -> None:
    """Run cmd with stdout+stderr appended to log_path; EngineError with the log tail on failure."""
    printable = shlex.join(cmd)
    log.debug("$ %s", printable)
    signals.check()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as sink:
        sink.write(f"$ {printable}\n")
        sink.flush()
        try:
            proc = subprocess.Popen(
                cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
            )
        except FileNotFoundError as exc:
            raise EngineError(f"{what}: {cmd[0]} not found", hint="install it and retry") from exc
        _RUNNING[proc.pid] = proc
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise EngineError(
                f"{what} timed out after {timeout:.0f} s", hint=f"raise --build-timeout, or see {log_path}"
            ) from exc
        finally:
            _kill_group(proc)
            _RUNNING.pop(proc.pid, None)
    signals.check()
    if code != 0:
        raise EngineError(
            f"{what} failed (exit {code}); last lines of {log_path}:\n{tail(log_path)}",
            hint=f"full log: {log_path}",
        )


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill what is left of the command's process group, and reap the command."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
