"""The one subprocess chokepoint: log the command, stream output to a log file, raise a typed error."""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from xbuild.errors import EngineError

log = logging.getLogger(__name__)


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
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as sink:
        sink.write(f"$ {printable}\n")
        sink.flush()
        try:
            proc = subprocess.run(
                cmd, cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout, check=False
            )
        except FileNotFoundError as exc:
            raise EngineError(f"{what}: {cmd[0]} not found", hint="install it and retry") from exc
        except subprocess.TimeoutExpired as exc:
            raise EngineError(f"{what} timed out after {timeout} s", hint=f"see {log_path}") from exc
    if proc.returncode != 0:
        raise EngineError(
            f"{what} failed (exit {proc.returncode}); last lines of {log_path}:\n{tail(log_path)}",
            hint=f"full log: {log_path}",
        )
