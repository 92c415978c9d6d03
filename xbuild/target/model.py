"""The target as data: what a wheel must run on. Tags and markers derive from it, never from the host."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal

from packaging import tags as ptags

from xbuild.target.pythons import newest_patch


class OS(StrEnum):
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"


class Arch(StrEnum):
    X86_64 = "x86_64"
    AARCH64 = "aarch64"
    I686 = "i686"
    ARMV7L = "armv7l"
    PPC64LE = "ppc64le"
    S390X = "s390x"
    RISCV64 = "riscv64"


class Libc(StrEnum):
    GLIBC = "glibc"
    MUSL = "musl"
    NONE = "none"  # macOS and Windows: the C runtime is not a tag dimension


PythonVersionSource = Literal["target", "flag", "host", "interpreter"]

# manylinux floors: x86_64/i686 go back to manylinux1 (glibc 2.5); every other arch starts at 2.17.
_GLIBC_FLOOR: dict[Arch, int] = {Arch.X86_64: 5, Arch.I686: 5}
_DEFAULT_GLIBC_FLOOR = 17
# PEP 600 legacy aliases, emitted right after their manylinux_2_N twin as packaging does.
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}

_MACOS_ARCH = {Arch.X86_64: "x86_64", Arch.AARCH64: "arm64"}
_WINDOWS_PLATFORM = {Arch.X86_64: "win_amd64", Arch.AARCH64: "win_arm64", Arch.I686: "win32"}
_WINDOWS_MACHINE = {Arch.X86_64: "AMD64", Arch.AARCH64: "ARM64", Arch.I686: "x86"}


@dataclass(frozen=True, kw_only=True)
class Target:
    """A platform plus a Python: everything tag and marker evaluation needs, and nothing from the host."""

    os: OS
    arch: Arch
    libc: Libc
    libc_version: tuple[int, int] | None = None
    implementation: Literal["cpython"] = "cpython"
    python_version: tuple[int, int] = (3, 12)
    python_full_version: str | None = None
    python_version_source: PythonVersionSource = "flag"
    macos_min: tuple[int, int] | None = None
    # A plain `linux_<arch>` tag only means "built on some Linux": accepted for host and
    # linux_* targets, never for manylinux/musllinux ones (that is how broken Lambda zips happen).
    accept_linux_tag: bool = False
    name: str | None = None
    description: str | None = None
    image: str | None = None
    spec: str = field(default="", compare=False)

    @property
    def abi(self) -> str:
        return f"cp{self.python_version[0]}{self.python_version[1]}"

    @cached_property
    def python_full(self) -> str:
        """The patch release markers and Requires-Python see: given, else the newest of X.Y."""
        return self.python_full_version or newest_patch(self.python_version)

    @property
    def python_tag(self) -> str:
        return self.abi

    @property
    def python(self) -> str:
        return f"{self.python_version[0]}.{self.python_version[1]}"

    def with_python(self, version: tuple[int, int], full: str | None, source: PythonVersionSource) -> Target:
        return replace(self, python_version=version, python_full_version=full, python_version_source=source)

    @cached_property
    def platform_tags(self) -> tuple[str, ...]:
        """Platform tags, best first."""
        if self.os is OS.MACOS:
            return tuple(ptags.mac_platforms(self.macos_min or (13, 0), _MACOS_ARCH[self.arch]))
        if self.os is OS.WINDOWS:
            return (_WINDOWS_PLATFORM[self.arch],)
        return tuple(_linux_platforms(self))

    @cached_property
    def tags(self) -> tuple[ptags.Tag, ...]:
        """Compatible wheel tags, best first, computed by packaging from explicit arguments."""
        plats = list(self.platform_tags)
        ordered = [
            *ptags.cpython_tags(self.python_version, [self.abi], plats),
            *ptags.compatible_tags(self.python_version, self.abi, plats),
        ]
        return tuple(dict.fromkeys(ordered))

    @cached_property
    def _tag_rank(self) -> dict[ptags.Tag, int]:
        return {tag: i for i, tag in enumerate(self.tags)}

    def tag_rank(self, wheel_tags: frozenset[ptags.Tag]) -> int | None:
        """Rank of the best of a wheel's tags in this target's order (0 = best), None if incompatible.

        The one home of tag compatibility: the planner and the verifier both call it.
        """
        ranks = [self._tag_rank[t] for t in wheel_tags if t in self._tag_rank]
        return min(ranks) if ranks else None

    def is_compatible(self, wheel_tags: frozenset[ptags.Tag]) -> bool:
        return self.tag_rank(wheel_tags) is not None

    @property
    def docker_platform(self) -> str:
        return {
            Arch.X86_64: "linux/amd64",
            Arch.AARCH64: "linux/arm64",
            Arch.I686: "linux/386",
            Arch.ARMV7L: "linux/arm/v7",
            Arch.PPC64LE: "linux/ppc64le",
            Arch.S390X: "linux/s390x",
            Arch.RISCV64: "linux/riscv64",
        }[self.arch]

    @property
    def platform_label(self) -> str:
        """Short human name for messages, e.g. `manylinux_2_34 aarch64 cp312`."""
        return f"{self.platform_tags[0] if self.platform_tags else self.os} {self.abi}"

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 environment of the target; release and version are unknowable, so left empty."""
        major, minor = self.python_version
        full = self.python_full
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "nt" if self.os is OS.WINDOWS else "posix",
            "platform_machine": _platform_machine(self),
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": {OS.LINUX: "Linux", OS.MACOS: "Darwin", OS.WINDOWS: "Windows"}[self.os],
            "platform_version": "",
            "python_full_version": full,
            "python_version": f"{major}.{minor}",
            "sys_platform": {OS.LINUX: "linux", OS.MACOS: "darwin", OS.WINDOWS: "win32"}[self.os],
        }

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (schema documented in docs/json.md)."""
        return {
            "name": self.name,
            "spec": self.spec,
            "description": self.description,
            "os": str(self.os),
            "arch": str(self.arch),
            "libc": str(self.libc),
            "libc_version": _dotted(self.libc_version),
            "implementation": self.implementation,
            "python_version": self.python,
            "python_full_version": self.python_full,
            "python_version_source": self.python_version_source,
            "abi": self.abi,
            "macos_min": _dotted(self.macos_min),
            "accept_linux_tag": self.accept_linux_tag,
            "image": self.image,
            "platform_tags": list(self.platform_tags),
        }


def _dotted(version: tuple[int, int] | None) -> str | None:
    return None if version is None else f"{version[0]}.{version[1]}"


def _platform_machine(target: Target) -> str:
    if target.os is OS.WINDOWS:
        return _WINDOWS_MACHINE[target.arch]
    if target.os is OS.MACOS:
        return _MACOS_ARCH[target.arch]
    return str(target.arch)


def _linux_platforms(target: Target) -> list[str]:
    arch = str(target.arch)
    plats: list[str] = []
    if target.libc is Libc.GLIBC and target.libc_version is not None:
        floor = _GLIBC_FLOOR.get(target.arch, _DEFAULT_GLIBC_FLOOR)
        for minor in range(target.libc_version[1], floor - 1, -1):
            plats.append(f"manylinux_2_{minor}_{arch}")
            if minor in _LEGACY_MANYLINUX:
                plats.append(f"{_LEGACY_MANYLINUX[minor]}_{arch}")
    elif target.libc is Libc.MUSL and target.libc_version is not None:
        plats.extend(f"musllinux_1_{m}_{arch}" for m in range(target.libc_version[1], -1, -1))
    if target.accept_linux_tag or target.libc_version is None:
        plats.append(f"linux_{arch}")
    return plats
