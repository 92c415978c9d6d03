"""Parse PEP 691 JSON and PEP 503 HTML project pages into DistFiles. Pure functions."""

from __future__ import annotations

import functools
import html
import json
import logging
import re
from collections.abc import Callable
from email.message import Message
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

import msgspec
import packaging
from packaging.utils import NormalizedName

from .models import DistFile, FileRow, Hashes, file_row, from_row, normalize_hashes, row_of
from .urls import is_remote_url

logger = logging.getLogger(__name__)

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_SUPPORTED_MAJOR = 1
# Names what parse_page's answer depends on besides its arguments, for caches of that answer:
# bump the number whenever a change here could turn the same page into different DistFiles.
PARSER_VERSION = f"xbuild-pages-2 packaging-{packaging.__version__}"

# Asked about each filename before its DistFile is built: a caller that will throw most files
# away (those whose tags can never fit its target) spares building them. A file whose URL is
# not http(s) is kept whatever it says, so the client's refusal of local links still sees it.
Keep = Callable[[str], bool]


class PageFormatError(ValueError):
    """A page could not be read: `what` names the problem ("unreadable JSON"), `detail` why."""

    def __init__(self, what: str, detail: str | None = None) -> None:
        super().__init__(f"{what} ({detail})" if detail else what)
        self.what = what
        self.detail = detail


def parse_page(
    *,
    content_type: str,
    body: bytes,
    page_url: str,
    index_url: str,
    project: NormalizedName | None,
    keep: Keep | None = None,
) -> tuple[DistFile, ...]:
    """Dispatch on the response's media type. project=None keeps files of every project."""
    media_type, charset = _split_content_type(content_type)
    if media_type == JSON_TYPE:
        return parse_json_page(body, page_url=page_url, index_url=index_url, project=project, keep=keep)
    if media_type in HTML_TYPES:
        try:
            text = body.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise PageFormatError("unreadable HTML", str(exc)) from exc
        return parse_html_page(text, page_url=page_url, index_url=index_url, project=project, keep=keep)
    raise PageFormatError(f"an unsupported content type {content_type!r}")


def parse_page_rows(
    *, content_type: str, body: bytes, page_url: str, project: NormalizedName | None, keep: Keep | None = None
) -> list[FileRow]:
    """parse_page's files as rows, no DistFile built: what a caller that looks at few of them
    takes. JSON pages are read into rows directly; HTML ones (rare, and small) go through
    parse_page."""
    media_type, _ = _split_content_type(content_type)
    if media_type == JSON_TYPE:
        return json_page_rows(body, page_url=page_url, project=project, keep=keep)
    files = parse_page(
        content_type=content_type, body=body, page_url=page_url, index_url="", project=project, keep=keep
    )
    return [file_row(file) for file in files]


def _split_content_type(content_type: str) -> tuple[str, str | None]:
    message = Message()
    message["content-type"] = content_type
    charset = message.get_param("charset")
    return message.get_content_type(), charset if isinstance(charset, str) else None


def _check_api_version(version: object) -> None:
    """PEP 629: a client must refuse a major version it does not know."""
    if version is None:
        return
    major = str(version).split(".", 1)[0]
    if not major.isdigit() or int(major) > _SUPPORTED_MAJOR:
        raise PageFormatError(f"an unsupported repository API version {version!r}")


# --- PEP 691 JSON ---------------------------------------------------------------------------


class _JsonFile(msgspec.Struct, rename="kebab", gc=False):
    """One entry of a page's "files". filename and url must be strings, or the page is refused;
    the other keys are read as any JSON value and judged by _json_row, which tolerates odd ones
    as pip does. UNSET tells an absent metadata key from one that is null. Not tracked by the
    cycle collector: decoded JSON cannot form a cycle."""

    filename: str
    url: str
    hashes: Any = None
    requires_python: Any = None
    yanked: Any = False
    core_metadata: Any = msgspec.UNSET  # PEP 714's name for PEP 658's dist-info-metadata
    dist_info_metadata: Any = msgspec.UNSET
    size: Any = None


class _JsonPage(msgspec.Struct, gc=False):
    files: list[_JsonFile]
    meta: Any = None


_DECODER = msgspec.json.Decoder(_JsonPage)


def parse_json_page(
    body: bytes, *, page_url: str, index_url: str, project: NormalizedName | None, keep: Keep | None = None
) -> tuple[DistFile, ...]:
    rows = json_page_rows(body, page_url=page_url, project=project, keep=keep)
    return tuple(from_row(row, index_url) for row in rows)


def json_page_rows(
    body: bytes, *, page_url: str, project: NormalizedName | None, keep: Keep | None = None
) -> list[FileRow]:
    page = _decode_json_page(body)
    meta = page.meta
    _check_api_version(meta.get("api-version") if isinstance(meta, dict) else None)
    resolver = _Resolver(page_url)
    entries = page.files if keep is None else _kept_entries(page.files, keep, resolver)
    rows = (_json_row(entry, resolver, project) for entry in entries)
    return [row for row in rows if row is not None]


