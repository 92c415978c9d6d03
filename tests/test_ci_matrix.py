"""The CI flow as a CI job runs it: the exact commands `xbuild matrix` prints, on a copy of the
C-extension example, for x86_64 (container) and aarch64 (emulated); then the gate commands."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "cext-demo"
BIN = Path(sys.executable).parent


def _shell(command: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Run the command text exactly as a CI step would: through a shell, `xbuild` found on PATH.
    return subprocess.run(
        ["bash", "-c", command], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=900
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    # A path with spaces and brackets: CI checkouts are not always tidy.
    copy = tmp_path / "ci [checkout] ü" / "cext-demo"
    shutil.copytree(EXAMPLE, copy)
    return copy


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "XBUILD_CACHE_DIR": str(tmp_path / "cache")}


def _jobs(project: Path, env: dict[str, str]) -> dict[str, dict[str, str]]:
    done = _shell("xbuild matrix --format json", project, env)
    assert done.returncode == 0, done.stderr
    return {j["target"]: j for j in json.loads(done.stdout)["jobs"]}


def _machine(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as zf:
        so = next(n for n in zf.namelist() if n.endswith(".so"))
        header = zf.read(so)[:20]
    return {62: "x86_64", 183: "aarch64"}[int.from_bytes(header[18:20], "little")]


@pytest.mark.network
@pytest.mark.container
@pytest.mark.emulation
@pytest.mark.parametrize("arch", ["x86_64", "aarch64"])
def test_matrix_commands_build_and_gate_the_projects_own_wheel(
    project: Path, env: dict[str, str], arch: str, docker_engine: None
) -> None:
    job = _jobs(project, env)[f"debian-bullseye-{arch}"]
    built = _shell(job["command"], project, env)
    assert built.returncode == 0, built.stdout + built.stderr
    # Not a terminal (as in CI): progress comes as lines while it works, not a board at the end.
    assert "started  cext-demo" in built.stderr and "finished cext-demo in" in built.stderr
    wheels = list((project / "dist" / job["target"]).glob("cext_demo-1.0.0-cp39-cp39-*.whl"))
    assert len(wheels) == 1 and _machine(wheels[0]) == arch
    assert not list((project / "dist" / job["target"]).glob("idna-*")), "--project builds the project only"
    gate = _shell(job["verify"], project, env)
    assert gate.returncode == 0, gate.stdout + gate.stderr


def test_gate_fails_when_the_projects_wheel_is_missing(project: Path, env: dict[str, str]) -> None:
    job = _jobs(project, env)["debian-bullseye-x86_64"]
    dist = project / "dist" / job["target"]
    dist.mkdir(parents=True)
    shutil.copy(EXAMPLE.parent / "wheels" / "good" / "xbuild_pure-1.0.0-py3-none-any.whl", dist)
    gate = _shell(job["verify"], project, env)
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "cext-demo" in gate.stdout + gate.stderr
