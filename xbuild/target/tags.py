"""Wheel platform tags, decoded: the one parser target parsing, verify and policies call.

As packaging's `parse_tag`, this only reads a tag: whether a tag fits a target is
`Target.is_compatible`, and what a tag demands of binaries is verify's business.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from xbuild.target.arch import Arch
from xbuild.target.model import LEGACY_MANYLINUX, OS, Libc


class Family(StrEnum):
    ANY = "any"
    MANYLINUX = "manylinux"  # PEP 600 and its legacy aliases (manylinux1, 2010, 2014)
    MUSLLINUX = "musllinux"
    LINUX = "linux"  # plain linux_<arch>: built on some Linux, no promise
    MACOS = "macos"
    WINDOWS = "windows"
    IOS = "ios"
    ANDROID = "android"
    PYODIDE = "pyodide"  # pyodide_Y_N_wasm32 and PEP 783's pyemscripten_Y_N_wasm32
    EMSCRIPTEN = "emscripten"  # the bare emscripten_X_Y_Z_wasm32 packaging derives
    OTHER = "other"  # a spelling none of the above knows

    @property
    def os(self) -> OS | None:
        return _FAMILY_OS.get(self)

    @property
    def libc(self) -> Libc | None:
        return {Family.MANYLINUX: Libc.GLIBC, Family.MUSLLINUX: Libc.MUSL}.get(self)


_FAMILY_OS = {
    Family.MANYLINUX: OS.LINUX,
    Family.MUSLLINUX: OS.LINUX,
    Family.LINUX: OS.LINUX,
    Family.MACOS: OS.MACOS,
    Family.WINDOWS: OS.WINDOWS,
    Family.IOS: OS.IOS,
    Family.ANDROID: OS.ANDROID,
    Family.PYODIDE: OS.EMSCRIPTEN,
    Family.EMSCRIPTEN: OS.EMSCRIPTEN,
}


@dataclass(frozen=True, kw_only=True)
class PlatformTag:
    """One platform tag's parts. `version` is what the family versions: glibc or musl (2, 17),
    the macOS or iOS minimum (11, 0), the Android API level (24,), the Pyodide ABI (2024, 0), the
    emscripten release (3, 1, 58); legacy manylinux names give their glibc version."""

    tag: str
    family: Family
    arch: str = ""  # as the tag spells it: x86_64, arm64, universal2, arm64_v8a, win_amd64's x86_64
    version: tuple[int, ...] = ()
    simulator: bool = False  # an iOS simulator tag

    @property
    def os(self) -> OS | None:
        return self.family.os

    @property
    def mac_archs(self) -> tuple[str, ...]:
        """The slices a macOS tag's arch names: a group (universal2, intel, fat, ...) or one arch."""
        return _MAC_GROUPS.get(self.arch, (self.arch,)) if self.family is Family.MACOS else ()


# What macOS multi-architecture tags hold, as packaging's mac_platforms emits them.
_MAC_GROUPS = {
    "universal2": ("x86_64", "arm64"),
    "intel": ("i386", "x86_64"),
    "fat": ("i386", "ppc"),
    "fat3": ("i386", "ppc", "x86_64"),
    "fat64": ("ppc64", "x86_64"),
    "universal": ("i386", "ppc", "ppc64", "x86_64"),
}
# Windows tags have no arch field: Arch knows its tags (win_amd64, ...); Itanium is outside Arch.
_WINDOWS_OUTSIDE_ARCH = {"win_ia64": "ia64"}
_PATTERNS: tuple[tuple[Family, re.Pattern[str]], ...] = (
    (Family.MANYLINUX, re.compile(r"^manylinux_(\d{1,9})_(\d{1,9})_(\w+)$")),
    (Family.MUSLLINUX, re.compile(r"^musllinux_(\d{1,9})_(\d{1,9})_(\w+)$")),
    (Family.LINUX, re.compile(r"^linux_(\w+)$")),
    (Family.MACOS, re.compile(r"^macosx_(\d{1,9})_(\d{1,9})_(\w+)$")),
    (Family.ANDROID, re.compile(r"^android_(\d{1,9})_(\w+)$")),
    (Family.PYODIDE, re.compile(r"^(?:pyodide|pyemscripten)_(\d{1,9})_(\d{1,9})_(wasm32)$")),
    (Family.EMSCRIPTEN, re.compile(r"^emscripten_(\d{1,9})_(\d{1,9})_(\d{1,9})_(wasm32)$")),
)
_LEGACY = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(\w+)$")
_IOS = re.compile(r"^ios_(\d{1,9})_(\d{1,9})_(\w+?)_(iphoneos|iphonesimulator)$")


def parse_platform_tag(tag: str) -> PlatformTag:
    """Decode one platform tag; a spelling no family knows is Family.OTHER, not an error."""
    if tag == "any":
        return PlatformTag(tag=tag, family=Family.ANY)
    if windows := Arch.from_name(tag, lambda n: n.windows_tag):
        return PlatformTag(tag=tag, family=Family.WINDOWS, arch=str(windows))
    if tag in _WINDOWS_OUTSIDE_ARCH:
        return PlatformTag(tag=tag, family=Family.WINDOWS, arch=_WINDOWS_OUTSIDE_ARCH[tag])
    if m := _LEGACY.match(tag):
        version = LEGACY_MANYLINUX[m.group(1)]
        return PlatformTag(tag=tag, family=Family.MANYLINUX, arch=m.group(2), version=version)
    if m := _IOS.match(tag):
        major, minor, arch, sdk = m.groups()
        version = (int(major), int(minor))
        return PlatformTag(
            tag=tag, family=Family.IOS, arch=arch, version=version, simulator=sdk == "iphonesimulator"
        )
    for family, pattern in _PATTERNS:
        if m := pattern.match(tag):
            *numbers, arch = m.groups()
            return PlatformTag(tag=tag, family=family, arch=arch, version=tuple(int(n) for n in numbers))
    return PlatformTag(tag=tag, family=Family.OTHER)
