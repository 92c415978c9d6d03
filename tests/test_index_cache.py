"""HttpCache on disk, and page revalidation/offline behaviour through the loopback index."""

from __future__ import annotations

import dataclasses
import logging
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_wheel

from xbuild.errors import InputError
from xbuild.index import CachedPage, DistFile, HttpCache
from xbuild.index.cache import ParseKey

URL = "https://example.org/simple/foo/"


def page(body: bytes = b'{"files": []}', etag: str | None = '"v1"') -> CachedPage:
    return CachedPage(
        url=URL,
        status=200,
        content_type="application/vnd.pypi.simple.v1+json",
        etag=etag,
        last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
        body=body,
    )


@pytest.fixture
def cache(tmp_path: Path) -> HttpCache:
    return HttpCache(tmp_path / "cache")


def entry_files(cache: HttpCache, kind: str) -> list[Path]:
    return [p for p in (cache.root / kind).rglob("*") if p.is_file()]


# --- the store itself ----------------------------------------------------------------------


def test_page_round_trip_leaves_no_temp_files(cache: HttpCache) -> None:
    assert cache.load_page(URL) is None
    cache.store_page(URL, page())
    cache.store_page(URL, page(b"second"))
    assert cache.load_page(URL) == page(b"second")
    assert len(entry_files(cache, "pages")) == 1


def test_entries_take_no_lock(cache: HttpCache) -> None:
    """A whole entry is renamed into place, so writers need no lock file (nor filelock's
    80 ms import on every cold plan); downloads still take one."""
    cache.store_page(URL, page())
    cache.store_metadata("ab" * 32, b"Metadata-Version: 2.1\n")
    assert not (cache.root / "locks").exists()


def test_metadata_round_trip(cache: HttpCache) -> None:
    cache.store_metadata("ab" * 32, b"Metadata-Version: 2.1\n")
    assert cache.load_metadata("ab" * 32) == b"Metadata-Version: 2.1\n"
    assert cache.load_metadata("cd" * 32) is None


@pytest.mark.parametrize(
    "damage",
    [
        lambda raw: raw[: len(raw) - 3],  # truncated body
        lambda raw: b"not a cache entry at all",
        lambda raw: raw.split(b"\n", 1)[0],  # header line only
        lambda raw: b"",
    ],
)
def test_damaged_entries_are_misses_and_logged(
    cache: HttpCache, caplog: pytest.LogCaptureFixture, damage: Callable[[bytes], bytes]
) -> None:
    cache.store_page(URL, page())
    cache.store_metadata("ab" * 32, b"Name: foo\n")
    for path in [*entry_files(cache, "pages"), *entry_files(cache, "metadata")]:
        path.write_bytes(damage(path.read_bytes()))
    with caplog.at_level(logging.WARNING, logger="xbuild.index.cache"):
        assert cache.load_page(URL) is None
        assert cache.load_metadata("ab" * 32) is None
    assert "damaged" in caplog.text


def test_page_header_of_the_wrong_type_is_a_miss(cache: HttpCache, caplog: pytest.LogCaptureFixture) -> None:
    cache.store_page(URL, page())
    [path] = entry_files(cache, "pages")
    path.write_bytes(path.read_bytes().replace(b'"status": 200', b'"status": "x"'))
    assert cache.load_page(URL) is None
    assert "damaged header" in caplog.text


def test_unreadable_entry_is_a_miss(cache: HttpCache) -> None:
    cache.store_page(URL, page())
    [path] = entry_files(cache, "pages")
    path.unlink()
    path.mkdir()  # reading a directory raises IsADirectoryError
    assert cache.load_page(URL) is None


