"""Mach-O, thin or fat: per-slice architecture, linked dylibs, rpaths and deployment target.

Only the header and load commands of each slice are read, so a member capped after its load
commands still parses; a byte that is needed and missing is reported as truncation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar, Final

from xbuild.binary._read import (
    MAX_FAT_SLICES,
    MAX_LOAD_COMMANDS,
    BinaryParseError,
    check_count,
    check_span,
    cstring,
    unpack,
)
from xbuild.binary.magic import FAT_MAGIC, FAT_MAGIC_64, THIN_MAGICS, BinaryFormat
from xbuild.target.arch import Arch

_LC_REQ_DYLD: Final = 0x80000000
_LC_ID_DYLIB: Final = 0xD
_LC_RPATH: Final = 0x1C | _LC_REQ_DYLD
_LC_VERSION_MIN_MACOSX: Final = 0x24
_LC_BUILD_VERSION: Final = 0x32
_LC_LINKED_DYLIBS: Final = frozenset(
    {
        0xC,  # LC_LOAD_DYLIB
        0x18 | _LC_REQ_DYLD,  # LC_LOAD_WEAK_DYLIB
        0x1F | _LC_REQ_DYLD,  # LC_REEXPORT_DYLIB
        0x20,  # LC_LAZY_LOAD_DYLIB
        0x23 | _LC_REQ_DYLD,  # LC_LOAD_UPWARD_DYLIB
    }
)

_CPU_ARCH_ABI64: Final = 0x01000000
_CPU_ARCH_ABI64_32: Final = 0x02000000
_CPU_TYPE_X86: Final = 7
_CPU_TYPE_ARM: Final = 12
_CPU_TYPE_POWERPC: Final = 18
_CPU_SUBTYPE_MASK: Final = 0x00FFFFFF  # the top byte carries capability bits such as PTRAUTH

_FAT_HEADER: Final = struct.Struct(">II")
_FAT_ARCH: Final = struct.Struct(">iIIII")
_FAT_ARCH_64: Final = struct.Struct(">iIQQII")
_HEADERS: Final = {order: struct.Struct(order + "IiIIIII") for order in "<>"}


class MachOPlatform(IntEnum):
    """LC_BUILD_VERSION platform numbers from <mach-o/loader.h>."""

    MACOS = 1
    IOS = 2
    TVOS = 3
    WATCHOS = 4
    BRIDGEOS = 5
    MACCATALYST = 6
    IOSSIMULATOR = 7
    TVOSSIMULATOR = 8
    WATCHOSSIMULATOR = 9
    DRIVERKIT = 10
    VISIONOS = 11
    VISIONOSSIMULATOR = 12


Version = tuple[int, int, int]


@dataclass(frozen=True, kw_only=True, slots=True)
class MachOSlice:
    """One architecture's header and load commands. Versions are (major, minor, patch)."""

    cputype: int
    cpusubtype: int
    arch: str
    filetype: int
    load_dylibs: tuple[str, ...]
    rpaths: tuple[str, ...]
    install_name: str | None
    platform: int | None  # a MachOPlatform value, or None when no version command exists
    min_os: Version | None
    sdk: Version | None

    @property
    def min_macos(self) -> Version | None:
        """The deployment target, when this slice targets macOS itself."""
        return self.min_os if self.platform == MachOPlatform.MACOS else None


@dataclass(frozen=True, kw_only=True, slots=True)
class MachOInfo:
    """A thin file is one slice with `is_fat` False."""

    FORMAT: ClassVar[BinaryFormat] = BinaryFormat.MACHO

    slices: tuple[MachOSlice, ...]
    is_fat: bool


def macho_arch(cputype: int, cpusubtype: int) -> str:
    """The arch name that macOS wheel tags and `lipo -archs` use."""
    subtype = cpusubtype & _CPU_SUBTYPE_MASK
    if cputype == _CPU_TYPE_X86 | _CPU_ARCH_ABI64 and subtype == 8:
        return "x86_64h"
    if cputype == _CPU_TYPE_ARM | _CPU_ARCH_ABI64 and subtype == 2:
        return "arm64e"
    if cputype == _CPU_TYPE_ARM:
        return _ARM32_NAMES.get(subtype, "arm")
    arch = Arch.from_macho(cputype)
    name = arch.names.macho_name if arch is not None else _OTHER_CPUS.get(cputype)
    return name or f"unknown({cputype})"


# Sub-architectures by CPU subtype, and CPUs outside xbuild.target.Arch (which names the rest).
_ARM32_NAMES: Final = {6: "armv6", 9: "armv7", 11: "armv7s", 12: "armv7k"}
_OTHER_CPUS: Final = {
    _CPU_TYPE_ARM | _CPU_ARCH_ABI64_32: "arm64_32",
    _CPU_TYPE_POWERPC: "ppc",
    _CPU_TYPE_POWERPC | _CPU_ARCH_ABI64: "ppc64",
}


def parse_macho(data: bytes) -> MachOInfo:
    """Read every slice of a thin or fat Mach-O file."""
    magic = unpack(_FAT_HEADER, data, 0, "Mach-O header")[0]
    if magic in (FAT_MAGIC, FAT_MAGIC_64):
        spans = _fat_spans(data, magic == FAT_MAGIC_64)
        return MachOInfo(slices=tuple(_slice(data, start, end) for start, end in spans), is_fat=True)
    return MachOInfo(slices=(_slice(data, 0, len(data)),), is_fat=False)


