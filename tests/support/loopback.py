"""A loopback HTTP/1.1 server (plain or TLS) whose every GET a test answers itself, a CONNECT
proxy in front of such servers, and what each was asked."""

from __future__ import annotations

import socket
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    """What the server was asked: request lines, headers and the client port of each request."""

    lines: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    ports: list[int] = field(default_factory=list)


Answer = Callable[[BaseHTTPRequestHandler], None]


@contextmanager
def serving(answer: Answer, tls: ssl.SSLContext | None = None) -> Iterator[tuple[str, Seen]]:
    """The server's base URL (https:// with `tls`, a server context) and what it is asked."""
    seen = Seen()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            seen.lines.append(self.requestline)
            seen.headers.append(dict(self.headers.items()))
            seen.ports.append(self.client_address[1])
            answer(self)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:  # the handshake runs in accept(); a failed one drops that connection only
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    with _served(server) as port:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}", seen


@contextmanager
def tunnelling() -> Iterator[tuple[str, Seen]]:
    """An HTTP proxy that answers CONNECT only, piping bytes both ways: its URL, what it was asked."""
    seen = Seen()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            _tunnel(self.request, seen)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with _served(server) as port:
        yield f"http://127.0.0.1:{port}", seen


@contextmanager
def _served(server: socketserver.TCPServer) -> Iterator[int]:
    """The server answering on a thread until the block ends; its port."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host_port = server.server_address
        assert isinstance(host_port, tuple)
        yield int(host_port[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _tunnel(client: socket.socket, seen: Seen) -> None:
    """One CONNECT: read its head, dial the target, pipe until both sides are done (the server
    closes `client`)."""
    head = b""
    while b"\r\n\r\n" not in head:
        data = client.recv(4096)
        if not data:
            return
        head += data
    line, *fields = head.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    seen.lines.append(line)
    seen.headers.append(dict(f.split(": ", 1) for f in fields if ": " in f))
    host, _, port = line.split(" ")[1].rpartition(":")
    with socket.create_connection((host, int(port))) as upstream:
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pipe = threading.Thread(target=_pipe, args=(upstream, client), daemon=True)
        pipe.start()
        _pipe(client, upstream)
        pipe.join()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def send(handler: BaseHTTPRequestHandler, body: bytes, status: int = 200, **headers: str) -> None:
    handler.send_response(status)
    for name, value in {"Content-Length": str(len(body)), **headers}.items():
        handler.send_header(name.replace("_", "-"), value)
    handler.end_headers()
    handler.wfile.write(body)
