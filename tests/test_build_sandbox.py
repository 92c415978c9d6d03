"""Hostile sdists, timeouts and signals against the real engine.

A build runs untrusted code: it must not run on the host, reach the network, see what lies
beside the sdist, or leave root-owned/setuid files, links or containers behind, whatever it does
and however the run ends. Build requirements come from the real index (`network`).
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
import zipfile
from email.parser import BytesParser
from pathlib import Path

import pytest
from hostile_sdists import SECRET, make_hostile_sdist

from xbuild.build.container import LABEL_PID, LABEL_RUN, RUN_ID
from xbuild.build.orchestrate import BuildSettings, carry_out
from xbuild.cli.main import main
from xbuild.errors import ExitCode
from xbuild.host.facts import detect_build_host
from xbuild.index import IndexClient
from xbuild.index.cache import HttpCache
from xbuild.plan.inputs import Inputs, parse_requirement
from xbuild.plan.planner import make_plan
from xbuild.target import parse_target

pytestmark = [pytest.mark.network, pytest.mark.container]

PYPI = "https://pypi.org/simple"
TARGET = "debian-bullseye-x86_64"


@pytest.fixture
def cache_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    # One cache per session: build-environment wheels are downloaded once for all tests.
    root = tmp_path_factory.getbasetemp() / "xbuild-sandbox-cache"
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(root))
    return root


def _containers(label: str) -> list[object]:
    import docker

    client = docker.from_env()
    try:
        return list(client.containers.list(all=True, filters={"label": label}))
    finally:
        client.close()


def _unsafe_files(*roots: Path) -> list[Path]:
    """Setuid/setgid files and symlinks anywhere under roots: what a hostile build would plant."""
    found = []
    for root in roots:
        for path in root.rglob("*"):
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode) or st.st_mode & (stat.S_ISUID | stat.S_ISGID):
                found.append(path)
    return found


def _summary(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        return str(BytesParser().parsebytes(zf.read(name))["Summary"])


def _wheel_text(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        return "".join(zf.read(n).decode("utf-8", "replace") for n in zf.namelist())


def test_hostile_build_is_contained(amd64_image: str, cache_dir: Path, tmp_path: Path) -> None:
    links = tmp_path / "links [x] 'q'"
    marker = tmp_path / "ran-on-host"
    make_hostile_sdist(links, name="xbuild-test-hostile-build", marker=marker, static=True)
    out = tmp_path / "out dir"
    code = main(
        [
            "build",
            "xbuild-test-hostile-build==1.0",
            "-f",
            str(links),
            "--python-platform",
            TARGET,
            "-o",
            str(out),
        ]
    )
    assert code == 0
    [wheel] = sorted(out.glob("*.whl"))
    summary = _summary(wheel)
    assert "net=no" in summary
    assert "secret=none" in summary
    assert "wrote=no" in summary
    assert "uid=65534" in summary
    assert SECRET not in _wheel_text(wheel)
    assert not marker.exists()
    assert sorted(p.name for p in out.iterdir()) == sorted([wheel.name, "xbuild-manifest.json"])
    assert _unsafe_files(out, cache_dir) == []
    assert _containers(f"{LABEL_RUN}={RUN_ID}") == []
    assert not (cache_dir / "work" / RUN_ID).exists()


def test_build_timeout_is_an_engine_failure(amd64_image: str, cache_dir: Path, tmp_path: Path) -> None:
    links = tmp_path / "links"
    make_hostile_sdist(links, name="xbuild-test-sleeper", marker=tmp_path / "m", static=True, sleep=600)
    target = parse_target(TARGET)
    cache = HttpCache(cache_dir)
    with IndexClient((PYPI,), (str(links),), cache=cache) as client:
        inputs = Inputs(requirements=(parse_requirement("xbuild-test-sleeper==1.0", "test", tmp_path),))
        plan = make_plan(inputs, target, client, host=detect_build_host)
        # Warm the build environment first so that the timeout measures the build alone.
        settings = BuildSettings(out_dir=tmp_path / "out", cache_dir=cache_dir, build_timeout=40)
        started = time.monotonic()
        result = carry_out(plan, client, detect_build_host(), settings)
    elapsed = time.monotonic() - started
    assert not result.ok
    assert result.exit_code is ExitCode.ENGINE
    [failed] = result.outcomes
    assert failed.error is not None and "timed out after 40 s" in failed.error
    assert elapsed < 40 + 60  # environment download plus the grace, not the 600 s sleep
    assert _containers(f"{LABEL_RUN}={RUN_ID}") == []
    assert not list((tmp_path / "out").glob("*.whl"))


def _xbuild(args: list[str], cache_dir: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "XBUILD_CACHE_DIR": str(cache_dir), "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-m", "xbuild", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_build_step(cache_dir: Path, name: str, proc: subprocess.Popen[str]) -> None:
    """Until the sdist's setup.py says it is sleeping inside the build step."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        for log in cache_dir.glob(f"logs/*/{name}-1.0.log"):
            if "sleeping" in log.read_text(errors="replace"):
                return
        time.sleep(0.5)
    pytest.fail("the build never reached its build step")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_mid_build_leaves_nothing(amd64_image: str, tmp_path: Path, signum: signal.Signals) -> None:
    cache_dir = tmp_path / "cache"  # a cache of its own: every leftover in it is this run's
    links = tmp_path / "links"
    make_hostile_sdist(links, name="xbuild-test-sleeper", marker=tmp_path / "m", static=True, sleep=600)
    make_hostile_sdist(links, name="xbuild-test-quick", marker=tmp_path / "m", static=True)
    out = tmp_path / "out"
    proc = _xbuild(
        ["build", "xbuild-test-sleeper==1.0", "-f", str(links), "--python-platform", TARGET, "-o", str(out)],
        cache_dir,
    )
    try:
        _wait_for_build_step(cache_dir, "xbuild-test-sleeper", proc)
        assert _containers(f"{LABEL_PID}={proc.pid}")
        proc.send_signal(signum)
        sent = time.monotonic()
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert time.monotonic() - sent < 10, stderr
    assert proc.returncode == 128 + signum, stderr
    assert stderr.count("interrupted") == 1, stderr
    assert "Traceback" not in stderr
    assert _containers(f"{LABEL_PID}={proc.pid}") == []
    assert not any((cache_dir / "work").iterdir())
    assert not [p for p in tmp_path.rglob(".xbuild-*")]
    assert not list(out.glob("*")) if out.exists() else True
    # The next run uses the same cache and succeeds.
    again = _xbuild(
        ["build", "xbuild-test-quick==1.0", "-f", str(links), "--python-platform", TARGET, "-o", str(out)],
        cache_dir,
    )
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert [w.name.split("-")[0] for w in out.glob("*.whl")] == ["xbuild_test_quick"]


