"""Core metadata: PEP 658 files, wheel byte ranges, whole-file fallback, sdists, caching."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import core_metadata, make_sdist, make_wheel

from xbuild.errors import ExitCode, InputError, RefusedError
from xbuild.index import DistFile, HttpCache, IndexClient

WHEEL = "foo-1.0-py3-none-any.whl"


@pytest.fixture
def cache(tmp_path: Path) -> HttpCache:
    return HttpCache(tmp_path / "cache")


def only_file(client: IndexClient, name: str = "foo") -> DistFile:
    [file] = client.project(name).files
    return file


def file_requests(server: IndexServer, filename: str = WHEEL) -> list[tuple[int, str | None]]:
    return [(r.status, r.headers.get("range")) for r in server.requests(server.file_path(filename))]


def test_pep658_metadata_is_used_and_verified(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0", requires_dist=["bar>=2"])
    with quick_client([index_server.index_url], cache=cache) as client:
        data = client.metadata(only_file(client))
    assert b"Requires-Dist: bar>=2" in data
    assert index_server.count(index_server.metadata_path(WHEEL)) == 1
    assert file_requests(index_server) == []


@pytest.mark.parametrize("attribute", ["core-metadata", "dist-info-metadata"])
def test_pep658_and_pep714_attribute_names(
    index_server: IndexServer, cache: HttpCache, attribute: str
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.metadata_attribute = attribute  # type: ignore[assignment]
    index_server.config.page_format = "html"
    with quick_client([index_server.index_url], cache=cache) as client:
        client.metadata(only_file(client))
    assert index_server.count(index_server.metadata_path(WHEEL)) == 1


def test_pep658_hash_mismatch_is_refused_and_not_cached(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.wrong_metadata_hash.add(WHEEL)
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        with pytest.raises(RefusedError, match="does not match") as caught:
            client.metadata(file)
    assert caught.value.exit_code == ExitCode.REFUSED
    assert file.sha256 is not None and cache.load_metadata(file.sha256) is None


def test_small_wheel_over_one_range_request(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0", requires_python=">=3.9")
    index_server.config.serve_metadata = False
    with quick_client([index_server.index_url], cache=cache) as client:
        assert b"Requires-Python: >=3.9" in client.metadata(only_file(client))
    assert file_requests(index_server) == [(206, "bytes=-65536")]
    assert index_server.count(index_server.metadata_path(WHEEL)) == 0


def _wheel_with_metadata_far_from_the_end(directory: Path) -> Path:
    """METADATA first, then 300 kB of incompressible data: the tail holds no METADATA."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("foo-1.0.dist-info/METADATA", core_metadata("foo", "1.0"))
        archive.writestr("foo/blob.bin", os.urandom(300_000))
        archive.writestr("foo-1.0.dist-info/WHEEL", "Wheel-Version: 1.0\n")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / WHEEL
    path.write_bytes(buffer.getvalue())
    return path


def test_large_wheel_reads_only_the_tail_and_the_member(index_server: IndexServer, cache: HttpCache) -> None:
    _wheel_with_metadata_far_from_the_end(index_server.dist_dir)
    index_server.config.serve_metadata = False
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.metadata(only_file(client)).startswith(b"Metadata-Version: 2.1\nName: foo")
    requests = file_requests(index_server)
    assert requests[0] == (206, "bytes=-65536")
    assert len(requests) == 2 and requests[1][0] == 206
    assert requests[1][1] is not None and requests[1][1].startswith("bytes=0-")


