"""Against the real PyPI. Deselect with `pytest -m "not network"`."""

from __future__ import annotations

import email
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from xbuild.index import DistFile, HttpCache, IndexClient
from xbuild.index.pages import JSON_TYPE

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
