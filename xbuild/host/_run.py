"""The one way host probing runs a program: logged, captured, bounded in time; exit codes are data.

Each program runs in its own session (process group): on a timeout or an interrupt the whole
group is killed, so a wrapper's children (a `docker run`, a qemu, a shell pipeline) never
outlive the probe that started them.
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

from xbuild.util import signals

log = logging.getLogger("xbuild.host")

_DRAIN_TIMEOUT = 2.0  # after the kill: a daemonised grandchild may still hold the pipes open
# Process groups running now: pid -> Popen (plain dict ops are atomic, safe from a signal handler).
_RUNNING: dict[int, subprocess.Popen[str]] = {}


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


def kill_group(proc: subprocess.Popen[str]) -> None:
    """Kill the program's whole process group (its children too), and reap the program."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)


def _kill_group_on_exit(proc: subprocess.Popen[str]) -> None:
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


signals.on_interrupt("host probes", stop_all)


def tail(text: str, lines: int = 5) -> str:
    """The last lines of a program's output, for error messages."""
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return "\n".join(kept)
