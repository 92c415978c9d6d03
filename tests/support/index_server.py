"""A loopback package index for tests: PEP 691 JSON and PEP 503 HTML over real HTTP.

It serves every wheel/sdist found in `dist_dir` (read on each request, so tests may add files at
any time) and records each request. Routes::

    /simple/                      project list
    /simple/<project>/            project page (JSON or HTML by Accept; non-normalized names
                                  redirect to the normalized one)
    /files/<filename>             the distribution (HTTP Range supported unless disabled)
    /files/<filename>.metadata    PEP 658 core metadata of wheels (unless disabled)
    /links/                       a flat find-links HTML page of every file

Behaviour is switched through `server.config` (a mutable ServerConfig) and `server.fail(...)`.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import gzip
import hashlib
import html
import json
import socket
import sys
import tarfile
import threading
import zipfile
from dataclasses import dataclass, field, replace
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from xbuild.index.archives import find_metadata_member, find_pkg_info
from xbuild.index.models import project_of

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"
_OFFERED = (JSON_TYPE, HTML_V1_TYPE, "text/html")
GARBAGE = b"\xff{ this is not json, nor utf-8 html"
_WRONG_SHA256 = hashlib.sha256(b"tampered").hexdigest()

FailureKind = Literal["status", "garbage", "truncate", "disconnect", "delay"]
# What a hostile index answers for a project page (ServerConfig.hostile_pages):
#   huge          `hostile_bytes` of HTML, streamed
#   gzip-bomb     `hostile_bytes` of zeros, gzip-compressed (Content-Encoding: gzip)
#   trickle       a page that sends one byte every `trickle_seconds`
#   redirect-loop a 302 to itself
#   deep-json     a PEP 691 body nested 100,000 arrays deep
#   huge-number   a PEP 691 body holding a 100,000-digit number
#   file-link     a PEP 691 page whose only file is `file_link` (a file: URL)
HostilePage = Literal[
    "huge", "gzip-bomb", "trickle", "redirect-loop", "deep-json", "huge-number", "file-link"
]
PageFormat = Literal["negotiate", "json", "html"]


@dataclass
class ServerConfig:
    """Live toggles; tests may change them between requests."""

    page_format: PageFormat = "negotiate"
    serve_metadata: bool = True  # advertise and serve PEP 658 .metadata files for wheels
    metadata_attribute: Literal["core-metadata", "dist-info-metadata", "both"] = "both"
    support_ranges: bool = True
    etag: bool = True
    last_modified: bool = True
    absolute_urls: bool = False  # links are relative ("../../files/x") unless set
    advertise_hashes: bool = True
    yanked: dict[str, str | bool] = field(default_factory=dict)  # filename -> reason or True
    requires_python: dict[str, str] = field(default_factory=dict)  # overrides the metadata
    wrong_hash: set[str] = field(default_factory=set)  # filenames advertised with a bad sha256
    wrong_metadata_hash: set[str] = field(default_factory=set)
    auth: tuple[str, str] | None = None  # require HTTP basic auth with (user, password)
    hostile_pages: dict[str, HostilePage] = field(default_factory=dict)  # project -> answer
    hostile_bytes: int = 64 << 20
    trickle_seconds: float = 0.5
    trickle_files: set[str] = field(default_factory=set)  # filenames sent a byte at a time
    file_link: str = ""
    metadata_override: dict[str, bytes] = field(default_factory=dict)  # filename -> PEP 658 body


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    status: int  # 0 while in flight, and for dropped connections
    client_port: int  # one port per TCP connection, so tests can see connection reuse


@dataclass
class _Fault:
    path: str
    kind: FailureKind
    remaining: int
    status: int
    seconds: float


@dataclass(frozen=True)
class _Dist:
    path: Path
    project: str
    sha256: str
    size: int
    metadata: bytes | None  # METADATA of a wheel / PKG-INFO of an sdist
    mtime: float


class IndexServer:
    """Start with `with IndexServer(dist_dir) as server:`; closing joins every thread."""

    def __init__(self, dist_dir: Path) -> None:
        self.dist_dir = dist_dir
        dist_dir.mkdir(parents=True, exist_ok=True)
        self.config = ServerConfig()
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []
        self._faults: list[_Fault] = []
        self._dists: dict[tuple[Path, float, int], _Dist] = {}
        self._httpd = _Server(self)
        self._closing = threading.Event()  # cuts injected delays short on close
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="index-server"
        )

    # --- lifecycle -------------------------------------------------------------------------

    def __enter__(self) -> IndexServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closing.set()
        if self._thread.is_alive():
            self._httpd.shutdown()
            self._thread.join()
        self._httpd.close_connections()
        self._httpd.server_close()

    # --- addresses -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def index_url(self) -> str:
        return f"{self.base_url}/simple/"

    @property
    def find_links_url(self) -> str:
        return f"{self.base_url}/links/"

    def index_url_with_auth(self, user: str, password: str) -> str:
        return self.index_url.replace("://", f"://{user}:{password}@", 1)

    @staticmethod
    def page_path(project: str) -> str:
        return f"/simple/{canonicalize_name(project)}/"

    @staticmethod
    def file_path(filename: str) -> str:
        return f"/files/{filename}"

    @staticmethod
    def metadata_path(filename: str) -> str:
        return f"/files/{filename}.metadata"

    # --- failures and records --------------------------------------------------------------

    def fail(
        self,
        path: str,
        kind: FailureKind = "status",
        *,
        times: int = 1,
        status: int = 500,
        seconds: float = 1.0,
    ) -> None:
        """Make the next `times` requests for exactly `path` fail: with `status`, a garbage
        200 body, a body cut in half, a dropped connection, or `seconds` of delay first."""
        with self._lock:
            self._faults.append(_Fault(path, kind, times, status, seconds))

    def requests(self, path: str | None = None, method: str = "GET") -> list[RequestRecord]:
        with self._lock:
            records = list(self._records)
        return [r for r in records if r.method == method and (path is None or r.path == path)]

    def count(self, path: str | None = None, *, status: int | None = None) -> int:
        return sum(1 for r in self.requests(path) if status is None or r.status == status)

    def clear_requests(self) -> None:
        with self._lock:
            self._records.clear()

    def _begin(self, record: RequestRecord) -> int:
        """Record a request on arrival (status 0 until answered); returns its position."""
        with self._lock:
            self._records.append(record)
            return len(self._records) - 1

    def _finish(self, position: int, status: int) -> None:
        with self._lock:
            if position < len(self._records):  # clear_requests() may have run meanwhile
                self._records[position] = replace(self._records[position], status=status)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path == path and fault.remaining > 0:
                    fault.remaining -= 1
                    return fault
        return None

    # --- the distributions ---------------------------------------------------------------

    def dists(self) -> list[_Dist]:
        found = []
        for path in sorted(self.dist_dir.iterdir()):
            stat = path.stat()
            key = (path, stat.st_mtime, stat.st_size)
            with self._lock:
                dist = self._dists.get(key)
            if dist is None and project_of(path.name) is not None:
                dist = _read_dist(path, stat.st_mtime)
                with self._lock:
                    self._dists[key] = dist
            if dist is not None:
                found.append(dist)
        return found

    def dist(self, filename: str) -> _Dist | None:
        return next((d for d in self.dists() if d.path.name == filename), None)


def _read_dist(path: Path, mtime: float) -> _Dist:
    data = path.read_bytes()
    project = project_of(path.name)
    assert project is not None
    return _Dist(path, project, hashlib.sha256(data).hexdigest(), len(data), _metadata(path), mtime)


def _metadata(path: Path) -> bytes | None:
    if path.name.endswith(".whl"):
        with zipfile.ZipFile(path) as archive:
            project = project_of(path.name)
            assert project is not None
            member = find_metadata_member(archive.namelist(), project)
            return archive.read(member) if member else None
    if path.name.endswith(".tar.gz"):
        with tarfile.open(path, "r:gz") as tar:
            member = find_pkg_info(tar.getnames())
            stream = tar.extractfile(member) if member else None
            return stream.read() if stream else None
    return None


def _requires_python(metadata: bytes | None) -> str | None:
    if metadata is None:
        return None
    message = email.message_from_bytes(metadata)
    value = message.get("Requires-Python")
    return str(value) if value is not None else None


# --- the HTTP side -------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    """Tracks open connections so close() can end keep-alive handlers and join their threads."""

    daemon_threads = False
    block_on_close = True

    def __init__(self, index: IndexServer) -> None:
        self.index = index
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def finish_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        connection = request if isinstance(request, socket.socket) else request[1]
        with self._connections_lock:
            self._connections.add(connection)
        try:
            super().finish_request(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(connection)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (timeout test, truncated read) is expected, not an error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the peer
                connection.shutdown(socket.SHUT_RDWR)


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so the client's connection reuse is exercised
    timeout = 10  # an abandoned keep-alive connection cannot pin a thread forever
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass  # tests read server.requests() instead of stderr

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, *, send_body: bool) -> None:
        index = self.server.index
        path = unquote(urlsplit(self.path).path)
        position = self._record(path)
        fault = index._take_fault(path)
        if fault is not None and fault.kind == "delay":
            index._closing.wait(fault.seconds)
        if fault is not None and fault.kind == "disconnect":
            self.close_connection = True
            return
        if _hostile(self, index, path, send_body=send_body):
            index._finish(position, 200)
            return
        if fault is not None and fault.kind == "status":
            reply = _Reply(fault.status, b"injected failure")
        else:
            reply = self._authorize() or _route(index, path, self.headers)
        if _is(fault, "garbage") and reply.status == 200:
            reply.body = GARBAGE
        index._finish(position, reply.status)
        self._send(reply, send_body=send_body, truncate=_is(fault, "truncate"))

    def _authorize(self) -> _Reply | None:
        expected = self.server.index.config.auth
        if expected is None:
            return None
        token = base64.b64encode(f"{expected[0]}:{expected[1]}".encode()).decode()
        if self.headers.get("Authorization") == f"Basic {token}":
            return None
        return _Reply(401, b"authentication required", {"WWW-Authenticate": 'Basic realm="t"'})

    def _send(self, reply: _Reply, *, send_body: bool, truncate: bool) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if truncate:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if send_body:
            self.wfile.write(reply.body[: len(reply.body) // 2] if truncate else reply.body)

    def _record(self, path: str) -> int:
        headers = {name.lower(): value for name, value in self.headers.items()}
        port = int(self.client_address[1])
        return self.server.index._begin(RequestRecord(self.command, path, headers, 0, port))


def _hostile(handler: _Handler, index: IndexServer, path: str, *, send_body: bool) -> bool:
    """Answer a hostile page or file when the config asks for one; False otherwise."""
    config = index.config
    project = path.split("/")[2] if path.startswith("/simple/") and path.count("/") == 3 else None
    kind = config.hostile_pages.get(project or "")
    filename = path.removeprefix("/files/") if path.startswith("/files/") else None
    if kind is None and filename not in config.trickle_files:
        return False
    if kind in ("trickle", None):
        _trickle(handler, index, send_body=send_body)
    elif kind in ("huge", "gzip-bomb"):
        _stream_huge(handler, config.hostile_bytes, gzipped=kind == "gzip-bomb", send_body=send_body)
    elif kind == "redirect-loop":
        handler._send(_Reply(302, b"", {"Location": path}), send_body=send_body, truncate=False)
    else:
        handler._send(_hostile_json(kind, config.file_link), send_body=send_body, truncate=False)
    return True


def _hostile_json(kind: HostilePage, file_link: str) -> _Reply:
    if kind == "deep-json":
        body = b"[" * 100_000 + b"]" * 100_000
    elif kind == "huge-number":
        # In a key the client reads (meta is read whole): one it skips is never turned into an int.
        body = b'{"files": [], "meta": {"api-version": "1.1", "n": 1' + b"0" * 100_000 + b"}}"
    else:
        filename = file_link.rstrip("/").rsplit("/", 1)[-1]
        body = json.dumps(
            {
                "meta": {"api-version": "1.1"},
                "files": [{"filename": filename, "url": file_link, "hashes": {}}],
            }
        ).encode()
    return _Reply(200, body, {"Content-Type": JSON_TYPE})


def _stream_huge(handler: _Handler, size: int, *, gzipped: bool, send_body: bool) -> None:
    chunk = b"<a>" + b" " * ((1 << 20) - 3)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    if gzipped:
        body = gzip.compress(b"\0" * size, compresslevel=9)
        handler.send_header("Content-Encoding", "gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if send_body:
            handler.wfile.write(body)
        return
    handler.send_header("Content-Length", str(size))
    handler.send_header("Connection", "close")
    handler.close_connection = True
    handler.end_headers()
    sent = 0
    while send_body and sent < size:
        piece = chunk[: size - sent]
        handler.wfile.write(piece)
        sent += len(piece)


def _trickle(handler: _Handler, index: IndexServer, *, send_body: bool) -> None:
    """A 1 MiB answer sent one byte per `trickle_seconds` until the client gives up."""
    handler.send_response(200)
    handler.send_header("Content-Type", "text/html")
    handler.send_header("Content-Length", str(1 << 20))
    handler.send_header("Connection", "close")
    handler.close_connection = True
    handler.end_headers()
    handler.wfile.flush()
    for _ in range(1 << 20):
        if not send_body or index._closing.wait(index.config.trickle_seconds):
            return
        handler.wfile.write(b" ")
        handler.wfile.flush()


def _is(fault: _Fault | None, kind: FailureKind) -> bool:
    return fault is not None and fault.kind == kind


def _route(index: IndexServer, path: str, headers: Message) -> _Reply:
    if path == "/simple/":
        return _project_list(index, headers.get("Accept"))
    if path.startswith("/simple/") and path.count("/") == 3 and path.endswith("/"):
        return _project_page(index, path.split("/")[2], headers)
    if path == "/links/":
        return _html_reply(_links_html(index, index.dists(), "Find links", "/links/"))
    if path.startswith("/files/"):
        return _file(index, path.removeprefix("/files/"), headers.get("Range"))
    return _Reply(404, b"not found")


def _project_list(index: IndexServer, accept: str | None) -> _Reply:
    projects = sorted({d.project for d in index.dists()})
    if _negotiate(accept, index.config.page_format) == JSON_TYPE:
        body = {"meta": {"api-version": "1.1"}, "projects": [{"name": p} for p in projects]}
        return _Reply(200, json.dumps(body).encode(), {"Content-Type": JSON_TYPE})
    anchors = "".join(f'<a href="{p}/">{p}</a>\n' for p in projects)
    return _html_reply(f"<!DOCTYPE html><html><body>\n{anchors}</body></html>\n")


def _project_page(index: IndexServer, name: str, headers: Message) -> _Reply:
    project = canonicalize_name(name)
    if project != name:
        return _Reply(301, b"", {"Location": f"/simple/{project}/"})
    dists = [d for d in index.dists() if d.project == project]
    if not dists:
        return _Reply(404, b"no such project")
    media_type = _negotiate(headers.get("Accept"), index.config.page_format)
    if media_type is None:
        return _Reply(406, b"not acceptable")
    page_path = f"/simple/{project}/"
    if media_type == JSON_TYPE:
        body = json.dumps(_json_page(index, project, dists, page_path)).encode()
    else:
        body = _links_html(index, dists, f"Links for {project}", page_path).encode()
    content_type = JSON_TYPE if media_type == JSON_TYPE else f"{media_type}; charset=utf-8"
    return _conditional(index, body, content_type, max(d.mtime for d in dists), headers)


def _conditional(
    index: IndexServer, body: bytes, content_type: str, mtime: float, request: Message
) -> _Reply:
    """200 with validators, or 304 when the client's If-None-Match/If-Modified-Since match."""
    header = request.get
    etag = f'"{hashlib.sha256(body).hexdigest()[:20]}"'
    last_modified = email.utils.formatdate(int(mtime), usegmt=True)
    headers = {"Content-Type": content_type, "Vary": "Accept"}
    if index.config.etag:
        headers["ETag"] = etag
    if index.config.last_modified:
        headers["Last-Modified"] = last_modified
    if index.config.etag and header("If-None-Match") == etag:
        return _Reply(304, b"", headers)
    since = header("If-Modified-Since")
    if index.config.last_modified and header("If-None-Match") is None and since:
        parsed = email.utils.parsedate_to_datetime(since).timestamp()
        if int(mtime) <= parsed:
            return _Reply(304, b"", headers)
    return _Reply(200, body, headers)


