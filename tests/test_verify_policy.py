"""manylinux/musllinux policies come from auditwheel's JSON, looked up by (libc, version, arch)."""

from __future__ import annotations

import json
from importlib import resources

import pytest

from xbuild.target import Libc, parse_target
from xbuild.verify.policy import is_loader, load_policies


def _auditwheel(filename: str) -> list[dict[str, object]]:
    data = json.loads(resources.files("auditwheel.policy").joinpath(filename).read_text())
    assert isinstance(data, list)
    return data


def test_every_auditwheel_policy_and_arch_is_loaded() -> None:
    policies = load_policies()
    for filename, libc in (("manylinux-policy.json", Libc.GLIBC), ("musllinux-policy.json", Libc.MUSL)):
        for raw in _auditwheel(filename):
            if raw["name"] == "linux":
                continue
            versions = raw["symbol_versions"]
            assert isinstance(versions, dict)
            for arch in versions:
                major, minor = str(raw["name"]).split("_")[1:]
                policy = policies.lookup(libc, (int(major), int(minor)), arch)
                assert policy is not None, (raw["name"], arch)
                whitelist = raw["lib_whitelist"]
                assert isinstance(whitelist, list)
                assert policy.lib_whitelist >= set(whitelist)


def test_symbol_versions_are_auditwheels_not_copied() -> None:
    raw = next(p for p in _auditwheel("manylinux-policy.json") if p["name"] == "manylinux_2_17")
    versions = raw["symbol_versions"]
    assert isinstance(versions, dict)
    expected = {f"{prefix}_{v}" for prefix, vs in versions["x86_64"].items() for v in vs}
    policy = load_policies().for_tag("manylinux2014_x86_64")
    assert policy is not None
    assert policy.symbol_versions == expected


@pytest.mark.parametrize(
    ("tag", "name", "version"),
    [
        ("manylinux2014_x86_64", "manylinux_2_17", (2, 17)),
        ("manylinux_2_17_aarch64", "manylinux_2_17", (2, 17)),
        ("manylinux1_i686", "manylinux_2_5", (2, 5)),
        ("manylinux2010_x86_64", "manylinux_2_12", (2, 12)),
        ("musllinux_1_2_aarch64", "musllinux_1_2", (1, 2)),
    ],
)
def test_for_tag(tag: str, name: str, version: tuple[int, int]) -> None:
    policy = load_policies().for_tag(tag)
    assert policy is not None
    assert (policy.name, policy.version, policy.tag.endswith(tag.rsplit("_", 1)[-1])) == (name, version, True)


@pytest.mark.parametrize(
    "tag", ["linux_x86_64", "macosx_11_0_arm64", "win_amd64", "manylinux_2_30_x86_64", "any"]
)
def test_for_tag_without_policy(tag: str) -> None:
    assert load_policies().for_tag(tag) is None


def test_allows_version() -> None:
    policy = load_policies().for_tag("manylinux2014_x86_64")
    assert policy is not None
    assert policy.allows_version("GLIBC_2.17")
    assert policy.allows_version("GLIBC_2.2.5")
    assert not policy.allows_version("GLIBC_2.18")
    assert not policy.allows_version("GLIBC_PRIVATE")
    assert policy.allows_version("GLIBCXX_3.4.19")
    assert not policy.allows_version("GLIBCXX_3.4.20")
    assert not policy.allows_version("CXXABI_1.3.8")
    assert policy.allows_version("GFORTRAN_8")  # not a prefix the policy governs


def test_allows_library() -> None:
    policy = load_policies().for_tag("manylinux_2_28_x86_64")
    assert policy is not None
    assert policy.allows_library("libc.so.6")
    assert policy.allows_library("ld-linux-x86-64.so.2")
    assert not policy.allows_library("libssl.so.3")
    assert not policy.allows_library("libpython3.12.so.1.0")


def test_musl_allow_list_names_both_sonames() -> None:
    policy = load_policies().for_tag("musllinux_1_2_x86_64")
    assert policy is not None
    assert policy.allows_library("libc.so")
    assert policy.allows_library("libc.musl-x86_64.so.1")
    arm = load_policies().for_tag("musllinux_1_1_i686")
    assert arm is not None and arm.allows_library("libc.musl-x86.so.1")


def test_nearest_is_conservative_between_known_versions() -> None:
    policies = load_policies()
    nearest = policies.nearest(Libc.GLIBC, (2, 30), "x86_64")
    assert nearest is not None and nearest.version == (2, 28)
    assert policies.nearest(Libc.GLIBC, (2, 16), "aarch64") is None
    newest = policies.nearest(Libc.GLIBC, (2, 99), "x86_64")
    assert newest is not None and newest.version >= (2, 41)


def test_for_target() -> None:
    policies = load_policies()
    lam = policies.for_target(parse_target("aws-lambda-python3.12-arm64"))
    assert lam is not None and lam.tag == "manylinux_2_34_aarch64"
    assert policies.for_target(parse_target("macosx_11_0_arm64", python_version="3.12")) is None
    assert policies.for_target(parse_target("linux_x86_64", python_version="3.12")) is None


def test_blacklist_is_loaded() -> None:
    policy = load_policies().for_tag("manylinux_2_28_x86_64")
    assert policy is not None
    assert "_dist_code" in policy.blacklisted_symbols("libz.so.1")
    assert policy.blacklisted_symbols("libc.so.6") == frozenset()


@pytest.mark.parametrize(
    ("name", "loader"),
    [
        ("ld-linux-x86-64.so.2", True),
        ("ld-linux-aarch64.so.1", True),
        ("ld64.so.2", True),
        ("ld-musl-x86_64.so.1", True),
        ("libc.so.6", False),
        ("ld-evil.so", False),
    ],
)
def test_is_loader(name: str, loader: bool) -> None:
    assert is_loader(name) is loader
