"""Shared fixtures. The index server lives in tests/support so other suites can reuse it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.index_server import IndexServer


@pytest.fixture
def index_server(tmp_path: Path) -> Iterator[IndexServer]:
    """A running loopback index serving the distributions put into `index_server.dist_dir`."""
    with IndexServer(tmp_path / "index-dists") as server:
        yield server
