"""PE parsing: DLL fixtures from three architectures, agreement with pefile, limits."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from xbuild.binary import BinaryParseError, parse_pe
from xbuild.binary.reference import pe_with_pefile

FIXTURES = Path(__file__).parent / "fixtures" / "binaries"
PE_FIXTURES = [
    "x86_64-windows-gnu.dll",
    "aarch64-windows-gnu.dll",
    "i686-windows-gnu.dll",
    "x86_64-windows-delayload-synthetic.dll",
]
UCRT_IMPORTS = (
    "api-ms-win-crt-math-l1-1-0.dll",
    "api-ms-win-crt-runtime-l1-1-0.dll",
    "KERNEL32.dll",
    "api-ms-win-crt-stdio-l1-1-0.dll",
    "api-ms-win-crt-heap-l1-1-0.dll",
)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def coff_offset(data: bytes | bytearray) -> int:
    return int(struct.unpack_from("<I", data, 0x3C)[0])


@pytest.mark.parametrize(
    ("name", "machine", "arch", "bits"),
    [
        ("x86_64-windows-gnu.dll", 0x8664, "x86_64", 64),
        ("aarch64-windows-gnu.dll", 0xAA64, "aarch64", 64),
        ("i686-windows-gnu.dll", 0x14C, "i686", 32),
    ],
)
def test_mingw_dlls(name: str, machine: int, arch: str, bits: int) -> None:
    info = parse_pe(read(name))
    assert (info.machine, info.arch, info.bits) == (machine, arch, bits)
    assert info.is_dll
    assert info.imports == UCRT_IMPORTS
    assert info.delay_imports == ()


def test_delay_load_imports() -> None:
    info = parse_pe(read("x86_64-windows-delayload-synthetic.dll"))
    assert info.imports == ("KERNEL32.dll",)
    assert info.delay_imports == ("USER32.dll",)


@pytest.mark.parametrize("name", PE_FIXTURES)
def test_agrees_with_pefile(name: str) -> None:
    data = read(name)
    assert parse_pe(data) == pe_with_pefile(data)


def test_executable_is_not_a_dll() -> None:
    data = bytearray(read("x86_64-windows-gnu.dll"))
    at = coff_offset(data) + 22  # Characteristics
    struct.pack_into("<H", data, at, struct.unpack_from("<H", data, at)[0] & ~0x2000)
    assert not parse_pe(bytes(data)).is_dll


def test_e_lfanew_past_end_of_file() -> None:
    data = bytearray(read("x86_64-windows-gnu.dll"))
    struct.pack_into("<I", data, 0x3C, 0x7FFFFFF0)
    with pytest.raises(BinaryParseError, match=r"^truncated: COFF header at bytes 2147483632:"):
        parse_pe(bytes(data))


def test_missing_pe_signature() -> None:
    data = bytearray(read("x86_64-windows-gnu.dll"))
    data[coff_offset(data)] = ord("X")
    with pytest.raises(BinaryParseError, match="no PE signature"):
        parse_pe(bytes(data))


def test_section_cap() -> None:
    data = bytearray(read("x86_64-windows-gnu.dll"))
    struct.pack_into("<H", data, coff_offset(data) + 6, 0xFFFF)  # NumberOfSections
    with pytest.raises(BinaryParseError, match="claims 65535 entries"):
        parse_pe(bytes(data))


def test_import_rva_outside_every_section() -> None:
    data = bytearray(read("x86_64-windows-delayload-synthetic.dll"))
    optional_at = coff_offset(data) + 24
    struct.pack_into("<I", data, optional_at + 112 + 8, 0x00FF0000)  # import directory RVA
    with pytest.raises(BinaryParseError, match="import directory RVA 0xff0000 is not inside any section"):
        parse_pe(bytes(data))


def test_truncated_before_imports() -> None:
    with pytest.raises(BinaryParseError, match="truncated"):
        parse_pe(read("x86_64-windows-delayload-synthetic.dll")[:0x300])


def test_unknown_machine_is_named() -> None:
    data = bytearray(read("x86_64-windows-gnu.dll"))
    struct.pack_into("<H", data, coff_offset(data) + 4, 0x1234)
    assert parse_pe(bytes(data)).arch == "unknown(0x1234)"