def test_leftovers_of_a_killed_run_are_swept(amd64_image: str, tmp_path: Path) -> None:
    """SIGKILL leaves scratch behind (nothing can run); the next run removes it."""
    cache_dir = tmp_path / "cache"
    links = tmp_path / "links"
    make_hostile_sdist(links, name="xbuild-test-sleeper", marker=tmp_path / "m", static=True, sleep=600)
    make_hostile_sdist(links, name="xbuild-test-quick", marker=tmp_path / "m", static=True)
    out = tmp_path / "out"
    proc = _xbuild(
        ["build", "xbuild-test-sleeper==1.0", "-f", str(links), "--python-platform", TARGET, "-o", str(out)],
        cache_dir,
    )
    try:
        _wait_for_build_step(cache_dir, "xbuild-test-sleeper", proc)
    finally:
        proc.kill()
        proc.communicate()
    assert any((cache_dir / "work").iterdir())
    assert list(out.glob(".xbuild-staging-*"))
    assert _containers(f"{LABEL_PID}={proc.pid}")  # a killed process cannot remove its container
    again = _xbuild(
        ["build", "xbuild-test-quick==1.0", "-f", str(links), "--python-platform", TARGET, "-o", str(out)],
        cache_dir,
    )
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert not any((cache_dir / "work").iterdir())
    assert not list(out.glob(".xbuild-*"))
    assert _containers(f"{LABEL_PID}={proc.pid}") == []


def test_signals_at_random_moments_leave_nothing(amd64_image: str, tmp_path: Path) -> None:
    """INT or TERM at ten moments spread over planning (metadata in a container), downloads,
    container start, environment install and the build itself; then a run on the same cache."""
    import random

    cache_dir = tmp_path / "cache"
    links = tmp_path / "links"
    make_hostile_sdist(links, name="xbuild-test-slow-dynamic", marker=tmp_path / "m", static=False, sleep=600)
    make_hostile_sdist(links, name="xbuild-test-quick", marker=tmp_path / "m", static=True)
    out = tmp_path / "out"
    moments = sorted(random.Random(15).uniform(1.5, 30.0) for _ in range(10))
    for n, delay in enumerate(moments):
        signum = (signal.SIGINT, signal.SIGTERM)[n % 2]
        proc = _xbuild(
            [
                "build",
                "xbuild-test-slow-dynamic==1.0",
                "-f",
                str(links),
                "--python-platform",
                TARGET,
                "-o",
                str(out),
            ],
            cache_dir,
        )
        time.sleep(delay)
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signum)
        sent = time.monotonic()
        try:
            _, stderr = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        where = f"signal {signum.name} after {delay:.1f} s"
        assert time.monotonic() - sent < 10, where
        assert proc.returncode == 128 + signum, f"{where}: {stderr}"
        assert "Traceback" not in stderr, f"{where}: {stderr}"
        assert _containers(f"{LABEL_PID}={proc.pid}") == [], where
        assert not any((cache_dir / "work").glob("*/*")), where
        assert not list(tmp_path.rglob(".xbuild-*")), where
    again = _xbuild(
        ["build", "xbuild-test-quick==1.0", "-f", str(links), "--python-platform", TARGET, "-o", str(out)],
        cache_dir,
    )
    _, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr


def test_project_directory_is_copied_not_mounted(amd64_image: str, cache_dir: Path, tmp_path: Path) -> None:
    """A local project builds from a copy of itself: its parent's secret and its venv stay out."""
    parent = tmp_path / "home [x] 'q'"
    project = parent / "proj ü"
    (project / "xbuild_test_proj").mkdir(parents=True)
    (project / "xbuild_test_proj" / "__init__.py").write_text("")
    (project / ".venv").mkdir()
    (project / ".venv" / "big.bin").write_bytes(b"\0" * 1024)
    (parent / "secret.txt").write_text(SECRET, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        '[project]\nname = "xbuild-test-proj"\nversion = "1.0"\n'
        "[tool.setuptools.package-data]\n'*' = ['../../secret.txt', '*.txt']\n",
        encoding="utf-8",
    )
    os.chmod(project, 0o700)  # not readable by the container's user: the copy is
    out = tmp_path / "out"
    code = main(["build", str(project), "--python-platform", TARGET, "-o", str(out)])
    assert code == 0
    [wheel] = sorted(out.glob("*.whl"))
    assert SECRET not in _wheel_text(wheel)
    with zipfile.ZipFile(wheel) as zf:
        assert not [n for n in zf.namelist() if ".venv" in n]
    assert _containers(f"{LABEL_RUN}={RUN_ID}") == []