def _negotiate(accept: str | None, forced: PageFormat) -> str | None:
    """The offered media type with the highest q (ties go to the server's preference)."""
    if forced == "json":
        return JSON_TYPE
    if forced == "html" or not accept:
        return "text/html"
    best: tuple[float, int, str] | None = None
    for item in accept.split(","):
        media_type, _, params = item.strip().partition(";")
        quality = _quality(params)
        for rank, offered in enumerate(_OFFERED):
            if media_type.strip() in (offered, "*/*") and quality > 0:
                candidate = (quality, -rank, offered)
                best = candidate if best is None or candidate > best else best
    return best[2] if best else None


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.strip().partition("=")
        if key == "q":
            return float(value)
    return 1.0


def _file_url(index: IndexServer, filename: str, page_path: str) -> str:
    if index.config.absolute_urls:
        return f"{index.base_url}/files/{filename}"
    return "../" * (page_path.count("/") - 1) + f"files/{filename}"


def _advertised(index: IndexServer, dist: _Dist) -> dict[str, object]:
    """The facts about one file as the page states them, after the test's toggles."""
    config, name = index.config, dist.path.name
    sha256 = _WRONG_SHA256 if name in config.wrong_hash else dist.sha256
    metadata_sha = None
    if config.serve_metadata and name.endswith(".whl") and dist.metadata is not None:
        metadata_sha = hashlib.sha256(config.metadata_override.get(name, dist.metadata)).hexdigest()
        if name in config.wrong_metadata_hash:
            metadata_sha = _WRONG_SHA256
    return {
        "sha256": sha256 if config.advertise_hashes else None,
        "requires_python": config.requires_python.get(name, _requires_python(dist.metadata)),
        "yanked": config.yanked.get(name, False),
        "metadata_sha256": metadata_sha,
    }


