"""Bounds-checked reads shared by the three parsers, and the one error they raise.

Every read goes through these helpers so that a short or hostile file can only ever surface as
`BinaryParseError`, never as `IndexError` or `struct.error`.
"""

from __future__ import annotations

import struct
from typing import Any, Final

# Caps on what one file may make us iterate over. Real extension modules stay far below each
# (a few dozen program headers or load commands, a handful of fat slices), so hitting one means
# the file is hostile or corrupt; refusing is cheaper than a slow walk over a 100 MB member.
MAX_PROGRAM_HEADERS: Final = 512
MAX_DYNAMIC_ENTRIES: Final = 16_384
MAX_VERSION_NEEDS: Final = 1_024
MAX_SYMBOLS: Final = 1 << 20
MAX_LOAD_COMMANDS: Final = 4_096
MAX_FAT_SLICES: Final = 30
MAX_SECTIONS: Final = 1_024
MAX_IMPORTS: Final = 4_096
MAX_STRING: Final = 4_096


class BinaryParseError(ValueError):
    """The bytes are not a well-formed binary of the format they claim, or are truncated."""


def check_span(data: bytes, offset: int, size: int, what: str) -> None:
    """Raise unless `size` bytes at `offset` lie inside `data`."""
    end = offset + size
    if offset < 0 or size < 0 or end > len(data):
        raise BinaryParseError(f"truncated: {what} at bytes {offset}:{end}, file has {len(data)} bytes")


def unpack(layout: struct.Struct, data: bytes, offset: int, what: str) -> tuple[Any, ...]:
    """`layout.unpack_from` with a truncation message that names the structure."""
    check_span(data, offset, layout.size, what)
    return layout.unpack_from(data, offset)


def check_count(count: int, cap: int, what: str) -> None:
    """Refuse counts above `cap`; the message quotes the claim so hostile input is recognisable."""
    if count > cap:
        raise BinaryParseError(f"{what} claims {count} entries, more than the {cap} supported")


def decode(raw: bytes) -> str:
    """Names are bytes on disk; keep undecodable ones visible rather than failing on them."""
    return raw.decode("utf-8", "backslashreplace")


def cstring(data: bytes, offset: int, limit: int, what: str) -> str:
    """The NUL-terminated string at `offset`, which must end before `limit` (exclusive)."""
    check_span(data, offset, 1, what)
    if offset >= limit:
        raise BinaryParseError(f"{what} at offset {offset} lies outside its table, which ends at {limit}")
    stop = min(limit, len(data), offset + MAX_STRING)
    end = data.find(b"\0", offset, stop)
    if end >= 0:
        return decode(data[offset:end])
    if stop == len(data):
        raise BinaryParseError(f"truncated: {what} at offset {offset} runs to the end of the file")
    raise BinaryParseError(f"{what} at offset {offset} has no NUL terminator within {stop - offset} bytes")
