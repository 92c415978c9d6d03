"""A killed run's containers are removed by the next run, whatever that run does: here one
whose plan only downloads a wheel, so it never loads the container machinery itself."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.packages import make_wheel

from xbuild.host.engine import LABEL_RUN, docker_client

pytestmark = pytest.mark.container

DEAD_RUN = "deadrun-leftovers-test"


def test_a_wheel_only_run_removes_a_killed_runs_container(amd64_image: str, tmp_path: Path) -> None:
    cache = tmp_path / "cache [ü]"
    (cache / "runs").mkdir(parents=True)
    client = docker_client(None)
    label = {LABEL_RUN: f"{DEAD_RUN}-{os.getpid()}"}
    (cache / "runs" / f"{label[LABEL_RUN]}.lock").touch()  # a run whose lock nobody holds: dead
    client.containers.create(amd64_image, ["sleep", "600"], labels=label)
    try:
        links = tmp_path / "links"
        links.mkdir()
        make_wheel(links, "only-wheel", "1.0", files={"only_wheel/__init__.py": ""})
        env = {**os.environ, "XBUILD_CACHE_DIR": str(cache), "PYTHONPATH": os.pathsep.join(sys.path)}
        args = [
            "build",
            "only-wheel",
            "--no-index",
            "-f",
            str(links),
            "-p",
            "linux",
            "-o",
            str(tmp_path / "out"),
        ]
        run = subprocess.run(
            [sys.executable, "-m", "xbuild", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        found = client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={label[LABEL_RUN]}"})
        assert found == []
    finally:
        for handle in client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={label[LABEL_RUN]}"}):
            handle.remove(force=True)
        client.close()
