"""The same answers as `xbuild.binary`, computed with pyelftools, macholib and pefile.

Not used by xbuild itself. The tests compare it with our parsers on the fixtures, and
`bench/bench_parsers.py` times it against them; keeping it here means both measure the same work.
Errors are whatever the libraries raise.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any, Literal

import pefile
from elftools.elf.dynamic import DynamicSection
from elftools.elf.elffile import ELFFile
from elftools.elf.enums import ENUM_E_MACHINE, ENUM_E_TYPE, ENUM_EI_OSABI
from elftools.elf.gnuversions import GNUVerNeedSection
from elftools.elf.sections import SymbolTableSection
from elftools.elf.segments import InterpSegment
from macholib import mach_o
from macholib.MachO import MachO

from xbuild.binary.elf import ElfInfo, VersionNeed, elf_arch
from xbuild.binary.macho import MachOInfo, MachOSlice, macho_arch
from xbuild.binary.pe import PeInfo, pe_arch


def _enum(table: Mapping[str, int], value: Any) -> int:
    """pyelftools turns known enum values into names; map them back to numbers."""
    return table[value] if isinstance(value, str) else int(value)


def elf_with_pyelftools(data: bytes) -> ElfInfo:
    elf = ELFFile(io.BytesIO(data))
    bits: Literal[32, 64] = 64 if elf.elfclass == 64 else 32
    endian: Literal["little", "big"] = "little" if elf.little_endian else "big"
    machine = _enum(ENUM_E_MACHINE, elf.header["e_machine"])
    segments = list(elf.iter_segments())
    interp = [s.get_interp_name() for s in segments if isinstance(s, InterpSegment)]
    tags: dict[str, list[str]] = {"DT_NEEDED": [], "DT_SONAME": [], "DT_RPATH": [], "DT_RUNPATH": []}
    needs: list[VersionNeed] = []
    undefined: list[str] = []
    weak: list[str] = []
    for section in elf.iter_sections():
        if isinstance(section, DynamicSection):
            for tag in section.iter_tags():
                key = tag.entry.d_tag
                if key in tags:
                    tags[key].append(getattr(tag, key[3:].lower()))
        elif isinstance(section, GNUVerNeedSection):
            for need, aux in section.iter_versions():
                needs.append(VersionNeed(file=str(need.name), versions=tuple(a.name for a in aux)))
        elif isinstance(section, SymbolTableSection) and section["sh_type"] == "SHT_DYNSYM":
            imported = [s for s in section.iter_symbols() if s["st_shndx"] == "SHN_UNDEF" and s.name]
            undefined += [s.name for s in imported]
            weak += [s.name for s in imported if s["st_info"]["bind"] == "STB_WEAK"]
    return ElfInfo(
        elf_class=bits,
        endian=endian,
        osabi=_enum(ENUM_EI_OSABI, elf.header["e_ident"]["EI_OSABI"]),
        machine=machine,
        arch=elf_arch(machine, bits, endian),
        e_type=_enum(ENUM_E_TYPE, elf.header["e_type"]),
        flags=int(elf.header["e_flags"]),
        interpreter=interp[0] if interp else None,
        needed=tuple(tags["DT_NEEDED"]),
        soname=tags["DT_SONAME"][0] if tags["DT_SONAME"] else None,
        rpath=tuple(p for value in tags["DT_RPATH"] for p in value.split(":") if p),
        runpath=tuple(p for value in tags["DT_RUNPATH"] for p in value.split(":") if p),
        version_requirements=tuple(needs),
        undefined_symbols=tuple(undefined),
        weak_symbols=tuple(weak),
        is_static=not any(s["p_type"] == "PT_DYNAMIC" for s in segments),
    )


def macho_with_macholib(data: bytes) -> MachOInfo:
    # MachO() insists on a file name; build it around an in-memory stream instead.
    macho = MachO.__new__(MachO)
    macho.graphident = macho.filename = "<bytes>"
    macho.loader_path = ""
    macho.fat = None
    macho.headers = []
    macho.allow_unknown_load_commands = True
    macho.load(io.BytesIO(data))
    return MachOInfo(slices=tuple(_macholib_slice(h) for h in macho.headers), is_fat=macho.fat is not None)


_DYLIB_COMMANDS = {
    mach_o.LC_LOAD_DYLIB,
    mach_o.LC_LOAD_WEAK_DYLIB,
    mach_o.LC_REEXPORT_DYLIB,
    mach_o.LC_LAZY_LOAD_DYLIB,
    mach_o.LC_LOAD_UPWARD_DYLIB,
}


def _lc_string(command: Any, offset: int, payload: bytes) -> str:
    """macholib hands back the bytes after the fixed struct; the string starts `offset` into the command."""
    start = offset - 8 - command._size_
    return payload[start:].split(b"\0", 1)[0].decode("utf-8", "backslashreplace")


def _version(packed: int) -> tuple[int, int, int]:
    return (packed >> 16, (packed >> 8) & 0xFF, packed & 0xFF)


def _macholib_slice(header: Any) -> MachOSlice:
    dylibs: list[str] = []
    rpaths: list[str] = []
    install_name = None
    platform = min_os = sdk = None
    for load, command, payload in header.commands:
        if load.cmd in _DYLIB_COMMANDS:
            dylibs.append(_lc_string(command, command.name, payload))
        elif load.cmd == mach_o.LC_ID_DYLIB:
            install_name = _lc_string(command, command.name, payload)
        elif load.cmd == mach_o.LC_RPATH:
            rpaths.append(_lc_string(command, command.path, payload))
        elif load.cmd == mach_o.LC_BUILD_VERSION and platform is None:
            platform, min_os, sdk = int(command.platform), _version(command.minos), _version(command.sdk)
        elif load.cmd == mach_o.LC_VERSION_MIN_MACOSX and platform is None:
            platform, min_os, sdk = 1, _version(command.version), _version(command.sdk)
    cputype, cpusubtype = int(header.header.cputype), int(header.header.cpusubtype)
    return MachOSlice(
        cputype=cputype,
        cpusubtype=cpusubtype,
        arch=macho_arch(cputype, cpusubtype),
        filetype=int(header.header.filetype),
        load_dylibs=tuple(dylibs),
        rpaths=tuple(rpaths),
        install_name=install_name,
        platform=platform,
        min_os=min_os,
        sdk=sdk,
    )


_PE_DIRECTORIES = [
    pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_IMPORT"],
    pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_DELAY_IMPORT"],
]


def pe_with_pefile(data: bytes) -> PeInfo:
    pe = pefile.PE(data=data, fast_load=True)
    pe.parse_data_directories(directories=_PE_DIRECTORIES)
    machine = int(pe.FILE_HEADER.Machine)
    return PeInfo(
        machine=machine,
        arch=pe_arch(machine),
        bits=64 if pe.OPTIONAL_HEADER.Magic == 0x20B else 32,
        is_dll=bool(pe.FILE_HEADER.Characteristics & 0x2000),
        imports=tuple(e.dll.decode() for e in getattr(pe, "DIRECTORY_ENTRY_IMPORT", ())),
        delay_imports=tuple(e.dll.decode() for e in getattr(pe, "DIRECTORY_ENTRY_DELAY_IMPORT", ())),
    )
