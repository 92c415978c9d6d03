"""PEP 503 HTML pages: anchors, data-* attributes, hash fragments and relative URLs."""

from __future__ import annotations

import time

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


# --- the scanner: HTML as html.parser reads it ------------------------------------------------


WHEEL = "foo-1.0-py3-none-any.whl"


def test_attribute_order_does_not_matter() -> None:
    text = f'<a data-yanked="old" data-requires-python="&gt;=3.9" href="{WHEEL}#sha256=AB">x</a>'
    [file] = parse(text)
    assert (file["filename"], file["hashes"]) == (WHEEL, (("sha256", "ab"),))
    assert (file["requires_python"], file["yanked"]) == (">=3.9", "old")


@pytest.mark.parametrize(
    "anchor",
    [
        f'<a href="{WHEEL}" data-requires-python=">=3.9">x</a>',
        f"<a href='{WHEEL}' data-requires-python='>=3.9'>x</a>",
        f"<a href={WHEEL} data-requires-python=&gt;=3.9>x</a>",
        f'<a href = "{WHEEL}"\n   data-requires-python =\n"&gt;=3.9"\n>x</a>',
        f'<A HREF="{WHEEL}" Data-Requires-Python="&gt;=3.9">x</A>',
        f'<a\thref="{WHEEL}"data-requires-python="&#62;=3.9"/>',
        f'<a href="{WHEEL}" data-requires-python="&gt;=3.9" />x',
    ],
)
def test_quotes_whitespace_case_and_entities(anchor: str) -> None:
    [file] = parse(anchor)
    assert (file["filename"], file["requires_python"]) == (WHEEL, ">=3.9")


def test_entities_in_href_are_unescaped_before_the_url_is_resolved() -> None:
    [file] = parse('<a href="https://cdn.example.org/f&#47;foo-1.0%2Bx.tar.gz#md5=f&#70;">x</a>')
    assert file["url"] == "https://cdn.example.org/f/foo-1.0%2Bx.tar.gz"
    assert (file["filename"], file["hashes"]) == ("foo-1.0+x.tar.gz", (("md5", "ff"),))


def test_anchors_in_comments_scripts_and_other_tags_are_not_links() -> None:
    text = (
        '<!-- <a href="foo-0.1.tar.gz">old</a> -->'
        "<script>var a = '<a href=\"foo-0.2.tar.gz\">';</script>"
        '<abbr href="foo-0.3.tar.gz">x</abbr><area href="foo-0.4.tar.gz">'
        '<a title="a > b" href="foo-1.0.tar.gz">kept</a>'
    )
    assert [f["filename"] for f in parse(text)] == ["foo-1.0.tar.gz"]


def test_repeated_attributes_keep_the_last_value_as_before() -> None:
    [file] = parse('<a href="foo-0.9.tar.gz" href="foo-1.0.tar.gz" data-yanked="a" data-yanked>x</a>')
    assert (file["filename"], file["yanked"]) == ("foo-1.0.tar.gz", "")


def test_empty_and_valueless_hrefs_are_skipped() -> None:
    assert parse('<a href>x</a><a href="">y</a><a href=>z</a><a name="top"></a>') == []


@pytest.mark.parametrize("opening", ["<a x ", '<a x="', "<a '", "<!-- ", "<script> ", "<style ", "<base "])
def test_constructs_left_open_end_the_page_in_linear_time(opening: str) -> None:
    """Each of these, repeated, once took quadratic time (minutes); html.parser stops there too."""
    text = '<a href="foo-1.0.tar.gz">x</a>' + opening * 50_000
    start = time.perf_counter()
    assert [f["filename"] for f in parse(text)] == ["foo-1.0.tar.gz"]
    assert time.perf_counter() - start < 5


def test_base_tag_in_any_case_and_relative_to_the_page() -> None:
    text = '<BASE HREF="../../mirror/"><base href="https://ignored.example/"><a href="foo-1.0.tar.gz">x</a>'
    assert parse(text)[0]["url"] == "https://example.org/mirror/foo-1.0.tar.gz"


@pytest.mark.parametrize(
    ("href", "url"),
    [
        ("foo-1.0.tar.gz", "https://example.org/simple/foo/foo-1.0.tar.gz"),
        ("./foo-1.0.tar.gz", "https://example.org/simple/foo/foo-1.0.tar.gz"),
        ("../../files/foo-1.0.tar.gz", "https://example.org/files/foo-1.0.tar.gz"),
        ("/files/foo-1.0.tar.gz", "https://example.org/files/foo-1.0.tar.gz"),
        ("//cdn.example.net/foo-1.0.tar.gz", "https://cdn.example.net/foo-1.0.tar.gz"),
        ("http://other.example/foo-1.0.tar.gz", "http://other.example/foo-1.0.tar.gz"),
        ("\n https://other.example/foo-1.0.tar.gz", "https://other.example/foo-1.0.tar.gz"),
        ("https://other.example/foo-1.0\t.tar.gz", "https://other.example/foo-1.0.tar.gz"),
        ("https://other.example/foo-1.0.tar.gz?", "https://other.example/foo-1.0.tar.gz"),
    ],
)
def test_links_resolve_as_urljoin_resolves_them(href: str, url: str) -> None:
    [file] = parse(f'<a href="{href}#sha256=aa">x</a>')
    assert (file["url"], file["hashes"]) == (url, (("sha256", "aa"),))


def test_keep_drops_anchors_before_they_are_built_but_never_a_local_link() -> None:
    text = (
        '<a href="https://x.org/foo-1.0-cp312-cp312-win_amd64.whl">w</a>'
        "<a href='foo-1.0-py3-none-any.whl#sha256=AB'>p</a>"
        '<a href="file:///etc/foo-1.0-cp312-cp312-win32.whl">l</a>'
    )
    files = parse_html_page(
        text,
        page_url=PAGE_URL,
        index_url="https://example.org/simple/",
        project=canonicalize_name("foo"),
        keep=lambda filename: "win" not in filename,
    )
    assert [f.filename for f in files] == ["foo-1.0-py3-none-any.whl", "foo-1.0-cp312-cp312-win32.whl"]
