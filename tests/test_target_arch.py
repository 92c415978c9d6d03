"""One Arch vocabulary: names, variants and the machine numbers of ELF, Mach-O and PE."""

from __future__ import annotations

import pytest
from verify_helpers import BINARIES

from xbuild.binary import parse
from xbuild.binary.elf import elf_arch
from xbuild.binary.macho import macho_arch
from xbuild.binary.pe import pe_arch
from xbuild.host.binfmt import elf_header
from xbuild.target import Arch
from xbuild.verify.platforms import canonical_arch
from xbuild.verify.policy import load_policies


def test_variants_are_the_machine_but_not_the_abi() -> None:
    assert Arch.from_alias("arm64e") is Arch.AARCH64 and Arch.from_alias("x86_64h") is Arch.X86_64
    assert Arch.from_alias("arm64e", variants=False) is None
    assert Arch.from_alias(" ARM64 ", variants=False) is Arch.AARCH64
    assert (canonical_arch("arm64e"), canonical_arch("arm64"), canonical_arch("MIPS")) == (
        "arm64e",
        "aarch64",
        "mips",
    )


def test_from_name_reads_one_ecosystem() -> None:
    assert Arch.from_name("arm64", lambda n: n.apple) is Arch.AARCH64
    assert Arch.from_name("aarch64", lambda n: n.apple) is None
    assert Arch.from_name("armeabi_v7a", lambda n: n.android) is Arch.ARMV7L
    assert Arch.from_name("win32", lambda n: n.windows_tag) is Arch.I686


@pytest.mark.parametrize("arch", [a for a in Arch if a.names.elf is not None])
def test_elf_ident_round_trips_through_the_parsers(arch: Arch) -> None:
    ident = arch.names.elf
    assert ident is not None
    assert Arch.from_elf(ident.machine, ident.bits, ident.endian) is arch
    assert elf_arch(ident.machine, ident.bits, ident.endian) == str(arch)
    header = elf_header(arch)
    assert (header[4], header[5]) == (1 if ident.bits == 32 else 2, 1 if ident.endian == "little" else 2)


@pytest.mark.parametrize(
    "fixture",
    [
        "aarch64-linux-gnu.2.17.so",
        "s390x-linux-gnu.2.17.so",
        "x86_64-linux-gnu.so",
        "armv7l-linux-musleabihf.so",
    ],
)
def test_real_elf_files_name_their_arch(fixture: str) -> None:
    info = parse((BINARIES / fixture).read_bytes())
    assert info.arch == fixture.split("-", maxsplit=1)[0]  # type: ignore[union-attr]


def test_names_outside_the_vocabulary() -> None:
    assert (elf_arch(62, 32, "little"), elf_arch(21, 64, "big"), elf_arch(22, 32, "big")) == (
        "x86_64",
        "ppc64",
        "s390",
    )
    assert (elf_arch(258, 64, "little"), elf_arch(8, 64, "little"), elf_arch(9999, 64, "little")) == (
        "loongarch64",
        "mips64el",
        "unknown(9999)",
    )
    assert (pe_arch(0x8664), pe_arch(0x1C4), pe_arch(0xA641), pe_arch(0x1234)) == (
        "x86_64",
        "armv7l",
        "arm64ec",
        "unknown(0x1234)",
    )
    assert (macho_arch(7, 3), macho_arch(0x0100000C, 0), macho_arch(18, 0)) == ("i386", "arm64", "ppc")


def test_policy_arches_and_alpine_names() -> None:
    # Every policy arch auditwheel knows is an Arch or a CPU the parsers name.
    policies = load_policies()
    assert {p.arch for p in policies.policies} >= {str(a) for a in Arch if a.names.alpine}
    musl = policies.for_tag("musllinux_1_2_armv7l")
    assert musl is not None and musl.allows_library("libc.musl-armv7.so.1")
