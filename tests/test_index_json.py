"""PEP 691 JSON pages (with PEP 714 core-metadata), parsed without any network."""

from __future__ import annotations

import json

import pytest
from packaging.utils import canonicalize_name

from xbuild.index import DistFile
from xbuild.index.pages import JSON_TYPE, PageFormatError, parse_page

PAGE_URL = "https://example.org/simple/foo/"


def parse(data: object) -> tuple[DistFile, ...]:
    return parse_page(
        content_type=JSON_TYPE,
        body=json.dumps(data).encode(),
        page_url=PAGE_URL,
        index_url="https://example.org/simple/",
        project=canonicalize_name("foo"),
    )


def page(*files: dict[str, object]) -> dict[str, object]:
    return {"meta": {"api-version": "1.1"}, "name": "foo", "files": list(files)}


def test_full_entry() -> None:
    [file] = parse(
        page(
            {
                "filename": "foo-1.0-py3-none-any.whl",
                "url": "../../files/foo-1.0-py3-none-any.whl",
                "hashes": {"SHA256": "ABC", "md5": "0f"},
                "requires-python": ">=3.9",
                "yanked": "bad build",
                "core-metadata": {"sha256": "def"},
                "size": 1234,
            }
        )
    )
    assert file == DistFile(
        project=canonicalize_name("foo"),
        filename="foo-1.0-py3-none-any.whl",
        url="https://example.org/files/foo-1.0-py3-none-any.whl",
        hashes=(("sha256", "abc"), ("md5", "0f")),
        requires_python=">=3.9",
        yanked="bad build",
        metadata_hashes=(("sha256", "def"),),
        size=1234,
        index_url="https://example.org/simple/",
    )
    assert file.is_wheel
    assert file.sha256 == "abc"


@pytest.mark.parametrize(
    ("extra", "yanked", "metadata"),
    [
        ({}, None, None),
        ({"yanked": True, "dist-info-metadata": True}, "", ()),
        ({"yanked": False, "core-metadata": False, "dist-info-metadata": {"sha256": "x"}}, None, None),
        ({"dist-info-metadata": {"sha256": "X"}}, None, (("sha256", "x"),)),
    ],
)
def test_yanked_and_metadata_forms(extra: dict[str, object], yanked: str | None, metadata: object) -> None:
    [file] = parse(page({"filename": "foo-1.0.tar.gz", "url": "f", "hashes": {}, **extra}))
    assert (file.yanked, file.metadata_hashes) == (yanked, metadata)
    assert file.sha256 is None
    assert not file.is_wheel


def test_ignores_unparseable_filenames() -> None:
    files = parse(
        page(
            {"filename": "foo-1.0.win32.exe", "url": "a", "hashes": {}},
            {"filename": "foo-1.0.tar.gz", "url": "b", "hashes": {}},
        )
    )
    assert [f.filename for f in files] == ["foo-1.0.tar.gz"]


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"files": 3}', b'{"files": [3]}', b'{"files": [{"url": "x"}]}'],
)
def test_garbage_is_a_page_format_error(body: bytes) -> None:
    with pytest.raises(PageFormatError, match="unreadable JSON"):
        parse_page(
            content_type=JSON_TYPE,
            body=body,
            page_url=PAGE_URL,
            index_url=PAGE_URL,
            project=canonicalize_name("foo"),
        )


def test_unknown_major_api_version_is_refused() -> None:
    with pytest.raises(PageFormatError, match="API version"):
        parse({"meta": {"api-version": "2.0"}, "files": []})


def test_keep_drops_files_before_they_are_built_but_never_a_local_link() -> None:
    entries: list[dict[str, object]] = [
        {"filename": "foo-1.0-cp312-cp312-win_amd64.whl", "url": "https://x.org/a.whl", "hashes": {}},
        {"filename": "foo-1.0-py3-none-any.whl", "url": "b/foo-1.0-py3-none-any.whl", "hashes": {}},
        {"filename": "foo-1.0-cp312-cp312-win32.whl", "url": "file:///etc/passwd", "hashes": {}},
    ]
    files = parse_page(
        content_type=JSON_TYPE,
        body=json.dumps(page(*entries)).encode(),
        page_url=PAGE_URL,
        index_url="https://example.org/simple/",
        project=canonicalize_name("foo"),
        keep=lambda filename: "win" not in filename,
    )
    assert [f.url for f in files] == [PAGE_URL + "b/foo-1.0-py3-none-any.whl", "file:///etc/passwd"]


@pytest.mark.parametrize(
    "entry",
    [["not", "an", "object"], {"url": "https://x.org/a.whl"}, {"filename": 7, "url": "https://x.org/a.whl"}],
)
def test_keep_still_refuses_a_malformed_entry(entry: object) -> None:
    """Entries are sorted by filename before any is built; one that cannot be sorted is kept, so
    the page is refused as it is without `keep`."""
    with pytest.raises(PageFormatError, match="unreadable JSON"):
        parse_page(
            content_type=JSON_TYPE,
            body=json.dumps({"meta": {"api-version": "1.1"}, "files": [entry]}).encode(),
            page_url=PAGE_URL,
            index_url="https://example.org/simple/",
            project=canonicalize_name("foo"),
            keep=lambda filename: False,
        )
