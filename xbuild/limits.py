"""Every bound xbuild puts on what it reads, waits for and writes: one frozen value, given as data.

Verify's caps on a wheel, the index client's caps on responses and time, and bundle's size
budget live here together, so a caller (or a test) tunes them in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

KiB = 1 << 10
MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Defaults leave room for the largest real inputs (PyPI's biggest project pages are tens of
    MiB, CUDA wheels 1-2 GiB) while keeping a hostile archive or server from exhausting memory
    or time."""

    # --- what verify reads from one wheel; exceeding one is a `zip` finding, not a crash ---
    max_members: int = 200_000
    max_member_bytes: int = 4 * GiB
    max_total_bytes: int = 16 * GiB
    # A binary is held in memory while its headers are parsed.
    max_binary_bytes: int = 2 * GiB
    # WHEEL, METADATA and RECORD (and PEP 658 metadata files) are parsed as text.
    max_metadata_bytes: int = 64 * MiB
    # Uncompressed bytes per byte of archive. Deflate cannot exceed ~1032:1 and real wheels stay
    # well under 50:1, so a higher claim is a zip bomb (including overlapping-entry bombs).
    max_expansion: int = 250
    # Below this many uncompressed bytes the expansion ratio is not enforced.
    expansion_floor: int = 64 * MiB
    # Decompression step: bounds memory per read (zipfile never trusts file_size for this) while
    # keeping most members to a single zlib call.
    chunk_bytes: int = 16 * MiB

    # --- what the index client accepts from a server ---
    # A project or find-links page, counted after Content-Encoding is undone (gzip bombs).
    max_page_bytes: int = 256 * MiB
    # A distribution file streamed to disk.
    max_download_bytes: int = 32 * GiB
    # PEP 691 JSON needs no field here: CPython refuses integers over 4300 digits and nesting
    # past the recursion limit, and xbuild.index.pages turns both into a clear error.
    # Wall-clock bound for one page or metadata fetch, and for one download, on top of the
    # per-read timeout, so a server trickling a byte now and then still fails in bounded time.
    page_seconds: float = 300.0
    download_seconds: float = 3600.0
    # After `slow_grace_seconds`, a transfer averaging under this many bytes per second is
    # abandoned as a trickle.
    min_bytes_per_second: int = 1 * KiB
    slow_grace_seconds: float = 60.0

    # --- what bundle installs: member paths every file system (and Python's recursion) takes ---
    max_name_bytes: int = 255  # NAME_MAX on Linux and macOS
    max_path_bytes: int = 3072  # under PATH_MAX (4096) with room for the output directory
    max_path_depth: int = 200

    # --- bundle size budget (None: no limit) ---
    zipped: int | None = None
    unzipped: int | None = None


DEFAULT_LIMITS = Limits()
