"""IndexClient construction tuned for loopback tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from xbuild.index import HttpCache, IndexClient

NO_NETRC = Path("/nonexistent-xbuild-test-home/.netrc")  # never the developer's real ~/.netrc


def quick_client(
    index_urls: Sequence[str],
    *,
    cache: HttpCache | None,
    find_links: Sequence[str] = (),
    offline: bool = False,
    netrc_path: Path = NO_NETRC,
    timeout: float = 5.0,
    max_workers: int = 4,
) -> IndexClient:
    """A client with a millisecond retry backoff; use it as a context manager."""
    return IndexClient(
        index_urls,
        find_links,
        cache=cache,
        offline=offline,
        timeout=timeout,
        max_workers=max_workers,
        retry_backoff=0.001,
        netrc_path=netrc_path,
    )
