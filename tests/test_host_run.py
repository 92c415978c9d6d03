"""The subprocess chokepoint, build face (`call`): a timeout is exit 3 and kills the whole group."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from xbuild.errors import EngineError, ExitCode
from xbuild.host._run import call


def test_timeout_kills_the_group_and_is_exit_3(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild pid"
    started = time.monotonic()
    with pytest.raises(EngineError, match="timed out") as info:
        call(
            ["sh", "-c", f"sleep 60 & echo $! > '{pid_file}'; wait"],
            log_path=tmp_path / "log",
            timeout=1,
            what="sleepy step",
        )
    assert info.value.exit_code is ExitCode.ENGINE
    assert time.monotonic() - started < 10
    grandchild = int(pid_file.read_text())
    time.sleep(0.2)
    assert _gone(grandchild)


def _gone(pid: int) -> bool:
    """Dead: no such process, or a zombie waiting for a reaper (which no longer runs)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_failure_carries_the_log_tail(tmp_path: Path) -> None:
    with pytest.raises(EngineError, match="exit 4") as info:
        call(["sh", "-c", "echo 'boom [x]'; exit 4"], log_path=tmp_path / "log", what="step")
    assert "boom [x]" in info.value.message
