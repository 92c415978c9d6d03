"""Downloads: streamed, hash-checked, atomic, cached by sha256; failures leave nothing behind."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_wheel

from xbuild.errors import ExitCode, InputError, RefusedError
from xbuild.index import DistFile, HttpCache, IndexClient

WHEEL = "foo-1.0-py3-none-any.whl"


@pytest.fixture
def cache(tmp_path: Path) -> HttpCache:
    return HttpCache(tmp_path / "cache")


@pytest.fixture
def wheel(index_server: IndexServer) -> Path:
    return make_wheel(index_server.dist_dir, "foo", "1.0", files={"foo/data.bin": b"x" * 50_000})


def only_file(client: IndexClient) -> DistFile:
    [file] = client.project("foo").files
    return file


def leftovers(*roots: Path) -> list[Path]:
    """Every file under the roots except lock files, which filelock leaves by design."""
    return [p for r in roots if r.exists() for p in r.rglob("*") if p.is_file() and p.suffix != ".lock"]


def test_download_is_verified_and_cached(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        first = client.download(file, tmp_path / "a")
    assert first == tmp_path / "a" / WHEEL
    assert first.read_bytes() == wheel.read_bytes()
    assert file.sha256 is not None
    cached = cache.file_path(file.sha256, WHEEL)
    index_server.clear_requests()
    with quick_client([index_server.index_url], cache=cache) as client:
        second = client.download(file, tmp_path / "b")
    assert index_server.requests() == []
    assert second.read_bytes() == wheel.read_bytes()
    assert second.stat().st_ino == cached.stat().st_ino  # hard link: same file system here
    assert [p.name for p in leftovers(tmp_path / "a", tmp_path / "b")] == [WHEEL, WHEEL]


def test_download_asks_for_identity_encoding(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    with quick_client([index_server.index_url], cache=cache) as client:
        client.download(only_file(client), tmp_path)
    [request] = index_server.requests(index_server.file_path(WHEEL))
    assert request.headers["accept-encoding"] == "identity"


def test_hash_mismatch_is_refused_and_leaves_nothing(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    index_server.config.wrong_hash.add(WHEEL)
    dest = tmp_path / "out"
    dest.mkdir()
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        with pytest.raises(RefusedError, match="does not match its published hash") as caught:
            client.download(file, dest)
    assert caught.value.exit_code == ExitCode.REFUSED
    assert leftovers(dest, cache.root / "files", cache.root / "metadata") == []


def test_hash_mismatch_without_cache(index_server: IndexServer, wheel: Path, tmp_path: Path) -> None:
    index_server.config.wrong_hash.add(WHEEL)
    with quick_client([index_server.index_url], cache=None) as client:
        file = only_file(client)
        with pytest.raises(RefusedError):
            client.download(file, tmp_path / "out")
    assert leftovers(tmp_path / "out") == []


def test_truncated_transfer_is_retried(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    index_server.fail(index_server.file_path(WHEEL), "truncate")
    with quick_client([index_server.index_url], cache=cache) as client:
        path = client.download(only_file(client), tmp_path)
    assert path.read_bytes() == wheel.read_bytes()
    assert index_server.count(index_server.file_path(WHEEL)) == 2


def test_always_truncated_is_refused_and_never_cached(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    index_server.fail(index_server.file_path(WHEEL), "truncate", times=3)
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        with pytest.raises(RefusedError, match="truncated") as caught:
            client.download(file, tmp_path / "out")
    assert str(index_server.base_url) in caught.value.message
    assert leftovers(tmp_path / "out", cache.root / "files") == []


def test_no_published_hash_still_downloads_without_caching(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    index_server.config.advertise_hashes = False
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        assert file.hashes == ()
        assert client.download(file, tmp_path).read_bytes() == wheel.read_bytes()
    assert leftovers(cache.root / "files") == []


def test_damaged_cached_file_is_downloaded_again(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        client.download(file, tmp_path / "a")
    assert file.sha256 is not None
    cached = cache.file_path(file.sha256, WHEEL)
    (tmp_path / "a" / WHEEL).unlink()  # break the hard link before damaging the cache copy
    cached.write_bytes(b"garbage")
    with quick_client([index_server.index_url], cache=cache) as client:
        path = client.download(file, tmp_path / "b")
    assert path.read_bytes() == wheel.read_bytes()
    assert cached.read_bytes() == wheel.read_bytes()


def test_file_url_download_is_a_verified_copy(cache: HttpCache, tmp_path: Path) -> None:
    source = make_wheel(tmp_path / "house", "foo", "1.0")
    with quick_client([], cache=cache, find_links=[str(tmp_path / "house")]) as client:
        file = only_file(client)
        assert client.download(file, tmp_path / "out").read_bytes() == source.read_bytes()
        source.write_bytes(b"changed since listing")
        with pytest.raises(RefusedError):
            client.download(file, tmp_path / "out2")
    assert leftovers(tmp_path / "out2") == []


def test_offline_download_needs_the_cache(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
    with (
        quick_client([index_server.index_url], cache=cache, offline=True) as client,
        pytest.raises(InputError, match=r"not in the cache: .*foo-1\.0-py3-none-any\.whl"),
    ):
        client.download(file, tmp_path)


def test_file_gone_from_the_index(
    index_server: IndexServer, cache: HttpCache, wheel: Path, tmp_path: Path
) -> None:
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        wheel.unlink()
        with pytest.raises(InputError, match="HTTP 404"):
            client.download(file, tmp_path)
