"""Pre-releases by PEP 440 and uv's modes, judged through the planner on a loopback index."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_wheel

from xbuild.errors import RefusedError
from xbuild.index import IndexClient
from xbuild.plan.inputs import collect_inputs
from xbuild.plan.model import PrereleaseMode
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine=None,
                 emulated_arches=frozenset(), pythons=frozenset())
TARGET = parse_target("x86_64-manylinux_2_28", python_version="3.12", environ={})
Mode = PrereleaseMode


@pytest.fixture
def client(index_server: IndexServer) -> Iterator[IndexClient]:
    with quick_client([index_server.index_url], cache=None) as c:
        yield c


def versions(client: IndexClient, reqs: list[str], mode: Mode) -> dict[str, str]:
    p = make_plan(collect_inputs(reqs), TARGET, client, host=HOST, prerelease=mode)
    assert p.to_json()["prerelease"] == str(mode)
    return {d.name: d.version for d in p.distributions}


def releases(dists: Path, name: str, *found: str) -> None:
    for version in found:
        make_wheel(dists, name, version)


def test_only_pre_releases_fall_back_by_default(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "app", "1.0", requires_dist=["early"])
    releases(index_server.dist_dir, "early", "0.1a1", "0.2b3")
    for mode in (Mode.IF_NECESSARY, Mode.IF_NECESSARY_OR_EXPLICIT, Mode.ALLOW):
        assert versions(client, ["app"], mode)["early"] == "0.2b3"


@pytest.mark.parametrize(
    ("mode", "requirement", "expected"),
    [
        # A final release exists: only `allow` or an explicit pre-release specifier reach past it.
        (Mode.DISALLOW, "pkg", "1.0"),
        (Mode.ALLOW, "pkg", "2.0rc1"),
        (Mode.IF_NECESSARY, "pkg", "1.0"),
        (Mode.EXPLICIT, "pkg", "1.0"),
        (Mode.IF_NECESSARY_OR_EXPLICIT, "pkg", "1.0"),
        # `>=1.0rc1` names a pre-release: explicit modes opt the package in, the others do not.
        (Mode.IF_NECESSARY, "pkg>=1.0rc1", "1.0"),
        (Mode.EXPLICIT, "pkg>=1.0rc1", "2.0rc1"),
        (Mode.IF_NECESSARY_OR_EXPLICIT, "pkg>=1.0rc1", "2.0rc1"),
        # Only a pre-release satisfies `>=2.0rc1`: the fallback (or the explicit opt-in) takes it.
        (Mode.IF_NECESSARY, "pkg>=2.0rc1", "2.0rc1"),
        (Mode.EXPLICIT, "pkg>=2.0rc1", "2.0rc1"),
        (Mode.IF_NECESSARY_OR_EXPLICIT, "pkg>=2.0rc1", "2.0rc1"),
        (Mode.ALLOW, "pkg==1.0", "1.0"),
    ],
)
def test_every_mode(
    index_server: IndexServer, client: IndexClient, mode: Mode, requirement: str, expected: str
) -> None:
    releases(index_server.dist_dir, "pkg", "0.9", "1.0", "2.0rc1")
    assert versions(client, [requirement], mode) == {"pkg": expected}


@pytest.mark.parametrize("mode", [Mode.DISALLOW, Mode.EXPLICIT])
def test_modes_without_fallback_explain_the_pre_releases(
    index_server: IndexServer, client: IndexClient, mode: Mode
) -> None:
    make_wheel(index_server.dist_dir, "app", "1.0", requires_dist=["early>=0.1a1"])
    releases(index_server.dist_dir, "early", "0.1a1", "0.2b3")
    with pytest.raises(RefusedError) as info:
        versions(client, ["app"], mode)
    assert f"early 0.2b3, 0.1a1: a pre-release, not allowed under --prerelease {mode}" in info.value.message
    assert info.value.hint is not None and "--prerelease allow" in info.value.hint


def test_disallow_refuses_even_an_explicit_pin(index_server: IndexServer, client: IndexClient) -> None:
    releases(index_server.dist_dir, "pkg", "1.0", "2.0rc1")
    assert versions(client, ["pkg==2.0rc1"], Mode.IF_NECESSARY_OR_EXPLICIT) == {"pkg": "2.0rc1"}
    with pytest.raises(RefusedError, match=r"pkg 2\.0rc1: a pre-release"):
        versions(client, ["pkg==2.0rc1"], Mode.DISALLOW)
