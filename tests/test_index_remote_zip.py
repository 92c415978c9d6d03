"""Reading METADATA through byte ranges, with an in-memory range server (a plain function)."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from packaging.utils import canonicalize_name
from support.index_server import parse_range

from xbuild.errors import RefusedError
from xbuild.index import remote_zip
from xbuild.index.archives import find_metadata_member, find_pkg_info
from xbuild.index.http import RangeReply, parse_content_range
from xbuild.index.remote_zip import RangesUnsupported, metadata_over_ranges
from xbuild.limits import DEFAULT_LIMITS

FOO = canonicalize_name("foo")


class Ranges:
    """Answers Range header values from bytes, like a server would, and logs each request."""

    def __init__(self, data: bytes, *, honour: bool = True) -> None:
        self.data = data
        self.honour = honour
        self.asked: list[str] = []

    def __call__(self, spec: str) -> RangeReply | None:
        self.asked.append(spec)
        bounds = parse_range(spec, len(self.data)) if self.honour else None
        if bounds is None:
            return None
        start, end = bounds
        return RangeReply(start, len(self.data), self.data[start : end + 1])


def zip_bytes(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _zip_stored(members: list[tuple[str, bytes]]) -> bytes:
    return zip_bytes(members, zipfile.ZIP_STORED)


def _zip64(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for name, data in members:
            with archive.open(name, "w", force_zip64=True) as stream:
                stream.write(data)
    return buffer.getvalue()


def _zip64_end(members: list[tuple[str, bytes]]) -> bytes:
    """An archive with a zip64 end record, as one of more than 65,535 entries has (zipfile is told
    its entry limit is 0, so a test need not write 65,536 entries)."""
    module = vars(zipfile)  # the constant is Final to type checkers; zipfile reads it per write
    limit = module["ZIP_FILECOUNT_LIMIT"]
    module["ZIP_FILECOUNT_LIMIT"] = 0
    try:
        data = zip_bytes(members)
    finally:
        module["ZIP_FILECOUNT_LIMIT"] = limit
    assert b"PK\x06\x06" in data
    return data


def _commented(data: bytes) -> bytes:
    archive = zipfile.ZipFile(io.BytesIO(data))
    buffer = io.BytesIO(data)
    with zipfile.ZipFile(buffer, "a") as appended:
        appended.comment = b'built by [a tool] "PK" 1.0'
    archive.close()
    return buffer.getvalue()


def test_small_wheel_needs_one_request() -> None:
    ranges = Ranges(zip_bytes([("foo/__init__.py", b""), ("foo-1.0.dist-info/METADATA", b"M")]))
    assert metadata_over_ranges(ranges, FOO, "foo.whl") == b"M"
    assert ranges.asked == ["bytes=-65536"]


def test_metadata_far_from_the_end_needs_exactly_its_own_range() -> None:
    data = zip_bytes([("foo-1.0.dist-info/METADATA", b"Name: foo\n" * 10), ("blob", os.urandom(200_000))])
    ranges = Ranges(data)
    assert metadata_over_ranges(ranges, FOO, "foo.whl") == b"Name: foo\n" * 10
    assert len(ranges.asked) == 2
    start, end = parse_range(ranges.asked[1], len(data)) or (-1, -1)
    assert start == 0 and end < 20_000  # the member and a little slack, not the blob


def test_a_directory_longer_than_the_tail_comes_with_the_metadata_before_it() -> None:
    """As botocore's and pandas' wheels are laid out: the dist-info last, RECORD growing with the
    directory; two requests, where the member used to take a third."""
    members = [(f"foo/{'x' * 80}{i}.py", b"") for i in range(2000)]
    record = "".join(f"{name},sha256=abc,0\n" for name, _ in members).encode()
    data = zip_bytes([*members, ("foo-1.0.dist-info/METADATA", b"ok"), ("foo-1.0.dist-info/RECORD", record)])
    ranges = Ranges(data)
    assert metadata_over_ranges(ranges, FOO, "foo.whl") == b"ok"
    assert len(ranges.asked) == 2


def test_metadata_far_before_a_long_directory_takes_a_third_request() -> None:
    """As numpy's wheel is laid out: the dist-info first, megabytes of libraries after it."""
    members = [(f"foo/{'x' * 80}{i}.py", b"") for i in range(2000)]
    data = zip_bytes([("foo-1.0.dist-info/METADATA", b"ok"), ("blob", os.urandom(400_000)), *members])
    ranges = Ranges(data)
    assert metadata_over_ranges(ranges, FOO, "foo.whl") == b"ok"
    assert len(ranges.asked) == 3
    start, end = parse_range(ranges.asked[2], len(data)) or (-1, -1)
    assert start == 0 and end < 20_000  # the member, not the blob


