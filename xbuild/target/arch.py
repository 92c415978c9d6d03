"""CPU architectures: one enum, and every way an ecosystem or a file format spells each one.

The one home of architecture names, as auditwheel's `architecture.Architecture`: target
parsing, host facts, binary headers, verify and policies all resolve names and machine numbers
here. CPUs outside the enum (ppc64, loongarch64, mips, ...) have no targets; the binary parsers
still name them so that messages say what a file is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class Arch(StrEnum):
    """One CPU architecture; its value is the Linux wheel-tag spelling, `names` every other one."""

    X86_64 = "x86_64"
    AARCH64 = "aarch64"
    I686 = "i686"
    ARMV7L = "armv7l"
    PPC64LE = "ppc64le"
    S390X = "s390x"
    RISCV64 = "riscv64"
    WASM32 = "wasm32"

    @property
    def names(self) -> ArchNames:
        return _ARCH_NAMES[self]

    @classmethod
    def from_alias(cls, name: str, *, variants: bool = True) -> Arch | None:
        """Any known spelling (uname, triple, tag, Debian, Apple, Android ABI, Windows) -> Arch.

        `variants=False` refuses sub-architectures (arm64e, x86_64h): such a machine is this
        arch, but a binary built for the variant does not load where only the arch is promised.
        """
        key = name.strip().lower()
        return _ARCH_BY_ALIAS.get(key) if variants else _ARCH_BY_ABI_NAME.get(key)

    @classmethod
    def from_name(cls, name: str, spelling: Callable[[ArchNames], str | None]) -> Arch | None:
        """The arch one ecosystem spells exactly so, e.g. `from_name("arm64", lambda n: n.apple)`."""
        return next((a for a in cls if spelling(a.names) == name), None)

    @classmethod
    def from_elf(cls, machine: int, bits: int, endian: str) -> Arch | None:
        """The arch whose wheels hold ELF files of this e_machine, class and byte order."""
        return _ARCH_BY_ELF.get((machine, bits, endian))

    @classmethod
    def from_elf_machine(cls, machine: int) -> Arch | None:
        """The arch of an e_machine whatever its class and byte order (x32 is still x86_64)."""
        return next((a for (m, _, _), a in _ARCH_BY_ELF.items() if m == machine), None)

    @classmethod
    def from_macho(cls, cputype: int) -> Arch | None:
        return next((a for a, n in _ARCH_NAMES.items() if n.macho_cputype == cputype), None)

    @classmethod
    def from_pe(cls, machine: int) -> Arch | None:
        return next((a for a, n in _ARCH_NAMES.items() if n.pe_machine == machine), None)


@dataclass(frozen=True, kw_only=True)
class ElfIdent:
    """How an ELF file for one arch identifies itself: e_machine, EI_CLASS and EI_DATA."""

    machine: int
    bits: Literal[32, 64]
    endian: Literal["little", "big"]


@dataclass(frozen=True, kw_only=True)
class ArchNames:
    """How each ecosystem and file format spells one architecture; None where it has none."""

    triple: str  # the first field of a target triple (uv, Rust, the NDK)
    docker: str | None = None
    apple: str | None = None  # macOS/iOS tags, Mach-O, platform.machine() on Apple
    android: str | None = None  # the Android ABI as wheel tags write it
    windows_tag: str | None = None
    windows_machine: str | None = None  # platform.machine() on Windows
    msvc: str | None = None  # the MSVC / Windows SDK platform (x64), as delvewheel's DLL lists
    alpine: str | None = None  # musl's name: libc.musl-<alpine>.so.1 on Alpine
    elf: ElfIdent | None = None
    macho_cputype: int | None = None
    macho: str | None = None  # Mach-O's name (`lipo -archs`) where there is no `apple` platform
    pe_machine: int | None = None  # IMAGE_FILE_MACHINE_*
    aliases: tuple[str, ...] = ()  # further spellings: Debian, uname of 32-bit userlands, PE names
    variants: tuple[str, ...] = ()  # sub-architectures: this machine, but their binaries need more

    @property
    def macho_name(self) -> str | None:
        return self.macho or self.apple


# The one alias table: every module that meets an architecture name or machine number resolves it here.
_ARCH_NAMES: dict[Arch, ArchNames] = {
    Arch.X86_64: ArchNames(
        triple="x86_64",
        docker="linux/amd64",
        apple="x86_64",
        android="x86_64",
        windows_tag="win_amd64",
        windows_machine="AMD64",
        msvc="x64",
        alpine="x86_64",
        elf=ElfIdent(machine=62, bits=64, endian="little"),
        macho_cputype=0x01000007,
        pe_machine=0x8664,
        aliases=("amd64", "x64", "x86-64"),
        variants=("x86_64h",),  # Haswell and newer only
    ),
    Arch.AARCH64: ArchNames(
        triple="aarch64",
        docker="linux/arm64",
        apple="arm64",
        android="arm64_v8a",
        windows_tag="win_arm64",
        windows_machine="ARM64",
        msvc="arm64",
        alpine="aarch64",
        elf=ElfIdent(machine=183, bits=64, endian="little"),
        macho_cputype=0x0100000C,
        pe_machine=0xAA64,
        aliases=("arm64", "arm64_v8a", "arm64-v8a", "armv8"),
        variants=("arm64e",),  # pointer authentication: a different ABI
    ),
    Arch.I686: ArchNames(
        triple="i686",
        docker="linux/386",
        android="x86",
        windows_tag="win32",
        windows_machine="x86",
        msvc="x86",
        alpine="x86",
        elf=ElfIdent(machine=3, bits=32, endian="little"),
        macho_cputype=7,
        macho="i386",
        pe_machine=0x14C,
        aliases=("i386", "i586", "x86", "386"),
    ),
    Arch.ARMV7L: ArchNames(
        triple="armv7",
        docker="linux/arm/v7",
        android="armeabi_v7a",
        alpine="armv7",
        elf=ElfIdent(machine=40, bits=32, endian="little"),
        macho_cputype=12,
        macho="armv7",
        pe_machine=0x1C4,
        aliases=("armv7", "armhf", "armv8l", "armeabi_v7a", "armeabi-v7a", "arm"),
    ),
    Arch.PPC64LE: ArchNames(
        triple="powerpc64le",
        docker="linux/ppc64le",
        alpine="ppc64le",
        elf=ElfIdent(machine=21, bits=64, endian="little"),
        aliases=("powerpc64le", "ppc64el"),
    ),
    Arch.S390X: ArchNames(
        triple="s390x", docker="linux/s390x", alpine="s390x", elf=ElfIdent(machine=22, bits=64, endian="big")
    ),
    Arch.RISCV64: ArchNames(
        triple="riscv64",
        docker="linux/riscv64",
        alpine="riscv64",
        elf=ElfIdent(machine=243, bits=64, endian="little"),
    ),
    Arch.WASM32: ArchNames(triple="wasm32"),
}


def _alias_index(*, variants: bool) -> dict[str, Arch]:
    index: dict[str, Arch] = {}
    for arch, names in _ARCH_NAMES.items():
        spellings = (arch.value, names.triple, names.apple, names.android, names.windows_tag, *names.aliases)
        for spelling in (*spellings, *(names.variants if variants else ())):
            if spelling:
                index.setdefault(spelling.lower(), arch)
    return index


_ARCH_BY_ALIAS = _alias_index(variants=True)
_ARCH_BY_ABI_NAME = _alias_index(variants=False)
_ARCH_BY_ELF: dict[tuple[int, int, str], Arch] = {
    (n.elf.machine, n.elf.bits, n.elf.endian): arch for arch, n in _ARCH_NAMES.items() if n.elf is not None
}
