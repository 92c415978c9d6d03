"""Reading METADATA through byte ranges, with an in-memory range server (a plain function)."""

from __future__ import annotations

import io
import os
import zipfile

import pytest
from packaging.utils import canonicalize_name
from support.index_server import parse_range

from xbuild.index.archives import find_metadata_member, find_pkg_info
from xbuild.index.http import RangeReply, parse_content_range
from xbuild.index.remote_zip import RangesUnsupported, metadata_over_ranges

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


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
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


def test_huge_central_directory_is_fetched_on_demand() -> None:
    members = [(f"foo/{'x' * 80}{i}.py", b"") for i in range(2000)]
    data = zip_bytes([*members, ("foo-1.0.dist-info/METADATA", b"ok")])
    ranges = Ranges(data)
    assert metadata_over_ranges(ranges, FOO, "foo.whl") == b"ok"
    assert 2 <= len(ranges.asked) <= 4


def test_server_without_ranges() -> None:
    with pytest.raises(RangesUnsupported):
        metadata_over_ranges(Ranges(b"", honour=False), FOO, "foo.whl")


def test_not_a_zip_raises_bad_zip() -> None:
    with pytest.raises(zipfile.BadZipFile):
        metadata_over_ranges(Ranges(b"definitely not a zip file" * 10), FOO, "foo.whl")


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
