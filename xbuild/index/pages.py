"""Parse PEP 691 JSON and PEP 503 HTML project pages into DistFiles. Pure functions."""

from __future__ import annotations

import json
import logging
from email.message import Message
from html.parser import HTMLParser
from typing import Any
from urllib.parse import unquote, urldefrag, urljoin

from packaging.utils import NormalizedName

from .models import DistFile, Hashes, make_dist_file, normalize_hashes

logger = logging.getLogger(__name__)

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPES = ("application/vnd.pypi.simple.v1+html", "text/html")
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"
_SUPPORTED_MAJOR = 1


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
) -> tuple[DistFile, ...]:
    """Dispatch on the response's media type. project=None keeps files of every project."""
    media_type, charset = _split_content_type(content_type)
    if media_type == JSON_TYPE:
        return parse_json_page(body, page_url=page_url, index_url=index_url, project=project)
    if media_type in HTML_TYPES:
        try:
            text = body.decode(charset or "utf-8")
        except (UnicodeDecodeError, LookupError) as exc:
            raise PageFormatError("unreadable HTML", str(exc)) from exc
        return parse_html_page(text, page_url=page_url, index_url=index_url, project=project)
    raise PageFormatError(f"an unsupported content type {content_type!r}")


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


def parse_json_page(
    body: bytes, *, page_url: str, index_url: str, project: NormalizedName | None
) -> tuple[DistFile, ...]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PageFormatError("unreadable JSON", str(exc)) from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise PageFormatError("unreadable JSON", "no 'files' list")
    meta = data.get("meta")
    _check_api_version(meta.get("api-version") if isinstance(meta, dict) else None)
    files = (_json_file(entry, page_url, index_url, project) for entry in data["files"])
    return tuple(file for file in files if file is not None)


def _json_file(entry: Any, page_url: str, index_url: str, project: NormalizedName | None) -> DistFile | None:
    if not isinstance(entry, dict):
        raise PageFormatError("unreadable JSON", "a file entry is not an object")
    filename, url = entry.get("filename"), entry.get("url")
    if not isinstance(filename, str) or not isinstance(url, str):
        raise PageFormatError("unreadable JSON", "a file entry lacks filename or url")
    requires_python = entry.get("requires-python")
    size = entry.get("size")
    return make_dist_file(
        filename=filename,
        url=urljoin(page_url, url),
        index_url=index_url,
        project=project,
        hashes=_json_hashes(entry.get("hashes")) or (),
        requires_python=requires_python if isinstance(requires_python, str) else None,
        yanked=_json_yanked(entry.get("yanked", False)),
        metadata_hashes=_json_hashes(entry.get("core-metadata", entry.get("dist-info-metadata"))),
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
    )


def _json_hashes(value: object) -> Hashes | None:
    """PEP 691/714: a dict of hashes, true for 'offered without hash', false/absent for none."""
    if isinstance(value, dict):
        return normalize_hashes((str(k), str(v)) for k, v in value.items())
    return () if value is True else None


def _json_yanked(value: object) -> str | None:
    if isinstance(value, str):
        return value
    return "" if value is True else None


# --- PEP 503 HTML ---------------------------------------------------------------------------


class _AnchorParser(HTMLParser):
    """Collects <a> attributes, the <base href> and the repository version meta tag."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None
        self.api_version: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "a" and attributes.get("href"):
            self.anchors.append(attributes)
        elif tag == "base" and self.base is None:
            self.base = attributes.get("href")
        elif tag == "meta" and attributes.get("name") == "pypi:repository-version":
            self.api_version = attributes.get("content")


def parse_html_page(
    text: str, *, page_url: str, index_url: str, project: NormalizedName | None
) -> tuple[DistFile, ...]:
    """html.parser has already unescaped attribute values (e.g. '&gt;=3.8' -> '>=3.8')."""
    parser = _AnchorParser()
    parser.feed(text)
    parser.close()
    _check_api_version(parser.api_version)
    base = urljoin(page_url, parser.base) if parser.base else page_url
    files = (_html_file(anchor, base, index_url, project) for anchor in parser.anchors)
    return tuple(file for file in files if file is not None)


def _html_file(
    anchor: dict[str, str | None], base: str, index_url: str, project: NormalizedName | None
) -> DistFile | None:
    url, fragment = urldefrag(urljoin(base, anchor["href"] or ""))
    filename = url.rstrip("/").rsplit("/", 1)[-1]
    metadata = anchor.get("data-core-metadata", anchor.get("data-dist-info-metadata", "false"))
    return make_dist_file(
        filename=unquote(filename),
        url=url,
        index_url=index_url,
        project=project,
        hashes=_fragment_hashes(fragment),
        requires_python=anchor.get("data-requires-python") or None,
        yanked=(anchor["data-yanked"] or "") if "data-yanked" in anchor else None,
        metadata_hashes=_html_metadata_hashes(metadata),
    )


def _fragment_hashes(fragment: str) -> Hashes:
    algo, sep, value = fragment.partition("=")
    return normalize_hashes([(algo, value)]) if sep and algo and value else ()


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
