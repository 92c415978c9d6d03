"""An unchanged offline plan is replayed from its record; any change to what it read runs it again.

Each test runs the installed console script in a subprocess (stdout and stderr are pipes, as in
CI), in a working directory with brackets, quotes, unicode and spaces in its name. A replay is
told apart from a real run by `-X importtime` (set through PYTHONPROFILEIMPORTTIME, the same in
both runs so the environment matches): a replay never imports typer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.index_server import IndexServer
from support.packages import make_wheel

ROOT = Path(__file__).resolve().parent.parent
XBUILD = str(Path(sys.executable).with_name("xbuild"))
TARGET = ["-p", "x86_64-manylinux_2_28", "--python-version", "3.12"]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    place = tmp_path / "proj [x] 'q' ü"
    place.mkdir()
    return place


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    for name, version in (("alpha-pkg", "1.0"), ("alpha-pkg", "1.1"), ("beta-pkg", "2.0")):
        make_wheel(index_server.dist_dir, name, version, files={f"{name.replace('-', '_')}/__init__.py": ""})
    return index_server


def run(work: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XBUILD_CACHE_DIR": str(work.parent / "cache"),
        "PYTHONPROFILEIMPORTTIME": "1",
        "NO_COLOR": "1",
        **(env or {}),
    }
    return subprocess.run(
        [XBUILD, *args], env=environ, cwd=work, capture_output=True, text=True, timeout=120, check=False
    )


def plan(
    work: Path, index: IndexServer, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run(
        work,
        "plan",
        "-r",
        "reqs [1].txt",
        *TARGET,
        "--index-url",
        index.index_url,
        "--format",
        "json",
        *extra,
        env=env,
    )


def warm(work: Path, index: IndexServer) -> None:
    """Fill the cache online, then record one offline run."""
    assert plan(work, index).returncode == 0
    assert not replayed(plan(work, index, "--offline"))


def replayed(result: subprocess.CompletedProcess[str]) -> bool:
    assert result.returncode == 0, result.stderr[-2000:]
    return "| typer" not in result.stderr


def user_err(result: subprocess.CompletedProcess[str]) -> str:
    return "".join(line for line in result.stderr.splitlines(True) if not line.startswith("import time:"))


def records(work: Path) -> list[Path]:
    folder = work.parent / "cache" / "replay"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def test_second_offline_plan_is_replayed_with_the_same_output(work: Path, index: IndexServer) -> None:
    (work / "reqs [1].txt").write_text("alpha-pkg\n")
    assert plan(work, index).returncode == 0
    first = plan(work, index, "--offline")
    second = plan(work, index, "--offline")
    assert not replayed(first) and replayed(second)
    assert second.stdout == first.stdout
    assert user_err(second) == user_err(first)
    assert '"version": "1.1"' in second.stdout


def test_a_changed_requirement_file_is_planned_again(work: Path, index: IndexServer) -> None:
    reqs = work / "reqs [1].txt"
    reqs.write_text("alpha-pkg==1.0\n")
    assert plan(work, index).returncode == 0  # both versions' metadata in the cache
    reqs.write_text("alpha-pkg\n")
    warm(work, index)
    assert replayed(plan(work, index, "--offline"))
    reqs.write_text("alpha-pkg==1.0\n")
    again = plan(work, index, "--offline")
    assert not replayed(again)
    assert '"version": "1.0"' in again.stdout


def test_a_project_config_that_appears_is_read(work: Path, index: IndexServer) -> None:
    (work / "reqs [1].txt").write_text("alpha-pkg\n")
    warm(work, index)
    assert replayed(plan(work, index, "--offline"))
    (work / "pyproject.toml").write_text('[tool.xbuild]\nsource-policy = "never"\n')
    assert not replayed(plan(work, index, "--offline"))


def test_a_changed_cache_or_environment_is_planned_again(work: Path, index: IndexServer) -> None:
    (work / "reqs [1].txt").write_text("alpha-pkg\nbeta-pkg\n")
    warm(work, index)
    assert replayed(plan(work, index, "--offline"))
    assert not replayed(plan(work, index, "--offline", env={"XBUILD_TEST_OTHER": "1"}))
    for entry in (work.parent / "cache").rglob("*"):
        if entry.is_file() and "replay" not in entry.parts:
            os.utime(entry, ns=(1, 1))
    assert not replayed(plan(work, index, "--offline"))


@pytest.mark.parametrize("extra", [[], ["-v"], ["--write-lock", "pylock.toml"]])
def test_only_a_quiet_offline_plan_that_writes_nothing_is_recorded(
    work: Path, index: IndexServer, extra: list[str]
) -> None:
    (work / "reqs [1].txt").write_text("alpha-pkg\n")
    assert plan(work, index, *extra).returncode == 0  # online: nothing recorded
    assert records(work) == []
    if extra:
        assert plan(work, index, "--offline", *extra).returncode == 0
        assert records(work) == []


def test_replay_can_be_turned_off(work: Path, index: IndexServer) -> None:
    (work / "reqs [1].txt").write_text("alpha-pkg\n")
    off = {"XBUILD_REPLAY": "0"}
    assert plan(work, index, env=off).returncode == 0
    assert not replayed(plan(work, index, "--offline", env=off))
    assert not replayed(plan(work, index, "--offline", env=off))
    assert records(work) == []


def test_a_failed_offline_plan_records_nothing_and_the_next_run_works(work: Path, index: IndexServer) -> None:
    (work / "reqs [1].txt").write_text("alpha-pkg\n")
    failed = plan(work, index, "--offline")  # empty cache: nothing to plan from
    assert failed.returncode != 0 and "Traceback" not in failed.stderr
    assert records(work) == []
    warm(work, index)
    assert replayed(plan(work, index, "--offline"))


def test_a_corrupt_record_is_ignored(work: Path, index: IndexServer) -> None:
    (work / "reqs [1].txt").write_text("alpha-pkg\n")
    warm(work, index)
    assert replayed(plan(work, index, "--offline"))
    (record,) = records(work)
    record.write_bytes(b"\x00garbage[/bold]")
    again = plan(work, index, "--offline")
    assert not replayed(again) and '"version": "1.1"' in again.stdout
