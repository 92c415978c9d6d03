"""The WebAssembly parser: header, version and Emscripten's dylink section, read from the first
section only; malformed input raises only BinaryParseError."""

from __future__ import annotations

import pytest
from verify_helpers import binary

from xbuild.binary import BinaryParseError, parse_wasm

SIDE_MODULE = "wasm32-emscripten-synthetic.so"
HEADER = b"\0asm\x01\0\0\0"
TYPES = b"\x01\x01\x00"  # an empty type section


def custom(name: bytes, payload: bytes = b"") -> bytes:
    body = bytes([len(name)]) + name + payload
    return b"\0" + bytes([len(body)]) + body


def test_side_module_sections_are_read() -> None:
    info = parse_wasm(binary(SIDE_MODULE))
    assert (info.version, info.dylink, info.needed, info.arch) == (
        1,
        "dylink.0",
        ("libxb_helper.so",),
        "wasm32",
    )


@pytest.mark.parametrize(
    ("data", "dylink"),
    [
        (HEADER, None),
        (HEADER + TYPES, None),
        (HEADER + custom(b"name") + TYPES, None),  # a custom section, but not the dylink one
        (HEADER + custom(b"dylink", b"\x10\x02\x00\x00") + TYPES, "dylink"),  # before Emscripten 2.0.25
        (HEADER + custom(b"dylink.0") + TYPES, "dylink.0"),
    ],
)
def test_dylink_section_is_recognised_only_first(data: bytes, dylink: str | None) -> None:
    assert parse_wasm(data).dylink == dylink


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\0asm\x01", "truncated"),
        (b"\0asm\x02\0\0\0", "version 2"),
        (HEADER + b"\0\xff\xff\xff\xff\xff", "LEB128"),
        (HEADER + b"\0\x7f\x08dylink.0", "truncated"),
        (HEADER + custom(b"dylink.0", b"\x02\x05\x01\x7fabc"), "runs past"),
    ],
)
def test_malformed_modules_raise_only_the_parse_error(data: bytes, problem: str) -> None:
    with pytest.raises(BinaryParseError, match=problem):
        parse_wasm(data)
