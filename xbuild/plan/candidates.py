"""Which file of which version serves the target: pure functions over an index's file list."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from pathlib import Path
from typing import overload

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.tags import Tag, parse_tag
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from xbuild.index import DistFile
from xbuild.index.models import parse_version
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
    direct_url: str | None = None  # a `name @ url` reference: this file, never the index's


class Cause(StrEnum):
    """Why a version (or a whole project) gave the resolver no candidate."""

    NOT_FOUND = "not found on the index"
    NO_WHEEL = "no wheel for the target"
    REQUIRES_PYTHON = "Requires-Python"
    YANKED = "yanked"
    PRERELEASE = "pre-release"
    NO_SDIST = "no sdist under --no-binary"
    URL = "direct reference"


@dataclass(frozen=True, kw_only=True)
class Drop:
    """One skipped version and its cause; `files` let an explanation name the platforms later."""

    version: Version | None
    cause: Cause
    detail: str = ""
    files: tuple[DistFile, ...] = ()


class PreAllow(StrEnum):
    """Pre-releases for one package, once the user's mode and specifiers are weighed."""

    YES = "yes"
    NO = "no"
    IF_NECESSARY = "if-necessary"  # only when no final release gives a candidate


@dataclass(frozen=True, kw_only=True)
class _Version:
    version: Version
    wheel: DistFile | None
    sdist: DistFile | None
    files: tuple[DistFile, ...]


def versions_of(files: Sequence[DistFile]) -> list[Version]:
    """Every version the files belong to, newest first."""
    return sorted(by_version(files), reverse=True)


def wheel_tags(file: DistFile) -> frozenset[Tag]:
    parsed = _parse(file)
    return parsed[1] if parsed is not None and parsed[1] is not None else frozenset()


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
    return _requires_python_ok(file.requires_python, target.python_full)


@lru_cache(maxsize=4096)
def _requires_python_ok(requires_python: str, full_version: str) -> bool:
    try:
        spec = SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True  # pip ignores an unparseable Requires-Python; do the same
    return spec.contains(full_version, prereleases=True)


def fitting(files: Iterable[DistFile], target: Target) -> tuple[DistFile, ...]:
    """The files `_one_version` could take for the target, in the index's order (it breaks ties).

    A file is left out only when it is certainly skipped there, whatever the specifier: a wheel
    none of whose tags the target accepts, or a Requires-Python that excludes the target. The
    rest stay, even ones `_one_version` will still reject, so every candidate is the same.
    """
    fits = Fits(target)
    return tuple(file for file in files if fits(file.filename, file.requires_python))


class Fits:
    """`fitting`'s test, asked of a file's name and Requires-Python."""

    def __init__(self, target: Target) -> None:
        # The tag test alone, asked of every file of every page (60,000 for the 10 set): a bound
        # method, which CPython calls faster than an instance's __call__.
        self.tags: Callable[[str], bool] = TagsFit(target).__call__
        self._full = target.python_full

    def __call__(self, filename: str, requires_python: str | None) -> bool:
        if not self.tags(filename):
            return False
        return not requires_python or _requires_python_ok(requires_python, self._full)


class TagsFit:
    """Whether a filename may fit the target by its wheel tags: `fitting`'s tag test, asked of
    the bare filename, so that the index client builds no row for a wheel it rules out. Sdists
    and names that are no wheel pass, for the filename parser to judge later."""

    def __init__(self, target: Target) -> None:
        self._target = target
        self._known: dict[str, bool] = {}  # a project's releases share a few tag strings

    def __call__(self, filename: str) -> bool:
        # Asked of every file of every page (60,000 for the 10 set), so one split and one lookup:
        # a wheel's key is its last three dash-separated fields (the tags); any other name gets
        # some suffix of itself, which _judge lets through. (str.rfind with bounds parses its
        # arguments the slow way: three of them cost half as much again as this split.)
        key = filename[len(filename.rsplit("-", 3)[0]) + 1 :]
        fit = self._known.get(key)
        if fit is None:
            fit = self._known[key] = self._judge(key)
        return fit

    def _judge(self, key: str) -> bool:
        text = key[:-4]
        if not key.endswith(".whl") or text.count("-") != 2:
            return True  # not name-version-python-abi-platform: for the filename parser
        return tags_text_fit(text, self._target)


def tags_text_fit(text: str, target: Target) -> bool:
    """Whether the target accepts a wheel's tag text (python-abi-platform); text that is no tag
    set passes, for the filename parser to reject."""
    try:
        tags = parse_tag(text)
    except ValueError:
        return True  # not a tag set at all: _parse rejects the file later, as it would anyway
    return target.tag_rank(tags) is not None


