"""PEP 691 JSON pages (with PEP 714 core-metadata), parsed without any network."""

from __future__ import annotations

import json
from collections.abc import Callable

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
    """An entry without a string filename and url cannot be sorted by filename: the page is
    refused as it is without `keep`, before any entry is judged."""
    with pytest.raises(PageFormatError, match="unreadable JSON"):
        parse_page(
            content_type=JSON_TYPE,
            body=json.dumps({"meta": {"api-version": "1.1"}, "files": [entry]}).encode(),
            page_url=PAGE_URL,
            index_url="https://example.org/simple/",
            project=canonicalize_name("foo"),
            keep=lambda filename: False,
        )


ODD_ENTRIES: list[dict[str, object]] = [
    {"filename": "foo-1.0.tar.gz", "url": "https://x.org/foo-1.0.tar.gz"},  # nothing optional
    {
        "filename": "foo-1.1-py3-none-any.whl",
        "url": "b/foo-1.1-py3-none-any.whl",
        "hashes": {"SHA256": "AB", "Md5": "CD"},
        "requires-python": 3,  # not a string: no Requires-Python, as pip reads it
        "yanked": True,
        "dist-info-metadata": {"sha256": "EF"},  # PEP 658's name, read when core-metadata is absent
        "size": True,  # not an integer
        "upload-time": "2024-01-01T00:00:00Z",
    },
    {
        "filename": "foo-1.2-py3-none-any.whl",
        "url": "https://x.org/foo-1.2-py3-none-any.whl",
        "hashes": {},
        "yanked": 'a reason [with] "quotes" and ünïcode',
        "core-metadata": None,  # present but null wins over dist-info-metadata
        "dist-info-metadata": True,
        "size": 12,
        "unknown": {"nested": [1, 2.5, None, {"deep": "x"}]},
    },
    {"filename": "foo-1.3-py3-none-any.whl", "url": "https://x.org/c.whl", "core-metadata": True, "size": -1},
]


@pytest.mark.parametrize(
    "encode",
    [
        pytest.param(lambda text: text.encode(), id="utf-8"),
        pytest.param(lambda text: b"\xef\xbb\xbf" + text.encode(), id="byte-order-mark"),
        pytest.param(lambda text: text.encode("utf-16"), id="utf-16"),
    ],
)
def test_every_encoding_json_reads_gives_the_same_files(encode: Callable[[str], bytes]) -> None:
    """Pages are decoded into typed entries; one that the fast decoder will not read goes through
    the stdlib's json, and both readings give the same files."""
    text = json.dumps(page(*ODD_ENTRIES), ensure_ascii=False)
    files = parse_page(
        content_type=JSON_TYPE,
        body=encode(text),
        page_url=PAGE_URL,
        index_url="https://example.org/simple/",
        project=canonicalize_name("foo"),
    )
    assert [
        (f.filename, f.url, f.hashes, f.requires_python, f.yanked, f.metadata_hashes, f.size) for f in files
    ] == [
        ("foo-1.0.tar.gz", "https://x.org/foo-1.0.tar.gz", (), None, None, None, None),
        (
            "foo-1.1-py3-none-any.whl",
            PAGE_URL + "b/foo-1.1-py3-none-any.whl",
            (("sha256", "ab"), ("md5", "cd")),
            None,
            "",
            (("sha256", "ef"),),
            None,
        ),
        (
            "foo-1.2-py3-none-any.whl",
            "https://x.org/foo-1.2-py3-none-any.whl",
            (),
            None,
            'a reason [with] "quotes" and ünïcode',
            None,
            12,
        ),
        ("foo-1.3-py3-none-any.whl", "https://x.org/c.whl", (), None, None, (), -1),
    ]


def test_json_that_python_reads_but_strict_json_does_not() -> None:
    """NaN is no JSON, but json reads it; the page is read as before (the size is just dropped)."""
    body = b'{"files": [{"filename": "foo-1.0.tar.gz", "url": "https://x.org/a.tar.gz", "size": NaN}]}'
    [file] = parse_page(
        content_type=JSON_TYPE,
        body=body,
        page_url=PAGE_URL,
        index_url=PAGE_URL,
        project=canonicalize_name("foo"),
    )
    assert file.size is None


def test_a_huge_number_in_a_key_nobody_reads_is_skipped_not_parsed() -> None:
    body = b'{"files": [], "meta": {"api-version": "1.1"}, "n": 1' + b"0" * 100_000 + b"}"
    assert (
        parse_page(content_type=JSON_TYPE, body=body, page_url=PAGE_URL, index_url=PAGE_URL, project=None)
        == ()
    )
