"""URL helpers: credentials, redaction and index URLs from the environment. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

from packaging.utils import NormalizedName

_INDEX_ENV = ("UV_INDEX_URL", "PIP_INDEX_URL")
_EXTRA_ENV = ("UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL")


def _host_port(parts: SplitResult) -> str:
    host = parts.hostname or ""
    return f"{host}:{parts.port}" if parts.port is not None else host


def redact_url(url: str) -> str:
    """The URL with any user:password replaced by '***', safe to log or show."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + _host_port(parts)))


def strip_credentials(url: str) -> str:
    """The URL without user:password, as stored in pages, caches and plans."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=_host_port(parts)))


def url_credentials(url: str) -> tuple[str, tuple[str, str]] | None:
    """(host[:port], (user, password)) when the URL carries credentials."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return None
    user = unquote(parts.username or "")
    password = unquote(parts.password or "")
    return _host_port(parts).lower(), (user, password)


def project_url(index_url: str, project: NormalizedName) -> str:
    """PEP 503: the project page lives at <index>/<normalized name>/."""
    return urljoin(index_url.rstrip("/") + "/", f"{project}/")


def is_file_url(url: str) -> bool:
    return urlsplit(url).scheme == "file"


def is_remote_url(url: str) -> bool:
    """An http(s) URL: the only kind a remote page may link (the rest would read local files).
    A prefix test, stricter than urlsplit (which forgives leading blanks) and 20 times cheaper."""
    return url.startswith(_REMOTE) or url[:8].lower().startswith(_REMOTE)  # the common spelling first


_REMOTE = ("https://", "http://")


def file_url_path(url: str) -> Path:
    from urllib.request import url2pathname  # urllib.request imports http.client and ssl: 10 ms

    return Path(url2pathname(urlsplit(url).path))


def location_to_url(location: str) -> str:
    """A find-links or index location as a URL: plain paths become file:// URLs."""
    if urlsplit(location).scheme in ("http", "https", "file"):
        return location
    return Path(location).absolute().as_uri()


def index_urls_from_env(environ: Mapping[str, str]) -> tuple[str | None, tuple[str, ...]]:
    """(index URL, extra index URLs) from UV_* or else PIP_* variables.

    For each setting the uv variable wins over the pip one when both are set; extras are
    space-separated. Config files of pip and uv are deliberately not read.
    """
    index = next((environ[k].strip() for k in _INDEX_ENV if environ.get(k, "").strip()), None)
    extras = next((environ[k].split() for k in _EXTRA_ENV if environ.get(k, "").strip()), [])
    return index, tuple(extras)