def _decode_json_page(body: bytes) -> _JsonPage:
    """The page's entries, typed as they are decoded: no dict is built for the keys nobody
    reads, so a cold plan's pages decode in a third of json.loads' time. A page msgspec will
    not read (a byte-order mark, UTF-16, NaN, a number too long, a wrong shape) goes the
    stdlib's way instead, so it is read, or refused with the reason, exactly as json reads it."""
    try:
        return _DECODER.decode(body)
    except (msgspec.MsgspecError, RecursionError):
        pass
    data = _json_loads(body)
    try:
        return msgspec.convert(data, _JsonPage)
    except msgspec.ValidationError as exc:
        raise PageFormatError("unreadable JSON", str(exc)) from exc


def _json_loads(body: bytes) -> object:
    # CPython bounds both hostile shapes itself, at no cost to real pages (a parse_int hook
    # would add a quarter to the parse): integers longer than sys.get_int_max_str_digits()
    # (4300) raise ValueError, and nesting counts against the recursion limit.
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PageFormatError("unreadable JSON", str(exc)) from exc
    except ValueError as exc:
        raise PageFormatError("unreadable JSON", f"a number too long ({exc})") from exc
    except RecursionError as exc:
        raise PageFormatError("unreadable JSON", "nested too deeply") from exc


def _kept_entries(entries: list[_JsonFile], keep: Keep, resolver: _Resolver) -> list[_JsonFile]:
    """The entries to build: those whose filename `keep` accepts, and those whose link is not
    http(s), which the client must see to refuse. Most entries of a big page end here (10 set:
    45,000 of 60,000), so this is one comprehension."""
    return [
        entry
        for entry in entries
        if keep(entry.filename) or not (is_remote_url(entry.url) or is_remote_url(resolver.join(entry.url)))
    ]


