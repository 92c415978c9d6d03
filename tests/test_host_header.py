"""The tiny header reader: arch and PT_INTERP of real executables, without running them."""

from __future__ import annotations

import struct
import sys
from pathlib import Path

import pytest

from xbuild.host._header import Header, read_header
from xbuild.target import Arch

ELF = Path(__file__).parent / "fixtures" / "host" / "elf"


@pytest.mark.parametrize(
    ("name", "arch", "loader"),
    [
        ("aarch64-musl-dynamic", Arch.AARCH64, "/lib/ld-musl-aarch64.so.1"),
        ("aarch64-glibc-dynamic", Arch.AARCH64, "/lib/ld-linux-aarch64.so.1"),
        ("x86_64-musl-dynamic", Arch.X86_64, "/lib/ld-musl-x86_64.so.1"),
        ("x86_64-static-fakepython", Arch.X86_64, None),
    ],
)
def test_elf_fixtures(name: str, arch: Arch, loader: str | None) -> None:
    header = read_header(ELF / name)
    assert (header.format, header.arch, header.interpreter) == ("elf", arch, loader)
    assert header.is_static is (loader is None)


def test_macho_and_fat_headers(tmp_path: Path) -> None:
    assert read_header(ELF / "macho-arm64-header").arches == (Arch.AARCH64,)
    fat = tmp_path / "universal2"
    entries = [struct.pack(">iiIII", cpu, 0, 0, 0, 0) for cpu in (0x01000007, 0x0100000C)]
    fat.write_bytes(struct.pack(">II", 0xCAFEBABE, 2) + b"".join(entries))
    header = read_header(fat)
    assert header.format == "macho" and header.arches == (Arch.X86_64, Arch.AARCH64)


def test_pe_script_and_unknown(tmp_path: Path) -> None:
    pe = tmp_path / "python.exe"
    pe.write_bytes(b"MZ" + b"\0" * 58 + struct.pack("<I", 64) + b"PE\0\0" + struct.pack("<H", 0x8664))
    assert (read_header(pe).format, read_header(pe).arch) == ("pe", Arch.X86_64)
    script = tmp_path / "python3"
    script.write_text('#!/bin/sh\nexec python3 "$@"\n')
    assert (read_header(script).format, read_header(script).interpreter) == ("script", "/bin/sh")
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x00\x01")
    assert read_header(junk).format == "unknown"


def test_running_interpreter_is_dynamic() -> None:
    header = read_header(Path(sys.executable).resolve())
    if sys.platform == "linux":
        assert header.format == "elf" and header.interpreter and not header.is_static


def test_machine_names_resolve_through_arch() -> None:
    def arch(*machines: str) -> Arch | None:
        return Header(format="elf", machines=machines).arch

    assert arch("arm64") is Arch.AARCH64
    assert arch("amd64") is Arch.X86_64
    assert arch("mips") is None
    assert arch() is None
    # A variant's file (macOS ships arm64e system binaries) still says what the machine is.
    assert arch("arm64e") is Arch.AARCH64 and arch("x86_64h") is Arch.X86_64
    assert Header(format="macho", machines=("x86_64h", "arm64e", "ppc")).arches == (Arch.X86_64, Arch.AARCH64)
