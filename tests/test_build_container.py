"""The container context manager: commands stream to a log, failures are typed, nothing is left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbuild.build.container import RUN_ID, ContainerSpec, running
from xbuild.build.leftovers import cleanup_run
from xbuild.errors import EngineError
from xbuild.host.engine import LABEL_RUN

pytestmark = pytest.mark.container


def _ours() -> list[object]:
    import docker

    client = docker.from_env()
    try:
        return list(client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"}))
    finally:
        client.close()


def test_output_goes_to_the_log(amd64_image: str, tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    with running(ContainerSpec(image=amd64_image)) as box:
        box.call(["sh", "-c", "echo out; echo err >&2"], log_path=log, what="echo")
    text = log.read_text()
    assert "out" in text and "err" in text
    assert _ours() == []


def test_failure_is_an_engine_error_with_the_log_tail(amd64_image: str, tmp_path: Path) -> None:
    log = tmp_path / "build.log"
    with pytest.raises(EngineError, match="exit 3") as info, running(ContainerSpec(image=amd64_image)) as box:
        box.call(["sh", "-c", "echo boom; exit 3"], log_path=log, what="step")
    assert "boom" in info.value.message
    assert _ours() == []


def test_interrupt_removes_the_container(amd64_image: str) -> None:
    with pytest.raises(KeyboardInterrupt), running(ContainerSpec(image=amd64_image)):  # noqa: PT012 - the body is the scenario
        assert len(_ours()) == 1
        raise KeyboardInterrupt
    assert _ours() == []
    assert cleanup_run() == 0


def test_no_network_inside(amd64_image: str, tmp_path: Path) -> None:
    log = tmp_path / "net.log"
    with running(ContainerSpec(image=amd64_image)) as box:
        box.call(["sh", "-c", "test ! -e /sys/class/net/eth0"], log_path=log, what="no network")


def test_missing_image_says_how_to_get_it(docker_engine: None) -> None:
    with (
        pytest.raises(EngineError, match="cannot start a container") as info,
        running(ContainerSpec(image="xbuild-no-such-image:never")),
    ):
        pass
    assert info.value.hint