def _json_row(entry: _JsonFile, resolver: _Resolver, project: NormalizedName | None) -> FileRow | None:
    requires_python, size, metadata = entry.requires_python, entry.size, entry.core_metadata
    if metadata is msgspec.UNSET:
        metadata = None if entry.dist_info_metadata is msgspec.UNSET else entry.dist_info_metadata
    return row_of(
        filename=entry.filename,
        url=resolver.join(entry.url),
        project=project,
        hashes=_json_hashes(entry.hashes) or (),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=_json_yanked(entry.yanked),
        metadata_hashes=_json_hashes(metadata),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


def _json_hashes(value: object) -> Hashes | None:
    """PEP 691/714: a dict of hashes, true for 'offered without hash', false/absent for none."""
    if not isinstance(value, dict):
        return () if value is True else None
    if len(value) == 1:  # {"sha256": ...}, as nearly every file has
        ((algo, digest),) = value.items()
        if isinstance(algo, str) and isinstance(digest, str):
            return ((algo.lower(), digest.lower()),)
    try:  # lower-cased as normalize_hashes does, at a third of its cost
        return tuple(zip(map(str.lower, value), map(str.lower, value.values()), strict=True))
    except TypeError:  # a digest that is not a string
        return normalize_hashes((str(algo), str(digest)) for algo, digest in value.items())


def _json_yanked(value: object) -> str | None:
    if isinstance(value, str):
        return value
    return "" if value is True else None


# --- PEP 503 HTML ---------------------------------------------------------------------------

# A scan for the three start tags that matter, with attribute syntax as html.parser reads it
# (quoted values may hold '>', names and tags in any case). Comments and script/style bodies are
# matched too, so that anchors inside them are skipped as html.parser skips them. Whatever is
# left open runs to the end of the text, where html.parser would stop as well; that and the
# possessive quantifiers keep the scan linear on any input. A third of html.parser's time.
_TAG = re.compile(
    r"""
    <!--(?: .*?--!?> | .* )
  | <(script|style)(?=[\s/>])(?: .*?</\1\s*> | .* )
  | <(a|base|meta)(?=[\s/>])
    ((?: [\s/]++ | [^\s/>][^\s/>=]*+ (?:\s*+=\s*+(?:"[^"]*+"|'[^']*+'|[^\s>]*+))?+ )*+)
    (>?)  # empty only at the end of the text: every other character belongs to the tag
    """,
    re.IGNORECASE | re.DOTALL | re.VERBOSE,
)
_ATTRIBUTE = re.compile(r"""([^\s/>][^\s/>=]*)(?:(\s*=)\s*("[^"]*"|'[^']*'|[^\s>]*))?""")
_unescape = functools.lru_cache(maxsize=4096)(html.unescape)  # Requires-Python strings repeat


def parse_html_page(
    text: str, *, page_url: str, index_url: str, project: NormalizedName | None, keep: Keep | None = None
) -> tuple[DistFile, ...]:
    """Attribute values are unescaped here (e.g. '&gt;=3.8' -> '>=3.8'), as html.parser would."""
    anchors: list[dict[str, str | None]] = []
    base: str | None = None
    api_version: str | None = None
    for match in _TAG.finditer(text):
        tag = match[2]
        if tag is None or not match[4]:
            continue  # a comment, script or style, or a tag the text ends inside
        attributes = _attributes(match[3])
        tag = tag.lower()
        if tag == "a":
            if attributes.get("href"):
                anchors.append(attributes)
        elif tag == "base":
            if base is None:
                base = attributes.get("href")
        elif attributes.get("name") == "pypi:repository-version":
            api_version = attributes.get("content")
    _check_api_version(api_version)
    resolver = _Resolver(urljoin(page_url, base) if base else page_url)
    files = (_html_file(anchor, resolver, index_url, project, keep) for anchor in anchors)
    return tuple(file for file in files if file is not None)


def _attributes(text: str) -> dict[str, str | None]:
    """Names lower-cased, the last of repeated names wins (as dict(html.parser's list) did)."""
    attributes: dict[str, str | None] = {}
    for name, equals, raw in _ATTRIBUTE.findall(text):
        attributes[name.lower()] = _attribute_value(raw) if equals else None
    return attributes


def _attribute_value(raw: str) -> str:
    first = raw[:1]
    value = raw[1:-1] if first in ("'", '"') and first == raw[-1:] else raw
    return _unescape(value) if "&" in value else value


def _html_file(
    anchor: dict[str, str | None],
    resolver: _Resolver,
    index_url: str,
    project: NormalizedName | None,
    keep: Keep | None,
) -> DistFile | None:
    url, fragment = resolver.split(anchor["href"] or "")
    filename = url.rstrip("/").rsplit("/", 1)[-1]
    if keep is not None and is_remote_url(url) and not keep(unquote(filename)):
        return None
    metadata = anchor.get("data-core-metadata", anchor.get("data-dist-info-metadata", "false"))
    row = row_of(
        filename=unquote(filename),
        url=url,
        project=project,
        hashes=_fragment_hashes(fragment),
        requires_python=anchor.get("data-requires-python") or None,
        yanked=(anchor["data-yanked"] or "") if "data-yanked" in anchor else None,
        metadata_hashes=_html_metadata_hashes(metadata),
    )
    return None if row is None else from_row(row, index_url)


# An absolute http(s) URL (and its fragment) that urljoin and urldefrag would hand back unchanged:
# a host, no query, no ';' parameters, nothing urlsplit strips or checks (controls, spaces,
# brackets). And a relative href of one plain path segment, which joins onto the base directory.
_PLAIN_ABSOLUTE = re.compile(
    r"(https?://[^\x00-\x20/?#;@\[\]\\\x7f-\U0010ffff]+(?:/[^\x00-\x20?#;\x7f]*)?)(?:#([^\x00-\x20]*))?"
)
_PLAIN_SEGMENT = re.compile(r"(?!\.\.?(?:#|$))([^\x00-\x20/?#;:\\\x7f]+)(?:#([^\x00-\x20]*))?")


class _Resolver:
    """urljoin against one base, with the two common shapes of href done by slicing.

    PyPI links are absolute and many other indexes link bare filenames; the rest (dot segments,
    queries, other schemes) goes through urllib, at ~20 us a link.
    """

    def __init__(self, base: str) -> None:
        self._base = base
        joined = urljoin(base, "x")  # the base's directory, resolved as urljoin resolves it
        self._directory = joined[:-1] if joined.endswith("/x") and "#" not in joined else None

    def join(self, href: str) -> str:
        """urljoin(base, href)."""
        match = _PLAIN_ABSOLUTE.fullmatch(href)
        if match is not None and match[2] is None:
            return href
        if self._directory is not None:
            match = _PLAIN_SEGMENT.fullmatch(href)
            if match is not None and match[2] is None:
                return self._directory + href
        return urljoin(self._base, href)

    def split(self, href: str) -> tuple[str, str]:
        """urldefrag(urljoin(base, href)): the URL and its fragment."""
        match = _PLAIN_ABSOLUTE.fullmatch(href)
        if match is not None:
            return match[1], match[2] or ""
        if self._directory is not None:
            match = _PLAIN_SEGMENT.fullmatch(href)
            if match is not None:
                return self._directory + match[1], match[2] or ""
        url, fragment = urldefrag(urljoin(self._base, href))
        return url, fragment


def _fragment_hashes(fragment: str) -> Hashes:
    """'sha256=ABC' -> (('sha256', 'abc'),), lower-cased as normalize_hashes does."""
    algo, sep, value = fragment.partition("=")
    return ((algo.lower(), value.lower()),) if sep and algo and value else ()


def _html_metadata_hashes(value: str | None) -> Hashes | None:
    """PEP 658: 'true', '<algo>=<hex>', or absent (here 'false')."""
    if value is None or value.lower() == "true":
        return ()  # a bare attribute means "offered"
    if value.lower() == "false":
        return None
    hashes = _fragment_hashes(value)
    if not hashes:
        logger.debug("unrecognised core-metadata attribute %r; treating it as offered", value)
    return hashes
