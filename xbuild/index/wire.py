"""The socket half of the HTTP edge, on the standard library's http.client: a pool of kept
connections per origin, credentials, proxies from the environment, redirects, content decoding,
and a transfer's failures as Transient or InputError.

Not httpx, which this module wrapped until 2026-12. A cold plan is bound by the interpreter's
lock, and httpx spent it twice: its import (17 ms against this module's 9 ms, on the path of the
first request) and the Python layers it runs for every 16 KB TLS record (h11, httpcore, its
decoders): 1.45x the CPU of http.client for the same 26 MB of pages (bench/bench_http.py).
Imported only when a request is about to be made (http.Fetcher opens it on first use).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import logging
import netrc
import os
import threading
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import SplitResult, quote, unquote, urljoin, urlsplit

from .. import __version__
from ..errors import InputError
from ..util import tls
from .transient import Transient
from .urls import redact_url

logger = logging.getLogger(__name__)
exchanges = logging.getLogger("xbuild.http")  # -vvv: every request and its answer

Credentials = Mapping[str, tuple[str, str]]  # "host" or "host:port" -> (user, password)

_MAX_REDIRECTS = 20
_MAX_URL = 65_536  # as httpx and browsers: longer is no index's URL
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A read hands back what one TLS record holds (16 KB) or what the socket has; this only bounds it.
_READ = 1 << 18
_READ_COMPRESSED = 1 << 16
_DEFAULT_PORTS = {"http": 80, "https": 443}
_ACCEPT_ENCODING = "gzip, deflate"
# zlib's window bits per Content-Encoding: gzip's header, or zlib's (deflate, raw tried as well).
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
# A keep-alive connection the server closed while idle fails like this on its next request.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
_BAD_URL_HINT = "check the index URL and the project name"
_URL_SAFE = "/?#[]@!$&'()*+,;=%:-._~"


def _user_agent() -> str:
    # Not importlib.metadata: the distribution is named xbuild-wheels (PyPI's xbuild is another project).
    return f"xbuild/{__version__}"


def check_url(url: str) -> None:
    """The parse every request makes; ValueError for a URL no request could be made to."""
    if url.startswith("file:"):
        _check_text(url)
        return
    _split(url)


def _check_text(url: str) -> None:
    if len(url) > _MAX_URL:
        raise ValueError(f"the URL is longer than {_MAX_URL:,} characters")
    if " " in url or not url.isprintable():
        raise ValueError("the URL holds a space or a control character")


def _split(url: str) -> SplitResult:
    """An http(s) URL's parts, checked as a request needs them (ValueError otherwise)."""
    _check_text(url)
    parts = urlsplit(url)  # ValueError for a bracketed host that is no IPv6 address
    if parts.scheme not in _DEFAULT_PORTS:
        raise ValueError(f"the scheme {parts.scheme or '(none)'!r} is not http or https")
    host = parts.hostname
    if not host:
        raise ValueError("the URL has no host")
    if parts.port == 0:  # .port raises ValueError for one that is not a number in range
        raise ValueError("port 0")
    if host.replace(".", "").isdigit():
        ipaddress.IPv4Address(host)  # ValueError for 1.2.3.999; 01.2.3.4 is refused as ambiguous
    elif ":" not in host:
        try:
            host.encode("idna")
        except UnicodeError as exc:
            raise ValueError(f"the host {host!r} is not a valid name") from exc
    return parts


@dataclass(frozen=True)
class _Route:
    """Where a request's socket goes: the origin itself, or a proxy in front of it."""

    scheme: str  # of the socket: https only when talking TLS to the origin directly or tunnelled
    host: str
    port: int
    tunnel: tuple[str, int] | None = None  # CONNECT host:port, for https through a proxy
    absolute: bool = False  # http through a proxy: the request line names the whole URL
    proxy_auth: str | None = None