def is_pinned(specifier: SpecifierSet) -> bool:
    return any(s.operator in ("==", "===") and "*" not in s.version for s in specifier)


def version_text(filename: str) -> str | None:
    """The version field of a filename by plain splitting; full validation waits until it matters."""
    if filename.endswith(".whl"):
        parts = filename.split("-")
        return parts[1] if len(parts) in (5, 6) else None
    for suffix in (".tar.gz", ".zip"):
        if filename.endswith(suffix):
            return filename[: -len(suffix)].rpartition("-")[2] or None
    return None


class GroupedFiles(Sequence[DistFile]):
    """A project's files already grouped by version, newest first, each version parsed and each
    group built when first reached: a warm plan then builds only the versions the resolver
    reaches (see candidate_cache). Read as a flat sequence, it builds every group, in order."""

    def __init__(self, versions: Sequence[str], count: int, load: Callable[[int], list[DistFile]]) -> None:
        self._load = load
        self._count = count
        self._groups: dict[int, list[DistFile]] = {}
        self.by_version = _LazyGroups(self, versions)

    def group(self, index: int) -> list[DistFile]:
        found = self._groups.get(index)
        if found is None:  # two threads may both build it: equal lists either way
            found = self._groups[index] = self._load(index)
        return found

    def built_groups(self) -> int:
        """How many versions were built so far (a warm plan should build few)."""
        return len(self._groups)

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> DistFile: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[DistFile]: ...

    def __getitem__(self, index: int | slice) -> DistFile | Sequence[DistFile]:
        return list(self)[index]

    def __iter__(self) -> Iterator[DistFile]:
        for version in self.by_version:
            yield from self.by_version[version]


class _LazyGroups(Mapping[Version, list[DistFile]]):
    """Versions parsed as iteration reaches them; a version is looked up after it was yielded."""

    def __init__(self, files: GroupedFiles, texts: Sequence[str]) -> None:
        self._files = files
        self._texts = texts
        self._positions: dict[Version, int] = {}

    def __getitem__(self, version: Version) -> list[DistFile]:
        if version not in self._positions:
            for _ in self:  # not reached yet: parse them all
                pass
        return self._files.group(self._positions[version])

    def __iter__(self) -> Iterator[Version]:
        for i, text in enumerate(self._texts):
            version = parse_version(text)
            if version is not None:
                self._positions.setdefault(version, i)
                yield version

    def __len__(self) -> int:
        return len(self._texts)


# Grouping a project's files by version is the same work for every specifier the resolver tries;
# keep the last few groupings (the entry holds the tuple, so its id stays valid).
_GROUPS: dict[int, tuple[Sequence[DistFile], dict[Version, list[DistFile]]]] = {}


def by_version(files: Sequence[DistFile]) -> Mapping[Version, list[DistFile]]:
    """The files of each version, newest version first."""
    if isinstance(files, GroupedFiles):
        return files.by_version
    cached = _GROUPS.get(id(files))
    if cached is not None and cached[0] is files:
        return cached[1]
    groups = {v: [files[i] for i in at] for v, at in positions_by_version(f.filename for f in files).items()}
    if len(_GROUPS) > 256:
        _GROUPS.clear()
    _GROUPS[id(files)] = (files, groups)
    return groups


def positions_by_version(filenames: Iterable[str]) -> dict[Version, list[int]]:
    """The positions of each version's files, in the given order, newest version first; names
    with no version are left out. Every find_matches walks the versions in this order, so they
    are sorted once. Files are grouped by their version text first: a page's files share a few
    texts, and a str hashes in C where a Version hashes in Python."""
    by_text: dict[str, list[int]] = {}
    for i, filename in enumerate(filenames):
        text = version_text(filename)
        if text:
            by_text.setdefault(text, []).append(i)
    groups: dict[Version, list[int]] = {}
    for text, positions in by_text.items():
        version = parse_version(text)
        if version is None:
            continue
        same = groups.setdefault(version, positions)
        if same is not positions:  # another spelling of a version already met ("1.0", "1.0.0")
            same.extend(positions)
            same.sort()
    return dict(sorted(groups.items(), key=lambda item: item[0], reverse=True))


