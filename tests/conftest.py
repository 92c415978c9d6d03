"""Shared fixtures. The index server lives in tests/support so other suites can reuse it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.index_server import IndexServer


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    """A running loopback index serving the distributions put into `index_server.dist_dir`."""
    with IndexServer(tmp_path / "index-dists") as server:
        yield server


def _engine_problem() -> str | None:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=5)
    except DockerException as exc:
        return f"no Docker engine ({exc})"
    try:
        client.ping()
    except DockerException as exc:
        return f"Docker engine does not answer ({exc})"
    finally:
        client.close()
    return None


def _unavailable(reason: str) -> None:
    """Skip with the reason on a developer machine; under CI=true a missing engine fails the run."""
    import os

    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must exercise the real routes (run scripts/setup-engine.sh)")
    pytest.skip(f"{reason}: run scripts/setup-engine.sh as root to enable")


@pytest.fixture(scope="session")
def docker_engine() -> None:
    problem = _engine_problem()
    if problem:
        _unavailable(problem)


def _image_present(name: str) -> bool:
    import docker
    from docker.errors import DockerException

    client = docker.from_env(timeout=5)
    try:
        client.images.get(name)
        return True
    except DockerException:
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def amd64_image(docker_engine: None) -> str:
    name = "xbuild-build:bullseye-amd64"
    if not _image_present(name):
        _unavailable(f"image {name} missing")
    return name


@pytest.fixture(scope="session")
def arm64_image(docker_engine: None) -> str:
    from pathlib import Path

    name = "xbuild-build:bullseye-arm64"
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        _unavailable("no qemu-aarch64 binfmt_misc entry")
    if not _image_present(name):
        _unavailable(f"image {name} missing")
    return name