class _Proxies:
    """HTTP(S)_PROXY, ALL_PROXY and NO_PROXY, read as urllib reads them (the lower-case name wins;
    HTTP_PROXY is ignored in a CGI request); only http:// proxies are supported."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        found: dict[str, str] = {}
        for upper_first in (True, False):  # the lower-case spelling is read last, so it wins
            for key, value in environ.items():
                if key.lower().endswith("_proxy") and value and (key == key.upper()) is upper_first:
                    found[key.lower()[:-6]] = value
        if "REQUEST_METHOD" in environ and environ.get("HTTP_PROXY") == found.get("http"):
            found.pop("http", None)  # httpoxy: a CGI request's Proxy header arrives as HTTP_PROXY
        self._proxies = found

    def route(self, parts: SplitResult) -> _Route:
        scheme, host = parts.scheme, parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS[scheme]
        proxy = self._proxies.get(scheme) or self._proxies.get("all")
        if not proxy or self._bypassed(host, port):
            return _Route(scheme, host, port)
        proxied = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if proxied.scheme != "http" or not proxied.hostname:
            raise InputError(
                f"unsupported proxy {redact_url(proxy)}: only http:// proxies are supported",
                hint="set HTTPS_PROXY/HTTP_PROXY to an http://host:port proxy, or unset it",
            )
        auth = None
        if proxied.username is not None:
            auth = _basic(unquote(proxied.username), unquote(proxied.password or ""))
        at = (proxied.hostname, proxied.port or 80)
        if scheme == "https":
            return _Route("http", *at, tunnel=(host, port), proxy_auth=auth)
        return _Route("http", *at, absolute=True, proxy_auth=auth)

    def _bypassed(self, host: str, port: int) -> bool:
        """NO_PROXY's rule as urllib's: "*", or a name that is the host or a domain above it,
        with a port that must then match too."""
        for entry in self._proxies.get("no", "").replace(" ", "").lower().split(","):
            if entry == "*":
                return True
            name, entry_port = _no_proxy_entry(entry.lstrip("."))
            if name and (host == name or host.endswith("." + name)) and entry_port in ("", str(port)):
                return True
        return False


def _no_proxy_entry(entry: str) -> tuple[str, str]:
    """'example.org:8080' -> ('example.org', '8080'); a bare IPv6 address keeps its colons."""
    name, colon, port = entry.rpartition(":")
    if colon and port.isdigit() and (name.endswith("]") or ":" not in name):
        return name.strip("[]"), port
    return entry.strip("[]"), ""


class Response:
    """A response whose body is still to be read, through `chunks`."""

    def __init__(
        self, raw: http.client.HTTPResponse, url: str, route: _Route, connection: http.client.HTTPConnection
    ) -> None:
        self.raw = raw
        self.route = route
        self.connection = connection
        self.status_code = raw.status
        self.headers = raw.headers  # case-insensitive .get, as a request's reader expects
        self.url = url  # after redirects


class Connection:
    """A pool of keep-alive connections per origin, shared by one client's threads.

    An http.client connection serves one request at a time: a thread takes an idle one (or opens
    one), and gives it back once the body is read to its end."""

    def __init__(self, *, timeout: float, credentials: Credentials, netrc_path: Path | None) -> None:
        self._timeout = timeout
        self._auth = _HostAuth(credentials, netrc_path)
        self._proxies = _Proxies(os.environ)
        self._lock = threading.Lock()
        self._idle: dict[_Route, list[http.client.HTTPConnection]] = {}
        self._open: set[http.client.HTTPConnection] = set()  # idle or in use, for close()
        self._closed = False

    def stream(self, url: str, headers: Mapping[str, str]) -> _StreamContext:
        return _StreamContext(self, url, headers)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            open_now, self._open, self._idle = self._open, set(), {}
        for connection in open_now:
            connection.close()

    def get(self, url: str, headers: Mapping[str, str]) -> Response:
        """One GET, no redirect followed; a kept connection the server had closed meanwhile is
        replaced once, as every client does."""
        try:
            parts = _split(url)
        except ValueError as exc:
            raise InputError(f"cannot fetch {_shown(url)}: {exc}", hint=_BAD_URL_HINT) from exc
        route = self._proxies.route(parts)
        target = url.partition("#")[0] if route.absolute else _path(parts)
        request_headers = self._headers(parts, route, headers)
        for _ in range(2):
            connection, reused = self._checkout(route)
            try:
                connection.request("GET", target, headers=request_headers)
                raw = connection.getresponse()
            except _STALE as exc:
                self._drop(connection)
                if reused:
                    continue
                raise Transient(f"{type(exc).__name__}: {exc}") from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop(connection)
                raise Transient(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__) from exc
            if exchanges.isEnabledFor(logging.DEBUG):
                how = "kept connection" if reused else "new connection"
                exchanges.debug("GET %s -> HTTP %s (%s)", redact_url(url), raw.status, how)
            return Response(raw, url.partition("#")[0], route, connection)
        raise AssertionError("unreachable: a new connection is not tried twice")

    def release(self, response: Response) -> None:
        """Give the connection back if the body was read to its end: a body left unread would
        be read as the next answer, so that connection is closed instead."""
        raw = response.raw
        done = raw.isclosed() or raw.length == 0  # read1 leaves a finished Content-Length body open
        raw.close()
        if done and response.connection.sock is not None:  # None: the server said Connection: close
            with self._lock:
                if not self._closed:
                    self._idle.setdefault(response.route, []).append(response.connection)
                    return
        self._drop(response.connection)

    def _checkout(self, route: _Route) -> tuple[http.client.HTTPConnection, bool]:
        with self._lock:
            idle = self._idle.get(route)
            if idle:
                return idle.pop(), True
            connection = self._new(route)
            self._open.add(connection)
            return connection, False

    def _headers(self, parts: SplitResult, route: _Route, headers: Mapping[str, str]) -> dict[str, str]:
        merged = {"User-Agent": _user_agent(), "Accept-Encoding": _ACCEPT_ENCODING, **headers}
        if "Authorization" not in merged:
            found = _userinfo(parts) or self._auth.lookup(parts.hostname or "", parts.port)
            if found is not None:
                merged["Authorization"] = _basic(*found)
        if route.absolute and route.proxy_auth is not None:
            merged["Proxy-Authorization"] = route.proxy_auth
        return merged

    def _new(self, route: _Route) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection
        if route.scheme == "https" or route.tunnel is not None:
            connection = http.client.HTTPSConnection(
                route.host, route.port, timeout=self._timeout, context=tls.context()
            )
        else:
            connection = http.client.HTTPConnection(route.host, route.port, timeout=self._timeout)
        if route.tunnel is not None:
            extra = {"Proxy-Authorization": route.proxy_auth} if route.proxy_auth else None
            connection.set_tunnel(*route.tunnel, headers=extra)
        return connection

    def _drop(self, connection: http.client.HTTPConnection) -> None:
        connection.close()
        with self._lock:
            self._open.discard(connection)


def _path(parts: SplitResult) -> str:
    path = f"{parts.path or '/'}?{parts.query}" if parts.query else parts.path or "/"
    # The request line is ASCII: other characters go percent-encoded, as browsers send them.
    return path if path.isascii() else quote(path, safe=_URL_SAFE)


def _userinfo(parts: SplitResult) -> tuple[str, str] | None:
    if parts.username is None and parts.password is None:
        return None
    return unquote(parts.username or ""), unquote(parts.password or "")


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _shown(url: str) -> str:
    """The URL for a message about it, which may be one urlsplit refuses ("http://[::1/")."""
    try:
        shown = redact_url(url)
    except ValueError:
        shown = "***@" + url.rpartition("@")[2] if "@" in url else url
    return shown if len(shown) < 2000 else shown[:200] + "..."


class _HostAuth:
    """Basic auth per host: credentials from the index URLs first, then ~/.netrc."""

    def __init__(self, credentials: Credentials, netrc_path: Path | None) -> None:
        self._credentials = dict(credentials)
        self._netrc = _load_netrc(netrc_path)

    def lookup(self, host: str, port: int | None) -> tuple[str, str] | None:
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


class _StreamContext:
    """A GET with its redirects followed; the response's connection is kept when its body was
    read to the end."""

    def __init__(self, connection: Connection, url: str, headers: Mapping[str, str]) -> None:
        self._connection = connection
        self._url = url
        self._headers = headers
        self._response: Response | None = None

    def __enter__(self) -> Response:
        url = self._url
        for _ in range(_MAX_REDIRECTS + 1):
            response = self._connection.get(url, self._headers)
            location = response.headers.get("Location")
            if response.status_code not in _REDIRECTS or not location:
                self._response = response
                return response
            _drain(response)  # a redirect's short body, read so that its connection is kept
            self._connection.release(response)
            url = urljoin(url, location.strip())
        raise InputError(
            f"{redact_url(self._url)} redirects too often (a redirect loop?)",
            hint="check the index URL; open it in a browser to see where it leads",
        )

    def __exit__(self, *exc_info: object) -> None:
        if self._response is not None:
            self._connection.release(self._response)


def _drain(response: Response) -> None:
    with contextlib.suppress(OSError, http.client.HTTPException):
        response.raw.read(_READ)


def chunks(response: Response, url: str) -> Iterator[bytes]:
    """The body as it arrives, decoded by its Content-Encoding, with transfer errors as Transient."""
    raw = response.raw
    decoders = _decoders(response.headers.get("Content-Encoding", ""), url)
    # zlib inflates up to ~1,000 times: a compressed read is kept small, so that one read of a
    # bomb is at most ~64 MB before the caller's byte budget sees it.
    size = _READ_COMPRESSED if decoders else _READ
    try:
        while data := raw.read1(size):
            for decoder in decoders:
                data = decoder.decompress(data)
            yield data
        if raw.length:  # a Content-Length the connection closed short of
            raise Transient(f"{redact_url(url)} was truncated", truncated=True)
        for decoder in decoders:
            if not decoder.eof:
                why = f"{redact_url(url)} was truncated: the compressed stream stops early"
                raise Transient(why, truncated=True)
    except (OSError, http.client.HTTPException) as exc:
        why = f"{redact_url(url)} was truncated: {type(exc).__name__}: {exc}"
        raise Transient(why, truncated=True) from exc
    except zlib.error as exc:
        raise Transient(f"{redact_url(url)} arrived undecodable: {exc}", truncated=True) from exc


class _Inflate:
    """zlib for one Content-Encoding; "deflate" that is raw (no zlib header) is read too."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._zlib = zlib.decompressobj(wbits)
        self._started = False

    @property
    def eof(self) -> bool:
        return self._zlib.eof

    def decompress(self, data: bytes) -> bytes:
        if self._started or self._wbits != zlib.MAX_WBITS:
            return self._zlib.decompress(data)
        self._started = True
        try:
            return self._zlib.decompress(data)
        except zlib.error:
            self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
            return self._zlib.decompress(data)


def _decoders(header: str, url: str) -> list[_Inflate]:
    """Decoders in the order to apply them: the last encoding named was applied last."""
    names = [n.strip().lower() for n in header.split(",") if n.strip()]
    decoders = []
    for name in reversed(names):
        if name == "identity":
            continue
        if name not in _WBITS:
            raise InputError(
                f"{redact_url(url)} arrived in Content-Encoding {name!r}, which xbuild does not decode",
                hint=f"the server ignored 'Accept-Encoding: {_ACCEPT_ENCODING}'; check the index or proxy",
            )
        decoders.append(_Inflate(_WBITS[name]))
    return decoders
