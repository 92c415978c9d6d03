"""ELF parsing: field values on the committed fixtures, agreement with pyelftools, limits."""

from __future__ import annotations

import contextlib
import dataclasses
import random
import struct
from pathlib import Path

import pytest

from xbuild.binary import BinaryParseError, ElfInfo, VersionNeed, elf, parse_elf
from xbuild.binary.reference import elf_with_pyelftools

FIXTURES = Path(__file__).parent / "fixtures" / "binaries"
ELF_FIXTURES = [
    "x86_64-linux-gnu.so",
    "x86_64-linux-gnu-program",
    "aarch64-linux-gnu.2.17.so",
    "s390x-linux-gnu.2.17.so",
    "x86_64-linux-musl.so",
    "aarch64-linux-musl.so",
    "armv7l-linux-musleabihf.so",
    "x86_64-linux-musl-static",
]


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_host_glibc_extension() -> None:
    info = parse_elf(read("x86_64-linux-gnu.so"))
    assert (info.elf_class, info.endian, info.machine, info.arch) == (64, "little", 62, "x86_64")
    assert info.e_type == 3  # ET_DYN
    assert info.needed == ("libm.so.6", "libc.so.6")
    assert info.soname == "libxb.so.1"
    assert info.rpath == ()
    assert info.runpath == ("$ORIGIN/../xb.libs", "$ORIGIN")
    assert VersionNeed(file="libc.so.6", versions=("GLIBC_2.2.5", "GLIBC_2.14")) in info.version_requirements
    assert {"memcpy", "PyLong_FromDouble", "sqrt", "cbrt"} <= set(info.undefined_symbols)
    assert info.interpreter is None
    assert not info.is_static


def test_cross_glibc_extension_uses_rpath_and_old_glibc() -> None:
    info = parse_elf(read("aarch64-linux-gnu.2.17.so"))
    assert (info.arch, info.machine) == ("aarch64", 183)
    assert info.rpath == ("$ORIGIN/../xb.libs",)
    assert info.runpath == ()
    assert info.version_requirements == (
        VersionNeed(file="libm.so.6", versions=("GLIBC_2.17",)),
        VersionNeed(file="libc.so.6", versions=("GLIBC_2.17",)),
    )


@pytest.mark.parametrize(
    ("name", "elf_class", "endian", "arch"),
    [
        ("x86_64-linux-musl.so", 64, "little", "x86_64"),
        ("aarch64-linux-musl.so", 64, "little", "aarch64"),
        ("armv7l-linux-musleabihf.so", 32, "little", "armv7l"),
        ("s390x-linux-gnu.2.17.so", 64, "big", "s390x"),
    ],
)
def test_class_endianness_and_arch(name: str, elf_class: int, endian: str, arch: str) -> None:
    info = parse_elf(read(name))
    assert (info.elf_class, info.endian, info.arch) == (elf_class, endian, arch)
    assert "PyLong_FromDouble" in info.undefined_symbols


def test_musl_extension_has_no_symbol_versions() -> None:
    info = parse_elf(read("x86_64-linux-musl.so"))
    assert info.needed == ("libc.so",)
    assert info.version_requirements == ()


def test_program_interpreter() -> None:
    info = parse_elf(read("x86_64-linux-gnu-program"))
    assert info.interpreter == "/lib64/ld-linux-x86-64.so.2"
    assert "__libc_start_main" in info.undefined_symbols


def test_static_executable() -> None:
    info = parse_elf(read("x86_64-linux-musl-static"))
    assert info.is_static
    assert info.e_type == 2  # ET_EXEC
    assert (info.needed, info.undefined_symbols, info.interpreter) == ((), (), None)


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_agrees_with_pyelftools(name: str) -> None:
    data = read(name)
    assert parse_elf(data) == elf_with_pyelftools(data)


def test_ignores_section_headers() -> None:
    """What the loader sees is in the program headers; dropping the section table changes nothing."""
    data = bytearray(read("x86_64-linux-gnu.so"))
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    data[shoff:] = b"\xff" * (len(data) - shoff)  # the section header table itself
    struct.pack_into("<Q", data, 0x28, 0)  # e_shoff
    struct.pack_into("<HHH", data, 0x3A, 0, 0, 0)  # e_shentsize, e_shnum, e_shstrndx
    assert parse_elf(bytes(data)) == parse_elf(read("x86_64-linux-gnu.so"))


def test_truncated_program_headers() -> None:
    with pytest.raises(
        BinaryParseError, match=r"^truncated: program headers end at 568 but file has 120 bytes$"
    ):
        parse_elf(read("hostile-truncated-phdrs.so"))


