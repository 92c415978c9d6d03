"""Minimum OS versions, API levels, Pyodide ABIs and per-CPU manylinux levels, read from
`targets/platforms.toml` (rules as data: uv's defaults live there, not in code)."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from xbuild.errors import InputError
from xbuild.target.arch import Arch
from xbuild.target.model import OS, PyodideABI

_VERSION = re.compile(r"^\d+(\.\d+)*$")


@dataclass(frozen=True, kw_only=True)
class LinuxTriple:
    """A `<cpu>-unknown-linux-gnu` triple and the manylinux level it means."""

    triple: str
    arch: Arch
    manylinux: tuple[int, int]


@dataclass(frozen=True, kw_only=True)
class PlatformDefaults:
    ios_min: tuple[int, int]
    ios_env: str
    android_api: int
    android_env: str
    pyodide: tuple[PyodideABI, ...]
    linux: tuple[LinuxTriple, ...]
    builders: dict[OS, str]  # what builds wheels for a family no container or emulator can

    def pyodide_by_year(self, year: int) -> PyodideABI | None:
        return next((p for p in self.pyodide if p.abi[0] == year), None)

    def pyodide_by_tag(
        self, abi: tuple[int, int] | None = None, emscripten: tuple[int, ...] = ()
    ) -> PyodideABI | None:
        """The Pyodide ABI a `pyodide_Y_N_wasm32` or `emscripten_X_Y_Z_wasm32` tag names."""
        return next((p for p in self.pyodide if p.abi == abi or p.emscripten == emscripten), None)

    def builder(self, os_: OS) -> str | None:
        """The tool that builds wheels for an OS xbuild has no route to, else None."""
        return self.builders.get(os_)

    def linux_triple(self, text: str) -> LinuxTriple | None:
        return next((t for t in self.linux if t.triple == text), None)


def defaults_file() -> Path:
    """The shipped file: XBUILD_TARGETS_DIR swaps named targets, never these platform facts."""
    return Path(__file__).resolve().parent.parent / "data" / "targets" / "platforms.toml"


@cache
def load_defaults(path: Path | None = None) -> PlatformDefaults:
    source = path or defaults_file()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read platform defaults {source}: {exc}") from exc
    try:
        return _parse(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(
            f"{source}: bad platform defaults ({exc!r})",
            hint="see the comments in targets/platforms.toml for the expected tables",
        ) from exc


def _parse(data: dict[str, Any]) -> PlatformDefaults:
    ios, android = data["ios"], data["android"]
    return PlatformDefaults(
        ios_min=_pair(ios["minimum"]),
        ios_env=str(ios["env"]),
        android_api=int(android["api_level"]),
        android_env=str(android["env"]),
        pyodide=tuple(
            PyodideABI(
                abi=_pair(item["abi"]),
                python=_pair(item["python"]),
                emscripten=_triple(item["emscripten"]),
            )
            for item in data["pyodide"]
        ),
        builders={
            OS.IOS: str(ios["builder"]),
            OS.ANDROID: str(android["builder"]),
            OS.EMSCRIPTEN: str(data["pyodide-build"]["builder"]),
        },
        linux=tuple(
            LinuxTriple(
                triple=str(item["triple"]), arch=Arch(item["arch"]), manylinux=_pair(item["manylinux"])
            )
            for item in data["linux"]
        ),
    )


def _numbers(text: object, count: int) -> tuple[int, ...]:
    if not isinstance(text, str) or not _VERSION.match(text) or text.count(".") != count - 1:
        raise ValueError(f"expected a {count}-part dotted version, got {text!r}")
    return tuple(int(part) for part in text.split("."))


def _pair(text: object) -> tuple[int, int]:
    major, minor = _numbers(text, 2)
    return major, minor


def _triple(text: object) -> tuple[int, int, int]:
    major, minor, micro = _numbers(text, 3)
    return major, minor, micro
