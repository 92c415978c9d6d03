"""pages.py and models.project_of against the libraries they stand in for.

The HTML scanner, the URL fast paths and the memoised filename check each replace a slower
library call (html.parser, urljoin + urldefrag, packaging's filename parsers). Generated inputs
must give exactly what those calls gave.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import unquote, urldefrag, urljoin

from hypothesis import example, given, settings
from hypothesis import strategies as st
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from xbuild.index.models import DistFile, from_row, project_of, row_of
from xbuild.index.pages import _fragment_hashes, _html_metadata_hashes, _Resolver, parse_html_page

PAGE_URL = "https://example.org/simple/foo/"
INDEX_URL = "https://example.org/simple/"

# --- the reference: html.parser, urllib and packaging, as pages.py used them before ------------


class _ReferenceParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.anchors.append(attributes)
        elif tag == "base" and self.base is None:
            self.base = attributes.get("href")


def reference_parse(text: str, project: NormalizedName | None) -> tuple[DistFile, ...]:
    parser = _ReferenceParser()
    parser.feed(text)
    parser.close()
    base = urljoin(PAGE_URL, parser.base) if parser.base else PAGE_URL
    files = []
    for anchor in parser.anchors:
        url, fragment = urldefrag(urljoin(base, anchor["href"] or ""))
        metadata = anchor.get("data-core-metadata", anchor.get("data-dist-info-metadata", "false"))
        row = row_of(
            filename=unquote(url.rstrip("/").rsplit("/", 1)[-1]),
            url=url,
            project=project,
            hashes=_fragment_hashes(fragment),
            requires_python=anchor.get("data-requires-python") or None,
            yanked=(anchor["data-yanked"] or "") if "data-yanked" in anchor else None,
            metadata_hashes=_html_metadata_hashes(metadata),
        )
        if row is not None:
            files.append(from_row(row, INDEX_URL))
    return tuple(files)


def reference_project(filename: str) -> NormalizedName | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


# --- generated pages ------------------------------------------------------------------------

HREFS = [
    "foo-1.0.tar.gz",
    "foo-1.0-py3-none-any.whl#sha256=AB12",
    "../../files/foo-2.0-cp312-cp312-manylinux_2_17_x86_64.whl#sha256=ff",
    "/files/foo-1.0%2Blocal.zip",
    "https://files.example.org/packages/ab/cd/foo-1.0-py2.py3-none-any.whl#sha256=00",
    "http://files.example.org/foo-3.0.tar.gz#md5=aa",
    "//cdn.example.net/foo-1.0.tar.gz",
    "https://files.example.org/foo-1.0.tar.gz?x=1&amp;y=2",
    "Foo_Bar-1.0.tar.gz",
    "bar-1.0.tar.gz",
    "foo-1.0.exe",
    "./foo-1.1.tar.gz#sha256=",
    " foo-1.2.tar.gz",
    "foo-1.3.tar.gz#sha256=a&#66;c",
    "foo-1.4.tar.gz\n#sha256=cc",
]
VALUES = [
    "&gt;=3.8",
    ">=3.9,<4",
    "",
    "true",
    "false",
    "sha256=DD",
    "a 'quoted' \"value\"",
    "x&amp;y",
    "&#x3e;3",
]
NAMES = ["data-requires-python", "data-yanked", "data-core-metadata", "data-dist-info-metadata", "title"]
SPACES = st.sampled_from([" ", "  ", "\n", "\t", "\r\n  "])


def _cased(draw: st.DrawFn, name: str) -> str:
    return draw(st.sampled_from([name, name.upper(), name.title()]))


@st.composite
def attribute(draw: st.DrawFn, name: str, value: str) -> str:
    """name=value in one of the ways HTML allows, spaces around '=' included."""
    styles = ["double", "single"]
    if value and not any(c in value for c in " \t\n'\"`=<>"):
        styles.append("bare")
    if name != "href":
        styles.append("valueless")
    style = draw(st.sampled_from(styles))
    name = _cased(draw, name)
    if style == "valueless":
        return name
    equals = draw(st.sampled_from(["=", " = ", "\n=\n"]))
    if style == "bare":
        return f"{name}{equals}{value}"
    quote, escaped = ('"', "&quot;") if style == "double" else ("'", "&#39;")
    return f"{name}{equals}{quote}{value.replace(quote, escaped)}{quote}"


@st.composite
def anchor(draw: st.DrawFn) -> str:
    parts = [draw(attribute("href", draw(st.sampled_from(HREFS)).replace("&", "&amp;")))]
    for name in draw(st.lists(st.sampled_from(NAMES), max_size=4)):
        parts.append(draw(attribute(name, draw(st.sampled_from(VALUES)))))
    parts = draw(st.permutations(parts))
    attributes = "".join(draw(SPACES) + part for part in parts)
    tag = _cased(draw, "a")
    closing = draw(st.sampled_from([">", " >", "/>", " />"]))
    return f"<{tag}{attributes}{closing}{draw(st.sampled_from(['x', '']))}</{tag}>"


EXTRAS = [
    "<br/>",
    "\n",
    "<!-- a comment -->",
    '<!-- <a href="foo-9.0.tar.gz"> -->',
    '<base href="https://mirror.example.com/pkgs/">',
    '<BASE HREF="../other/">',
    '<meta name="pypi:repository-version" content="1.1">',
    "<script>var s = \"<a href='foo-8.0.tar.gz'>\";</script>",
    "<h1>Links for foo</h1>",
    "<abbr title='x'>",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(anchor(), st.sampled_from(EXTRAS)), max_size=12), st.booleans())
@example(['<a href="foo-1.0.tar.gz" data-yanked>x</a>'], True)
def test_pages_parse_as_html_parser_and_urllib_parsed_them(parts: list[str], for_project: bool) -> None:
    text = "".join(parts)
    project = canonicalize_name("foo") if for_project else None
    assert parse_html_page(text, page_url=PAGE_URL, index_url=INDEX_URL, project=project) == reference_parse(
        text, project
    )


# --- URL resolution -------------------------------------------------------------------------

BASES = [
    PAGE_URL,
    "https://example.org/simple/foo",
    "https://example.org/simple/foo/?page=2",
    "https://example.org/a//b/../c/",
    "https://example.org/simple/foo/index;v=1",
    "http://example.org:8080/simple/foo/",
    "file:///srv/simple/foo/index.html",
    "https://example.org",
]
HREF_TEXT = st.text(alphabet=st.sampled_from(list("af.-_/:?#;%@[]\\ \t\n\x00\x7fé=")), max_size=24)
PREFIXES = ["", "https://", "http://", "https://h", "https://h/", "http://h:80/p/", "//", "../", "./", "/"]


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(BASES), st.sampled_from(PREFIXES), HREF_TEXT)
@example(PAGE_URL, "https://", "h/f.whl#sha256=aa ")
@example(PAGE_URL, "https:///", "f.whl")
@example(PAGE_URL, "", "..")
@example(PAGE_URL, "", ".#x")
@example(PAGE_URL, "https://h/", "f?")
@example(PAGE_URL, "https://h/", "f;")
@example(PAGE_URL, "https://h", "#")
def test_urls_resolve_as_urljoin_and_urldefrag_resolved_them(base: str, prefix: str, rest: str) -> None:
    href = prefix + rest
    resolver = _Resolver(base)
    try:
        expected_join = urljoin(base, href)
        expected_split = tuple(urldefrag(expected_join))
    except ValueError:  # urllib refuses some netlocs; the fast paths never see those
        return
    assert resolver.join(href) == expected_join
    assert resolver.split(href) == expected_split


# --- filenames ------------------------------------------------------------------------------

NAME_PARTS = ["foo", "Foo_Bar", "foo.bar", "foo__bar", "foo-bar", "_foo", "foo_", "", "föö", "a b"]
VERSIONS = [
    "1.0",
    "1.0.post1",
    "2!1.0rc1",
    "1.0+local.7",
    "v1.0",
    "1.0-1",
    "not-a-version",
    "",
    "1_0",
    "\u0661",
]  # an Arabic-Indic digit
BUILDS = ["", "1", "12abc", "x1", "-"]
TAGS = ["py3-none-any", "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64", "py2.py3-none-any"]
TAGS += ["3-none-any", "py3-none-", "py3--any", "py3.-none-any", "cp312-abi3-macosx_11_0_arm64"]
EXTENSIONS = [".whl", ".tar.gz", ".zip", ".tar.bz2", ".exe", ""]


@st.composite
def filename(draw: st.DrawFn) -> str:
    name, version = draw(st.sampled_from(NAME_PARTS)), draw(st.sampled_from(VERSIONS))
    extension = draw(st.sampled_from(EXTENSIONS))
    if extension != ".whl":
        return f"{name}-{version}{extension}" if draw(st.booleans()) else f"{name}{version}{extension}"
    build = draw(st.sampled_from(BUILDS))
    tags = draw(st.sampled_from(TAGS))
    return f"{name}-{version}-{build}-{tags}.whl" if build else f"{name}-{version}-{tags}.whl"


@settings(max_examples=1000, deadline=None)
@given(st.one_of(filename(), st.text(alphabet=st.sampled_from(list("ab1.-_whltargzip")), max_size=30)))
@example("foo-1.0-py3-none-any.whl")
@example("foo-1.0-1-2-py3-none-any.whl")
@example("-1.0.tar.gz")
@example(".whl")
def test_project_of_answers_as_packaging_does(name: str) -> None:
    assert project_of(name) == reference_project(name)
