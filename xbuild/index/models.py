"""What an index says about a project: immutable values, no I/O."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

logger = logging.getLogger(__name__)

Hashes = tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class DistFile:
    """One downloadable distribution file as an index or find-links source lists it."""

    project: NormalizedName
    filename: str
    url: str  # never carries credentials; the client adds them per host
    hashes: Hashes
    requires_python: str | None = None
    yanked: str | None = None  # None: not yanked; "": yanked without a reason
    metadata_hashes: Hashes | None = None  # None: no PEP 658 metadata; (): offered, no hash
    size: int | None = None
    index_url: str

    @property
    def is_wheel(self) -> bool:
        return self.filename.endswith(".whl")

    @property
    def sha256(self) -> str | None:
        return hash_value(self.hashes, "sha256")

    @property
    def metadata_url(self) -> str:
        """Where PEP 658 serves this file's core metadata."""
        return self.url + ".metadata"


@dataclass(frozen=True)
class ProjectPage:
    """Every file of one project, merged over all indexes and find-links sources."""

    name: NormalizedName
    files: tuple[DistFile, ...]
    index_url: str  # the first source that listed the project


def hash_value(hashes: Hashes, algorithm: str) -> str | None:
    return next((value for algo, value in hashes if algo == algorithm), None)


def normalize_hashes(pairs: Iterable[tuple[str, str]] | Mapping[str, str]) -> Hashes:
    """Lower-case algorithm names and digests so comparisons are exact."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple((algo.lower(), value.lower()) for algo, value in items)


def project_of(filename: str) -> NormalizedName | None:
    """The project a wheel or sdist filename belongs to, or None for anything else."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def make_dist_file(
    *,
    filename: str,
    url: str,
    index_url: str,
    project: NormalizedName | None,
    hashes: Hashes = (),
    requires_python: str | None = None,
    yanked: str | None = None,
    metadata_hashes: Hashes | None = None,
    size: int | None = None,
) -> DistFile | None:
    """A DistFile, or None when the name is not a wheel/sdist of `project` (None: any project)."""
    parsed = project_of(filename)
    if parsed is None:
        logger.debug("ignoring %s: not a wheel or sdist filename", filename)
        return None
    if project is not None and parsed != project:
        logger.debug("ignoring %s: belongs to %s, not %s", filename, parsed, project)
        return None
    return DistFile(
        project=parsed,
        filename=filename,
        url=url,
        hashes=hashes,
        requires_python=requires_python,
        yanked=yanked,
        metadata_hashes=metadata_hashes,
        size=size,
        index_url=index_url,
    )


def merge_files(sources: Iterable[Iterable[DistFile]]) -> tuple[DistFile, ...]:
    """Concatenate file lists; the first source to list a filename wins (index order matters)."""
    seen: dict[str, DistFile] = {}
    for files in sources:
        for file in files:
            seen.setdefault(file.filename, file)
    return tuple(seen.values())


def canonical_project(name: str) -> NormalizedName:
    """Normalize a project name, raising ValueError for one that cannot be a project name."""
    return canonicalize_name(name, validate=True)
