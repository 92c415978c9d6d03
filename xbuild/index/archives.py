"""Read core metadata out of wheel and sdist archives, local or lazily remote."""

from __future__ import annotations

import re
import tarfile
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from ..errors import InputError, RefusedError
from ..limits import DEFAULT_LIMITS
from ..sdist import Sdist, top_level_member

_DIST_INFO_METADATA = re.compile(r"([^/]+)-[^/-]+\.dist-info/METADATA")
_ARCHIVE_ERRORS = (OSError, EOFError, zlib.error, zipfile.BadZipFile, tarfile.TarError, KeyError)


def find_metadata_member(names: Iterable[str], project: NormalizedName) -> str | None:
    """The wheel's <name>-<version>.dist-info/METADATA; when a wheel vendors other dist-info
    directories at the top level, the one named after the project wins."""
    candidates = [name for name in names if _DIST_INFO_METADATA.fullmatch(name)]
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    for name in candidates:
        match = _DIST_INFO_METADATA.fullmatch(name)
        if match and canonicalize_name(match.group(1)) == project:
            return name
    return None


def wheel_metadata(archive: zipfile.ZipFile, project: NormalizedName, filename: str) -> bytes:
    member = find_metadata_member(archive.namelist(), project)
    if member is None:
        raise InputError(f"wheel {filename} has no .dist-info/METADATA")
    return read_member(archive, member, filename)


def read_member(archive: zipfile.ZipFile, member: str | zipfile.ZipInfo, filename: str) -> bytes:
    """A metadata member, decompressed no further than the metadata cap (a zip bomb stops)."""
    try:
        with archive.open(member) as stream:
            return bounded_metadata(stream.read(DEFAULT_LIMITS.max_metadata_bytes + 1), filename)
    except (RuntimeError, NotImplementedError) as exc:  # encrypted, or a method zipfile lacks
        raise zipfile.BadZipFile(f"{filename}: {exc}") from exc


def bounded_metadata(data: bytes, filename: str) -> bytes:
    """The metadata read, refused when it is larger than the cap (read the cap plus one byte)."""
    if len(data) > DEFAULT_LIMITS.max_metadata_bytes:
        raise RefusedError(
            f"{filename}: its core metadata is larger than {DEFAULT_LIMITS.max_metadata_bytes:,} bytes",
            hint="no real distribution has metadata this large; do not use this file",
        )
    return data


def find_pkg_info(names: Iterable[str]) -> str | None:
    """An sdist's metadata is <top-level dir>/PKG-INFO."""
    return top_level_member(names, "PKG-INFO")


def local_metadata(path: Path, project: NormalizedName, filename: str) -> bytes:
    """METADATA of a wheel, or PKG-INFO of a .tar.gz/.zip sdist, from a file on disk."""
    if not filename.endswith(".whl"):
        return sdist_pkg_info(Sdist(path), filename)
    try:
        with zipfile.ZipFile(path) as archive:
            return wheel_metadata(archive, project, filename)
    except _ARCHIVE_ERRORS as exc:
        raise InputError(f"{filename} is not a readable archive ({exc})") from exc


def sdist_pkg_info(sdist: Sdist, filename: str) -> bytes:
    member = sdist.top_level("PKG-INFO")
    data = sdist.read(member) if member else None
    if data is None:
        raise InputError(f"sdist {filename} has no PKG-INFO")
    return data
