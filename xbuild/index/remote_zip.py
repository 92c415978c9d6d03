"""Read a wheel's METADATA through HTTP range requests without downloading the wheel.

The tail of the file holds the zip central directory; with it we know exactly which byte range
holds the METADATA member, so a small wheel costs one request and a large one usually two.
"""

from __future__ import annotations

import io
import logging
import zipfile
from collections.abc import Callable
from typing import Any

from packaging.utils import NormalizedName

from .archives import find_metadata_member, read_member
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

    def ensure(self, start: int, end: int) -> None:
        """Fetch [start, end) in one request unless it is already held."""
        self._read(start, min(end, self._size))

    def _read(self, start: int, end: int) -> bytes:
        for seg_start, data in self._segments:
            if seg_start <= start and end <= seg_start + len(data):
                return data[start - seg_start : end - seg_start]
        fetch_end = min(self._size, max(end, start + _MIN_FETCH))
        reply = self._get_range(f"bytes={start}-{fetch_end - 1}")
        if reply is None or reply.start != start or len(reply.body) != fetch_end - start:
            raise RangesUnsupported(f"bad reply to a range request for {start}-{fetch_end - 1}")
        self._segments.append((start, reply.body))
        return reply.body[: end - start]


def metadata_over_ranges(get_range: GetRange, project: NormalizedName, filename: str) -> bytes:
    """METADATA of a remote wheel. Raises RangesUnsupported when ranges do not work, and
    zipfile.BadZipFile/KeyError/EOFError when the bytes are not a usable wheel."""
    first = get_range(f"bytes=-{TAIL_BYTES}")
    if first is None:
        raise RangesUnsupported("the server does not honour range requests")
    with RangeFile(get_range, first) as remote, zipfile.ZipFile(remote) as archive:
        member = find_metadata_member(archive.namelist(), project)
        if member is None:
            raise KeyError(f"wheel {filename} has no .dist-info/METADATA")
        info = archive.getinfo(member)
        remote.ensure(info.header_offset, _member_end(archive, info))
        return read_member(archive, info, filename)


def _member_end(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """A member's bytes end where the next member's header (or the central directory) begins."""
    later = [i.header_offset for i in archive.infolist() if i.header_offset > info.header_offset]
    return min(later, default=archive.start_dir)