def _json_page(index: IndexServer, project: str, dists: list[_Dist], page_path: str) -> dict[str, object]:
    files = []
    for dist in dists:
        facts = _advertised(index, dist)
        entry: dict[str, object] = {
            "filename": dist.path.name,
            "url": _file_url(index, dist.path.name, page_path),
            "hashes": {"sha256": facts["sha256"]} if facts["sha256"] else {},
            "yanked": facts["yanked"],
            "size": dist.size,
            "upload-time": "2024-01-01T00:00:00.000000Z",
        }
        if facts["requires_python"] is not None:
            entry["requires-python"] = facts["requires_python"]
        metadata = {"sha256": facts["metadata_sha256"]} if facts["metadata_sha256"] else False
        for key in _metadata_keys(index):
            entry[key] = metadata
        files.append(entry)
    return {"meta": {"api-version": "1.1"}, "name": project, "files": files, "versions": []}


def _metadata_keys(index: IndexServer) -> tuple[str, ...]:
    chosen = index.config.metadata_attribute
    return ("core-metadata", "dist-info-metadata") if chosen == "both" else (chosen,)


def _links_html(index: IndexServer, dists: list[_Dist], title: str, page_path: str) -> str:
    anchors = []
    for dist in dists:
        facts = _advertised(index, dist)
        href = _file_url(index, dist.path.name, page_path)
        href += f"#sha256={facts['sha256']}" if facts["sha256"] else ""
        attributes = [f'href="{html.escape(href)}"']
        if facts["requires_python"] is not None:
            attributes.append(f'data-requires-python="{html.escape(str(facts["requires_python"]))}"')
        if facts["yanked"] is not False:
            reason = "" if facts["yanked"] is True else str(facts["yanked"])
            attributes.append(f'data-yanked="{html.escape(reason)}"')
        if facts["metadata_sha256"]:
            value = f"sha256={facts['metadata_sha256']}"
            attributes += [f'data-{key}="{value}"' for key in _metadata_keys(index)]
        anchors.append(f"<a {' '.join(attributes)}>{html.escape(dist.path.name)}</a><br/>")
    return (
        '<!DOCTYPE html>\n<html><head><meta name="pypi:repository-version" content="1.1">'
        f"<title>{title}</title></head><body><h1>{title}</h1>\n" + "\n".join(anchors) + "\n"
        "</body></html>\n"
    )


