"""Engine detection: answers, refusals and failures, always closing the client."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from xbuild.host.engine import EngineFacts, engine_name, probe_engine
from xbuild.target import Arch

VERSION = {
    "Version": "28.1.1",
    "ApiVersion": "1.49",
    "Os": "linux",
    "Arch": "arm64",
    "Platform": {"Name": "Docker Engine - Community"},
    "Components": [{"Name": "Engine"}],
}


class FakeImages:
    def images(self) -> list[dict[str, Any]]:
        return [
            {"RepoTags": ["xbuild-base:bookworm-arm64"]},
            {"RepoTags": ["<none>:<none>"]},
            {"RepoTags": None},
        ]


class FakeClient:
    def __init__(self, version: dict[str, Any] | Exception) -> None:
        self._version = version
        self.api = FakeImages()
        self.closed = False

    def version(self) -> dict[str, Any]:
        if isinstance(self._version, Exception):
            raise self._version
        return self._version

    def close(self) -> None:
        self.closed = True


def factory(client: FakeClient) -> Any:
    def make(timeout: float, environ: Mapping[str, str]) -> FakeClient:
        assert timeout <= 3.0
        return client

    return make


def test_answering_engine() -> None:
    client = FakeClient(VERSION)
    facts = probe_engine(environ={}, client_factory=factory(client))
    assert facts.available and facts.name == "Docker" and facts.version == "28.1.1"
    assert facts.arch is Arch.AARCH64 and facts.os == "linux"
    assert facts.images == frozenset({"xbuild-base:bookworm-arm64"})
    assert facts.shares_host_kernel and facts.url == "unix:///var/run/docker.sock"
    assert client.closed


def test_remote_engine_does_not_share_this_kernel() -> None:
    facts = probe_engine(
        environ={"DOCKER_HOST": "tcp://builder:2376"}, client_factory=factory(FakeClient(VERSION))
    )
    assert facts.available and not facts.shares_host_kernel and facts.url == "tcp://builder:2376"


def test_failing_engine_is_reported_and_closed() -> None:
    client = FakeClient(RuntimeError("500 Server Error"))
    facts = probe_engine(environ={"DOCKER_HOST": "tcp://x:1"}, client_factory=factory(client))
    assert not facts.available and facts.error and "500 Server Error" in facts.error
    assert client.closed


def test_client_construction_failure() -> None:
    def broken(timeout: float, environ: Mapping[str, str]) -> Any:
        raise OSError("Install paramiko package to enable ssh:// support")

    facts = probe_engine(environ={"DOCKER_HOST": "ssh://me@builder"}, client_factory=broken)
    assert not facts.available and facts.error and "paramiko" in facts.error


def test_missing_socket_is_fast_and_leaks_nothing(tmp_path: Path) -> None:
    # docker-py leaks the socket when connect() fails; the pre-check must answer first.
    start = time.monotonic()
    facts = probe_engine(environ={"DOCKER_HOST": f"unix://{tmp_path}/docker.sock"})
    assert not facts.available and facts.error == f"no socket at {tmp_path}/docker.sock"
    assert time.monotonic() - start < 1.0


def test_engine_names() -> None:
    assert engine_name(VERSION) == "Docker"
    assert engine_name({"Components": [{"Name": "Podman Engine"}]}) == "Podman"
    assert engine_name({"Platform": {"Name": "Docker Desktop 4.37.1 (178610)"}}) == "Docker Desktop"


def test_live_engine_either_way() -> None:
    """Whatever this machine has (Docker running or not), the answer comes quickly and closes cleanly."""
    start = time.monotonic()
    facts = probe_engine()
    assert time.monotonic() - start < 5.0
    assert isinstance(facts, EngineFacts)
    assert facts.available == (facts.error is None)
    if facts.available:
        assert facts.version


@pytest.mark.parametrize("flag", [True, False])
def test_to_json(flag: bool) -> None:
    facts = probe_engine(environ={}, client_factory=factory(FakeClient(VERSION)), linux_host=flag)
    data = facts.to_json()
    assert data["shares_host_kernel"] is flag and data["arch"] == "aarch64"
