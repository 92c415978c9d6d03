"""IndexClient project pages against the loopback index: formats, merging, errors, auth."""

from __future__ import annotations

import logging
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import JSON_TYPE, IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.errors import EngineError, ExitCode, InputError, UsageError
from xbuild.index import HttpCache, IndexClient
from xbuild.index.pages import ACCEPT


@pytest.fixture
def cache(tmp_path: Path) -> HttpCache:
    return HttpCache(tmp_path / "cache")


def summary(client: IndexClient, name: str) -> list[tuple[str, str | None, str | None]]:
    return [(f.filename, f.requires_python, f.yanked) for f in client.project(name).files]


@pytest.mark.parametrize("page_format", ["json", "html"])
def test_project_page_in_either_format(index_server: IndexServer, cache: HttpCache, page_format: str) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0", requires_python=">=3.8")
    make_sdist(index_server.dist_dir, "foo", "1.0")
    make_wheel(index_server.dist_dir, "foo", "0.9")
    index_server.config.page_format = page_format  # type: ignore[assignment]
    index_server.config.yanked["foo-0.9-py3-none-any.whl"] = "broken"
    index_server.config.requires_python["foo-1.0.tar.gz"] = ">=3.7,<4"
    with quick_client([index_server.index_url], cache=cache) as client:
        page = client.project("foo")
        assert summary(client, "foo") == [
            ("foo-0.9-py3-none-any.whl", None, "broken"),
            ("foo-1.0-py3-none-any.whl", ">=3.8", None),
            ("foo-1.0.tar.gz", ">=3.7,<4", None),
        ]
    wheel = page.files[1]
    assert wheel.url == f"{index_server.base_url}/files/foo-1.0-py3-none-any.whl"
    assert wheel.sha256 is not None and len(wheel.sha256) == 64
    assert wheel.metadata_hashes is not None and wheel.metadata_hashes[0][0] == "sha256"
    assert page.files[2].metadata_hashes is None  # sdists get no PEP 658 file
    assert (page.name, page.index_url) == ("foo", index_server.index_url)
    assert wheel.size == (index_server.dist_dir / wheel.filename).stat().st_size or (
        page_format == "html" and wheel.size is None
    )


