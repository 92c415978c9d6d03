"""WebAssembly modules: the magic, the version, and Emscripten's dynamic-linking section.

Pyodide loads an extension module as an Emscripten side module: a wasm binary whose first
section is the custom section `dylink.0` (`dylink` before Emscripten 2.0.25) carrying its memory
needs and the side modules it loads first. Only that first section is read, so a 50 MB module
costs as little as a 1 KB one (the tool-conventions DynamicLinking.md puts it first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Final

from xbuild.binary._read import MAX_IMPORTS, BinaryParseError, check_count, check_span, decode
from xbuild.binary.magic import WASM_MAGIC, BinaryFormat

_CUSTOM_SECTION: Final = 0
_DYLINK_NAMES: Final = ("dylink.0", "dylink")
_DYLINK_NEEDED: Final = 2  # WASM_DYLINK_NEEDED subsection of dylink.0
_MAX_LEB_BYTES: Final = 5  # a u32 takes at most 5 LEB128 bytes


@dataclass(frozen=True, kw_only=True, slots=True)
class WasmInfo:
    """One wasm module. `dylink` names its dynamic-linking section, None when it is no side module."""

    FORMAT: ClassVar[BinaryFormat] = BinaryFormat.WASM

    version: int
    dylink: str | None
    needed: tuple[str, ...]  # side modules it needs (WASM_DYLINK_NEEDED), by file name
    arch: str = "wasm32"  # a memory64 module would be wasm64; no Python platform uses one


def parse_wasm(data: bytes) -> WasmInfo:
    """Read the header and, when it is Emscripten's dynamic-linking section, the first section."""
    check_span(data, 0, 8, "wasm header")
    if data[:4] != WASM_MAGIC:
        raise BinaryParseError(f"not WebAssembly: magic is {data[:4]!r}")
    version = int.from_bytes(data[4:8], "little")
    if version != 1:
        raise BinaryParseError(f"wasm binary version {version} is not 1")
    if len(data) == 8 or data[8] != _CUSTOM_SECTION:
        return WasmInfo(version=version, dylink=None, needed=())
    size, at = _leb(data, 9, "first section size")
    end = at + size
    check_span(data, at, size, "first section")
    name, at = _name(data, at, end, "custom section name")
    if name not in _DYLINK_NAMES:
        return WasmInfo(version=version, dylink=None, needed=())
    needed = _needed(data, at, end) if name == "dylink.0" else ()
    return WasmInfo(version=version, dylink=name, needed=needed)


def _needed(data: bytes, at: int, end: int) -> tuple[str, ...]:
    """The WASM_DYLINK_NEEDED subsection's names; the other subsections are skipped."""
    while at < end:
        kind = data[at]
        size, at = _leb(data, at + 1, "dylink.0 subsection size")
        if at + size > end:
            raise BinaryParseError(f"dylink.0 subsection runs past its section end {end}")
        if kind == _DYLINK_NEEDED:
            count, pos = _leb(data, at, "needed count")
            check_count(count, MAX_IMPORTS, "dylink.0 needed list")
            names = []
            for _ in range(count):
                name, pos = _name(data, pos, at + size, "needed module name")
                names.append(name)
            return tuple(names)
        at += size
    return ()


def _name(data: bytes, at: int, end: int, what: str) -> tuple[str, int]:
    size, at = _leb(data, at, what)
    if at + size > end:
        raise BinaryParseError(f"{what} runs past the end of its section at {end}")
    return decode(data[at : at + size]), at + size


def _leb(data: bytes, at: int, what: str) -> tuple[int, int]:
    """An unsigned LEB128 u32 at `at`, and the offset after it."""
    value = 0
    for i in range(_MAX_LEB_BYTES):
        check_span(data, at + i, 1, what)
        byte = data[at + i]
        value |= (byte & 0x7F) << (7 * i)
        if not byte & 0x80:
            return value, at + i + 1
    raise BinaryParseError(f"{what} at offset {at} is not a valid LEB128 number")
