"""Read a wheel's METADATA through HTTP range requests without downloading the wheel.

The tail of the file holds the zip central directory; with it we know exactly which byte range
holds the METADATA member, so a small wheel costs one request and a large one usually two.
"""

from __future__ import annotations

import io
import logging
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import Any

from packaging.utils import NormalizedName

from ..limits import DEFAULT_LIMITS
from .archives import bounded_metadata, find_metadata_member, read_member
from .http import RangeReply

logger = logging.getLogger(__name__)

TAIL_BYTES = 64 * 1024  # covers the central directory of all but very large wheels
_MIN_FETCH = 16 * 1024

GetRange = Callable[[str], RangeReply | None]  # Range header value -> reply, None: unsupported


class RangesUnsupported(Exception):
    """The server ignored or mangled a range request; the caller downloads the whole file."""


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file that fetches missing byte ranges on demand."""

    def __init__(self, get_range: GetRange, first: RangeReply) -> None:
        super().__init__()
        self._get_range = get_range
        self._size = first.total
        self._segments: list[tuple[int, bytes]] = [(first.start, first.body)]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._size - self._pos)
        if count <= 0:
            return 0
        view[:count] = self._read(self._pos, self._pos + count)
        self._pos += count
        return count

    def read_range(self, start: int, end: int) -> bytes:
        """Bytes [start, end) (fewer at the end of the file), fetched in one request if missing."""
        return self._read(start, min(end, self._size))

    def _read(self, start: int, end: int) -> bytes:
        for seg_start, data in self._segments:
            if seg_start <= start and end <= seg_start + len(data):
                return data[start - seg_start : end - seg_start]
        fetch_end = min(self._size, max(end, start + _MIN_FETCH))
        reply = self._get_range(f"bytes={start}-{fetch_end - 1}")
        if reply is None or reply.start != start or len(reply.body) != fetch_end - start:
            raise RangesUnsupported(f"bad reply to a range request for {start}-{fetch_end - 1}")
        self._keep(start, reply.body)
        return reply.body[: end - start]

    def _keep(self, start: int, body: bytes) -> None:
        """Keep a fetched span, joined to a kept span it reaches, so that a read across the
        seam needs no request of its own."""
        end = start + len(body)
        for i, (seg_start, data) in enumerate(self._segments):
            if start < seg_start <= end < seg_start + len(data):
                self._segments[i] = (start, body + data[end - seg_start :])
                return
        self._segments.append((start, body))


def metadata_over_ranges(get_range: GetRange, project: NormalizedName, filename: str) -> bytes:
    """METADATA of a remote wheel. Raises RangesUnsupported when ranges do not work, and
    zipfile.BadZipFile/KeyError/EOFError when the bytes are not a usable wheel."""
    first = get_range(f"bytes=-{TAIL_BYTES}")
    if first is None:
        raise RangesUnsupported("the server does not honour range requests")
    with RangeFile(get_range, first) as remote:
        found = _plain_directory(remote, first)
        if found is None:  # zip64, prepended bytes, an odd entry: zipfile judges it
            return _metadata_with_zipfile(remote, project, filename)
        offsets, candidates, directory_start = found
        names = {entry.name: entry for entry in candidates}
        member = find_metadata_member(names, project)
        if member is None:
            raise KeyError(f"wheel {filename} has no .dist-info/METADATA")
        entry = names[member]
        end = min((offset for offset in offsets if offset > entry.offset), default=directory_start)
        return _inflate(entry, remote.read_range(entry.offset, end), filename)


def _metadata_with_zipfile(remote: RangeFile, project: NormalizedName, filename: str) -> bytes:
    with zipfile.ZipFile(remote) as archive:
        member = find_metadata_member(archive.namelist(), project)
        if member is None:
            raise KeyError(f"wheel {filename} has no .dist-info/METADATA")
        info = archive.getinfo(member)
        remote.read_range(info.header_offset, _member_end(archive, info))  # one request for the member
        return read_member(archive, info, filename)


def _member_end(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """A member's bytes end where the next member's header (or the central directory) begins."""
    later = [i.header_offset for i in archive.infolist() if i.header_offset > info.header_offset]
    return min(later, default=archive.start_dir)


# --- the central directory, read for the one member wanted ------------------------------------
#
# zipfile builds a ZipInfo for each of a big wheel's thousands of entries where finding METADATA
# needs an offset per entry and the few names that end in METADATA (botocore's 2,061 entries:
# 6.3 ms through zipfile, 0.95 ms here; bench/bench_remote_zip.py). Only the plain layout every
# wheel tool writes is read here; any other (zip64, a multi-disk or prepended archive, an entry
# that does not parse) goes to zipfile.

_END = struct.Struct("<4sHHHHLLH")  # end of central directory record
_ENTRY = struct.Struct("<4s4xHH4xLLLHHH8xL")  # central directory header, the fields read
_LOCAL = struct.Struct("<4s22xHH")  # local file header: name and extra field lengths
_UTF8_FLAG = 0x800
_UNREAD_FLAGS = 0x1 | 0x40  # encrypted: zipfile reports it
_STORED, _DEFLATED = 0, 8


class _Entry:
    __slots__ = ("compressed", "crc", "flags", "method", "name", "offset", "raw_name", "size")

    def __init__(self, fields: tuple[Any, ...], raw_name: bytes, name: str) -> None:
        _, self.flags, self.method, self.crc, self.compressed, self.size, _, _, _, self.offset = fields
        self.raw_name = raw_name
        self.name = name


def _plain_directory(remote: RangeFile, tail: RangeReply) -> tuple[list[int], list[_Entry], int] | None:
    """Every entry's offset, the entries that may be METADATA, and where the directory starts;
    None for a layout left to zipfile."""
    body = tail.body
    at = body.rfind(b"PK\x05\x06", max(0, len(body) - _END.size - 0xFFFF))
    if at < 0 or at + _END.size > len(body):
        return None
    _, disk, first_disk, here, count, size, start, comment = _END.unpack_from(body, at)
    end_offset = tail.start + at
    if (disk, first_disk) != (0, 0) or here != count or at + _END.size + comment != len(body):
        return None  # several disks, or a signature inside a comment
    if count == 0xFFFF or 0xFFFFFFFF in (size, start) or start + size != end_offset:
        return None  # zip64, or bytes before the archive: offsets would need shifting
    if start < tail.start:
        # The directory begins before the tail. Fetch it together with as many bytes again
        # before it: METADATA is written just before the directory, with RECORD, which grows
        # with the directory (botocore: 209 KB of directory, METADATA 79 KB before it). Then
        # the member is already here, where it would have been a third request.
        remote.read_range(max(0, start - size), tail.start)
    directory = remote.read_range(start, start + size)
    found = _entries(directory, count)
    return (*found, start) if found is not None else None


def _entries(directory: bytes, count: int) -> tuple[list[int], list[_Entry]] | None:
    """One unpack per entry; a name is only decoded when it ends in METADATA."""
    offsets: list[int] = []
    candidates: list[_Entry] = []
    position, unpack, header = 0, _ENTRY.unpack_from, _ENTRY.size
    try:
        for _ in range(count):
            fields = unpack(directory, position)
            if fields[0] != b"PK\x01\x02" or 0xFFFFFFFF in (fields[4], fields[5], fields[9]):
                return None  # not an entry, or one whose sizes are in a zip64 extra field
            name_start = position + header
            name_end = name_start + fields[6]
            offsets.append(fields[9])
            if directory.endswith(b"METADATA", name_start, name_end):
                raw = directory[name_start:name_end]
                candidates.append(
                    _Entry(fields, raw, raw.decode("utf-8" if fields[1] & _UTF8_FLAG else "cp437"))
                )
            position = name_end + fields[7] + fields[8]
    except (struct.error, UnicodeDecodeError):
        return None
    return (offsets, candidates) if position == len(directory) else None


def _inflate(entry: _Entry, data: bytes, filename: str) -> bytes:
    """The member's bytes, from its local header on, checked as zipfile checks them."""
    if entry.flags & _UNREAD_FLAGS or entry.method not in (_STORED, _DEFLATED):
        raise zipfile.BadZipFile(f"{entry.name} is encrypted or compressed in a way wheels are not")
    try:
        signature, name_length, extra_length = _LOCAL.unpack_from(data)
    except struct.error as exc:
        raise zipfile.BadZipFile(f"{entry.name}: truncated local header") from exc
    start = _LOCAL.size + name_length + extra_length
    if signature != b"PK\x03\x04" or data[_LOCAL.size : _LOCAL.size + name_length] != entry.raw_name:
        raise zipfile.BadZipFile(f"{entry.name}: bad local header, or one for another name")
    raw = data[start : start + entry.compressed]
    if len(raw) != entry.compressed:
        raise zipfile.BadZipFile(f"{entry.name}: truncated")
    limit = DEFAULT_LIMITS.max_metadata_bytes + 1  # inflate no further than the cap: a bomb stops
    try:
        out = raw[:limit] if entry.method == _STORED else zlib.decompressobj(-15).decompress(raw, limit)
    except zlib.error as exc:
        raise zipfile.BadZipFile(f"{entry.name}: {exc}") from exc
    out = bounded_metadata(out, filename)
    if len(out) != entry.size or zlib.crc32(out) != entry.crc:
        raise zipfile.BadZipFile(f"Bad CRC-32 or size for {entry.name}")
    return out
