"""The one platform-tag decoder: every family target parsing, verify and policies read."""

from __future__ import annotations

import pytest

from xbuild.target import OS, Libc
from xbuild.target.tags import Family, PlatformTag, parse_platform_tag


@pytest.mark.parametrize(
    ("tag", "family", "arch", "version"),
    [
        ("any", Family.ANY, "", ()),
        ("win_amd64", Family.WINDOWS, "x86_64", ()),
        ("win32", Family.WINDOWS, "i686", ()),
        ("win_arm64", Family.WINDOWS, "aarch64", ()),
        ("win_ia64", Family.WINDOWS, "ia64", ()),
        ("manylinux_2_28_aarch64", Family.MANYLINUX, "aarch64", (2, 28)),
        ("manylinux2014_x86_64", Family.MANYLINUX, "x86_64", (2, 17)),
        ("manylinux2010_i686", Family.MANYLINUX, "i686", (2, 12)),
        ("manylinux1_x86_64", Family.MANYLINUX, "x86_64", (2, 5)),
        ("musllinux_1_2_armv7l", Family.MUSLLINUX, "armv7l", (1, 2)),
        ("linux_riscv64", Family.LINUX, "riscv64", ()),
        ("macosx_10_9_universal2", Family.MACOS, "universal2", (10, 9)),
        ("macosx_11_0_arm64", Family.MACOS, "arm64", (11, 0)),
        ("ios_13_0_arm64_iphoneos", Family.IOS, "arm64", (13, 0)),
        ("android_24_arm64_v8a", Family.ANDROID, "arm64_v8a", (24,)),
        ("android_21_x86", Family.ANDROID, "x86", (21,)),
        ("pyodide_2024_0_wasm32", Family.PYODIDE, "wasm32", (2024, 0)),
        ("pyemscripten_2025_0_wasm32", Family.PYODIDE, "wasm32", (2025, 0)),
        ("emscripten_3_1_58_wasm32", Family.EMSCRIPTEN, "wasm32", (3, 1, 58)),
    ],
)
def test_families(tag: str, family: Family, arch: str, version: tuple[int, ...]) -> None:
    parsed = parse_platform_tag(tag)
    assert (parsed.tag, parsed.family, parsed.arch, parsed.version) == (tag, family, arch, version)


def test_ios_simulator_and_os() -> None:
    sim = parse_platform_tag("ios_12_0_x86_64_iphonesimulator")
    assert sim == PlatformTag(tag=sim.tag, family=Family.IOS, arch="x86_64", version=(12, 0), simulator=True)
    assert sim.os is OS.IOS and not parse_platform_tag("ios_13_0_arm64_iphoneos").simulator


@pytest.mark.parametrize(
    "tag",
    [
        "",
        "manylinux_2_17",
        "macosx_11_arm64",
        "win_amd64 ",
        "manylinux_2_28_x86_64 [ü]",
        "linux",
        'lin"ux_x',
        "manylinux_2_" + "9" * 5000 + "_x86_64",  # int() would refuse it: no ValueError leaks
    ],
)
def test_unknown_spellings_are_other_not_errors(tag: str) -> None:
    parsed = parse_platform_tag(tag)
    assert parsed.family is Family.OTHER and parsed.os is None and parsed.arch == ""


def test_family_os_and_libc() -> None:
    assert (Family.MANYLINUX.os, Family.MANYLINUX.libc) == (OS.LINUX, Libc.GLIBC)
    assert (Family.MUSLLINUX.os, Family.MUSLLINUX.libc) == (OS.LINUX, Libc.MUSL)
    assert (Family.LINUX.libc, Family.PYODIDE.os, Family.ANY.os, Family.OTHER.os) == (
        None,
        OS.EMSCRIPTEN,
        None,
        None,
    )


def test_mac_groups_name_their_slices() -> None:
    assert parse_platform_tag("macosx_10_9_universal2").mac_archs == ("x86_64", "arm64")
    assert parse_platform_tag("macosx_10_4_fat64").mac_archs == ("ppc64", "x86_64")
    assert parse_platform_tag("macosx_11_0_arm64").mac_archs == ("arm64",)
    assert parse_platform_tag("manylinux_2_17_x86_64").mac_archs == ()