def test_without_range_support_falls_back_to_a_cached_download(
    index_server: IndexServer, cache: HttpCache, tmp_path: Path
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    index_server.config.serve_metadata = False
    index_server.config.support_ranges = False
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        assert client.metadata(file).startswith(b"Metadata-Version")
        client.download(file, tmp_path / "out")  # already cached by the fallback
    assert [status for status, _ in file_requests(index_server)] == [200, 200]


def test_sdist_metadata_is_its_pkg_info(index_server: IndexServer, cache: HttpCache) -> None:
    make_sdist(index_server.dist_dir, "foo", "1.0", requires_dist=["bar"], dynamic=["Requires-Dist"])
    with quick_client([index_server.index_url], cache=cache) as client:
        data = client.metadata(only_file(client))
    assert data.startswith(b"Metadata-Version: 2.2\nName: foo\nVersion: 1.0\nDynamic: Requires-Dist")
    assert index_server.count(index_server.metadata_path("foo-1.0.tar.gz")) == 0


def test_metadata_is_cached_by_hash_across_clients(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        first = client.metadata(file)
        assert client.metadata(file) == first  # memoized in the client too
    index_server.clear_requests()
    with quick_client([index_server.index_url], cache=cache) as client:
        assert client.metadata(file) == first
    assert index_server.requests() == []


def test_offline_metadata_from_cache_or_a_clear_error(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    make_wheel(index_server.dist_dir, "foo", "2.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        old, new = client.project("foo").files
        client.metadata(old)
    index_server.clear_requests()
    with quick_client([index_server.index_url], cache=cache, offline=True) as client:
        assert client.metadata(old).startswith(b"Metadata-Version")
        with pytest.raises(InputError) as caught:
            client.metadata(new)
    assert caught.value.message == (f"not in the cache: {new.url}.metadata (run once without --offline)")
    assert index_server.requests() == []


def test_prefetch_metadata_fetches_each_once(index_server: IndexServer, cache: HttpCache) -> None:
    for version in ("1.0", "1.1", "1.2", "2.0"):
        make_wheel(index_server.dist_dir, "foo", version)
    with quick_client([index_server.index_url], cache=cache) as client:
        files = client.project("foo").files
        client.prefetch_metadata(files)
        client.prefetch_metadata(files)
        versions = [client.metadata(f).split(b"\n")[2] for f in files]
    assert versions == [b"Version: 1.0", b"Version: 1.1", b"Version: 1.2", b"Version: 2.0"]
    assert all(index_server.count(index_server.metadata_path(f.filename)) == 1 for f in files)


def test_advertised_metadata_that_is_missing_falls_back_to_ranges(
    index_server: IndexServer, cache: HttpCache
) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with quick_client([index_server.index_url], cache=cache) as client:
        file = only_file(client)
        index_server.config.serve_metadata = False  # the page already promised it
        assert client.metadata(file).startswith(b"Metadata-Version")
    assert index_server.count(index_server.metadata_path(WHEEL), status=404) == 1
    assert file_requests(index_server) == [(206, "bytes=-65536")]


def test_no_cache_still_works(index_server: IndexServer) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    make_sdist(index_server.dist_dir, "foo", "1.0")
    index_server.config.serve_metadata = False
    index_server.config.support_ranges = False
    with quick_client([index_server.index_url], cache=None) as client:
        assert all(client.metadata(f).startswith(b"Metadata") for f in client.project("foo").files)


def test_wheel_without_metadata_is_input_error(index_server: IndexServer, cache: HttpCache) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0", files={"foo/__init__.py": ""})
    path = index_server.dist_dir / WHEEL
    with zipfile.ZipFile(path) as archive:
        kept = {n: archive.read(n) for n in archive.namelist() if not n.endswith("METADATA")}
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in kept.items():
            archive.writestr(name, data)
    index_server.config.serve_metadata = False
    with (
        quick_client([index_server.index_url], cache=cache) as client,
        pytest.raises(InputError, match=r"no \.dist-info/METADATA"),
    ):
        client.metadata(only_file(client))


def test_zip_sdist_and_broken_archives_from_find_links(cache: HttpCache, tmp_path: Path) -> None:
    house = tmp_path / "house"
    house.mkdir()
    with zipfile.ZipFile(house / "foo-1.0.zip", "w") as archive:
        archive.writestr("foo-1.0/PKG-INFO", core_metadata("foo", "1.0"))
    (house / "foo-2.0.tar.gz").write_bytes(b"not gzip at all")
    with quick_client([], cache=cache, find_links=[str(house)]) as client:
        zipped, broken = client.project("foo").files
        assert client.metadata(zipped).startswith(b"Metadata-Version: 2.1\nName: foo")
        with pytest.raises(InputError, match="not a readable archive"):
            client.metadata(broken)