def _html_reply(text: str) -> _Reply:
    return _Reply(200, text.encode(), {"Content-Type": "text/html; charset=utf-8"})


def _file(index: IndexServer, filename: str, range_header: str | None) -> _Reply:
    if filename.endswith(".metadata"):
        dist = index.dist(filename.removesuffix(".metadata"))
        served = index.config.serve_metadata and dist is not None and dist.path.suffix == ".whl"
        if not served or dist is None or dist.metadata is None:
            return _Reply(404, b"no metadata")
        body = index.config.metadata_override.get(dist.path.name, dist.metadata)
        return _Reply(200, body, {"Content-Type": "application/octet-stream"})
    dist = index.dist(filename)
    if dist is None:
        return _Reply(404, b"no such file")
    data = dist.path.read_bytes()
    headers = {"Content-Type": "application/octet-stream"}
    if not index.config.support_ranges or range_header is None:
        if index.config.support_ranges:
            headers["Accept-Ranges"] = "bytes"
        return _Reply(200, data, headers)
    return _range_reply(data, range_header, headers)


def _range_reply(data: bytes, range_header: str, headers: dict[str, str]) -> _Reply:
    bounds = parse_range(range_header, len(data))
    if bounds is None:
        return _Reply(416, b"", {**headers, "Content-Range": f"bytes */{len(data)}"})
    start, end = bounds
    content_range = f"bytes {start}-{end}/{len(data)}"
    return _Reply(206, data[start : end + 1], {**headers, "Content-Range": content_range})


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """One 'bytes=a-b' / 'bytes=a-' / 'bytes=-n' range as inclusive bounds, clamped to size;
    None when unsatisfiable or not understood."""
    unit, _, spec = header.partition("=")
    first, dash, last = spec.strip().partition("-")
    if unit.strip() != "bytes" or not dash or "," in spec:
        return None
    if not first:
        if not last.isdigit() or int(last) == 0 or size == 0:
            return None
        return max(0, size - int(last)), size - 1
    if not first.isdigit() or int(first) >= size or (last and not last.isdigit()):
        return None
    end = min(int(last), size - 1) if last else size - 1
    return (int(first), end) if int(first) <= end else None
