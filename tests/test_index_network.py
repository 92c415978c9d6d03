"""Against the real PyPI. Deselect with `pytest -m "not network"`."""

from __future__ import annotations

import email
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename
from support.index_server import parse_range

from xbuild.index import DistFile, HttpCache, IndexClient
from xbuild.index.http import RangeReply
from xbuild.index.pages import JSON_TYPE
from xbuild.index.remote_zip import metadata_over_ranges

PYPI = "https://pypi.org/simple/"

pytestmark = pytest.mark.network


def newest_wheel(files: tuple[DistFile, ...]) -> DistFile:
    wheels = [f for f in files if f.is_wheel and f.yanked is None]
    return max(wheels, key=lambda f: parse_wheel_filename(f.filename)[1])


def test_packaging_json_page_and_pep658_metadata(tmp_path: Path) -> None:
    cache = HttpCache(tmp_path)
    with IndexClient([PYPI], cache=cache, retry_backoff=1.0) as client:
        wheel = newest_wheel(client.project("packaging").files)
        stored = cache.load_page(f"{PYPI}packaging/")
        assert stored is not None
        if stored.content_type != JSON_TYPE or wheel.metadata_hashes is None:
            pytest.skip(f"{PYPI} served {stored.content_type} without PEP 658: a mirror between?")
        metadata = email.message_from_bytes(client.metadata(wheel))  # hash checked inside
    assert wheel.sha256 is not None and wheel.metadata_hashes
    assert (metadata["Name"], metadata["Version"]) == (
        "packaging",
        str(parse_wheel_filename(wheel.filename)[1]),
    )


def test_packaging_metadata_by_whatever_route_the_index_allows(tmp_path: Path) -> None:
    """PEP 658 on PyPI itself; byte ranges or a download behind mirrors that lack it."""
    with IndexClient([PYPI], cache=HttpCache(tmp_path), retry_backoff=1.0) as client:
        wheel = newest_wheel(client.project("packaging").files)
        metadata = email.message_from_bytes(client.metadata(wheel))
    assert metadata["Name"] == "packaging"


REAL_WHEELS = ("six==1.17.0", "pytz==2025.2", "tzdata==2025.2", "markupsafe==3.0.2")


def test_plain_zip_reader_agrees_with_zipfile_on_pypi_wheels(tmp_path: Path) -> None:
    """The central-directory reader behind ranged metadata, on wheels as PyPI serves them."""
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
    command += ["--platform", "manylinux2014_x86_64", "--python-version", "3.12", "--implementation", "cp"]
    subprocess.run([*command, "-d", str(tmp_path), *REAL_WHEELS], check=True)
    wheels = sorted(tmp_path.glob("*.whl"))
    assert len(wheels) == len(REAL_WHEELS)
    for wheel in wheels:
        data = wheel.read_bytes()
        project = parse_wheel_filename(wheel.name)[0]

        def serve(spec: str, data: bytes = data) -> RangeReply:
            start, end = parse_range(spec, len(data)) or (0, -1)
            return RangeReply(start, len(data), data[start : end + 1])

        with zipfile.ZipFile(wheel) as archive:
            expected = archive.read(_metadata_name(archive))
        assert metadata_over_ranges(serve, project, wheel.name) == expected, wheel.name


def _metadata_name(archive: zipfile.ZipFile) -> str:
    return next(n for n in archive.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
