"""The one subprocess chokepoint: every program xbuild runs is logged, bounded in time, and killed
with its whole process group on a timeout or an interrupt.

Two faces of the same runner: `run_capture` (host probing: output captured, the exit code is
data) and `call` (builds: output streamed to a log file, a failure is a typed EngineError).
Each program runs in its own session (process group), so a wrapper's or a build backend's
children (a `docker run`, a qemu, a compiler) never outlive the command that started them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xbuild.errors import EngineError
from xbuild.util import signals

log = logging.getLogger("xbuild.host")

_DRAIN_TIMEOUT = 2.0  # after the kill: a daemonised grandchild may still hold the pipes open
# Process groups running now: pid -> Popen (plain dict ops are atomic, safe from a signal handler).
_RUNNING: dict[int, subprocess.Popen[Any]] = {}


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
    proc = subprocess.Popen(
        list(argv),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=None if env is None else dict(env),
        text=True,
        encoding="utf-8",
        errors="replace",
        start_new_session=True,
    )
    _RUNNING[proc.pid] = proc
    # A child left running would hold the pipes open, and communicate() would wait for it.
    threading.Thread(target=_kill_group_on_exit, args=(proc,), daemon=True).start()
    try:
        stdout, stderr = proc.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        stdout, stderr = _drain(proc)
        raise subprocess.TimeoutExpired(proc.args, timeout, output=stdout, stderr=stderr) from None
    finally:
        kill_group(proc)  # what the program left running in its group goes with it
        _RUNNING.pop(proc.pid, None)
    return Completed(argv=tuple(argv), returncode=proc.returncode, stdout=stdout, stderr=stderr)


def kill_group(proc: subprocess.Popen[Any]) -> None:
    """Kill the program's whole process group (its children too), and reap the program."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _kill_group_on_exit(proc: subprocess.Popen[Any]) -> None:
    """Once the program exits, kill what it left in its group; WNOWAIT keeps its pid (the group
    id) from being reused until communicate() reaps it."""
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return
    try:
        waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
    except OSError:  # already reaped
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)


def _drain(proc: subprocess.Popen[str]) -> tuple[str, str]:
    """What the killed program wrote; a grandchild that left the group may keep the pipes open."""
    try:
        stdout, stderr = proc.communicate(timeout=_DRAIN_TIMEOUT)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        return "", ""
    return stdout or "", stderr or ""


def stop_all() -> None:
    for proc in list(_RUNNING.values()):
        kill_group(proc)


signals.on_interrupt("subprocesses", stop_all)


def tail(text: str, lines: int = 5) -> str:
    """The last lines of a program's output, for error messages."""
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(kept)


def tail_file(path: Path, lines: int = 25) -> str:
    """The last lines of a log file ("" when it cannot be read), for error messages."""
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
            kill_group(proc)  # what the command left running in its group goes with it
            _RUNNING.pop(proc.pid, None)
    signals.check()
    if code != 0:
        raise EngineError(
            f"{what} failed (exit {code}); last lines of {log_path}:\n{tail_file(log_path)}",
            hint=f"full log: {log_path}",
        )
