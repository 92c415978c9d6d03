"""PE/COFF (Windows .pyd/.dll): machine, DLL flag and the DLLs named by the import directories."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import ClassVar, Final, Literal

from xbuild.binary._read import (
    MAX_IMPORTS,
    MAX_SECTIONS,
    BinaryParseError,
    check_count,
    cstring,
    unpack,
)
from xbuild.binary.magic import BinaryFormat
from xbuild.target.arch import Arch

_DOS_LFANEW: Final = struct.Struct("<I")
_COFF: Final = struct.Struct("<4sHHIIIHH")
_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_U64: Final = struct.Struct("<Q")
_SECTION: Final = struct.Struct("<8xIIII16x")
_DIRECTORY: Final = struct.Struct("<II")
_IMPORT_DESCRIPTOR: Final = struct.Struct("<IIIII")
_DELAY_DESCRIPTOR: Final = struct.Struct("<IIIIIIII")

_PE32: Final = 0x10B
_PE32_PLUS: Final = 0x20B
_IMAGE_FILE_DLL: Final = 0x2000
_IMPORT_DIRECTORY: Final = 1
_DELAY_IMPORT_DIRECTORY: Final = 13
_MAX_DIRECTORIES: Final = 16
# The Windows loader rounds PointerToRawData down to 512 whenever FileAlignment is at least that.
_SECTOR: Final = 0x200

# Machines of CPUs outside xbuild.target.Arch, which names every other one.
_OTHER_MACHINES: Final = {0xA641: "arm64ec", 0xA64E: "arm64x", 0x200: "ia64"}


@dataclass(frozen=True, kw_only=True, slots=True)
class PeInfo:
    """The image's machine and the DLLs its import directories name, in file order."""

    FORMAT: ClassVar[BinaryFormat] = BinaryFormat.PE

    machine: int
    arch: str
    bits: Literal[32, 64]
    is_dll: bool
    imports: tuple[str, ...]
    delay_imports: tuple[str, ...]  # loaded on first call, but still needed at run time


def pe_arch(machine: int) -> str:
    arch = Arch.from_pe(machine)
    if arch is not None:
        return str(arch)
    return _OTHER_MACHINES.get(machine, f"unknown({machine:#x})")


@dataclass(frozen=True, slots=True)
class _Section:
    vaddr: int
    size: int
    offset: int


@dataclass(frozen=True, slots=True)
class _Image:
    """The address map needed to follow RVAs into the file."""

    data: bytes
    sections: tuple[_Section, ...]
    headers_size: int
    image_base: int

    def offset(self, rva: int, what: str) -> int:
        for section in self.sections:
            if section.vaddr <= rva < section.vaddr + section.size:
                return section.offset + (rva - section.vaddr)
        if rva < self.headers_size:
            return rva
        raise BinaryParseError(f"{what} RVA {rva:#x} is not inside any section")

    def string(self, rva: int, what: str) -> str:
        return cstring(self.data, self.offset(rva, what), len(self.data), what)


def parse_pe(data: bytes) -> PeInfo:
    """Read the COFF header, optional header, section table and import directories."""
    pe_at = pe_header_offset(data)
    signature, machine, nsections, _, _, _, optional_size, characteristics = unpack(
        _COFF, data, pe_at, "COFF header"
    )
    if signature != b"PE\0\0":
        raise BinaryParseError(f"no PE signature at e_lfanew {pe_at}: found {signature!r}")
    optional_at = pe_at + _COFF.size
    magic = unpack(_U16, data, optional_at, "optional header")[0]
    if magic not in (_PE32, _PE32_PLUS):
        raise BinaryParseError(f"optional header magic {magic:#x} is neither PE32 nor PE32+")
    wide = magic == _PE32_PLUS
    image = _Image(
        data=data,
        sections=_sections(
            data,
            optional_at + optional_size,
            nsections,
            unpack(_U32, data, optional_at + 36, "FileAlignment")[0],
        ),
        headers_size=unpack(_U32, data, optional_at + 60, "SizeOfHeaders")[0],
        image_base=_image_base(data, optional_at, wide),
    )
    directories = _directories(data, optional_at, optional_size, wide)
    return PeInfo(
        machine=machine,
        arch=pe_arch(machine),
        bits=64 if wide else 32,
        is_dll=bool(characteristics & _IMAGE_FILE_DLL),
        imports=_imports(image, directories.get(_IMPORT_DIRECTORY, 0)),
        delay_imports=_delay_imports(image, directories.get(_DELAY_IMPORT_DIRECTORY, 0)),
    )


def pe_header_offset(data: bytes) -> int:
    """e_lfanew from the DOS header: where "PE\\0\\0" should start."""
    if data[:2] != b"MZ":
        raise BinaryParseError(f"not PE: DOS magic is {data[:2]!r}")
    return int(unpack(_DOS_LFANEW, data, 0x3C, "DOS header")[0])


def _image_base(data: bytes, optional_at: int, wide: bool) -> int:
    if wide:
        return int(unpack(_U64, data, optional_at + 24, "ImageBase")[0])
    return int(unpack(_U32, data, optional_at + 28, "ImageBase")[0])


def _sections(data: bytes, table_at: int, count: int, file_alignment: int) -> tuple[_Section, ...]:
    check_count(count, MAX_SECTIONS, "COFF header")
    sections = []
    for index in range(count):
        vsize, vaddr, raw_size, raw_offset = unpack(_SECTION, data, table_at + index * 40, "section table")
        if file_alignment >= _SECTOR:
            raw_offset -= raw_offset % _SECTOR
        sections.append(_Section(vaddr=vaddr, size=max(vsize, raw_size), offset=raw_offset))
    return tuple(sections)


def _directories(data: bytes, optional_at: int, optional_size: int, wide: bool) -> dict[int, int]:
    """RVA of each data directory present; a zero RVA means absent."""
    count_at = optional_at + (108 if wide else 92)
    count = min(unpack(_U32, data, count_at, "NumberOfRvaAndSizes")[0], _MAX_DIRECTORIES)
    # Directories past the declared optional header size are not part of the image.
    count = min(count, max(0, (optional_at + optional_size - count_at - 4) // _DIRECTORY.size))
    return {
        index: unpack(_DIRECTORY, data, count_at + 4 + index * _DIRECTORY.size, "data directory")[0]
        for index in range(count)
    }


def _imports(image: _Image, rva: int) -> tuple[str, ...]:
    if rva == 0:
        return ()
    at = image.offset(rva, "import directory")
    names: list[str] = []
    for index in range(MAX_IMPORTS + 1):
        name_rva = unpack(_IMPORT_DESCRIPTOR, image.data, at + index * 20, "import descriptor")[3]
        if name_rva == 0:
            return tuple(names)
        names.append(image.string(name_rva, "imported DLL name"))
    raise BinaryParseError(f"import directory lists more than {MAX_IMPORTS} DLLs")


def _delay_imports(image: _Image, rva: int) -> tuple[str, ...]:
    if rva == 0:
        return ()
    at = image.offset(rva, "delay import directory")
    names: list[str] = []
    for index in range(MAX_IMPORTS + 1):
        descriptor = unpack(_DELAY_DESCRIPTOR, image.data, at + index * 32, "delay import descriptor")
        attributes, name = descriptor[:2]
        if name == 0:
            return tuple(names)
        # Bit 0 clear marks the pre-VC7 layout, which stores virtual addresses rather than RVAs.
        names.append(image.string(name if attributes & 1 else name - image.image_base, "delay DLL name"))
    raise BinaryParseError(f"delay import directory lists more than {MAX_IMPORTS} DLLs")
