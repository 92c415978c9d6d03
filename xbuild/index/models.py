"""What an index says about a project: immutable values, no I/O."""

from __future__ import annotations

import functools
import itertools
import logging
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

logger = logging.getLogger(__name__)

T = TypeVar("T")

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
    """The project a wheel or sdist filename belongs to, or None for anything else.

    The answer is packaging's (parse_wheel_filename / parse_sdist_filename), which judges the
    name, version, build tag and tags of a filename each on its own; so each part is judged once
    per process, since a page's thousands of files share a few names, versions and tag sets.
    """
    if filename.endswith(".whl"):
        return _wheel_project(filename[:-4])
    if filename.endswith(".tar.gz"):
        stem = filename[: -len(".tar.gz")]
    elif filename.endswith(".zip"):
        stem = filename[: -len(".zip")]
    else:
        return None
    name, dash, version = stem.rpartition("-")
    if not dash or parse_version(version) is None:
        return None
    return _sdist_name(name)


def _wheel_project(stem: str) -> NormalizedName | None:
    dashes = stem.count("-")
    if dashes not in (4, 5):
        return None
    parts = stem.split("-", dashes - 2)  # name, version, [build,] python-abi-platform
    if parse_version(parts[1]) is None or not _valid_wheel_tags(parts[-1]):
        return None
    if dashes == 5 and not _valid_build_tag(parts[2]):
        return None
    return _wheel_name(parts[0])


# Each helper asks packaging about one part, the others filled in with parts known to be valid.


@functools.lru_cache(maxsize=1 << 16)
def parse_version(text: str) -> Version | None:
    """The version a filename's version field names, or None. One cache for the process: the
    filename check here and the planner's grouping parse the same texts (a cold plan: 7,500)."""
    try:
        return Version(text)
    except InvalidVersion:
        return None


@functools.lru_cache(maxsize=1024)
def _wheel_name(name_part: str) -> NormalizedName | None:
    return _wheel_part(f"{name_part}-0-py3-none-any.whl")


@functools.lru_cache(maxsize=1024)
def _valid_wheel_tags(tags_part: str) -> bool:
    return _wheel_part(f"x-0-{tags_part}.whl") is not None


@functools.lru_cache(maxsize=1024)
def _valid_build_tag(build_part: str) -> bool:
    return _wheel_part(f"x-0-{build_part}-py3-none-any.whl") is not None


def _wheel_part(filename: str) -> NormalizedName | None:
    try:
        return parse_wheel_filename(filename)[0]
    except InvalidWheelFilename:
        return None


@functools.lru_cache(maxsize=1024)
def _sdist_name(name_part: str) -> NormalizedName | None:
    try:
        return parse_sdist_filename(f"{name_part}-0.tar.gz")[0]
    except InvalidSdistFilename:
        return None


# A DistFile as a plain tuple: its fields but index_url, in this order. A page's kept files
# are read into rows, and a DistFile is built only for a row someone looks at: a plan's
# resolver reaches few of a project's versions. The candidate store keeps rows as they are.
FileRow = tuple[NormalizedName, str, str, Hashes, str | None, str | None, Hashes | None, int | None]
ROW_FIELDS = ("project", "filename", "url", "hashes", "requires_python", "yanked", "metadata_hashes", "size")
file_row: Callable[[DistFile], FileRow] = operator.attrgetter(*ROW_FIELDS)


def from_row(row: FileRow, index_url: str) -> DistFile:
    return DistFile(
        project=row[0],
        filename=row[1],
        url=row[2],
        hashes=row[3],
        requires_python=row[4],
        yanked=row[5],
        metadata_hashes=row[6],
        size=row[7],
        index_url=index_url,
    )


@dataclass(frozen=True)
class KeptRows:
    """A project's files as rows, merged over its sources (the first to list a filename wins);
    sources[i] indexes the row's source in index_urls, None when every row is from the first."""

    index_urls: tuple[str, ...]
    rows: list[FileRow]
    sources: list[int] | None = None

    @classmethod
    def of_files(cls, files: Iterable[DistFile]) -> KeptRows:
        files = list(files)
        urls = tuple(dict.fromkeys(f.index_url for f in files))
        sources = [urls.index(f.index_url) for f in files] if len(urls) > 1 else None
        return cls(urls, [file_row(f) for f in files], sources)

    def files(self, positions: Iterable[int]) -> list[DistFile]:
        """The DistFiles of the rows at these positions."""
        rows, urls, sources = self.rows, self.index_urls, self.sources
        if sources is None:
            return [from_row(rows[i], urls[0]) for i in positions]
        return [from_row(rows[i], urls[sources[i]]) for i in positions]


def row_of(
    *,
    filename: str,
    url: str,
    project: NormalizedName | None,
    hashes: Hashes = (),
    requires_python: str | None = None,
    yanked: str | None = None,
    metadata_hashes: Hashes | None = None,
    size: int | None = None,
) -> FileRow | None:
    """A file's row, or None when the name is not a wheel/sdist of `project` (None: any project)."""
    parsed = project_of(filename)
    if parsed is None:
        logger.debug("ignoring %s: not a wheel or sdist filename", filename)
        return None
    if project is not None and parsed != project:
        logger.debug("ignoring %s: belongs to %s, not %s", filename, parsed, project)
        return None
    return (parsed, filename, url, hashes, requires_python, yanked, metadata_hashes, size)


def merge_files(sources: Iterable[Iterable[DistFile]]) -> tuple[DistFile, ...]:
    """Concatenate file lists; the first source to list a filename wins (index order matters)."""
    return tuple(first_of_each_name(itertools.chain.from_iterable(sources), _filename))


def first_of_each_name(items: Iterable[T], name: Callable[[T], str]) -> list[T]:
    """The first item listed under each filename, in order: a page or a set of sources that
    lists a filename twice gives the first."""
    seen: dict[str, T] = {}
    for item in items:
        seen.setdefault(name(item), item)
    return list(seen.values())


_filename: Callable[[DistFile], str] = operator.attrgetter("filename")


def canonical_project(name: str) -> NormalizedName:
    """Normalize a project name, raising ValueError for one that cannot be a project name."""
    return canonicalize_name(name, validate=True)
