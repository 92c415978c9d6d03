"""Format detection by magic bytes, and dispatch through `parse`."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xbuild.binary import BinaryFormat, BinaryParseError, ElfInfo, MachOInfo, PeInfo, WasmInfo, parse, sniff

FIXTURES = Path(__file__).parent / "fixtures" / "binaries"
EXPECTED = {
    "x86_64-linux-gnu.so": BinaryFormat.ELF,
    "x86_64-linux-gnu-program": BinaryFormat.ELF,
    "aarch64-linux-gnu.2.17.so": BinaryFormat.ELF,
    "s390x-linux-gnu.2.17.so": BinaryFormat.ELF,
    "x86_64-linux-musl.so": BinaryFormat.ELF,
    "aarch64-linux-musl.so": BinaryFormat.ELF,
    "armv7l-linux-musleabihf.so": BinaryFormat.ELF,
    "x86_64-linux-musl-static": BinaryFormat.ELF,
    "x86_64-macos.10.13.so": BinaryFormat.MACHO,
    "aarch64-macos.11.0.so": BinaryFormat.MACHO,
    "universal2-macos.so": BinaryFormat.MACHO,
    "ppc-macos-synthetic.dylib": BinaryFormat.MACHO,
    "x86_64-windows-gnu.dll": BinaryFormat.PE,
    "aarch64-windows-gnu.dll": BinaryFormat.PE,
    "i686-windows-gnu.dll": BinaryFormat.PE,
    "x86_64-windows-delayload-synthetic.dll": BinaryFormat.PE,
    "aarch64-linux-android24-markupsafe.so": BinaryFormat.ELF,
    "arm64-iphoneos13-markupsafe.so": BinaryFormat.MACHO,
    "wasm32-emscripten-synthetic.so": BinaryFormat.WASM,
    # Truncated files still carry their magic; sniff says what they claim to be.
    "hostile-truncated-phdrs.so": BinaryFormat.ELF,
    "hostile-truncated-dynamic.so": BinaryFormat.ELF,
    "hostile-fat-1000000.bin": None,
    "hostile-random.bin": None,
    "not-binary-java.class": None,
}
RESULT_TYPES = {
    BinaryFormat.ELF: ElfInfo,
    BinaryFormat.MACHO: MachOInfo,
    BinaryFormat.PE: PeInfo,
    BinaryFormat.WASM: WasmInfo,
}


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_every_fixture_is_listed() -> None:
    on_disk = {p.name for p in FIXTURES.iterdir() if p.suffix not in {".py", ".md"}}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), EXPECTED.items())
def test_sniff_fixture(name: str, expected: BinaryFormat | None) -> None:
    data = read(name)
    assert sniff(data) is expected
    assert sniff(data[:4096]) is expected


@pytest.mark.parametrize(("name", "fmt"), [(n, f) for n, f in EXPECTED.items() if f and "hostile" not in n])
def test_parse_dispatches_to_the_sniffed_format(name: str, fmt: BinaryFormat) -> None:
    assert isinstance(parse(read(name)), RESULT_TYPES[fmt])


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"", None),
        (b"\x7fEL", None),
        (b"\x7fELF", BinaryFormat.ELF),
        (struct.pack(">I", 0xFEEDFACF), BinaryFormat.MACHO),
        (struct.pack("<I", 0xFEEDFACF), BinaryFormat.MACHO),
        (struct.pack(">I", 0xFEEDFACE), BinaryFormat.MACHO),
        (struct.pack("<I", 0xFEEDFACE), BinaryFormat.MACHO),
        (struct.pack(">II", 0xCAFEBABE, 2), BinaryFormat.MACHO),
        (struct.pack(">II", 0xCAFEBABF, 1), BinaryFormat.MACHO),
        (struct.pack(">II", 0xCAFEBABE, 30), BinaryFormat.MACHO),
        (struct.pack(">II", 0xCAFEBABE, 0), None),
        (struct.pack(">IHH", 0xCAFEBABE, 0, 52), None),  # Java 8 class file
        (struct.pack(">I", 0xCAFEBABE), None),
        (b"MZ", None),
        (b"MZ" + bytes(58) + struct.pack("<I", 64), None),  # DOS program: nothing at e_lfanew
        (b"MZ" + bytes(58) + struct.pack("<I", 64) + b"PE\0\0", BinaryFormat.PE),
        (b"MZ" + bytes(58) + struct.pack("<I", 1 << 31), None),
    ],
)
def test_sniff_magic(head: bytes, expected: BinaryFormat | None) -> None:
    assert sniff(head) is expected


def test_parse_rejects_unknown_formats() -> None:
    with pytest.raises(BinaryParseError, match="not an ELF, Mach-O or PE file: starts with '9e 04"):
        parse(read("hostile-random.bin"))
    with pytest.raises(BinaryParseError, match="not an ELF"):
        parse(b"")


def test_parse_explains_what_a_sniff_refused() -> None:
    """parse follows the claimed magic, so hostile input gets a specific message."""
    with pytest.raises(BinaryParseError, match=r"^fat header claims 1000000 slices"):
        parse(read("hostile-fat-1000000.bin"))
    with pytest.raises(BinaryParseError, match="Java class"):
        parse(read("not-binary-java.class"))
    with pytest.raises(BinaryParseError, match="no PE signature"):
        parse(b"MZ" + bytes(58) + struct.pack("<I", 64) + bytes(64))


def test_format_values_are_stable_strings() -> None:
    assert [f.value for f in BinaryFormat] == ["elf", "macho", "pe", "wasm"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=256))
def test_sniff_never_raises(head: bytes) -> None:
    assert sniff(head) in (None, *BinaryFormat)