def test_server_without_ranges() -> None:
    with pytest.raises(RangesUnsupported):
        metadata_over_ranges(Ranges(b"", honour=False), FOO, "foo.whl")


def test_not_a_zip_raises_bad_zip() -> None:
    with pytest.raises(zipfile.BadZipFile):
        metadata_over_ranges(Ranges(b"definitely not a zip file" * 10), FOO, "foo.whl")


def _with_zipfile(data: bytes) -> bytes:
    """What zipfile reads for the same archive: the reader the plain-layout one must agree with."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = find_metadata_member(archive.namelist(), FOO)
        assert member is not None
        return archive.read(member)


def _unseekable_zip(members: list[tuple[str, bytes]], **options: Any) -> bytes:
    """zipfile writing to a pipe-like stream: every entry gets a data descriptor (flag bit 3)."""

    class Sink(io.RawIOBase):
        def __init__(self) -> None:
            self.data = bytearray()

        def writable(self) -> bool:
            return True

        def write(self, chunk: Any) -> int:
            self.data += bytes(chunk)
            return len(chunk)

    sink = Sink()
    with zipfile.ZipFile(sink, "w", **options) as archive:
        for name, data in members:
            with archive.open(name, "w") as stream:
                stream.write(data)
    return bytes(sink.data)


METADATA = 'Metadata-Version: 2.1\nName: foo\nSummary: ünïcode [brackets] "quotes"\n'.encode()


PLAIN, ZIPFILE = "plain", "zipfile"


@pytest.mark.parametrize(
    ("data", "reader"),
    [
        pytest.param(
            zip_bytes([("foo/a.py", b"x"), ("foo-1.0.dist-info/METADATA", METADATA)]), PLAIN, id="deflated"
        ),
        pytest.param(
            _zip_stored([("foo-1.0.dist-info/METADATA", METADATA), ("foo/a.py", b"x")]),
            PLAIN,
            id="stored-first",
        ),
        pytest.param(
            _unseekable_zip([("foo-1.0.dist-info/METADATA", METADATA), ("foo/b.py", b"y" * 5000)]),
            PLAIN,
            id="data-descriptors",
        ),
        pytest.param(_commented(zip_bytes([("foo-1.0.dist-info/METADATA", METADATA)])), PLAIN, id="comment"),
        pytest.param(
            zip_bytes([("foo-1.0.dist-info/METADATA", METADATA), ("fôo/ü [1].py", b"")]),
            PLAIN,
            id="utf-8-names",
        ),
        pytest.param(
            _zip64([("foo-1.0.dist-info/METADATA", METADATA), ("foo/c.py", b"z")]),
            PLAIN,
            id="zip64-extra-fields",
        ),
        pytest.param(_zip64_end([("foo-1.0.dist-info/METADATA", METADATA)]), ZIPFILE, id="zip64-end-record"),
        pytest.param(
            b"#!/bin/sh\nexit 0\n" + zip_bytes([("foo-1.0.dist-info/METADATA", METADATA)]),
            ZIPFILE,
            id="prepended",
        ),
    ],
)
def test_plain_reader_agrees_with_zipfile(data: bytes, reader: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Big wheels' central directories are read without building a ZipInfo per entry; every
    layout reads the same as through zipfile, which still takes any layout but the plain one."""
    used: list[str] = []
    with_zipfile = remote_zip._metadata_with_zipfile

    def spy(*args: Any) -> bytes:
        used.append(ZIPFILE)
        return with_zipfile(*args)

    monkeypatch.setattr(remote_zip, "_metadata_with_zipfile", spy)
    assert metadata_over_ranges(Ranges(data), FOO, "foo.whl") == _with_zipfile(data) == METADATA
    assert (used or [PLAIN]) == [reader]