def test_unwritable_cache_costs_speed_not_the_run(
    index_server: IndexServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache directory should be")
    with quick_client([index_server.index_url], cache=HttpCache(blocked)) as client:
        assert client.metadata(client.project("foo").files[0]).startswith(b"Metadata-Version")
    assert "cannot write cache entry" in caplog.text


def test_two_processes_writing_the_same_key(cache: HttpCache) -> None:
    script = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from xbuild.index import CachedPage, HttpCache
        cache = HttpCache(Path({str(cache.root)!r}))
        body = sys.argv[1].encode() * 20000
        for _ in range(40):
            cache.store_page("u", CachedPage(url="u", status=200, content_type="text/html",
                                             etag=None, last_modified=None, body=body))
            found = cache.load_page("u")
            assert found is not None and found.body in (b"a" * 20000, b"b" * 20000)
        """
    )
    workers = [subprocess.Popen([sys.executable, "-c", script, tag]) for tag in ("a", "b")]
    assert [w.wait(timeout=60) for w in workers] == [0, 0]
    found = cache.load_page("u")
    assert found is not None and found.body in (b"a" * 20000, b"b" * 20000)
    assert len(entry_files(cache, "pages")) == 1


# --- parsed files ----------------------------------------------------------------------------

FILES = (
    DistFile(
        project=canonicalize_name("foo"),
        filename="foo-1.0-py3-none-any.whl",
        url="https://files.example.org/foo-1.0-py3-none-any.whl",
        hashes=(("sha256", "ab"), ("md5", "cd")),
        requires_python=">=3.9",
        yanked="",
        metadata_hashes=(),
        size=1234,
        index_url="https://example.org/simple/",
    ),
    DistFile(
        project=canonicalize_name("foo"),
        filename="foo-1.0.tar.gz",
        url="https://files.example.org/foo-1.0.tar.gz",
        hashes=(),
        yanked="use 1.1",
        metadata_hashes=(("sha256", "ef"),),
        index_url="https://example.org/simple/",
    ),
)


def key(**changes: str | None) -> ParseKey:
    fields: dict[str, str | None] = {
        "page_sha256": "00" * 32,
        "content_type": "text/html",
        "page_url": URL,
        "index_url": "https://example.org/simple/",
        "project": "foo",
        "parser": "test-1",
    }
    return ParseKey(**{**fields, **changes})  # type: ignore[arg-type]


def test_parsed_files_round_trip_beside_the_page(cache: HttpCache) -> None:
    cache.store_page(URL, page())
    cache.store_files(URL, key(), FILES)
    assert cache.load_files(URL, key()) == FILES
    assert cache.load_files(URL, key()) is not FILES  # read from disk, not remembered
    pages = sorted(p.name for p in entry_files(cache, "pages"))
    assert pages == [pages[0], pages[0] + ".files"]
    cache.store_files(URL, key(), ())
    assert cache.load_files(URL, key()) == ()


@pytest.mark.parametrize(
    "changed",
    [
        {"page_sha256": "11" * 32},  # the page changed
        {"parser": "test-2"},  # xbuild or packaging changed
        {"project": None},  # parsed for another purpose (find-links keeps every project)
        {"page_url": URL + "?redirected"},
        {"content_type": "text/html; charset=latin-1"},
    ],
)
def test_parsed_files_of_another_key_are_a_miss(cache: HttpCache, changed: dict[str, str | None]) -> None:
    cache.store_files(URL, key(), FILES)
    assert cache.load_files(URL, key(**changed)) is None
    assert cache.load_files("https://example.org/simple/bar/", key()) is None


def test_parsed_files_of_the_wrong_shape_are_a_logged_miss(
    cache: HttpCache, caplog: pytest.LogCaptureFixture
) -> None:
    """The frame's checksum catches damage; this is a well-framed entry with wrong columns."""
    strange = dataclasses.replace(FILES[0], size="12")  # type: ignore[arg-type]
    cache.store_files(URL, key(), (strange,))
    assert cache.load_files(URL, key()) is None
    assert "parsed files for" in caplog.text


# --- revalidation through the index ---------------------------------------------------------


def test_second_run_revalidates_with_etag_and_reuses_the_page(
    index_server: IndexServer, cache: HttpCache
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        first = client.project("foo")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.project("foo") == first
    initial, again = index_server.requests("/simple/foo/")
    assert (initial.status, again.status) == (200, 304)
    assert "if-none-match" not in initial.headers
    assert again.headers["if-none-match"].startswith('"')


def test_revalidates_with_last_modified_when_there_is_no_etag(
    index_server: IndexServer, cache: HttpCache
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.etag = False
    for _ in range(2):
        with quick_client([index_server.index_url], cache=cache) as client:
            client.project("foo")
    initial, again = index_server.requests("/simple/foo/")
    assert (initial.status, again.status) == (200, 304)
    assert "GMT" in again.headers["if-modified-since"]


def test_changed_page_is_fetched_again(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        client.project("foo")
    make_wheel(index_server.dist_dir, "foo", "1.1")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert len(client.project("foo").files) == 2
    assert [r.status for r in index_server.requests("/simple/foo/")] == [200, 200]


@pytest.fixture
def no_validators(index_server: IndexServer) -> IndexServer:
    """An index like some mirrors: no ETag, no Last-Modified, so every run fetches every page."""
    index_server.config.etag = False
    index_server.config.last_modified = False
    return index_server


def refuse_to_parse(**page: object) -> tuple[DistFile, ...]:
    raise AssertionError(f"{page['page_url']} was parsed again")


@pytest.mark.parametrize("page_format", ["html", "json"])
def test_unchanged_page_is_fetched_but_neither_parsed_nor_rewritten(
    no_validators: IndexServer, cache: HttpCache, monkeypatch: pytest.MonkeyPatch, page_format: str
) -> None:
    make_wheel(no_validators.dist_dir, "foo", "1.0")
    no_validators.config.page_format = page_format  # type: ignore[assignment]
    with quick_client([no_validators.index_url], cache=cache) as client:
        first = client.project("foo")
    stored: list[str] = []
    monkeypatch.setattr(HttpCache, "store_page", lambda self, url, page: stored.append(url))
    monkeypatch.setattr("xbuild.index.client.parse_page", refuse_to_parse)
    with quick_client([no_validators.index_url], cache=cache) as client:
        assert client.project("foo") == first
    assert [r.status for r in no_validators.requests("/simple/foo/")] == [200, 200]
    assert stored == []


def test_changed_page_without_validators_is_parsed_again(
    no_validators: IndexServer, cache: HttpCache
) -> None:
    make_wheel(no_validators.dist_dir, "foo", "1.0")
    with quick_client([no_validators.index_url], cache=cache) as client:
        client.project("foo")
    make_wheel(no_validators.dist_dir, "foo", "1.1")
    with quick_client([no_validators.index_url], cache=cache) as client:
        assert [f.filename for f in client.project("foo").files] == [
            "foo-1.0-py3-none-any.whl",
            "foo-1.1-py3-none-any.whl",
        ]
    with quick_client([no_validators.index_url], cache=cache, offline=True) as client:
        assert len(client.project("foo").files) == 2


def test_find_links_page_is_not_parsed_twice_either(
    no_validators: IndexServer, cache: HttpCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(no_validators.dist_dir, "foo", "1.0")
    make_wheel(no_validators.dist_dir, "bar", "2.0")
    links = [no_validators.find_links_url]
    with quick_client([], cache=cache, find_links=links) as client:
        first = [client.project("foo"), client.project("bar")]
    monkeypatch.setattr("xbuild.index.client.parse_page", refuse_to_parse)
    with quick_client([], cache=cache, find_links=links) as client:
        assert [client.project("foo"), client.project("bar")] == first


def test_offline_serves_pages_from_the_cache_only(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        online = client.project("foo")
        with pytest.raises(InputError):
            client.project("ghost")  # the 404 is remembered for offline runs
    index_server.clear_requests()
    with quick_client([index_server.index_url], cache=cache, offline=True) as client:
        assert client.project("foo") == online
        with pytest.raises(InputError, match="'ghost' was not found"):
            client.project("ghost")
        with pytest.raises(InputError) as caught:
            client.project("bar")
    assert caught.value.message == (
        f"not in the cache: {index_server.index_url}bar/ (run once without --offline)"
    )
    assert index_server.requests() == []


def test_offline_without_any_cache(index_server: IndexServer) -> None:
    with (
        quick_client([index_server.index_url], cache=None, offline=True) as client,
        pytest.raises(InputError, match="not in the cache"),
    ):
        client.project("foo")


def test_damaged_page_entry_is_refetched_without_validators(
    index_server: IndexServer, cache: HttpCache
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        client.project("foo")
    for path in entry_files(cache, "pages"):
        path.write_bytes(b"\x00garbage")
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.project("foo").files
    again = index_server.requests("/simple/foo/")[1]
    assert (again.status, "if-none-match" in again.headers) == (200, False)


def damage_page_bodies(cache: HttpCache) -> None:
    """Flip the last byte of every stored page, leaving its header line readable."""
    for path in entry_files(cache, "pages"):
        if path.suffix != ".files":
            raw = path.read_bytes()
            path.write_bytes(raw[:-1] + bytes([raw[-1] ^ 1]))


def test_damaged_page_body_answered_304_is_fetched_whole(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        first = client.project("foo")
    damage_page_bodies(cache)
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.project("foo") == first
    statuses = [(r.status, "if-none-match" in r.headers) for r in index_server.requests("/simple/foo/")]
    assert statuses == [(200, False), (304, True), (200, False)]
    with quick_client([index_server.index_url], cache=cache, offline=True) as client:
        assert client.project("foo") == first  # the entry was written again


def test_damaged_page_body_fetched_again_unchanged_is_rewritten(
    no_validators: IndexServer, cache: HttpCache
) -> None:
    make_wheel(no_validators.dist_dir, "foo", "1.0")
    with quick_client([no_validators.index_url], cache=cache) as client:
        first = client.project("foo")
    damage_page_bodies(cache)
    with quick_client([no_validators.index_url], cache=cache) as client:
        assert client.project("foo") == first
    with quick_client([no_validators.index_url], cache=cache, offline=True) as client:
        assert client.project("foo") == first


def test_holds_page_only_for_the_same_bytes(cache: HttpCache) -> None:
    cache.store_page(URL, page(b'{"files": ["\xc3\xa9 <a href=\'x\'>"]}'))
    assert cache.holds_page(URL, page(b'{"files": ["\xc3\xa9 <a href=\'x\'>"]}'))
    assert not cache.holds_page(URL, page(b'{"files": ["\xc3\xa9 <a href=\'y\'>"]}'))
    assert not cache.holds_page(URL, page(b'{"files": ["\xc3\xa9 <a href=\'x\'>"]}', etag='"v2"'))
    assert not cache.holds_page("https://example.org/simple/other/", page())


def test_a_page_read_twice_by_one_client_is_stored_once(
    no_validators: IndexServer, cache: HttpCache, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_wheel(no_validators.dist_dir, "foo", "1.0")
    make_wheel(no_validators.dist_dir, "foo", "1.0", tags=("cp312-cp312-win_amd64",))
    stored: list[str] = []
    real_store = HttpCache.store_page

    def store_page(self: HttpCache, url: str, page: CachedPage) -> None:
        stored.append(url)
        real_store(self, url, page)

    monkeypatch.setattr(HttpCache, "store_page", store_page)
    with quick_client([no_validators.index_url], cache=cache) as client:
        judged = client.project_rows("foo", lambda filename: "win" not in filename)
        whole = client.project("foo")  # as the explain walk after a failed resolution reads it
    assert [row[1] for row in judged.rows] == ["foo-1.0-py3-none-any.whl"]
    assert len(whole.files) == 2
    assert stored == [f"{no_validators.index_url}foo/"]
