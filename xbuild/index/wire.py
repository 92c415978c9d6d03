"""The httpx half of the HTTP edge: the connection pool, credentials and httpx's errors.

Imported only when a request is about to be made (http.Fetcher opens the pool on first use), so
that runs served by the cache alone, and --offline runs, never import httpx (~80 ms).
"""

from __future__ import annotations

import base64
import logging
import netrc
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path

import httpx

from .. import __version__
from ..errors import InputError
from . import tls
from .transient import Transient
from .urls import redact_url

logger = logging.getLogger(__name__)

Credentials = Mapping[str, tuple[str, str]]  # "host" or "host:port" -> (user, password)


def _user_agent() -> str:
    # Not importlib.metadata: the distribution is named xbuild-wheels (PyPI's xbuild is another project).
    return f"xbuild/{__version__}"


def check_url(url: str) -> None:
    """The parse every request makes; ValueError for a URL no request could be made to."""
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise ValueError(str(exc)) from exc


class Connection:
    """One httpx.Client (a pool shared by every thread) and the stream a request reads from."""

    def __init__(
        self,
        *,
        timeout: float,
        transport: httpx.BaseTransport | None,
        credentials: Credentials,
        netrc_path: Path | None,
        max_connections: int,
    ) -> None:
        self._client = httpx.Client(
            # HTTP/1.1: httpcore's HTTP/2 connection is not thread-safe (encode/httpcore#1062: two
            # prefetch threads got the same stream id, KeyError); forcing 1.1 measured no slower here.
            http2=False,
            verify=tls.context(),
            transport=transport,
            timeout=timeout,
            follow_redirects=True,
            headers={"User-Agent": _user_agent()},
            auth=_HostAuth(credentials, netrc_path),
            limits=httpx.Limits(max_connections=max_connections),
        )

    def stream(self, url: str, headers: Mapping[str, str]) -> _StreamContext:
        return _StreamContext(self._client, url, headers)

    def close(self) -> None:
        self._client.close()


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


class _StreamContext:
    """client.stream() with transport errors turned into Transient (or InputError)."""

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
            raise Transient(f"{type(exc).__name__}: {exc}") from exc

    def __exit__(self, *exc_info: object) -> None:
        self._context.__exit__(None, None, None)


def chunks(response: httpx.Response, url: str) -> Iterator[bytes]:
    """The body as it arrives (decoded unless sent as is), with transfer errors as Transient."""
    identity = response.headers.get("Content-Encoding", "identity") == "identity"
    parts = response.iter_raw() if identity else response.iter_bytes()
    try:
        yield from parts
    except httpx.TransportError as exc:
        raise Transient(f"{redact_url(url)} was truncated: {exc}", truncated=True) from exc
    except httpx.DecodingError as exc:
        raise Transient(f"{redact_url(url)} arrived undecodable: {exc}", truncated=True) from exc