def test_truncated_dynamic_segment() -> None:
    with pytest.raises(
        BinaryParseError, match=r"^truncated: dynamic segment at bytes .*, file has 4096 bytes$"
    ):
        parse_elf(read("hostile-truncated-dynamic.so"))


@pytest.mark.parametrize(
    "name", ["x86_64-linux-gnu.so", "armv7l-linux-musleabihf.so", "s390x-linux-gnu.2.17.so"]
)
def test_every_prefix_parses_or_fails_cleanly(name: str) -> None:
    data = read(name)
    for length in range(0, len(data), 41):
        with contextlib.suppress(BinaryParseError):
            parse_elf(data[:length])


def test_program_header_cap() -> None:
    data = bytearray(read("x86_64-linux-gnu.so"))
    struct.pack_into("<H", data, 0x38, 0xFFFF)  # e_phnum
    with pytest.raises(BinaryParseError, match="claims 65535 entries"):
        parse_elf(bytes(data))


def test_undersized_program_header_entries() -> None:
    data = bytearray(read("x86_64-linux-gnu.so"))
    struct.pack_into("<H", data, 0x36, 8)  # e_phentsize
    with pytest.raises(BinaryParseError, match="program header size 8"):
        parse_elf(bytes(data))


@pytest.mark.parametrize(
    ("ident", "message"),
    [
        (b"\x7fELF\x03\x01", "ELF class 3"),
        (b"\x7fELF\x02\x00", "data encoding 0"),
        (b"\x7fELF", "truncated: ELF identification"),
        (b"\x7fELX" + bytes(60), "not ELF"),
    ],
)
def test_bad_identification(ident: bytes, message: str) -> None:
    with pytest.raises(BinaryParseError, match=message):
        parse_elf(ident + bytes(60) if len(ident) == 6 else ident)


def test_result_is_frozen_and_hashable() -> None:
    info = parse_elf(read("x86_64-linux-musl.so"))
    assert isinstance(info, ElfInfo)
    assert hash(info) == hash(parse_elf(read("x86_64-linux-musl.so")))
    with pytest.raises(AttributeError):
        info.arch = "i686"  # type: ignore[misc]


def test_symbols_decoded_on_use_behave_as_tuples() -> None:
    info = parse_elf(read("x86_64-linux-gnu.so"))
    names = tuple(info.undefined_symbols)
    assert info.undefined_symbols == names and names == info.undefined_symbols
    assert hash(info.undefined_symbols) == hash(names) and repr(info.undefined_symbols) == repr(names)
    assert len(info.undefined_symbols) == len(names) and info.undefined_symbols[1:3] == names[1:3]
    assert "memcpy" in info.undefined_symbols and info.undefined_symbols[0] == names[0]
    assert info.weak_symbols == tuple(info.weak_symbols) != info.undefined_symbols


def _outcome(data: bytes) -> ElfInfo | str:
    try:
        return parse_elf(data)
    except BinaryParseError as exc:
        return f"error: {exc}"


@pytest.mark.parametrize("name", ELF_FIXTURES)
@pytest.mark.parametrize("seed", range(12))
def test_damaged_string_tables_read_as_an_eager_scan_does(name: str, seed: int) -> None:
    # Names are decoded later only when every one provably decodes; otherwise the scan runs at
    # once, so a damaged table gives the same answer (or the same error) as before.
    data = bytearray(read(name))
    marker = data.find(b"memcpy\0") if seed % 2 else data.find(b"GLIBC_")
    rng = random.Random(seed)
    at = max(marker, 0) + rng.randrange(-64, 64)
    for _ in range(1 + seed % 4):
        data[max(at + rng.randrange(-8, 8), 0)] = rng.choice((0, 0x41, 0xFF))
    damaged = bytes(data)
    lazy = _outcome(damaged)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(elf, "_names_resolve", lambda *args: False)
        assert _outcome(damaged) == lazy


@pytest.mark.parametrize("name", ELF_FIXTURES)
def test_strong_imports_looked_up_in_the_tables_agree_with_the_decoded_names(name: str) -> None:
    data = read(name)
    decoded = parse_elf(data)
    undefined, weak = tuple(decoded.undefined_symbols), tuple(decoded.weak_symbols)
    asked = frozenset([*undefined[:40], *weak, "__cxa_thread_atexit_impl", "not_there", "mem", "cpy"])
    expected = asked & frozenset(undefined).difference(weak)
    assert elf.strong_imports(parse_elf(data), asked) == expected  # from the tables, undecoded
    assert elf.strong_imports(decoded, asked) == expected  # from the decoded names
    plain = dataclasses.replace(decoded, undefined_symbols=undefined, weak_symbols=weak)
    assert elf.strong_imports(plain, asked | {"naïve [x]"}) == expected
