"""The HTTP edge: one shared httpx.Client with retries, credentials and page revalidation.

Everything above this module sees CachedPage values, bytes and files on disk, never httpx.
"""

from __future__ import annotations

import base64
import functools
import logging
import netrc
import re
import ssl
import threading
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from .. import __version__
from ..errors import EngineError, InputError, RefusedError, UsageError
from ..limits import DEFAULT_LIMITS, Limits
from .cache import CachedPage, HttpCache
from .hashing import Hashers
from .models import Hashes
from .pages import ACCEPT
from .urls import redact_url, strip_credentials

logger = logging.getLogger(__name__)

T = TypeVar("T")
Credentials = Mapping[str, tuple[str, str]]  # "host" or "host:port" -> (user, password)

_OFFLINE_HINT = "run once without --offline to fill the cache"
_CREDENTIALS_HINT = "put user:password in the index URL or add the host to ~/.netrc"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """Loading the CA bundle costs ~50 ms, so every client in the process shares one context.
    trust_env keeps SSL_CERT_FILE/SSL_CERT_DIR working, as httpx does by default."""
    return httpx.create_ssl_context(trust_env=True)


def _user_agent() -> str:
    # Not importlib.metadata: the distribution is named xbuild-wheels (PyPI's xbuild is another project).
    return f"xbuild/{__version__}"


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Tries per request; the pause before try n+1 is backoff * 2**(n-1) seconds."""

    tries: int = 3
    backoff: float = 0.5


@dataclass(frozen=True)
class RangeReply:
    start: int
    total: int
    body: bytes


class _Transient(Exception):
    """A failure worth retrying; `truncated` failures end as RefusedError, others EngineError."""

    def __init__(self, why: str, *, truncated: bool = False) -> None:
        super().__init__(why)
        self.why = why
        self.truncated = truncated


class _HostAuth(httpx.Auth):
    """Basic auth per host: credentials from the index URLs first, then ~/.netrc.

    httpx's trust_env does not read ~/.netrc (only its opt-in NetRCAuth does, and that one would
    override URL credentials), so netrc lookup lives here.
    """

    def __init__(self, credentials: Credentials, netrc_path: Path | None) -> None:
        self._credentials = dict(credentials)
        self._netrc = _load_netrc(netrc_path)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        found = self._lookup(request.url.host, request.url.port)
        if found is not None and "Authorization" not in request.headers:
            token = base64.b64encode(f"{found[0]}:{found[1]}".encode()).decode()
            request.headers["Authorization"] = f"Basic {token}"
        yield request

    def _lookup(self, host: str, port: int | None) -> tuple[str, str] | None:
        host = host.lower()
        key = f"{host}:{port}" if port is not None else host
        found = self._credentials.get(key) or self._credentials.get(host)
        if found is None and self._netrc is not None:
            entry = self._netrc.authenticators(host)
            if entry is not None:
                found = (entry[0], entry[2])
        return found


def _load_netrc(path: Path | None) -> netrc.netrc | None:
    path = path if path is not None else Path.home() / ".netrc"
    if not path.is_file():
        return None
    try:
        return netrc.netrc(str(path))
    except (OSError, netrc.NetrcParseError) as exc:
        logger.warning("ignoring unreadable %s: %s", path, exc)
        return None


class Fetcher:
    """Retrying GETs over one connection pool; pages revalidate against the disk cache."""

    def __init__(
        self,
        *,
        cache: HttpCache | None,
        offline: bool,
        timeout: float,
        transport: httpx.BaseTransport | None,
        retry: RetryPolicy,
        credentials: Credentials,
        netrc_path: Path | None,
        max_connections: int,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._cache = cache
        self.offline = offline
        self._retry = retry
        self._limits = limits
        self._cancelled = threading.Event()
        self._unchanged: dict[str, CachedPage] = {}  # fetched pages identical to their entry, until stored
        self._client = httpx.Client(
            # HTTP/1.1: httpcore's HTTP/2 connection is not thread-safe (encode/httpcore#1062: two
            # prefetch threads got the same stream id, KeyError); forcing 1.1 measured no slower here.
            http2=False,
            verify=_ssl_context(),
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": _user_agent()},
            auth=_HostAuth(credentials, netrc_path),
            limits=httpx.Limits(max_connections=max_connections),
        )

    def cancel(self) -> None:
        """Make every transfer in flight fail at its next chunk (Ctrl-C must not wait for a
        slow server); a read that gets no byte at all still waits out the per-read timeout."""
        self._cancelled.set()

    def close(self) -> None:
        self._cancelled.set()
        self._client.close()

    # --- pages ---------------------------------------------------------------------------

    def page(self, url: str) -> CachedPage:
        """The page (status 200 or 404), revalidated against the cache; not stored here."""
        if self.offline:
            cached = self._cache.load_page(url) if self._cache is not None else None
            if cached is None:
                raise not_cached(url)
            logger.info("cache hit (offline): %s", redact_url(url))
            return cached
        # Only the stored header is read up front: its validators go with the request, and a
        # body that comes back the same is compared with the entry, not hashed and parsed again.
        stored = self._cache.load_page_header(url) if self._cache is not None else None
        page = self._retrying(url, lambda: self._page_once(url, stored))
        if page is None:  # 304
            page = self._cache.load_page(url) if self._cache is not None else None
            if page is not None:
                return self._unchanged_page(url, page)
            logger.info("cache entry for %s is unreadable; fetching the page whole", redact_url(url))
            page = self._retrying(url, lambda: self._page_once(url, None))
            assert page is not None  # no validators sent: nothing can answer 304 for us
        if stored is not None and self._cache is not None and self._cache.holds_page(url, page):
            return self._unchanged_page(url, page)  # the same page again without validators
        logger.info("cache %s: %s", "stale, fetched again" if stored else "miss, fetched", redact_url(url))
        return page

    def _unchanged_page(self, url: str, page: CachedPage) -> CachedPage:
        self._unchanged[url] = page
        logger.info("cache hit (unchanged on the index): %s", redact_url(url))
        return page

    def store_page(self, url: str, page: CachedPage) -> None:
        """Called once the page parsed, so garbage never reaches the cache."""
        unchanged = self._unchanged.pop(url, None) is page
        if self._cache is not None and not self.offline and not unchanged:
            self._cache.store_page(url, page)

    def _page_once(self, url: str, stored: Mapping[str, object] | None) -> CachedPage | None:
        """The page, or None when the index answers 304 to the stored entry's validators."""
        headers = {"Accept": ACCEPT, **_conditional_headers(stored)}
        with self._stream(url, headers) as response:
            if response.status_code == 304 and stored is not None:
                logger.debug("%s not modified; reusing the cached page", redact_url(url))
                return None
            if response.status_code in (404, 410):
                return _negative_page(url)
            _check_status(response, url)
            body = self._read_bounded(response, url, self._limits.max_page_bytes)
        return CachedPage(
            url=strip_credentials(str(response.url)),
            status=200,
            content_type=response.headers.get("Content-Type", ""),
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            body=body,
        )

    # --- immutable things ------------------------------------------------------------------

    def get_bytes(self, url: str) -> bytes | None:
        """The body, or None for 404/410."""
        self._require_online(url)
        return self._retrying(url, lambda: self._bytes_once(url))

    def _bytes_once(self, url: str) -> bytes | None:
        with self._stream(url, {}) as response:
            if response.status_code in (404, 410):
                return None
            _check_status(response, url)
            return self._read_bounded(response, url, self._limits.max_metadata_bytes)

    def get_range(self, url: str, spec: str) -> RangeReply | None:
        """The bytes for a Range header value like 'bytes=-65536', or None when the server
        does not honour ranges (then the caller downloads the whole file)."""
        self._require_online(url)
        return self._retrying(url, lambda: self._range_once(url, spec))

    def _range_once(self, url: str, spec: str) -> RangeReply | None:
        headers = {"Range": spec, "Accept-Encoding": "identity"}
        with self._stream(url, headers) as response:
            if response.status_code in (200, 416):
                logger.debug("%s ignores range requests (HTTP %s)", redact_url(url), response.status_code)
                return None
            _check_status(response, url)
            parsed = parse_content_range(response.headers.get("Content-Range", ""))
            if response.status_code != 206 or parsed is None:
                return None
            body = self._read_bounded(response, url, self._limits.max_page_bytes)
        return RangeReply(start=parsed[0], total=parsed[2], body=body)

    def download(self, url: str, dest: Path, expected: Hashes) -> dict[str, str]:
        """Stream url into dest (overwritten per try) and return the digests of what arrived."""
        self._require_online(url)
        return self._retrying(url, lambda: self._download_once(url, dest, expected))

    def _download_once(self, url: str, dest: Path, expected: Hashes) -> dict[str, str]:
        with self._stream(url, {"Accept-Encoding": "identity"}) as response:
            if response.status_code in (404, 410):
                raise InputError(f"{redact_url(url)} is gone (HTTP {response.status_code})")
            _check_status(response, url)
            hashers = Hashers(expected)
            limits = self._limits
            budget = _Budget(url, limits.max_download_bytes, limits.download_seconds, limits, self._cancelled)
            with dest.open("wb") as out:
                for chunk in _chunks_or_transient(response, url):
                    budget.spend(len(chunk))
                    hashers.update(chunk)
                    out.write(chunk)
            _check_length(response, url, budget.received)
        return hashers.hexdigests()

    # --- plumbing --------------------------------------------------------------------------

    def _require_online(self, url: str) -> None:
        if self.offline:
            raise not_cached(url)

    def _read_bounded(self, response: httpx.Response, url: str, max_bytes: int) -> bytes:
        """The (decoded) body, within max_bytes and the page deadline."""
        budget = _Budget(url, max_bytes, self._limits.page_seconds, self._limits, self._cancelled)
        chunks = []
        for chunk in _chunks_or_transient(response, url):
            budget.spend(len(chunk))
            chunks.append(chunk)
        body = b"".join(chunks)
        _check_length(response, url, len(body))
        return body

    def _stream(self, url: str, headers: Mapping[str, str]) -> _StreamContext:
        logger.debug("GET %s (streamed, %s)", redact_url(url), headers.get("Range", "whole"))
        return _StreamContext(self._client, url, headers)

    def _retrying(self, url: str, attempt: Callable[[], T]) -> T:
        failure = _Transient("no attempt made")
        for n in range(self._retry.tries):
            if n:
                time.sleep(self._retry.backoff * 2 ** (n - 1))
            try:
                return attempt()
            except _Transient as exc:
                failure = exc
                logger.debug("try %d for %s failed: %s", n + 1, redact_url(url), exc.why)
        raise _final_error(url, failure, self._retry.tries)


