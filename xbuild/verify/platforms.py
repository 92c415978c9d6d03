"""What a wheel's platform tag claims about the binaries inside: OS, architectures, libc, versions.

This decodes single tags. Whether a tag runs on a target is not decided here: that is
`Target.is_compatible`, the one home of tag compatibility.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from xbuild.errors import UsageError
from xbuild.target import OS, Libc, Target
from xbuild.target.families import parse_family


class Family(StrEnum):
    MANYLINUX = "manylinux"
    MUSLLINUX = "musllinux"
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"
    IOS = "ios"
    ANDROID = "android"
    PYODIDE = "pyodide"  # pyodide_, pyemscripten_ and emscripten_ tags: all wasm32 Emscripten
    ANY = "any"
    OTHER = "other"  # tags of no known platform: not checked beyond the tag itself


@dataclass(frozen=True)
class PlatformClaim:
    tag: str
    family: Family
    os: OS | None
    archs: frozenset[str]  # canonical names (see canonical_arch); every binary must hold all
    libc: Libc | None = None
    libc_version: tuple[int, int] | None = None
    macos_version: tuple[int, int] | None = None
    ios_version: tuple[int, int] | None = None
    ios_simulator: bool = False
    android_api: int | None = None

    @property
    def arch_label(self) -> str:
        return "+".join(sorted(self.archs))


_ARCH_ALIASES = {
    "amd64": "x86_64",
    "x64": "x86_64",
    "arm64": "aarch64",
    "i386": "i686",
    "i586": "i686",
    "x86": "i686",
    "armv7": "armv7l",
    "arm": "armv7l",
}
_MAC_GROUPS = {
    "universal2": ("x86_64", "arm64"),
    "intel": ("i386", "x86_64"),
    "fat": ("i386", "ppc"),
    "fat3": ("i386", "ppc", "x86_64"),
    "fat64": ("ppc64", "x86_64"),
    "universal": ("i386", "ppc", "ppc64", "x86_64"),
}
_WINDOWS = {"win_amd64": "x86_64", "win32": "i686", "win_arm64": "aarch64", "win_ia64": "ia64"}
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_LEGACY_RE = re.compile(r"^(manylinux1|manylinux2010|manylinux2014)_(\w+)$")
_MUSL = re.compile(r"^musllinux_(\d+)_(\d+)_(\w+)$")
_LINUX = re.compile(r"^linux_(\w+)$")
_MACOS = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")
_EMSCRIPTEN = re.compile(r"^(pyodide|pyemscripten|emscripten)_[\d_]+_wasm32$")


def canonical_arch(name: str) -> str:
    """One spelling per architecture across ELF, Mach-O, PE and tags (arm64 -> aarch64)."""
    lowered = name.lower()
    return _ARCH_ALIASES.get(lowered, lowered)


def target_arch(target: Target) -> str:
    return canonical_arch(str(target.arch))


def decode(tag: str) -> PlatformClaim:
    """Decode one platform tag; unknown spellings become Family.OTHER rather than an error."""
    if tag == "any":
        return PlatformClaim(tag, Family.ANY, None, frozenset())
    if tag in _WINDOWS:
        return PlatformClaim(tag, Family.WINDOWS, OS.WINDOWS, frozenset({_WINDOWS[tag]}))
    if m := _MANYLINUX.match(tag):
        return _linux(tag, Family.MANYLINUX, m.group(3), Libc.GLIBC, (int(m.group(1)), int(m.group(2))))
    if m := _LEGACY_RE.match(tag):
        return _linux(tag, Family.MANYLINUX, m.group(2), Libc.GLIBC, _LEGACY[m.group(1)])
    if m := _MUSL.match(tag):
        return _linux(tag, Family.MUSLLINUX, m.group(3), Libc.MUSL, (int(m.group(1)), int(m.group(2))))
    if m := _LINUX.match(tag):
        return _linux(tag, Family.LINUX, m.group(1), None, None)
    if m := _MACOS.match(tag):
        arch = m.group(3)
        archs = frozenset(canonical_arch(a) for a in _MAC_GROUPS.get(arch, (arch,)))
        return PlatformClaim(
            tag, Family.MACOS, OS.MACOS, archs, macos_version=(int(m.group(1)), int(m.group(2)))
        )
    return _mobile_or_web(tag) or PlatformClaim(tag, Family.OTHER, None, frozenset())


def _mobile_or_web(tag: str) -> PlatformClaim | None:
    """iOS and Android tags as the target parser reads them (one decoder); any Emscripten tag,
    since a Pyodide ABI newer than xbuild's table still says "wasm32 side modules"."""
    if _EMSCRIPTEN.match(tag):
        return PlatformClaim(tag, Family.PYODIDE, OS.EMSCRIPTEN, frozenset({"wasm32"}))
    if not tag.startswith(("ios_", "android_")):
        return None
    try:
        target = parse_family(tag, {})
    except UsageError:
        return None  # e.g. an x86_64 iphoneos tag: no device runs it
    if target is None:
        return None
    archs = frozenset({target_arch(target)})
    if target.os is OS.IOS:
        return PlatformClaim(
            tag, Family.IOS, OS.IOS, archs, ios_version=target.ios_min, ios_simulator=target.ios_simulator
        )
    return PlatformClaim(tag, Family.ANDROID, OS.ANDROID, archs, android_api=target.android_api)


def _linux(
    tag: str, family: Family, arch: str, libc: Libc | None, version: tuple[int, int] | None
) -> PlatformClaim:
    return PlatformClaim(
        tag, family, OS.LINUX, frozenset({canonical_arch(arch)}), libc=libc, libc_version=version
    )