def test_sends_pep691_accept_and_user_agent_and_normalizes_names(
    index_server: IndexServer, cache: HttpCache
) -> None:
    make_wheel(index_server.dist_dir, "Foo_Bar", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.project("FOO.bar").name == "foo-bar"
        assert client.project("foo-bar").files  # same page, no second request
    [request] = index_server.requests()
    assert request.path == "/simple/foo-bar/"
    assert request.headers["accept"] == ACCEPT
    assert request.headers["user-agent"] == "xbuild/0.1.0"
    assert request.status == 200


def test_json_is_preferred_when_the_server_offers_both(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        client.project("foo")
    assert cache.load_page(index_server.index_url + "foo/") is not None
    stored = cache.load_page(index_server.index_url + "foo/")
    assert stored is not None and stored.content_type == JSON_TYPE


def test_absolute_file_urls(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.absolute_urls = True
    with quick_client([index_server.index_url], cache=cache) as client:
        [file] = client.project("foo").files
    assert file.url == f"{index_server.base_url}/files/foo-1.0-py3-none-any.whl"


def test_unknown_project_names_the_index(index_server: IndexServer, cache: HttpCache) -> None:
    with (
        quick_client([index_server.index_url], cache=cache) as client,
        pytest.raises(InputError, match="'nope' was not found") as caught,
    ):
        client.project("nope")
    assert index_server.index_url in caught.value.message
    assert caught.value.exit_code == ExitCode.USAGE
    assert caught.value.hint


def test_invalid_project_name_is_input_error(index_server: IndexServer, cache: HttpCache) -> None:
    with (
        quick_client([index_server.index_url], cache=cache) as client,
        pytest.raises(InputError, match="not a valid project name"),
    ):
        client.project("no such!")


def test_two_indexes_merge_and_the_first_wins(
    index_server: IndexServer, cache: HttpCache, tmp_path: Path
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    make_wheel(index_server.dist_dir, "only-a", "1.0")
    with IndexServer(tmp_path / "second") as second:
        make_wheel(second.dist_dir, "foo", "1.0", requires_python=">=3.10")  # same filename
        make_wheel(second.dist_dir, "foo", "2.0")
        indexes = [index_server.index_url, second.index_url]
        with quick_client(indexes, cache=cache) as client:
            page = client.project("foo")
            assert [(f.filename, f.index_url) for f in page.files] == [
                ("foo-1.0-py3-none-any.whl", index_server.index_url),
                ("foo-2.0-py3-none-any.whl", second.index_url),
            ]
            assert page.files[0].requires_python is None
            assert client.project("only-a").index_url == index_server.index_url
            with pytest.raises(InputError) as caught:
                client.project("nowhere")
    assert index_server.index_url in caught.value.message
    assert second.index_url in caught.value.message


def test_find_links_directory_page_and_file(
    index_server: IndexServer, cache: HttpCache, tmp_path: Path
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    make_wheel(index_server.dist_dir, "bar", "1.0")
    local = tmp_path / "wheelhouse"
    make_wheel(local, "foo", "1.1")
    make_sdist(local, "foo", "1.2")
    (local / "notes.txt").write_text("ignored")
    html_file = tmp_path / "links.html"
    html_file.write_text('<a href="wheelhouse/foo-1.1-py3-none-any.whl">x</a>')
    links = [str(local), index_server.find_links_url, html_file.as_uri()]
    with quick_client([], cache=cache, find_links=links) as client:
        files = client.project("foo").files
        assert [(f.filename, f.index_url) for f in files] == [
            ("foo-1.1-py3-none-any.whl", local.as_uri()),
            ("foo-1.2.tar.gz", local.as_uri()),
            ("foo-1.0-py3-none-any.whl", index_server.find_links_url),
        ]
        assert files[0].sha256 is not None and files[0].url.startswith("file://")
        assert client.project("bar").index_url == index_server.find_links_url
        with pytest.raises(InputError, match="find-links"):
            client.project("baz")
    assert index_server.count("/links/") == 1  # one page serves every project


def test_missing_find_links_directory(cache: HttpCache, tmp_path: Path) -> None:
    with (
        quick_client([], cache=cache, find_links=[str(tmp_path / "nope")]) as client,
        pytest.raises(InputError, match="does not exist"),
    ):
        client.project("foo")


def test_file_index_with_html_and_bare_directories(cache: HttpCache, tmp_path: Path) -> None:
    root = tmp_path / "simple"
    wheel = make_wheel(tmp_path / "files", "foo", "1.0")
    (root / "foo").mkdir(parents=True)
    (root / "foo" / "index.html").write_text(
        f'<a href="../../files/{wheel.name}" data-requires-python="&gt;=3.9">x</a>'
    )
    make_wheel(root / "Bar_Baz", "bar-baz", "2.0")  # bare directory, non-normalized name
    with quick_client([root.as_uri()], cache=cache) as client:
        [foo] = client.project("foo").files
        [bar] = client.project("bar-baz").files
        with pytest.raises(InputError, match="not found"):
            client.project("missing")
        assert client.metadata(foo).startswith(b"Metadata-Version")
        assert (
            client.download(bar, tmp_path / "out").read_bytes()
            == (root / "Bar_Baz" / bar.filename).read_bytes()
        )
    assert (foo.url, foo.requires_python) == (wheel.as_uri(), ">=3.9")
    assert bar.sha256 is not None and bar.size is not None


def test_prefetch_fetches_concurrently_and_once(index_server: IndexServer, cache: HttpCache) -> None:
    names = [f"p{i}" for i in range(8)]
    for name in names:
        make_wheel(index_server.dist_dir, name, "1.0")
        index_server.fail(index_server.page_path(name), "delay", seconds=0.3)
    start = time.monotonic()
    with quick_client([index_server.index_url], cache=cache, max_workers=8) as client:
        client.prefetch([*names, "not a name!"])  # bad names surface only from project()
        pages = [client.project(name) for name in names]
    assert time.monotonic() - start < 1.5  # 8 x 0.3 s one after another would be 2.4 s
    assert [p.name for p in pages] == names
    assert all(index_server.count(index_server.page_path(n)) == 1 for n in names)


def test_prefetch_errors_surface_from_project(index_server: IndexServer, cache: HttpCache) -> None:
    with quick_client([index_server.index_url], cache=cache) as client:
        client.prefetch(["ghost"])
        with pytest.raises(InputError, match="'ghost' was not found"):
            client.project("ghost")


def test_closing_fails_pending_prefetches_instead_of_hanging(
    index_server: IndexServer, cache: HttpCache
) -> None:
    for name in ("a", "b"):
        make_wheel(index_server.dist_dir, name, "1.0")
    index_server.fail(index_server.page_path("a"), "delay", seconds=0.2)
    client = quick_client([index_server.index_url], cache=cache, max_workers=1)
    client.prefetch(["a", "b"])
    client.close()
    assert client.project("a").name == "a"  # was running, so it finished
    with pytest.raises(UsageError, match="closed"):
        client.project("b")  # was queued, so it never ran


def test_connections_are_reused(index_server: IndexServer, cache: HttpCache) -> None:
    for name in ("a", "b", "c"):
        make_wheel(index_server.dist_dir, name, "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        for name in ("a", "b", "c"):
            client.project(name)
    assert len({r.client_port for r in index_server.requests()}) == 1


# --- failures ------------------------------------------------------------------------------


def test_5xx_is_retried_with_backoff(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.fail("/simple/foo/", status=503, times=2)
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.project("foo").files
    assert [r.status for r in index_server.requests()] == [503, 503, 200]


def test_dropped_connection_and_timeout_are_retried(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.fail("/simple/foo/", "disconnect")
    index_server.fail("/simple/foo/", "delay", seconds=1.0)
    with quick_client([index_server.index_url], cache=cache, timeout=0.3) as client:
        assert client.project("foo").files
    assert index_server.count("/simple/foo/") == 3


def test_index_that_keeps_failing_is_engine_error(index_server: IndexServer, cache: HttpCache) -> None:
    index_server.fail("/simple/foo/", status=500, times=3)
    with (
        quick_client([index_server.index_url], cache=cache) as client,
        pytest.raises(EngineError, match="after 3 tries") as caught,
    ):
        client.project("foo")
    assert index_server.index_url + "foo/" in caught.value.message
    assert caught.value.exit_code == ExitCode.ENGINE
    assert caught.value.hint is not None and "network" in caught.value.hint


def test_unreachable_index_is_engine_error(cache: HttpCache) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago refuses connections
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/simple/"
    with (
        quick_client([url], cache=cache) as client,
        pytest.raises(EngineError, match="unreachable") as caught,
    ):
        client.project("foo")
    assert url in caught.value.message


def test_truncated_page_is_retried(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.fail("/simple/foo/", "truncate")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.project("foo").files
    assert index_server.count("/simple/foo/") == 2


def test_errors_never_show_credentials(cache: HttpCache) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with (
        quick_client([f"http://u:hunter2@127.0.0.1:{port}/simple/"], cache=cache) as client,
        pytest.raises(EngineError) as caught,
    ):
        client.project("foo")
    assert "hunter2" not in caught.value.message
    assert f"127.0.0.1:{port}/simple/foo/" in caught.value.message


@pytest.mark.parametrize(("page_format", "kind"), [("json", "JSON"), ("html", "HTML")])
def test_garbage_page_is_input_error_and_not_cached(
    index_server: IndexServer, cache: HttpCache, page_format: str, kind: str
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.page_format = page_format  # type: ignore[assignment]
    index_server.fail("/simple/foo/", "garbage")
    with (
        quick_client([index_server.index_url], cache=cache) as client,
        pytest.raises(InputError) as caught,
    ):
        client.project("foo")
    expected = f"index {index_server.index_url} returned unreadable {kind} for project foo"
    assert caught.value.message.startswith(expected)
    assert cache.load_page(index_server.index_url + "foo/") is None


# --- credentials ---------------------------------------------------------------------------


def test_credentials_from_the_url_are_used_and_never_stored_or_logged(
    index_server: IndexServer, cache: HttpCache, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.auth = ("alice", "s3cr3t")
    with quick_client([index_server.index_url_with_auth("alice", "s3cr3t")], cache=cache) as c:
        page = c.project("foo")
        assert c.metadata(page.files[0]).startswith(b"Metadata-Version")
    assert page.index_url == index_server.index_url
    assert all("s3cr3t" not in f.url and "alice" not in f.url for f in page.files)
    assert "s3cr3t" not in caplog.text
    assert all(b"s3cr3t" not in p.read_bytes() for p in cache.root.rglob("*") if p.is_file())
    assert {r.status for r in index_server.requests()} == {200}


def test_credentials_from_netrc(index_server: IndexServer, cache: HttpCache, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.auth = ("bob", "hunter2")
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1\nlogin bob\npassword hunter2\n")
    with quick_client([index_server.index_url], cache=cache, netrc_path=netrc) as client:
        assert client.project("foo").files


def test_missing_credentials_are_input_error_with_hint(index_server: IndexServer, cache: HttpCache) -> None:
    index_server.config.auth = ("bob", "hunter2")
    with (
        quick_client([index_server.index_url], cache=cache) as client,
        pytest.raises(InputError, match=r"refused access \(HTTP 401\)") as caught,
    ):
        client.project("foo")
    assert caught.value.hint is not None and "netrc" in caught.value.hint


def test_runs_the_cache_serves_never_import_wire(index_server: IndexServer, cache: HttpCache) -> None:
    """--offline runs and the index package itself go without wire (http.client, the proxies)."""
    make_wheel(index_server.dist_dir, "Foo_Bar.x", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        client.project("foo-bar-x")
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from xbuild.errors import InputError
        from xbuild.index import HttpCache, IndexClient
        assert "xbuild.index.wire" not in sys.modules
        with IndexClient([{index_server.index_url!r}], cache=HttpCache(Path({str(cache.root)!r})),
                         offline=True) as client:
            assert client.project("Foo.Bar_X").files
            try:
                client.project("not-cached")
            except InputError as exc:
                assert "not in the cache" in exc.message
        assert "xbuild.index.wire" not in sys.modules, "xbuild.index.wire was imported"
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    "url",
    [
        "https://pypi.org/simple/",
        "http://127.0.0.1:8080/simple/?q=[x]#'f'",
        "https://u%20s:p@ss@h.example/s/",
        "file:///tmp/a%20b/",
        "https://1.2.3.999/simple/",
        "http://01.2.3.4/",
        "https://ex.org:abc/",
        "https://h.org/\x7f",
        "https://bücher.example/",
        "https://a b/",
        "file:////tmp",
        "http://[::1]:8080/",
    ],
)
def test_urls_passed_without_the_socket_half_are_ones_a_request_takes(url: str) -> None:
    from xbuild.index.client import _PLAIN_URL
    from xbuild.index.wire import check_url

    if _PLAIN_URL.fullmatch(url):
        check_url(url)
