"""Which file of which version serves the target: pure functions over an index's file list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
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
from packaging.version import Version

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


@dataclass(frozen=True, kw_only=True)
class Selection:
    """Candidates best first, and why the rest were dropped (for 'no candidate' explanations)."""

    candidates: tuple[Candidate, ...]
    dropped: tuple[str, ...]


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


def group_versions(
    files: Iterable[DistFile], target: Target, specifier: SpecifierSet, dropped: list[str]
) -> list[_Version]:
    """Versions allowed by the specifier, Requires-Python and yank status, newest first."""
    pinned = is_pinned(specifier)
    best_wheel: dict[Version, tuple[int, DistFile]] = {}
    sdists: dict[Version, DistFile] = {}
    seen: set[Version] = set()
    allowed: dict[Version, bool] = {}
    prereleases = bool(specifier.prereleases or pinned)
    for file in files:
        parsed = _parse(file)
        if parsed is None:
            continue
        version, tags = parsed
        ok = allowed.get(version)
        if ok is None:
            ok = allowed[version] = specifier.contains(version, prereleases=prereleases)
        if not ok:
            continue
        if file.yanked is not None and not pinned:
            dropped.append(f"{file.filename} is yanked")
            continue
        if not _python_ok(file, target):
            dropped.append(f"{file.filename} requires Python {file.requires_python}")
            continue
        seen.add(version)
        if tags is None:
            if version not in sdists or file.filename.endswith(".tar.gz"):
                sdists[version] = file
            continue
        rank = target.tag_rank(tags)
        if rank is not None and (version not in best_wheel or rank < best_wheel[version][0]):
            best_wheel[version] = (rank, file)
    return [
        _Version(version=v, wheel=best_wheel[v][1] if v in best_wheel else None, sdist=sdists.get(v))
        for v in sorted(seen, reverse=True)
    ]


def select(
    name: NormalizedName,
    files: Sequence[DistFile],
    target: Target,
    specifier: SpecifierSet,
    *,
    policy: SourcePolicy,
    extras: frozenset[str] = frozenset(),
    no_binary: bool = False,
) -> Selection:
    """Order the candidates the resolver should try, best first, under the source policy."""
    dropped: list[str] = []
    versions = [v for v in group_versions(files, target, specifier, dropped) if v.wheel or v.sdist]
    if no_binary:
        ordered = [_candidate(name, v, extras, None, prefer_wheel=False) for v in versions if v.sdist]
        return Selection(candidates=tuple(ordered), dropped=tuple(dropped))
    with_wheel = [v for v in versions if v.wheel is not None]
    newest = versions[0].version if versions else None
    if policy is SourcePolicy.NEWEST:
        ordered = [_candidate(name, v, extras, None, prefer_wheel=True) for v in versions]
    elif policy is SourcePolicy.NEVER:
        ordered = [_candidate(name, v, extras, _skipped(newest, v), prefer_wheel=True) for v in with_wheel]
    else:
        source_only = [v for v in versions if v.wheel is None]
        ordered = [_candidate(name, v, extras, _skipped(newest, v), prefer_wheel=True) for v in with_wheel]
        ordered += [_candidate(name, v, extras, None, prefer_wheel=True) for v in source_only]
    if policy is SourcePolicy.NEVER and versions and not with_wheel:
        dropped.append(f"no version in {len(versions)} allowed has a wheel for {target.platform_label}")
    return Selection(candidates=tuple(ordered), dropped=tuple(dropped))


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
