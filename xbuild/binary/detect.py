"""Which format a member is, from its first bytes, and the dispatch to the matching parser."""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Final, TypeAlias

from xbuild.binary._read import MAX_FAT_SLICES, BinaryParseError
from xbuild.binary.elf import ElfInfo, parse_elf
from xbuild.binary.magic import ELF_MAGIC, FAT_MAGIC, FAT_MAGIC_64, THIN_MAGICS, WASM_MAGIC, BinaryFormat

if TYPE_CHECKING:
    from xbuild.binary.macho import MachOInfo
    from xbuild.binary.pe import PeInfo
    from xbuild.binary.wasm import WasmInfo

# A string, so the Mach-O, PE and wasm modules load only when a member needs their parser.
BinaryInfo: TypeAlias = "ElfInfo | MachOInfo | PeInfo | WasmInfo"

_BE_U32: Final = struct.Struct(">I")
_LE_U32: Final = struct.Struct("<I")
_MACHO_MAGICS: Final = frozenset((FAT_MAGIC, FAT_MAGIC_64, *THIN_MAGICS))

__all__ = ["BinaryFormat", "BinaryInfo", "claimed_format", "parse", "sniff"]


def sniff(head: bytes) -> BinaryFormat | None:
    """The format `head` (the first bytes of a file, 4 KiB is plenty) is, or None if none of ours.

    Decides by magic bytes only. Two magics need a second look: CAFEBABE also opens Java class
    files, whose version words read as a slice count of 45 or more, and "MZ" also opens DOS
    programs, which have no "PE\\0\\0" where e_lfanew points.
    """
    claimed = claimed_format(head)
    if claimed is BinaryFormat.MACHO and _BE_U32.unpack_from(head)[0] in (FAT_MAGIC, FAT_MAGIC_64):
        return claimed if len(head) >= 8 and 0 < _BE_U32.unpack_from(head, 4)[0] <= MAX_FAT_SLICES else None
    if claimed is BinaryFormat.PE:
        return claimed if _has_pe_signature(head) else None
    return claimed


def claimed_format(head: bytes) -> BinaryFormat | None:
    """The format the leading magic alone announces, without the second look `sniff` takes."""
    if head[:4] == ELF_MAGIC:
        return BinaryFormat.ELF
    if head[:2] == b"MZ":
        return BinaryFormat.PE
    if head[:4] == WASM_MAGIC:
        return BinaryFormat.WASM
    if len(head) >= 4 and _BE_U32.unpack_from(head)[0] in _MACHO_MAGICS:
        return BinaryFormat.MACHO
    return None


def _has_pe_signature(head: bytes) -> bool:
    if len(head) < 0x40:
        return False
    lfanew = _LE_U32.unpack_from(head, 0x3C)[0]
    return head[lfanew : lfanew + 4] == b"PE\0\0"


def parse(data: bytes) -> BinaryInfo:
    """Parse a whole member (or a prefix of it) as whichever format its magic claims.

    Dispatches on the claimed magic rather than on `sniff`, so a truncated or hostile file that
    starts like a binary gets a message about what is wrong with it rather than "unknown format".
    """
    claimed = claimed_format(data)
    if claimed is BinaryFormat.ELF:
        return parse_elf(data)
    # Imported here, not at the top: a Linux-only run never loads these parsers.
    if claimed is BinaryFormat.MACHO:
        from xbuild.binary.macho import parse_macho

        return parse_macho(data)
    if claimed is BinaryFormat.PE:
        from xbuild.binary.pe import parse_pe

        return parse_pe(data)
    if claimed is BinaryFormat.WASM:
        from xbuild.binary.wasm import parse_wasm

        return parse_wasm(data)
    raise BinaryParseError(f"not an ELF, Mach-O or PE file: starts with {data[:8].hex(' ')!r}")
