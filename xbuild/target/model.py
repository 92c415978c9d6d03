"""The target as data: what a wheel must run on. Tags and markers derive from it, never from the host."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any, Literal, TypeVar

from packaging import tags as ptags

from xbuild.errors import UsageError
from xbuild.target.arch import Arch
from xbuild.target.pythons import newest_patch


class OS(StrEnum):
    LINUX = "linux"
    MACOS = "macos"
    WINDOWS = "windows"
    IOS = "ios"
    ANDROID = "android"
    EMSCRIPTEN = "emscripten"  # Pyodide: CPython compiled to WebAssembly

    @property
    def sys_platform(self) -> str:
        return _OS_MARKERS[self][0]

    @property
    def platform_system(self) -> str:
        return _OS_MARKERS[self][1]

    @property
    def label(self) -> str:
        """The name people use in messages: `macOS`, not `Darwin`; `Pyodide`, not `Emscripten`."""
        return _OS_MARKERS[self][2]


# (sys_platform, platform_system, label) as each OS's own CPython reports them.
_OS_MARKERS: dict[OS, tuple[str, str, str]] = {
    OS.LINUX: ("linux", "Linux", "Linux"),
    OS.MACOS: ("darwin", "Darwin", "macOS"),
    OS.WINDOWS: ("win32", "Windows", "Windows"),
    OS.IOS: ("ios", "iOS", "iOS"),
    OS.ANDROID: ("android", "Android", "Android"),
    OS.EMSCRIPTEN: ("emscripten", "Emscripten", "Pyodide"),
}


class Libc(StrEnum):
    GLIBC = "glibc"
    MUSL = "musl"
    # macOS, Windows, iOS, Android (bionic) and Emscripten: the C runtime is not a tag dimension;
    # the OS minimum (or Android API level, or Pyodide ABI) is.
    NONE = "none"


_T = TypeVar("_T")

PythonVersionSource = Literal["target", "flag", "host", "interpreter"]

# manylinux floors: x86_64/i686 go back to manylinux1 (glibc 2.5); every other arch starts at 2.17.
_GLIBC_FLOOR: dict[Arch, int] = {Arch.X86_64: 5, Arch.I686: 5}
_DEFAULT_GLIBC_FLOOR = 17
# PEP 600 legacy aliases, emitted right after their manylinux_2_N twin as packaging does.
LEGACY_MANYLINUX = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
_LEGACY_BY_MINOR = {version[1]: name for name, version in LEGACY_MANYLINUX.items()}


@dataclass(frozen=True, kw_only=True)
class PyodideABI:
    """One Pyodide platform: its ABI year, the one CPython it ships and the emscripten it was built with."""

    abi: tuple[int, int]  # (2024, 0) -> the `pyodide_2024_0_wasm32` tag
    python: tuple[int, int]
    emscripten: tuple[int, int, int]

    @property
    def triple(self) -> str:
        """uv's spelling, e.g. `wasm32-pyodide2024`."""
        return f"wasm32-pyodide{self.abi[0]}"

    @property
    def platform_tags(self) -> tuple[str, str, str]:
        """Best first: PEP 783's name for the ABI (uv prefers it), the older `pyodide_` name of the
        same ABI, then the bare emscripten tag packaging derives from `sysconfig.get_platform()`
        inside that Pyodide (uv does not take it; Pyodide's own installer does)."""
        year, patch = self.abi
        return (
            f"pyemscripten_{year}_{patch}_wasm32",
            f"pyodide_{year}_{patch}_wasm32",
            "emscripten_{}_{}_{}_wasm32".format(*self.emscripten),
        )


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
    # A free-threaded (`Py_GIL_DISABLED`) CPython: ABI `cp314t`, no `abi3`.
    free_threaded: bool = False
    macos_min: tuple[int, int] | None = None
    ios_min: tuple[int, int] | None = None
    ios_simulator: bool = False
    android_api: int | None = None
    pyodide: PyodideABI | None = None
    # A plain `linux_<arch>` tag only means "built on some Linux": accepted for host and
    # linux_* targets, never for manylinux/musllinux ones (that is how broken Lambda zips happen).
    accept_linux_tag: bool = False
    name: str | None = None
    description: str | None = None
    image: str | None = None
    spec: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.free_threaded and self.python_version < (3, 13):
            raise UsageError(
                f"free-threaded CPython starts at 3.13, not {self.python}",
                hint="use e.g. --python-version 3.14t, or drop the `t`",
            )

    @property
    def abi(self) -> str:
        return f"{self.python_tag}{'t' if self.free_threaded else ''}"

    @cached_property
    def python_full(self) -> str:
        """The patch release markers and Requires-Python see: given, else the newest of X.Y."""
        return self.python_full_version or newest_patch(self.python_version)

    @property
    def python_tag(self) -> str:
        return f"cp{self.python_version[0]}{self.python_version[1]}"

    @property
    def python(self) -> str:
        return f"{self.python_version[0]}.{self.python_version[1]}"

    def with_python(
        self,
        version: tuple[int, int],
        full: str | None,
        source: PythonVersionSource,
        *,
        free_threaded: bool | None = None,
    ) -> Target:
        """The same platform with another Python; `free_threaded=None` keeps the current build kind."""
        return replace(
            self,
            python_version=version,
            python_full_version=full,
            python_version_source=source,
            free_threaded=self.free_threaded if free_threaded is None else free_threaded,
        )

    @cached_property
    def platform_tags(self) -> tuple[str, ...]:
        """Platform tags, best first."""
        return tuple(_platforms(self))

    @cached_property
    def tags(self) -> tuple[ptags.Tag, ...]:
        """Compatible wheel tags, best first, computed by packaging from explicit arguments.

        For a free-threaded ABI packaging drops `abi3` and offers `abi3t` instead.
        """
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
        docker = self.arch.names.docker
        if docker is None:
            raise UsageError(f"{self.arch} has no container platform", hint="pick a Linux target")
        return docker

    @property
    def platform_label(self) -> str:
        """Short human name for messages, e.g. `manylinux_2_34 aarch64 cp312`."""
        return f"{self.platform_tags[0] if self.platform_tags else self.os} {self.abi}"

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 environment as the target's own CPython reports it.

        Release and version are unknowable except under Pyodide, whose emscripten fixes both.
        PEP 508 has no marker for a free-threaded build, so it shares its GIL twin's environment:
        only the wheel tags (the `t` ABI) tell them apart.
        """
        major, minor = self.python_version
        full = self.python_full
        release, version = "", ""
        if self.pyodide is not None:
            # What platform.release()/platform.version() return inside Pyodide (uv uses the same).
            release, version = ".".join(map(str, self.pyodide.emscripten)), "#1"
        return {
            "implementation_name": "cpython",
            "implementation_version": full,
            "os_name": "nt" if self.os is OS.WINDOWS else "posix",
            "platform_machine": _platform_machine(self),
            "platform_python_implementation": "CPython",
            "platform_release": release,
            "platform_system": self.os.platform_system,
            "platform_version": version,
            "python_full_version": full,
            "python_version": f"{major}.{minor}",
            "sys_platform": self.os.sys_platform,
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
            "free_threaded": self.free_threaded,
            "abi": self.abi,
            "macos_min": _dotted(self.macos_min),
            "ios_min": _dotted(self.ios_min),
            "ios_simulator": self.ios_simulator if self.os is OS.IOS else None,
            "android_api": self.android_api,
            "pyodide_abi": _dotted(self.pyodide.abi) if self.pyodide else None,
            "emscripten": ".".join(map(str, self.pyodide.emscripten)) if self.pyodide else None,
            "accept_linux_tag": self.accept_linux_tag,
            "image": self.image,
            "platform_tags": list(self.platform_tags),
        }


def _dotted(version: tuple[int, int] | None) -> str | None:
    return None if version is None else f"{version[0]}.{version[1]}"


def _spelling(target: Target, value: str | None, family: str) -> str:
    if value is None:
        raise UsageError(f"there is no {family} platform for {target.arch}")
    return value


def _platforms(target: Target) -> list[str]:
    names = target.arch.names
    if target.os is OS.MACOS:
        return list(ptags.mac_platforms(target.macos_min or (13, 0), _spelling(target, names.apple, "macOS")))
    if target.os is OS.WINDOWS:
        return [_spelling(target, names.windows_tag, "Windows")]
    if target.os is OS.IOS:
        sdk = "iphonesimulator" if target.ios_simulator else "iphoneos"
        multiarch = f"{_spelling(target, names.apple, 'iOS')}_{sdk}"
        return list(ptags.ios_platforms(_required(target.ios_min, "an iOS minimum version"), multiarch))
    if target.os is OS.ANDROID:
        abi = _spelling(target, names.android, "Android")
        return list(ptags.android_platforms(_required(target.android_api, "an Android API level"), abi))
    if target.os is OS.EMSCRIPTEN:
        if target.pyodide is None:
            raise UsageError("an Emscripten target needs its Pyodide ABI", hint="use wasm32-pyodide2024")
        return list(target.pyodide.platform_tags)
    return _linux_platforms(target)


def _required(value: _T | None, what: str) -> _T:
    # parse_target always fills these from targets/platforms.toml; a hand-built Target may not.
    if value is None:
        raise UsageError(f"the target lacks {what}", hint="build targets with parse_target")
    return value


def _platform_machine(target: Target) -> str:
    """platform.machine() there: Windows and Apple spell it their way, the rest report uname."""
    names = target.arch.names
    if target.os is OS.WINDOWS:
        return _spelling(target, names.windows_machine, "Windows")
    if target.os in (OS.MACOS, OS.IOS):
        return _spelling(target, names.apple, "Apple")
    return str(target.arch)


def _linux_platforms(target: Target) -> list[str]:
    arch = str(target.arch)
    plats: list[str] = []
    if target.libc is Libc.GLIBC and target.libc_version is not None:
        floor = _GLIBC_FLOOR.get(target.arch, _DEFAULT_GLIBC_FLOOR)
        for minor in range(target.libc_version[1], floor - 1, -1):
            plats.append(f"manylinux_2_{minor}_{arch}")
            if minor in _LEGACY_BY_MINOR:
                plats.append(f"{_LEGACY_BY_MINOR[minor]}_{arch}")
    elif target.libc is Libc.MUSL and target.libc_version is not None:
        plats.extend(f"musllinux_1_{m}_{arch}" for m in range(target.libc_version[1], -1, -1))
    if target.accept_linux_tag or target.libc_version is None:
        plats.append(f"linux_{arch}")
    return plats
