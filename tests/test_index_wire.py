"""The socket half of the HTTP edge (index/wire.py): content decoding, proxies from the
environment, redirects, kept connections and the URLs a request takes, against loopback servers."""

from __future__ import annotations

import base64
import gzip
import shutil
import ssl
import subprocess
import zlib
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from support.loopback import send, serving, tunnelling

from xbuild.errors import InputError
from xbuild.index.transient import Transient
from xbuild.index.wire import Connection, _Proxies, check_url, chunks
from xbuild.util import tls

BODY = "[x] «ünïcödé» 'q' \"qq\"\n".encode() * 2000


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    connection = Connection(timeout=10, credentials={}, netrc_path=None)
    try:
        with connection.stream(url, headers or {}) as response:
            return response.status_code, b"".join(chunks(response, url))
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),  # RFC 9110's deflate: zlib's format
        ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
        ("gzip, deflate", lambda data: zlib.compress(gzip.compress(data))),
        ("identity", lambda data: data),
    ],
)
def test_bodies_arrive_decoded(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    with serving(lambda h: send(h, encode(BODY), Content_Encoding=encoding)) as (base, seen):
        assert fetch(f"{base}/simple/a/") == (200, BODY)
    assert seen.headers[0]["Accept-Encoding"] == "gzip, deflate"


def test_a_compressed_body_cut_short_is_truncated() -> None:
    whole = gzip.compress(BODY)
    with (
        serving(lambda h: send(h, whole[: len(whole) // 2], Content_Encoding="gzip")) as (base, _),
        pytest.raises(Transient, match="truncated") as caught,
    ):
        fetch(f"{base}/simple/a/")
    assert caught.value.truncated


def test_an_encoding_it_cannot_decode_is_named() -> None:
    with (
        serving(lambda h: send(h, b"\x00" * 10, Content_Encoding="br")) as (base, _),
        pytest.raises(InputError, match="Content-Encoding 'br'"),
    ):
        fetch(f"{base}/simple/a/")


def test_connections_are_kept_across_requests_and_redirects() -> None:
    def answer(handler: BaseHTTPRequestHandler) -> None:
        if handler.path == "/old/":
            send(handler, b"moved", 301, Location="/new/%5Bx%5D/")
        else:
            send(handler, BODY)

    with serving(answer) as (base, seen):
        connection = Connection(timeout=10, credentials={}, netrc_path=None)
        for _ in range(3):
            with connection.stream(f"{base}/old/", {}) as response:
                assert b"".join(chunks(response, base)) == BODY
                assert response.url == f"{base}/new/%5Bx%5D/"
        connection.close()
    assert len(set(seen.ports)) == 1, seen.ports
    assert seen.lines == ["GET /old/ HTTP/1.1", "GET /new/%5Bx%5D/ HTTP/1.1"] * 3


def test_a_body_left_unread_does_not_reach_the_next_request() -> None:
    with serving(lambda h: send(h, BODY if h.path == "/big/" else b"small")) as (base, seen):
        connection = Connection(timeout=10, credentials={}, netrc_path=None)
        with connection.stream(f"{base}/big/", {}) as response:
            assert response.status_code == 200  # body never read: a range request's 200, say
        with connection.stream(f"{base}/small/", {}) as response:
            assert b"".join(chunks(response, base)) == b"small"
        connection.close()
    assert len(set(seen.ports)) == 2


def test_credentials_in_the_url_become_basic_auth() -> None:
    with serving(lambda h: send(h, b"ok")) as (base, seen):
        fetch(base.replace("://", "://b%C3%B6b:p%40ss@") + "/simple/")
    assert seen.headers[0]["Authorization"] == "Basic " + base64.b64encode("böb:p@ss".encode()).decode()
    assert seen.lines[0] == "GET /simple/ HTTP/1.1"


def test_an_http_proxy_gets_the_whole_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with serving(lambda h: send(h, b"proxied")) as (proxy, seen):
        monkeypatch.setenv("HTTP_PROXY", proxy.replace("://", "://u:p%20w@"))
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        assert fetch("http://index.invalid:8080/simple/[x]/") == (200, b"proxied")
    assert seen.lines == ["GET http://index.invalid:8080/simple/[x]/ HTTP/1.1"]
    assert seen.headers[0]["Host"] == "index.invalid:8080"
    assert seen.headers[0]["Proxy-Authorization"] == "Basic dTpwIHc="  # u:p w


def test_proxy_routes() -> None:
    environ = {"HTTPS_PROXY": "http://u:p@proxy.example:3128", "NO_PROXY": "internal.example"}
    proxies = _Proxies(environ)
    tunnelled = proxies.route(urlsplit("https://pypi.org/simple/"))
    assert (tunnelled.host, tunnelled.port, tunnelled.tunnel) == ("proxy.example", 3128, ("pypi.org", 443))
    assert tunnelled.proxy_auth == "Basic dTpw" and not tunnelled.absolute
    direct = proxies.route(urlsplit("https://internal.example/simple/"))
    assert (direct.host, direct.tunnel) == ("internal.example", None)
    assert proxies.route(urlsplit("http://pypi.org/")).tunnel is None  # no HTTP_PROXY set
    assert _Proxies({}).route(urlsplit("https://pypi.org:8443/")).port == 8443


@pytest.mark.parametrize(
    ("no_proxy", "url", "bypassed"),
    [
        ("*", "https://pypi.org/", True),
        ("pypi.org", "https://pypi.org/simple/", True),
        (".pypi.org", "https://files.pypi.org/", True),
        ("pypi.org", "https://notpypi.org/", False),
        ("pypi.org:8443", "https://pypi.org/", False),
        ("pypi.org:8443", "https://pypi.org:8443/", True),
        ("[::1]:8080, localhost", "http://[::1]:8080/", True),
        ("::1", "http://[::1]:8080/", True),
    ],
)
def test_no_proxy(no_proxy: str, url: str, bypassed: bool) -> None:
    proxies = _Proxies({"ALL_PROXY": "http://proxy.example:3128", "no_proxy": no_proxy})
    assert (proxies.route(urlsplit(url)).host != "proxy.example") is bypassed


def test_a_socks_proxy_is_refused_with_a_hint() -> None:
    with pytest.raises(InputError, match="only http:// proxies") as caught:
        _Proxies({"ALL_PROXY": "socks5://proxy.example:1080"}).route(urlsplit("https://pypi.org/"))
    assert caught.value.hint is not None


@pytest.mark.parametrize(
    "url",
    [
        "ftp://pypi.org/simple/",
        "https:///simple/",
        "https://ex.org:abc/",
        "https://ex.org:0/",
        "https://1.2.3.999/simple/",
        "https://a b/",
        "https://h.org/\x7f",
        "https://h.org/\u2028",
        "http://[::1/",
        "https://" + "a" * 70_000 + ".org/",
    ],
)
def test_urls_no_request_can_be_made_to(url: str) -> None:
    with pytest.raises(ValueError, match=r"\w"):
        check_url(url)
    with pytest.raises(InputError, match="cannot fetch"):
        Connection(timeout=1, credentials={}, netrc_path=None).get(url, {})


@pytest.mark.parametrize(
    "url",
    ["https://bücher.example/", "http://[::1]:8080/", "file:///tmp/a%20b/", "https://h.org/«ü»/?q=[x]"],
)
def test_urls_a_request_takes(url: str) -> None:
    check_url(url)


def test_a_path_beyond_ascii_goes_percent_encoded() -> None:
    with serving(lambda h: send(h, b"ok")) as (base, seen):
        fetch(f"{base}/simple/«ü»/?q=[x]")
    assert seen.lines == ["GET /simple/%C2%AB%C3%BC%C2%BB/?q=[x] HTTP/1.1"]


@pytest.fixture(scope="module")
def loopback_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1 (in a directory named with hostile text) and a
    server context holding it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed: no certificate for the loopback TLS server")
    where = tmp_path_factory.mktemp("tls [ü] 'q'")
    key, cert = where / "key.pem", where / "cert.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", *subject]
    subprocess.run([*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return cert, context


def _trusting(monkeypatch: pytest.MonkeyPatch, bundle: Path | None) -> None:
    """A new process-wide TLS context that trusts `bundle` (certifi's bundle when None), and no
    proxy from the machine's environment."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR", "NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    if bundle is not None:
        monkeypatch.setenv("SSL_CERT_FILE", str(bundle))
    monkeypatch.setattr(tls, "_SHARED", tls._Shared())


def test_https_through_a_connect_proxy(
    monkeypatch: pytest.MonkeyPatch, loopback_tls: tuple[Path, ssl.SSLContext]
) -> None:
    cert, server_context = loopback_tls
    _trusting(monkeypatch, cert)
    with serving(lambda h: send(h, BODY), tls=server_context) as (base, seen), tunnelling() as (proxy, asked):
        monkeypatch.setenv("HTTPS_PROXY", proxy.replace("://", "://u:p@"))
        assert fetch(f"{base}/simple/[x]/") == (200, BODY)
    # http.client says HTTP/1.0 on Python 3.11 and 1.1 from 3.12; proxies take either.
    assert [line.rsplit(" ", 1)[0] for line in asked.lines] == [f"CONNECT {base.removeprefix('https://')}"]
    assert asked.headers[0]["Proxy-Authorization"] == "Basic dTpw"  # u:p
    assert seen.lines == ["GET /simple/[x]/ HTTP/1.1"]  # inside the tunnel: the origin's form


def test_a_certificate_the_trust_store_lacks_is_refused(
    monkeypatch: pytest.MonkeyPatch, loopback_tls: tuple[Path, ssl.SSLContext]
) -> None:
    _, server_context = loopback_tls
    _trusting(monkeypatch, None)
    with (
        serving(lambda h: send(h, BODY), tls=server_context) as (base, seen),
        pytest.raises(Transient, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        fetch(f"{base}/simple/a/")
    assert seen.lines == []