@pytest.mark.parametrize(
    ("where", "make"),
    [
        (30 + len("foo-1.0.dist-info/METADATA") + 5, zip_bytes),  # in the deflated bytes
        (30 + len("foo-1.0.dist-info/METADATA") + 5, _zip_stored),  # in the stored bytes: CRC
        (30 + 3, zip_bytes),  # the local header's copy of the name
    ],
)
def test_a_damaged_member_is_a_bad_zip(where: int, make: Callable[[list[tuple[str, bytes]]], bytes]) -> None:
    data = bytearray(make([("foo-1.0.dist-info/METADATA", METADATA)]))
    data[where] ^= 0xFF
    with pytest.raises(zipfile.BadZipFile):
        _with_zipfile(bytes(data))  # zipfile refuses it too
    with pytest.raises(zipfile.BadZipFile):
        metadata_over_ranges(Ranges(bytes(data)), FOO, "foo.whl")


def test_a_metadata_bomb_stops_at_the_cap() -> None:
    data = zip_bytes([("foo-1.0.dist-info/METADATA", b"A" * (DEFAULT_LIMITS.max_metadata_bytes + 10))])
    assert len(data) < 100_000
    with pytest.raises(RefusedError, match="larger than"):
        metadata_over_ranges(Ranges(data), FOO, "foo.whl")


@pytest.mark.parametrize("make", [_zip_stored, _zip64_end], ids=["plain", "zip64-end-record"])
def test_an_encrypted_member_is_a_bad_zip(make: Callable[[list[tuple[str, bytes]]], bytes]) -> None:
    """Both readers: zipfile's own RuntimeError (a password needed) would escape as a traceback."""
    data = bytearray(make([("foo-1.0.dist-info/METADATA", METADATA)]))
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = bytes(data).index(signature) + flags_at
        data[at] |= 0x1
    with pytest.raises(zipfile.BadZipFile, match="encrypted"):
        metadata_over_ranges(Ranges(bytes(data)), FOO, "foo.whl")


def test_find_metadata_member_prefers_the_projects_own_dist_info() -> None:
    names = ["vendored-2.0.dist-info/METADATA", "Foo-1.0.dist-info/METADATA", "foo/x.py"]
    assert find_metadata_member(names, FOO) == "Foo-1.0.dist-info/METADATA"
    assert find_metadata_member(["a/b-1.dist-info/METADATA"], FOO) is None
    assert find_metadata_member(["bar-1.0.dist-info/METADATA"], FOO) == ("bar-1.0.dist-info/METADATA")


def test_find_pkg_info_is_top_level_only() -> None:
    assert find_pkg_info(["foo-1.0/src/PKG-INFO", "foo-1.0/PKG-INFO"]) == "foo-1.0/PKG-INFO"
    assert find_pkg_info(["PKG-INFO"]) is None


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        ("bytes 0-9/10", (0, 9, 10)),
        (" bytes 5-5/6 ", (5, 5, 6)),
        ("bytes */10", None),
        ("bytes 9-3/10", None),
        ("bytes 0-10/10", None),
        ("", None),
    ],
)
def test_parse_content_range(value: str, parsed: tuple[int, int, int] | None) -> None:
    assert parse_content_range(value) == parsed
