"""binfmt_misc entries: the kernel's text format, and matching them against each arch's ELF header."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbuild.host.binfmt import (
    BinfmtEntry,
    BinfmtParseError,
    elf_header,
    entry_arches,
    parse_binfmt_entry,
    read_binfmt_dir,
    runnable_arches,
)
from xbuild.target import Arch

BINFMT = Path(__file__).parent / "fixtures" / "host" / "binfmt"


def entry(name: str) -> BinfmtEntry:
    return parse_binfmt_entry(name, (BINFMT / name).read_text())


def test_parse_qemu_entry_in_kernel_format() -> None:
    qemu = entry("qemu-aarch64")
    assert qemu.enabled
    assert qemu.interpreter == "/usr/libexec/qemu-binfmt/aarch64-binfmt-P"
    assert qemu.flags == "POF" and qemu.fix_binary
    assert qemu.offset == 0
    assert qemu.magic == bytes.fromhex("7f454c460201010000000000000000000200b700")
    assert qemu.mask is not None and len(qemu.mask) == len(qemu.magic)


def test_disabled_entry_with_empty_flags() -> None:
    riscv = entry("qemu-riscv64")
    assert not riscv.enabled and riscv.flags == "" and not riscv.fix_binary
    assert entry_arches(riscv) == (Arch.RISCV64,)


def test_extension_entry_matches_no_elf() -> None:
    text = "enabled\ninterpreter /usr/bin/mono\nflags: \nextension .exe\n"
    mono = parse_binfmt_entry("CLR", text)
    assert mono.extension == ".exe" and mono.magic is None
    assert entry_arches(mono) == ()


@pytest.mark.parametrize(
    ("name", "arches"),
    [
        ("qemu-aarch64", (Arch.AARCH64,)),
        ("rosetta", (Arch.X86_64,)),
        ("FEX-x86_64", (Arch.X86_64,)),
        ("FEX-x86", (Arch.I686,)),
        ("DOSWin", ()),
    ],
)
def test_entry_arches(name: str, arches: tuple[Arch, ...]) -> None:
    assert entry_arches(entry(name)) == arches


def test_runnable_arches_skips_disabled_and_keeps_first_match() -> None:
    entries = [entry(n) for n in ("qemu-riscv64", "rosetta", "FEX-x86_64", "qemu-aarch64")]
    found = {e.arch: e.entry.name for e in runnable_arches(entries)}
    assert found == {Arch.X86_64: "rosetta", Arch.AARCH64: "qemu-aarch64"}


def test_mask_is_applied() -> None:
    # The mask clears bit 0 of e_type, so the entry claims both ET_EXEC (2) and PIE ET_DYN (3).
    qemu = entry("qemu-aarch64")
    assert qemu.matches(elf_header(Arch.AARCH64, 2)) and qemu.matches(elf_header(Arch.AARCH64, 3))
    assert not qemu.matches(elf_header(Arch.AARCH64, 1))  # ET_REL
    assert not qemu.matches(elf_header(Arch.X86_64))


def test_synthetic_headers_have_the_right_identity() -> None:
    s390x = elf_header(Arch.S390X)
    assert s390x[:4] == b"\x7fELF" and s390x[4] == 2 and s390x[5] == 2  # 64-bit, big-endian
    assert s390x[18:20] == (22).to_bytes(2, "big")
    assert elf_header(Arch.ARMV7L)[4] == 1  # 32-bit


def test_malformed_entry() -> None:
    with pytest.raises(BinfmtParseError):
        parse_binfmt_entry("x", "interpreter /bin/true\n")
    with pytest.raises(BinfmtParseError):
        parse_binfmt_entry("x", "enabled\nflags: F\n")
    with pytest.raises(BinfmtParseError):
        parse_binfmt_entry("x", "enabled\ninterpreter /q\nmagic zz\n")


def test_read_fixture_dir() -> None:
    state = read_binfmt_dir(BINFMT)
    assert state.mounted and state.enabled and state.problems == ()
    assert sorted(e.name for e in state.entries) == [
        "DOSWin",
        "FEX-x86",
        "FEX-x86_64",
        "qemu-aarch64",
        "qemu-riscv64",
        "rosetta",
    ]
    assert {e.arch for e in state.emulators} == {Arch.AARCH64, Arch.X86_64, Arch.I686}


def test_globally_disabled_and_unmounted(tmp_path: Path) -> None:
    assert not read_binfmt_dir(tmp_path / "absent").mounted
    (tmp_path / "status").write_text("disabled\n")
    (tmp_path / "qemu-aarch64").write_text((BINFMT / "qemu-aarch64").read_text())
    (tmp_path / "broken").write_text("garbage\n")
    state = read_binfmt_dir(tmp_path)
    assert state.mounted and not state.enabled
    assert state.emulators == ()
    assert len(state.entries) == 1 and state.problems and "broken" in state.problems[0]