def _fat_spans(data: bytes, wide: bool) -> list[tuple[int, int]]:
    count = _FAT_HEADER.unpack_from(data, 0)[1]
    if count > MAX_FAT_SLICES:
        # CAFEBABE also opens Java class files, whose version fields read as a large count.
        raise BinaryParseError(
            f"fat header claims {count} slices, more than {MAX_FAT_SLICES} (is it a Java class file?)"
        )
    layout = _FAT_ARCH_64 if wide else _FAT_ARCH
    header_end = _FAT_HEADER.size + count * layout.size
    check_span(data, 0, header_end, "fat header")
    spans = []
    for index in range(count):
        _, _, offset, size, *_ = layout.unpack_from(data, _FAT_HEADER.size + index * layout.size)
        if offset < header_end:
            raise BinaryParseError(f"fat slice {index} at offset {offset} overlaps the fat header")
        spans.append((offset, offset + size))
    return spans


def _slice(data: bytes, start: int, end: int) -> MachOSlice:
    magic = unpack(_FAT_HEADER, data, start, "Mach-O header")[0]
    if magic not in THIN_MAGICS:
        raise BinaryParseError(f"slice at offset {start} has magic {magic:#010x}, not a thin Mach-O")
    order, bits = THIN_MAGICS[magic]
    header = _HEADERS[order]
    _, cputype, cpusubtype, filetype, ncmds, sizeofcmds, _ = unpack(header, data, start, "Mach-O header")
    check_count(ncmds, MAX_LOAD_COMMANDS, "Mach-O header")
    commands_at = start + (32 if bits == 64 else 28)
    commands_end = commands_at + sizeofcmds
    check_span(data, commands_at, sizeofcmds, "load commands")
    if commands_end > end:
        raise BinaryParseError(f"load commands end at {commands_end}, past the slice end {end}")
    reader = _Commands(data, order)
    for _ in range(ncmds):
        commands_at = reader.read(commands_at, commands_end)
    return MachOSlice(
        cputype=cputype,
        cpusubtype=cpusubtype,
        arch=macho_arch(cputype, cpusubtype),
        filetype=filetype,
        load_dylibs=tuple(reader.dylibs),
        rpaths=tuple(reader.rpaths),
        install_name=reader.install_name,
        platform=reader.platform,
        min_os=reader.min_os,
        sdk=reader.sdk,
    )


def _version(packed: int) -> Version:
    """Mach-O packs X.Y.Z as xxxx.yy.zz nibbles in one 32-bit word."""
    return (packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF)


class _Commands:
    """Accumulates what the load commands of one slice say, one command at a time."""

    def __init__(self, data: bytes, order: str) -> None:
        self.data = data
        self.words = _WORDS[order]
        self.dylibs: list[str] = []
        self.rpaths: list[str] = []
        self.install_name: str | None = None
        self.platform: int | None = None
        self.min_os: Version | None = None
        self.sdk: Version | None = None

    def read(self, at: int, end: int) -> int:
        """Read the command at `at` and return where the next one starts."""
        if at + 8 > end:
            raise BinaryParseError(f"load command at {at} runs past the load command area ending at {end}")
        cmd, size = (int(v) for v in self.words[2].unpack_from(self.data, at))
        if size < 8 or at + size > end:
            raise BinaryParseError(f"load command {cmd:#x} at {at} has invalid size {size}")
        if cmd in _LC_LINKED_DYLIBS:
            self.dylibs.append(self._string(at, size, "dylib name"))
        elif cmd == _LC_ID_DYLIB:
            self.install_name = self._string(at, size, "install name")
        elif cmd == _LC_RPATH:
            self.rpaths.append(self._string(at, size, "rpath"))
        elif cmd == _LC_BUILD_VERSION and self.platform is None:
            platform, minos, sdk = self._words(at, size, 3)
            self.platform, self.min_os, self.sdk = platform, _version(minos), _version(sdk)
        elif cmd == _LC_VERSION_MIN_MACOSX and self.platform is None:
            minos, sdk = self._words(at, size, 2)
            self.platform, self.min_os, self.sdk = int(MachOPlatform.MACOS), _version(minos), _version(sdk)
        return at + size

    def _words(self, at: int, size: int, count: int) -> tuple[int, ...]:
        """The `count` 32-bit fields after cmd and cmdsize, which must fit inside the command."""
        if size < 8 + 4 * count:
            raise BinaryParseError(f"load command at {at} is {size} bytes, too short for its fields")
        return tuple(self.words[count].unpack_from(self.data, at + 8))

    def _string(self, at: int, size: int, what: str) -> str:
        (offset,) = self._words(at, size, 1)
        if offset < 12 or offset >= size:
            raise BinaryParseError(f"{what} offset {offset} lies outside its load command at {at}")
        return cstring(self.data, at + offset, at + size, what)


_WORDS: Final = {order: {n: struct.Struct(f"{order}{n}I") for n in (1, 2, 3)} for order in "<>"}
