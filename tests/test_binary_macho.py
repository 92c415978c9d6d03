"""Mach-O parsing: thin and fat fixtures, agreement with macholib, limits."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from xbuild.binary import BinaryParseError, MachOPlatform, parse_macho
from xbuild.binary.macho import macho_arch
from xbuild.binary.reference import macho_with_macholib

FIXTURES = Path(__file__).parent / "fixtures" / "binaries"
MACHO_FIXTURES = [
    "x86_64-macos.10.13.so",
    "aarch64-macos.11.0.so",
    "universal2-macos.so",
    "ppc-macos-synthetic.dylib",
]
LC_BUILD_VERSION = 0x32


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def load_command_offset(data: bytes | bytearray, wanted: int) -> int:
    """Where the first load command `wanted` starts in a thin little-endian 64-bit file."""
    ncmds = struct.unpack_from("<I", data, 16)[0]
    at = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        if cmd == wanted:
            return at
        at += size
    raise AssertionError(f"no load command {wanted:#x}")


def test_x86_64_dylib_with_version_min() -> None:
    info = parse_macho(read("x86_64-macos.10.13.so"))
    assert not info.is_fat
    (only,) = info.slices
    assert (only.arch, only.cputype, only.filetype) == ("x86_64", 0x01000007, 6)
    assert only.install_name == "@rpath/libxb.dylib"
    assert only.load_dylibs == ("/usr/lib/libSystem.B.dylib",)
    assert only.rpaths == ("@loader_path/../lib",)
    assert only.platform == MachOPlatform.MACOS
    assert only.min_macos == (10, 13, 0)


def test_arm64_with_build_version() -> None:
    (only,) = parse_macho(read("aarch64-macos.11.0.so")).slices
    assert (only.arch, only.cputype, only.cpusubtype) == ("arm64", 0x0100000C, 0)
    assert only.install_name == "@rpath/_xb.cpython-312-darwin.so"
    assert only.rpaths == ("@loader_path/.dylibs",)
    assert (only.platform, only.min_macos) == (1, (11, 0, 0))
    assert only.sdk is not None


def test_universal2() -> None:
    info = parse_macho(read("universal2-macos.so"))
    assert info.is_fat
    assert [s.arch for s in info.slices] == ["x86_64", "arm64"]
    assert [s.min_macos for s in info.slices] == [(10, 13, 0), (11, 0, 0)]
    thin = (
        parse_macho(read("x86_64-macos.10.13.so")).slices + parse_macho(read("aarch64-macos.11.0.so")).slices
    )
    assert info.slices == thin


def test_big_endian_32_bit_with_weak_dylib() -> None:
    (only,) = parse_macho(read("ppc-macos-synthetic.dylib")).slices
    assert (only.arch, only.cputype) == ("ppc", 18)
    assert only.load_dylibs == ("/usr/lib/libSystem.B.dylib", "@rpath/libweak.dylib")
    assert only.install_name == "/usr/local/lib/libppc.dylib"
    assert only.rpaths == ("@loader_path/../Frameworks",)
    assert (only.min_macos, only.sdk) == ((10, 4, 0), (10, 5, 0))


@pytest.mark.parametrize("name", MACHO_FIXTURES)
def test_agrees_with_macholib(name: str) -> None:
    data = read(name)
    assert parse_macho(data) == macho_with_macholib(data)


def test_fat_64_header_reads_like_fat_32() -> None:
    data = read("universal2-macos.so")
    count = struct.unpack_from(">I", data, 4)[0]
    entries = [struct.unpack_from(">iIIII", data, 8 + 20 * i) for i in range(count)]
    header = struct.pack(">II", 0xCAFEBABF, count) + b"".join(
        struct.pack(">iIQQII", cputype, subtype, offset, size, align, 0)
        for cputype, subtype, offset, size, align in entries
    )
    fat64 = header + data[len(header) :]
    assert parse_macho(fat64) == parse_macho(data)


def test_ios_build_version_is_not_a_macos_minimum() -> None:
    data = bytearray(read("aarch64-macos.11.0.so"))
    struct.pack_into("<I", data, load_command_offset(data, LC_BUILD_VERSION) + 8, MachOPlatform.IOS)
    (only,) = parse_macho(bytes(data)).slices
    assert (only.platform, only.min_os, only.min_macos) == (MachOPlatform.IOS, (11, 0, 0), None)


def test_capped_member_with_whole_load_commands_still_parses() -> None:
    data = read("x86_64-macos.10.13.so")
    sizeofcmds = struct.unpack_from("<I", data, 20)[0]
    assert parse_macho(data[: 32 + sizeofcmds]) == parse_macho(data)


def test_truncated_load_commands() -> None:
    with pytest.raises(
        BinaryParseError, match=r"^truncated: load commands at bytes 32:1368, file has 100 bytes$"
    ):
        parse_macho(read("x86_64-macos.10.13.so")[:100])


def test_fat_header_claiming_a_million_slices() -> None:
    with pytest.raises(BinaryParseError, match="fat header claims 1000000 slices"):
        parse_macho(read("hostile-fat-1000000.bin"))


def test_fat_slice_past_end_of_file() -> None:
    data = bytearray(read("universal2-macos.so"))
    struct.pack_into(">I", data, 8 + 20 + 8, len(data) + 4096)  # second slice's offset
    with pytest.raises(BinaryParseError, match="truncated"):
        parse_macho(bytes(data))


def test_fat_slice_overlapping_its_header() -> None:
    data = bytearray(read("universal2-macos.so"))
    struct.pack_into(">I", data, 8 + 8, 0)
    with pytest.raises(BinaryParseError, match="overlaps the fat header"):
        parse_macho(bytes(data))


def test_zero_sized_load_command_cannot_loop() -> None:
    data = bytearray(read("x86_64-macos.10.13.so"))
    struct.pack_into("<I", data, 32 + 4, 0)  # first command's cmdsize
    with pytest.raises(BinaryParseError, match="invalid size 0"):
        parse_macho(bytes(data))


def test_load_command_cap() -> None:
    data = bytearray(read("x86_64-macos.10.13.so"))
    struct.pack_into("<I", data, 16, 1_000_000)  # ncmds
    with pytest.raises(BinaryParseError, match="claims 1000000 entries"):
        parse_macho(bytes(data))


def test_string_offset_outside_its_command() -> None:
    data = bytearray(read("x86_64-macos.10.13.so"))
    struct.pack_into("<I", data, load_command_offset(data, 0xD) + 8, 4096)  # LC_ID_DYLIB name offset
    with pytest.raises(BinaryParseError, match="install name offset 4096 lies outside"):
        parse_macho(bytes(data))


@pytest.mark.parametrize(
    ("cputype", "cpusubtype", "arch"),
    [
        (0x0100000C, 0x80000002, "arm64e"),  # PTRAUTH capability bits in the top byte
        (0x01000007, 8, "x86_64h"),
        (7, 3, "i386"),
        (12, 9, "armv7"),
        (0x0200000C, 1, "arm64_32"),
        (99, 0, "unknown(99)"),
    ],
)
def test_arch_names(cputype: int, cpusubtype: int, arch: str) -> None:
    assert macho_arch(cputype, cpusubtype) == arch
