"""Hostile input: whatever the bytes, the parsers finish quickly and raise only BinaryParseError.

One file for all three formats so that the mutation strategy is written once.
"""

from __future__ import annotations

import contextlib
import struct
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xbuild.binary import BinaryFormat, BinaryParseError, parse, sniff

FIXTURES = Path(__file__).parent / "fixtures" / "binaries"
SECONDS_PER_PARSE = 1.0
MAGICS = [
    b"\x7fELF\x01\x01",
    b"\x7fELF\x02\x01",
    b"\x7fELF\x02\x02",
    struct.pack("<I", 0xFEEDFACF),
    struct.pack(">I", 0xFEEDFACE),
    struct.pack(">II", 0xCAFEBABE, 2),
    struct.pack(">II", 0xCAFEBABF, 1),
    b"MZ" + bytes(58) + struct.pack("<I", 64) + b"PE\0\0",
    b"\0asm\x01\0\0\0\0",
]
EXTREMES = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]


def fixtures_of(fmt: BinaryFormat) -> list[bytes]:
    blobs = (p.read_bytes() for p in sorted(FIXTURES.iterdir()) if p.suffix not in {".py", ".md"})
    return [blob for blob in blobs if sniff(blob) is fmt]


def parse_quickly(data: bytes) -> None:
    start = time.perf_counter()
    with contextlib.suppress(BinaryParseError):
        parse(data)
    assert time.perf_counter() - start < SECONDS_PER_PARSE


@st.composite
def mutated(draw: st.DrawFn, blobs: list[bytes]) -> bytes:
    """A fixture with a few bytes or 32-bit words changed, mostly in its headers, maybe cut short."""
    data = bytearray(draw(st.sampled_from(blobs)))
    hot = min(len(data), 2048)
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, hot - 4))
        if draw(st.booleans()):
            data[at] = draw(st.integers(0, 255))
        else:
            order = draw(st.sampled_from("<>"))
            data[at : at + 4] = struct.pack(order + "I", draw(st.sampled_from(EXTREMES)))
    cut = draw(st.one_of(st.none(), st.integers(0, len(data))))
    return bytes(data[:cut])


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=4096))
def test_random_bytes(data: bytes) -> None:
    parse_quickly(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(MAGICS), st.binary(max_size=2048))
def test_magic_then_random_bytes(magic: bytes, tail: bytes) -> None:
    parse_quickly(magic + tail)


@pytest.mark.parametrize("fmt", list(BinaryFormat))
def test_mutated_fixtures(fmt: BinaryFormat) -> None:
    @settings(max_examples=200, deadline=None)
    @given(mutated(fixtures_of(fmt)))
    def check(data: bytes) -> None:
        parse_quickly(data)

    check()
