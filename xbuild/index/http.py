"""The HTTP edge: retries, limits and page revalidation over one shared connection pool.

Everything above this module sees CachedPage values, bytes and files on disk, never a socket; the
connections and a transfer's errors live in wire.py, imported when the first request is made.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ..errors import EngineError, InputError, RefusedError, UsageError
from ..limits import DEFAULT_LIMITS, Limits
from .cache import CachedPage, HttpCache
from .hashing import Hashers
from .models import Hashes
from .pages import ACCEPT
from .transient import Transient
from .urls import redact_url, strip_credentials

if TYPE_CHECKING:
    from .wire import Connection, Credentials, Response

logger = logging.getLogger(__name__)

T = TypeVar("T")

_OFFLINE_HINT = "run once without --offline to fill the cache"
_CREDENTIALS_HINT = "put user:password in the index URL or add the host to ~/.netrc"
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_CLOSED = "the index client was closed"


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


class Fetcher:
    """Retrying GETs over one connection pool; pages revalidate against the disk cache."""

    def __init__(
        self,
        *,
        cache: HttpCache | None,
        offline: bool,
        timeout: float,
        retry: RetryPolicy,
        credentials: Credentials,
        netrc_path: Path | None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self._cache = cache
        self.offline = offline
        self._retry = retry
        self._limits = limits
        self._cancelled = threading.Event()
        # Pages the cache already holds as they are: fetched unchanged, or stored once by this client.
        self._settled: dict[str, CachedPage] = {}
        self._open_connection: Callable[[], Connection] = functools.partial(
            _connect,
            timeout=timeout,
            credentials=credentials,
            netrc_path=netrc_path,
        )
        self._connection: Connection | None = None
        self._connection_lock = threading.Lock()
        if not offline:
            # Not a daemon: a run that fails before its first request would otherwise exit with
            # the thread inside OpenSSL or an import, which can crash the interpreter's shutdown
            # (seen: exit -11). Exit waits for it instead, at most the load's 23-45 ms.
            threading.Thread(target=_load_tls, name="xbuild-tls").start()

    def cancel(self) -> None:
        """Make every transfer in flight fail at its next chunk (Ctrl-C must not wait for a
        slow server); a read that gets no byte at all still waits out the per-read timeout."""
        self._cancelled.set()

    def close(self) -> None:
        self._cancelled.set()
        with self._connection_lock:
            if self._connection is not None:
                self._connection.close()

    def _pool(self, url: str) -> Connection:
        """The connections, opened by the first request: a run the cache serves, and any
        --offline run, never imports the socket half (wire)."""
        with self._connection_lock:
            if self._cancelled.is_set():
                raise UsageError(f"stopped fetching {redact_url(url)}: {_CLOSED}")
            if self._connection is None:
                self._connection = self._open_connection()
            return self._connection

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
        self._settled[url] = page
        logger.info("cache hit (unchanged on the index): %s", redact_url(url))
        return page

    def store_page(self, url: str, page: CachedPage) -> None:
        """Called once the page parsed, so garbage never reaches the cache."""
        if self._cache is None or self.offline or self._settled.get(url) is page:
            return
        self._cache.store_page(url, page)
        self._settled[url] = page

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

    def _read_bounded(self, response: Response, url: str, max_bytes: int) -> bytes:
        """The (decoded) body, within max_bytes and the page deadline."""
        budget = _Budget(url, max_bytes, self._limits.page_seconds, self._limits, self._cancelled)
        chunks = []
        for chunk in _chunks_or_transient(response, url):
            budget.spend(len(chunk))
            chunks.append(chunk)
        body = b"".join(chunks)
        _check_length(response, url, len(body))
        return body

    def _stream(self, url: str, headers: Mapping[str, str]) -> AbstractContextManager[Response]:
        logger.debug("GET %s (streamed, %s)", redact_url(url), headers.get("Range", "whole"))
        return self._pool(url).stream(url, headers)

    def _retrying(self, url: str, attempt: Callable[[], T]) -> T:
        failure = Transient("no attempt made")
        for n in range(self._retry.tries):
            if n:
                time.sleep(self._retry.backoff * 2 ** (n - 1))
            try:
                return attempt()
            except Transient as exc:
                failure = exc
                logger.debug("try %d for %s failed: %s", n + 1, redact_url(url), exc.why)
        raise _final_error(url, failure, self._retry.tries)


def _chunks_or_transient(response: Response, url: str) -> Iterator[bytes]:
    from .wire import chunks  # loaded with the pool that made this response

    return chunks(response, url)


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
            raise UsageError(f"stopped fetching {self._shown}: {_CLOSED}")
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


def _check_length(response: Response, url: str, received: int) -> None:
    if response.headers.get("Content-Encoding", "identity") != "identity":
        return  # Content-Length then counts encoded bytes, which chunks() has already decoded
    expected = response.headers.get("Content-Length")
    if expected is not None and expected.isdigit() and int(expected) != received:
        why = f"{redact_url(url)} was truncated: got {received} of {expected} bytes"
        raise Transient(why, truncated=True)


def _check_status(response: Response, url: str) -> None:
    status = response.status_code
    if status >= 500 or status == 429:
        raise Transient(f"HTTP {status}")
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


def _final_error(url: str, failure: Transient, tries: int) -> Exception:
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


def _load_tls() -> None:
    """The TLS context's certificates, loaded while the caller goes on importing (see tls)."""
    from ..util.tls import load_quietly  # ssl: ~5 ms of imports, on this thread, and only online

    load_quietly()


def _connect(*, timeout: float, credentials: Credentials, netrc_path: Path | None) -> Connection:
    from .wire import Connection  # http.client and ssl, paid only by a run that fetches

    return Connection(timeout=timeout, credentials=credentials, netrc_path=netrc_path)


def not_cached(url: str) -> InputError:
    return InputError(f"not in the cache: {redact_url(url)} (run once without --offline)", hint=_OFFLINE_HINT)


def parse_content_range(value: str) -> tuple[int, int, int] | None:
    """'bytes 10-19/100' -> (10, 19, 100); None for anything else (e.g. 'bytes */100')."""
    match = _CONTENT_RANGE.fullmatch(value.strip())
    if match is None:
        return None
    start, end, total = (int(group) for group in match.groups())
    return (start, end, total) if start <= end < total else None
