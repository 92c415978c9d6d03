"""PEP 503 HTML pages: anchors, data-* attributes, hash fragments and relative URLs."""

from __future__ import annotations

import pytest
from packaging.utils import canonicalize_name

from xbuild.index.pages import PageFormatError, parse_html_page, parse_page

PAGE_URL = "https://example.org/simple/foo/"
FOO = canonicalize_name("foo")


def parse(text: str, project: str | None = "foo") -> list[dict[str, object]]:
    files = parse_html_page(
        text,
        page_url=PAGE_URL,
        index_url="https://example.org/simple/",
        project=canonicalize_name(project) if project else None,
    )
    return [
        {
            "filename": f.filename,
            "url": f.url,
            "hashes": f.hashes,
            "requires_python": f.requires_python,
            "yanked": f.yanked,
            "metadata_hashes": f.metadata_hashes,
        }
        for f in files
    ]


def test_anchor_with_every_attribute() -> None:
    text = (
        '<a href="../../files/foo-1.0-py3-none-any.whl#sha256=ABC" '
        'data-requires-python="&gt;=3.8,&lt;4" data-yanked="broken &amp; bad" '
        'data-core-metadata="sha256=def">foo-1.0-py3-none-any.whl</a>'
    )
    assert parse(text) == [
        {
            "filename": "foo-1.0-py3-none-any.whl",
            "url": "https://example.org/files/foo-1.0-py3-none-any.whl",
            "hashes": (("sha256", "abc"),),
            "requires_python": ">=3.8,<4",
            "yanked": "broken & bad",
            "metadata_hashes": (("sha256", "def"),),
        }
    ]


def test_plain_anchor_has_no_optional_facts() -> None:
    [file] = parse('<a href="foo-1.0.tar.gz">foo-1.0.tar.gz</a>')
    assert file == {
        "filename": "foo-1.0.tar.gz",
        "url": "https://example.org/simple/foo/foo-1.0.tar.gz",
        "hashes": (),
        "requires_python": None,
        "yanked": None,
        "metadata_hashes": None,
    }


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ("data-yanked", ""),
        ('data-yanked=""', ""),
        ('data-yanked="use 1.1"', "use 1.1"),
    ],
)
def test_yanked_without_and_with_reason(attribute: str, expected: str) -> None:
    [file] = parse(f'<a href="foo-1.0.tar.gz" {attribute}>x</a>')
    assert file["yanked"] == expected


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ('data-dist-info-metadata="true"', ()),
        ("data-core-metadata", ()),
        ('data-dist-info-metadata="sha256=AA"', (("sha256", "aa"),)),
        ('data-core-metadata="false"', None),
        ('data-core-metadata="sha256=aa" data-dist-info-metadata="sha256=bb"', (("sha256", "aa"),)),
    ],
)
def test_core_metadata_attribute_forms(attribute: str, expected: object) -> None:
    [file] = parse(f'<a href="foo-1.0-py3-none-any.whl" {attribute}>x</a>')
    assert file["metadata_hashes"] == expected


def test_base_href_changes_how_relative_links_resolve() -> None:
    text = '<base href="https://cdn.example.net/pkgs/"><a href="foo-1.0.tar.gz">x</a>'
    assert parse(text)[0]["url"] == "https://cdn.example.net/pkgs/foo-1.0.tar.gz"


def test_percent_encoded_filename_is_decoded() -> None:
    [file] = parse('<a href="/files/foo-1.0%2Blocal-py3-none-any.whl">x</a>')
    assert file["filename"] == "foo-1.0+local-py3-none-any.whl"


def test_unparseable_and_foreign_files_are_ignored() -> None:
    text = (
        '<a href="foo-1.0.exe">x</a><a href="foo-1.0.tar.bz2">x</a><a href="README">x</a>'
        '<a href="bar-1.0.tar.gz">x</a><a href="foo-2.0.zip">x</a><a>no href</a>'
    )
    assert [f["filename"] for f in parse(text)] == ["foo-2.0.zip"]
    assert [f["filename"] for f in parse(text, project=None)] == ["bar-1.0.tar.gz", "foo-2.0.zip"]


def test_newer_major_repository_version_is_refused() -> None:
    with pytest.raises(PageFormatError, match="API version"):
        parse('<meta name="pypi:repository-version" content="2.0"><a href="foo-1.0.tar.gz">x</a>')


def test_media_type_dispatch_and_charset() -> None:
    body = '<a href="foo-1.0.tar.gz" data-yanked="caf\xe9">x</a>'.encode("latin-1")
    [file] = parse_page(
        content_type="text/html; charset=ISO-8859-1",
        body=body,
        page_url=PAGE_URL,
        index_url=PAGE_URL,
        project=FOO,
    )
    assert file.yanked == "caf\xe9"


@pytest.mark.parametrize(
    ("content_type", "body", "message"),
    [
        ("text/html", b"\xff\xfe<a", "unreadable HTML"),
        ("application/octet-stream", b"", "unsupported content type"),
    ],
)
def test_unreadable_pages(content_type: str, body: bytes, message: str) -> None:
    with pytest.raises(PageFormatError, match=message):
        parse_page(
            content_type=content_type,
            body=body,
            page_url=PAGE_URL,
            index_url=PAGE_URL,
            project=FOO,
        )
