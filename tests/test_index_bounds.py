"""A hostile index cannot exhaust memory or time, nor substitute what a plan resolved."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest
from support.clients import NO_NETRC
from support.index_server import IndexServer
from support.packages import core_metadata, make_wheel

from xbuild.errors import EngineError, InputError, RefusedError
from xbuild.index import HttpCache, IndexClient
from xbuild.limits import Limits, MiB

SMALL = Limits(max_page_bytes=1 * MiB, page_seconds=2.0, download_seconds=2.0)


def _client(server: IndexServer, tmp_path: Path, limits: Limits = SMALL) -> IndexClient:
    return IndexClient(
        [server.index_url],
        cache=HttpCache(tmp_path / "cache"),
        timeout=5.0,
        max_workers=2,
        retry_backoff=0.001,
        netrc_path=NO_NETRC,
        limits=limits,
    )


@pytest.mark.parametrize("kind", ["huge", "gzip-bomb"])
def test_a_page_stops_at_the_size_cap(index_server: IndexServer, tmp_path: Path, kind: str) -> None:
    index_server.config.hostile_pages["bomb"] = kind  # type: ignore[assignment]
    with _client(index_server, tmp_path) as client, pytest.raises(RefusedError) as caught:
        client.project("bomb")
    assert f"{index_server.index_url}bomb/" in caught.value.message
    assert "1,048,576-byte limit" in caught.value.message
    assert caught.value.hint


def test_a_trickling_page_fails_in_bounded_time(index_server: IndexServer, tmp_path: Path) -> None:
    index_server.config.hostile_pages["slow"] = "trickle"
    index_server.config.trickle_seconds = 0.2
    started = time.monotonic()
    with _client(index_server, tmp_path) as client, pytest.raises(EngineError) as caught:
        client.project("slow")
    assert time.monotonic() - started < 6  # page_seconds=2 plus one read, never the 1 MiB trickle
    assert "took longer than 2 s" in caught.value.message and "/simple/slow/" in caught.value.message


def test_a_trickle_under_the_minimum_rate_fails_before_the_deadline(
    index_server: IndexServer, tmp_path: Path
) -> None:
    index_server.config.hostile_pages["slow"] = "trickle"
    index_server.config.trickle_seconds = 0.2
    limits = Limits(page_seconds=600, slow_grace_seconds=1.0, min_bytes_per_second=100)
    started = time.monotonic()
    with _client(index_server, tmp_path, limits) as client, pytest.raises(EngineError) as caught:
        client.project("slow")
    assert time.monotonic() - started < 5
    assert "trickles in" in caught.value.message


def test_a_trickling_download_fails_in_bounded_time(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index_server.dist_dir, "slowdl", "1.0")
    with _client(index_server, tmp_path) as client:
        file = client.project("slowdl").files[0]
        index_server.config.trickle_files.add(wheel.name)
        index_server.config.trickle_seconds = 0.2
        started = time.monotonic()
        with pytest.raises(EngineError):
            client.download(file, tmp_path / "out")
    assert time.monotonic() - started < 6
    assert not (tmp_path / "out" / wheel.name).exists()


@pytest.mark.parametrize(
    ("kind", "words"),
    [("redirect-loop", "redirects too often"), ("deep-json", "nested too deeply"), ("huge-number", "digits")],
)
def test_unreadable_pages_are_input_errors(
    index_server: IndexServer, tmp_path: Path, kind: str, words: str
) -> None:
    index_server.config.hostile_pages["odd"] = kind  # type: ignore[assignment]
    with _client(index_server, tmp_path) as client, pytest.raises(InputError) as caught:
        client.project("odd")
    assert words in caught.value.message
    assert caught.value.hint


def test_a_remote_page_cannot_link_a_local_file(index_server: IndexServer, tmp_path: Path) -> None:
    local = make_wheel(tmp_path / "secret place", "stolen", "1.0")
    index_server.config.hostile_pages["stolen"] = "file-link"
    index_server.config.file_link = local.as_uri()
    with _client(index_server, tmp_path) as client, pytest.raises(RefusedError) as caught:
        client.project("stolen")
    assert "not an http(s) URL" in caught.value.message and "file:" in (caught.value.hint or "")


def test_a_local_find_links_directory_may_still_hold_files(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(tmp_path / "links", "mine", "1.0")
    with IndexClient([], [str(tmp_path / "links")], cache=None, netrc_path=NO_NETRC) as client:
        assert [f.filename for f in client.project("mine").files] == ["mine-1.0-py3-none-any.whl"]


def test_wheel_metadata_must_match_the_pep658_metadata(index_server: IndexServer, tmp_path: Path) -> None:
    wheel = make_wheel(index_server.dist_dir, "liar", "1.0", requires_dist=["six"])
    index_server.config.metadata_override[wheel.name] = core_metadata(
        "liar", "1.0", requires_dist=["six", "evil-extra"]
    )
    with _client(index_server, tmp_path, Limits()) as client:
        file = client.project("liar").files[0]
        assert b"evil-extra" in client.metadata(file)  # what a plan resolves with
        with pytest.raises(RefusedError) as caught:
            client.download(file, tmp_path / "out")
    assert caught.value.exit_code == 1
    assert "only the index lists ['evil-extra']" in caught.value.message
    assert not (tmp_path / "out" / wheel.name).exists()


def test_a_later_client_checks_against_the_cached_metadata(index_server: IndexServer, tmp_path: Path) -> None:
    """`build --plan` runs in a new process: the metadata the plan used is in the cache."""
    wheel = make_wheel(index_server.dist_dir, "liar", "1.0", requires_python=">=3.8")
    index_server.config.metadata_override[wheel.name] = core_metadata("liar", "1.0", requires_python=">=3.6")
    with _client(index_server, tmp_path, Limits()) as client:
        file = client.project("liar").files[0]
        client.metadata(file)
    with _client(index_server, tmp_path, Limits()) as client, pytest.raises(RefusedError) as caught:
        client.download(file, tmp_path / "out")
    assert "Requires-Python" in caught.value.message


def test_matching_metadata_downloads(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "honest", "1.0", requires_dist=["six>=1"])
    with _client(index_server, tmp_path, Limits()) as client:
        file = client.project("honest").files[0]
        client.metadata(file)
        assert client.download(file, tmp_path / "out").is_file()


def test_a_metadata_zip_bomb_stops_at_the_cap(index_server: IndexServer, tmp_path: Path) -> None:
    """METADATA read over byte ranges (no PEP 658 file) inflates no further than the cap."""
    index_server.config.serve_metadata = False
    wheel = index_server.dist_dir / "bomb-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb/__init__.py", "")
        archive.writestr("bomb-1.0.dist-info/METADATA", core_metadata("bomb", "1.0") + b" " * (65 * MiB))
        archive.writestr("bomb-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
    with _client(index_server, tmp_path, Limits()) as client:
        file = client.project("bomb").files[0]
        with pytest.raises(RefusedError) as caught:
            client.metadata(file)
    assert "larger than 67,108,864 bytes" in caught.value.message