class _StreamContext:
    """client.stream() with transport errors turned into _Transient (or InputError)."""

    def __init__(self, client: httpx.Client, url: str, headers: Mapping[str, str]) -> None:
        self._context = client.stream("GET", url, headers=dict(headers))
        self._url = url

    def __enter__(self) -> httpx.Response:
        try:
            return self._context.__enter__()
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            shown = redact_url(self._url) if len(self._url) < 2000 else self._url[:200] + "..."
            raise InputError(
                f"cannot fetch {shown}: {exc}",
                hint="check the index URL and the project name",
            ) from exc
        except httpx.TooManyRedirects as exc:
            raise InputError(
                f"{redact_url(self._url)} redirects too often (a redirect loop?)",
                hint="check the index URL; open it in a browser to see where it leads",
            ) from exc
        except httpx.TransportError as exc:
            raise _Transient(f"{type(exc).__name__}: {exc}") from exc

    def __exit__(self, *exc_info: object) -> None:
        self._context.__exit__(None, None, None)


def _chunks_or_transient(response: httpx.Response, url: str) -> Iterator[bytes]:
    identity = response.headers.get("Content-Encoding", "identity") == "identity"
    chunks = response.iter_raw() if identity else response.iter_bytes()
    try:
        yield from chunks
    except httpx.TransportError as exc:
        raise _Transient(f"{redact_url(url)} was truncated: {exc}", truncated=True) from exc
    except httpx.DecodingError as exc:
        raise _Transient(f"{redact_url(url)} arrived undecodable: {exc}", truncated=True) from exc


