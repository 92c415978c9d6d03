"""The few executable-header fields host facts need: format, arch, PT_INTERP.

Deliberately tiny: it answers "what arch is this file and which loader does it ask for" for any
executable on disk, reading a few hundred bytes with seeks, without running it. `xbuild.binary`
parses whole members (dynamic section, symbols), which for a 30 MB static Python is far more
than this needs; the arch names come from there so that rule keeps one home.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

from xbuild.binary.elf import elf_arch
from xbuild.binary.macho import macho_arch
from xbuild.binary.pe import pe_arch
from xbuild.target import Arch

Format = Literal["elf", "macho", "pe", "script", "unknown"]

_PT_INTERP = 3
_PT_DYNAMIC = 2
_MAX_INTERP = 4096

_MACHO_THIN = {
    b"\xcf\xfa\xed\xfe": "<",
    b"\xce\xfa\xed\xfe": "<",
    b"\xfe\xed\xfa\xcf": ">",
    b"\xfe\xed\xfa\xce": ">",
}
_MACHO_FAT = (b"\xca\xfe\xba\xbe", b"\xca\xfe\xba\xbf")


@dataclass(frozen=True, kw_only=True)
class Header:
    """What the first bytes of an executable say about where it can run."""

    format: Format
    machines: tuple[str, ...] = ()  # one per slice; several for a universal Mach-O
    interpreter: str | None = None  # ELF PT_INTERP, or a script's `#!` command
    dynamic: bool = False  # ELF has PT_DYNAMIC

    @property
    def machine(self) -> str | None:
        return self.machines[0] if self.machines else None

    @property
    def arch(self) -> Arch | None:
        """The machine's arch: an arm64e or x86_64h file says the host is arm64 or x86_64."""
        return Arch.from_alias(self.machine) if self.machine else None

    @property
    def arches(self) -> tuple[Arch, ...]:
        return tuple(a for a in map(Arch.from_alias, self.machines) if a is not None)

    @property
    def is_static(self) -> bool:
        """An ELF executable that asks for no loader cannot load shared extension modules.

        A static-pie binary has PT_DYNAMIC (to relocate itself) but still no PT_INTERP, so the
        loader request alone decides.
        """
        return self.format == "elf" and self.interpreter is None


def read_header(path: Path) -> Header:
    """Read the header of `path`; raises OSError when it cannot be read."""
    with path.open("rb") as f:
        return parse_header(f)


def header_from_bytes(data: bytes) -> Header:
    """The header of an executable whose first bytes are `data` (what a probe read where it ran)."""
    try:
        return parse_header(io.BytesIO(data))
    except struct.error:  # cut short: the probe sends only the first bytes
        return Header(format="unknown")


def parse_header(f: BinaryIO) -> Header:
    head = f.read(64)
    if head[:4] == b"\x7fELF":
        return _elf(f, head)
    if head[:4] in _MACHO_THIN:
        return _macho_thin(head)
    if head[:4] in _MACHO_FAT:
        return _macho_fat(f, head)
    if head[:2] == b"MZ":
        return _pe(f, head)
    if head[:2] == b"#!":
        return _script(f)
    return Header(format="unknown")


def _elf(f: BinaryIO, head: bytes) -> Header:
    if len(head) < 52 or head[4] not in (1, 2) or head[5] not in (1, 2):
        return Header(format="elf")
    is64, end = head[4] == 2, "<" if head[5] == 1 else ">"
    (machine,) = struct.unpack_from(end + "H", head, 18)
    name = elf_arch(machine, 64 if is64 else 32, "little" if end == "<" else "big")
    (phoff,) = struct.unpack_from(end + ("Q" if is64 else "I"), head, 32 if is64 else 28)
    phentsize, phnum = struct.unpack_from(end + "HH", head, 54 if is64 else 42)
    interp, dynamic = _program_headers(f, is64, end, phoff, phentsize, phnum)
    return Header(format="elf", machines=(name,), interpreter=interp, dynamic=dynamic)


def _program_headers(
    f: BinaryIO, is64: bool, end: str, phoff: int, phentsize: int, phnum: int
) -> tuple[str | None, bool]:
    f.seek(phoff)
    table = f.read(phentsize * phnum)
    interp, dynamic = None, False
    for i in range(min(phnum, len(table) // max(phentsize, 1))):
        base = i * phentsize
        (p_type,) = struct.unpack_from(end + "I", table, base)
        if p_type == _PT_DYNAMIC:
            dynamic = True
        elif p_type == _PT_INTERP:
            # p_offset, p_vaddr, p_paddr, p_filesz follow p_type (and p_flags on 64-bit)
            fields = struct.unpack_from(end + ("QQQQ" if is64 else "IIII"), table, base + (8 if is64 else 4))
            offset, size = fields[0], fields[3]
            f.seek(offset)
            interp = f.read(min(size, _MAX_INTERP)).split(b"\0", 1)[0].decode("utf-8", "replace")
    return interp, dynamic


def _macho_thin(head: bytes) -> Header:
    end = _MACHO_THIN[head[:4]]
    cputype, cpusubtype = struct.unpack_from(end + "II", head, 4)
    return Header(format="macho", machines=(macho_arch(cputype, cpusubtype),))


def _macho_fat(f: BinaryIO, head: bytes) -> Header:
    (count,) = struct.unpack_from(">I", head, 4)
    if count > 30:  # Java class files share the magic 0xcafebabe; their "count" is a version
        return Header(format="unknown")
    size = 32 if head[:4] == _MACHO_FAT[1] else 20
    f.seek(8)
    table = f.read(count * size)
    cpus = [struct.unpack_from(">II", table, i * size) for i in range(len(table) // size)]
    return Header(format="macho", machines=tuple(macho_arch(cpu, sub) for cpu, sub in cpus))


def _pe(f: BinaryIO, head: bytes) -> Header:
    (pe_offset,) = struct.unpack_from("<I", head, 0x3C)
    f.seek(pe_offset)
    sig = f.read(6)
    if len(sig) < 6 or sig[:4] != b"PE\0\0":
        return Header(format="unknown")
    (machine,) = struct.unpack_from("<H", sig, 4)
    return Header(format="pe", machines=(pe_arch(machine),))


def _script(f: BinaryIO) -> Header:
    f.seek(2)
    # Only spaces, tabs and the newline go: the kernel keeps a CR (CRLF files) in the path it runs.
    line = f.readline(_MAX_INTERP).decode("utf-8", "replace").rstrip("\n").strip(" \t")
    return Header(format="script", interpreter=line or None)