def iter_versions(
    files: Sequence[DistFile],
    target: Target,
    specifier: SpecifierSet,
    dropped: list[Drop],
    *,
    finals: bool = True,
    pres: bool = True,
    note_pres: bool = False,
) -> Iterator[_Version]:
    """Versions allowed by the specifier, Requires-Python and yank status, newest first, lazily.

    `finals`/`pres` choose final releases and pre-releases; `note_pres` records the pre-releases
    left out, for explanations. Tags are parsed only for versions the resolver actually reaches:
    most of a big project's files belong to old releases it never looks at.
    """
    pinned = is_pinned(specifier)
    groups = by_version(files)
    for version in groups:
        if not specifier.contains(version, prereleases=True):
            continue
        if version.is_prerelease and not pres:
            if note_pres:
                dropped.append(Drop(version=version, cause=Cause.PRERELEASE))
            continue
        if not version.is_prerelease and not finals:
            continue
        entry = _one_version(version, groups[version], target, pinned, dropped)
        if entry is not None:
            yield entry


def _one_version(
    version: Version, files: list[DistFile], target: Target, pinned: bool, dropped: list[Drop]
) -> _Version | None:
    best: tuple[int, DistFile] | None = None
    sdist: DistFile | None = None
    yanked: str | None = None
    requires_python: str | None = None
    other_tags = False
    for file in files:
        parsed = _parse(file)
        if parsed is None or parsed[0] != version:
            continue
        if file.yanked is not None and not pinned:
            yanked = file.yanked
            continue
        if not _python_ok(file, target):
            requires_python = file.requires_python
            continue
        tags = parsed[1]
        if tags is None:
            if sdist is None or file.filename.endswith(".tar.gz"):
                sdist = file
            continue
        rank = target.tag_rank(tags)
        if rank is None:
            other_tags = True
        elif best is None or rank < best[0]:
            best = (rank, file)
    if best is None and sdist is None:
        dropped.append(_why_none(version, tuple(files), other_tags, requires_python, yanked))
        return None
    return _Version(version=version, wheel=best[1] if best else None, sdist=sdist, files=tuple(files))


def _why_none(
    version: Version,
    files: tuple[DistFile, ...],
    other_tags: bool,
    requires_python: str | None,
    yanked: str | None,
) -> Drop:
    """The cause that removed a version's last file: the target's tags, then Python, then yanks."""
    if other_tags or (requires_python is None and yanked is None):
        return Drop(version=version, cause=Cause.NO_WHEEL, files=files)
    if requires_python is not None:
        return Drop(version=version, cause=Cause.REQUIRES_PYTHON, detail=requires_python)
    return Drop(version=version, cause=Cause.YANKED, detail=yanked or "")


def select(
    name: NormalizedName,
    files: Sequence[DistFile],
    target: Target,
    specifier: SpecifierSet,
    *,
    policy: SourcePolicy,
    extras: frozenset[str] = frozenset(),
    no_binary: bool = False,
    prereleases: PreAllow = PreAllow.IF_NECESSARY,
    dropped: list[Drop] | None = None,
) -> Iterator[Candidate]:
    """The candidates the resolver should try, best first, under the source policy (lazily).

    Pre-releases are tried after the final releases gave nothing (PEP 440's fallback) unless
    `prereleases` says always or never.
    """
    dropped = [] if dropped is None else dropped
    everything = prereleases is PreAllow.YES

    def one_pass(finals: bool, pres: bool) -> Iterator[Candidate]:
        versions = iter_versions(
            files,
            target,
            specifier,
            dropped,
            finals=finals,
            pres=pres,
            note_pres=prereleases is PreAllow.NO,
        )
        return _by_policy(name, versions, target, policy, extras, no_binary, dropped)

    given = 0
    for candidate in one_pass(True, everything):
        given += 1
        yield candidate
    if given == 0 and prereleases is PreAllow.IF_NECESSARY:
        yield from one_pass(False, True)


def _by_policy(
    name: NormalizedName,
    versions: Iterator[_Version],
    target: Target,
    policy: SourcePolicy,
    extras: frozenset[str],
    no_binary: bool,
    dropped: list[Drop],
) -> Iterator[Candidate]:
    if no_binary:
        for v in versions:
            if v.sdist is None:
                dropped.append(Drop(version=v.version, cause=Cause.NO_SDIST))
                continue
            yield _candidate(name, v, extras, None, prefer_wheel=False)
        return
    if policy is SourcePolicy.NEWEST:
        yield from (_candidate(name, v, extras, None, prefer_wheel=True) for v in versions)
        return
    newest: Version | None = None
    source_only: list[_Version] = []
    for v in versions:
        newest = newest or v.version
        if v.wheel is None:
            source_only.append(v)
            continue
        yield _candidate(name, v, extras, _skipped(newest, v), prefer_wheel=True)
    if policy is SourcePolicy.NEVER:
        dropped.extend(Drop(version=v.version, cause=Cause.NO_WHEEL, files=v.files) for v in source_only)
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