class _Budget:
    """The bytes and seconds one response may take; checked as each chunk arrives.

    The client's timeout bounds each read; this bounds the whole transfer, so a server that
    trickles a byte now and then fails in bounded time, and a page that inflates without end
    (a gzip bomb) stops at the cap.
    """

    def __init__(
        self, url: str, max_bytes: int, seconds: float, limits: Limits, cancelled: threading.Event
    ) -> None:
        self._url = url
        self._cancelled = cancelled
        self._max_bytes = max_bytes
        self._seconds = seconds
        self._limits = limits
        self._started = time.monotonic()
        self.received = 0

    @property
    def _shown(self) -> str:
        return redact_url(self._url)  # only for a message: not worth a urlsplit per chunk

    def spend(self, size: int) -> None:
        self.received += size
        if self._cancelled.is_set():
            raise UsageError(f"stopped fetching {self._shown}: the index client was closed")
        if self.received > self._max_bytes:
            raise RefusedError(
                f"{self._shown} is larger than the {self._max_bytes:,}-byte limit (after decompression)",
                hint="the server sent far more than any real index does; check the index URL "
                "(a caller of the library can raise xbuild.limits.Limits)",
            )
        elapsed = time.monotonic() - self._started
        if elapsed > self._seconds:
            raise EngineError(
                f"{self._shown} took longer than {self._seconds:g} s to arrive",
                hint="the server or a proxy is stalling; try again later or use another index",
            )
        slow = elapsed > self._limits.slow_grace_seconds
        if slow and self.received < elapsed * self._limits.min_bytes_per_second:
            raise EngineError(
                f"{self._shown} trickles in at {self.received / elapsed:.0f} bytes/s "
                f"(under {self._limits.min_bytes_per_second} bytes/s for {elapsed:.0f} s)",
                hint="the server or a proxy is stalling; try again later or use another index",
            )


