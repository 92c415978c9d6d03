"""Which file of which version serves the target: pure functions over an index's file list."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from xbuild.index import DistFile
from xbuild.plan.model import Action, SourcePolicy
from xbuild.target import Target


@dataclass(frozen=True, kw_only=True)
class Candidate:
    name: NormalizedName
    version: Version
    action: Action
    file: DistFile | None  # None for a local project
    extras: frozenset[str] = frozenset()
    skipped_newer: Version | None = None  # newest allowed version, passed over for lack of a wheel
    local_path: Path | None = None


@dataclass(frozen=True, kw_only=True)
class _Version:
    version: Version
    wheel: DistFile | None
    sdist: DistFile | None


def _parse(file: DistFile) -> tuple[Version, frozenset[Tag] | None] | None:
    return _parse_name(file.filename, file.is_wheel)


# The resolver asks about the same project many times with different specifiers; filenames and
# Requires-Python strings repeat across those calls, so each is parsed once per process.
@cache
def _parse_name(filename: str, is_wheel: bool) -> tuple[Version, frozenset[Tag] | None] | None:
    try:
        if is_wheel:
            _, version, _, tags = parse_wheel_filename(filename)
            return version, tags
        _, version = parse_sdist_filename(filename)
        return version, None
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None


def _python_ok(file: DistFile, target: Target) -> bool:
    if not file.requires_python:
        return True
    return _requires_python_ok(file.requires_python, target.python_full_version or f"{target.python}.0")


@lru_cache(maxsize=4096)
def _requires_python_ok(requires_python: str, full_version: str) -> bool:
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True  # pip ignores an unparseable Requires-Python; do the same
    return spec.contains(full_version, prereleases=True)


def is_pinned(specifier: SpecifierSet) -> bool:
    return any(s.operator in ("==", "===") and "*" not in s.version for s in specifier)


def _version_text(file: DistFile) -> str | None:
    """The version field of a filename by plain splitting; full validation waits until it matters."""
    name = file.filename
    if file.is_wheel:
        parts = name.split("-")
        return parts[1] if len(parts) in (5, 6) else None
    for suffix in (".tar.gz", ".zip"):
        if name.endswith(suffix):
            return name[: -len(suffix)].rpartition("-")[2] or None
    return None


@lru_cache(maxsize=65536)
def _version(text: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        return None


# Grouping a project's files by version is the same work for every specifier the resolver tries;
# keep the last few groupings (the entry holds the tuple, so its id stays valid).
_GROUPS: dict[int, tuple[Sequence[DistFile], dict[Version, list[DistFile]]]] = {}


def _by_version(files: Sequence[DistFile]) -> dict[Version, list[DistFile]]:
    cached = _GROUPS.get(id(files))
    if cached is not None and cached[0] is files:
        return cached[1]
    groups: dict[Version, list[DistFile]] = {}
    for file in files:
        text = _version_text(file)
        version = _version(text) if text else None
        if version is not None:
            groups.setdefault(version, []).append(file)
    if len(_GROUPS) > 256:
        _GROUPS.clear()
    _GROUPS[id(files)] = (files, groups)
    return groups


def iter_versions(
    files: Sequence[DistFile], target: Target, specifier: SpecifierSet, dropped: list[str]
) -> Iterator[_Version]:
    """Versions allowed by the specifier, Requires-Python and yank status, newest first, lazily.

    Tags are parsed only for versions the resolver actually reaches: most of a big project's
    files belong to old releases it never looks at.
    """
    pinned = is_pinned(specifier)
    prereleases = bool(specifier.prereleases or pinned)
    groups = _by_version(files)
    for version in sorted(groups, reverse=True):
        if not specifier.contains(version, prereleases=prereleases):
            continue
        entry = _one_version(version, groups[version], target, pinned, dropped)
        if entry is not None:
            yield entry


def _one_version(
    version: Version, files: list[DistFile], target: Target, pinned: bool, dropped: list[str]
) -> _Version | None:
    best: tuple[int, DistFile] | None = None
    sdist: DistFile | None = None
    for file in files:
        parsed = _parse(file)
        if parsed is None or parsed[0] != version:
            continue
        if file.yanked is not None and not pinned:
            dropped.append(f"{file.filename} is yanked")
            continue
        if not _python_ok(file, target):
            dropped.append(f"{file.filename} requires Python {file.requires_python}")
            continue
        tags = parsed[1]
        if tags is None:
            if sdist is None or file.filename.endswith(".tar.gz"):
                sdist = file
            continue
        rank = target.tag_rank(tags)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, file)
    if best is None and sdist is None:
        return None
    return _Version(version=version, wheel=best[1] if best else None, sdist=sdist)


def group_versions(
    files: Sequence[DistFile], target: Target, specifier: SpecifierSet, dropped: list[str]
) -> list[_Version]:
    return list(iter_versions(files, target, specifier, dropped))


def select(
    name: NormalizedName,
    files: Sequence[DistFile],
    target: Target,
    specifier: SpecifierSet,
    *,
    policy: SourcePolicy,
    extras: frozenset[str] = frozenset(),
    no_binary: bool = False,
    dropped: list[str] | None = None,
) -> Iterator[Candidate]:
    """The candidates the resolver should try, best first, under the source policy (lazily)."""
    dropped = [] if dropped is None else dropped
    versions = iter_versions(files, target, specifier, dropped)
    if no_binary:
        yield from (_candidate(name, v, extras, None, prefer_wheel=False) for v in versions if v.sdist)
        return
    if policy is SourcePolicy.NEWEST:
        yield from (_candidate(name, v, extras, None, prefer_wheel=True) for v in versions)
        return
    newest: Version | None = None
    source_only: list[_Version] = []
    seen = wheels = 0
    for v in versions:
        newest = newest or v.version
        seen += 1
        if v.wheel is None:
            source_only.append(v)
            continue
        wheels += 1
        yield _candidate(name, v, extras, _skipped(newest, v), prefer_wheel=True)
    if policy is SourcePolicy.NEVER:
        if seen and not wheels:
            dropped.append(f"no version in {seen} allowed has a wheel for {target.platform_label}")
        return
    yield from (_candidate(name, v, extras, None, prefer_wheel=True) for v in source_only)


def _skipped(newest: Version | None, chosen: _Version) -> Version | None:
    return newest if newest is not None and newest != chosen.version else None


def _candidate(
    name: NormalizedName,
    v: _Version,
    extras: frozenset[str],
    skipped: Version | None,
    *,
    prefer_wheel: bool,
) -> Candidate:
    if prefer_wheel and v.wheel is not None:
        return Candidate(
            name=name,
            version=v.version,
            action=Action.WHEEL,
            file=v.wheel,
            extras=extras,
            skipped_newer=skipped,
        )
    return Candidate(name=name, version=v.version, action=Action.BUILD, file=v.sdist, extras=extras)