def _check_length(response: httpx.Response, url: str, received: int) -> None:
    if response.headers.get("Content-Encoding", "identity") != "identity":
        return  # Content-Length then counts encoded bytes, which iter_bytes has already decoded
    expected = response.headers.get("Content-Length")
    if expected is not None and expected.isdigit() and int(expected) != received:
        why = f"{redact_url(url)} was truncated: got {received} of {expected} bytes"
        raise _Transient(why, truncated=True)


def _check_status(response: httpx.Response, url: str) -> None:
    status = response.status_code
    if status >= 500 or status == 429:
        raise _Transient(f"HTTP {status}")
    if status in (401, 403):
        raise InputError(f"{redact_url(url)} refused access (HTTP {status})", hint=_CREDENTIALS_HINT)
    if status >= 400:
        raise InputError(f"{redact_url(url)} answered HTTP {status}")


def _conditional_headers(stored: Mapping[str, object] | None) -> dict[str, str]:
    """From a stored page's header (HttpCache.load_page_header); fields of the wrong type are ignored."""
    if stored is None or stored.get("status") != 200:
        return {}
    etag, last_modified = stored.get("etag"), stored.get("last_modified")
    headers = {"If-None-Match": etag} if isinstance(etag, str) and etag else {}
    if isinstance(last_modified, str) and last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _negative_page(url: str) -> CachedPage:
    return CachedPage(url=url, status=404, content_type="", etag=None, last_modified=None, body=b"")


def _final_error(url: str, failure: _Transient, tries: int) -> Exception:
    shown = redact_url(url)
    if failure.truncated:
        return RefusedError(
            f"download failed after {tries} tries: {failure.why}",
            hint="the server or a proxy cut the transfer short; try again later",
        )
    return EngineError(
        f"{shown} is unreachable after {tries} tries ({failure.why})",
        hint="check the index URL, your network and proxy settings; --offline plans from the cache alone",
    )


def not_cached(url: str) -> InputError:
    return InputError(f"not in the cache: {redact_url(url)} (run once without --offline)", hint=_OFFLINE_HINT)


def parse_content_range(value: str) -> tuple[int, int, int] | None:
    """'bytes 10-19/100' -> (10, 19, 100); None for anything else (e.g. 'bytes */100')."""
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        return None
    start, end, total = (int(group) for group in match.groups())
    return (start, end, total) if start <= end < total else None
