"""Each project's files already judged for one target, kept on disk in a compact form, and
fetched ahead of the resolver.

A page lists every file a project ever published (numpy: 3,000; boto3's set: 57,000), and a plan
for one target can only use those whose tags fit it and whose Requires-Python admits it. Judging
that is the same work on every run while the page stays the same, so the survivors are kept in

    <cache root>/candidates/ab/<sha256 of the key without the validator>

one entry per project, target, Python and mode (a changed page replaces its entry). The entry's
header holds the whole key, checked on every read: the page validator (the index client's digest
of the pages, which changes with their bodies and with its parser), the target's ordered tags,
its full Python version, the pre-release mode and this module's format. Versions are stored
newest first, one chunk each, so a warm plan reads no page at all and decodes only the versions
the resolver reaches.

The survivors are the files `candidates._one_version` could take whatever the specifier, in the
page's order, so `select` yields the same candidates in the same order from them as from the
whole page. Only the reasons for dropping versions differ (a version whose wheels all miss the
target leaves no trace); they are read only to explain a failed resolution, which the planner
then walks again over whole pages.

Entries are written atomically (temp file + rename) behind a sha256 of their content; a damaged
or foreign entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import logging
import marshal
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from packaging.utils import NormalizedName, canonicalize_name

from xbuild.errors import InputError
from xbuild.index import DistFile, KeptRows, ProjectPage
from xbuild.index.client import _Memo
from xbuild.index.models import ROW_FIELDS
from xbuild.plan.candidates import Fits, GroupedFiles, fitting, positions_by_version, version_text
from xbuild.target import Target
from xbuild.util.atomic import write_bytes_atomic

log = logging.getLogger(__name__)

# marshal's version is part of the format: chunks are marshal data (see _encode).
FORMAT = f"xbuild-candidates-4.{marshal.version}"
_MAGIC = f"{FORMAT}\n".encode()
# Threads that fetch and judge ahead of the resolver. Each one's reads and judging take the GIL,
# so more threads make every step of the dependency chain wait longer for it: a cold plan for
# the 40-project set took 0.87x the time with 4 as with 8 (2 cores, an index 2 ms away; see
# bench/README.md). 16 and 32 gained nothing before.
_LOOKAHEAD_WORKERS = 4

# What the lookahead asks about a project's judged files: the names its likely pick depends on.
Lookahead = Callable[[NormalizedName, Sequence[DistFile]], Iterable[str]]


class PageSource(Protocol):
    """The part of the index client this module uses."""

    def project(self, name: str) -> ProjectPage: ...

    def page_validator(self, name: str) -> str | None: ...

    def project_rows(self, name: str, keep: Callable[[str], bool]) -> KeptRows: ...


@dataclass(frozen=True, kw_only=True)
class JudgedKey:
    """Everything a project's judged file list depends on."""

    project: str
    validator: str
    tags: str  # sha256 of the target's tags, best first: the order decides which wheel wins
    python_full: str
    prerelease: str
    format: str = FORMAT


def tags_digest(target: Target) -> str:
    return hashlib.sha256("\n".join(map(str, target.tags)).encode()).hexdigest()


class CandidateStore:
    """The on-disk entries; every failure to read or write one only costs speed."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def load(self, key: JudgedKey) -> Sequence[DistFile] | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            log.debug("cannot read %s (%s); judging the page again", path, exc)
            return None
        files = _decode(raw, key)
        if files is None:
            log.debug("%s is damaged or not for this key; judging the page again", path)
        return files

    def store(self, key: JudgedKey, judged: Judged) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, _encode(key, judged))
        except OSError as exc:
            log.debug("cannot write %s (%s); continuing without it", path, exc)

    def _path(self, key: JudgedKey) -> Path:
        # Not named by the validator: a page that changed replaces its entry instead of adding
        # one, so the directory holds one entry per project, target, Python and mode.
        slot = {k: v for k, v in asdict(key).items() if k != "validator"}
        name = hashlib.sha256(json.dumps(slot, sort_keys=True).encode()).hexdigest()
        return self.root / name[:2] / name


@dataclass(frozen=True)
class Judged:
    """A project's files that fit the target, as rows, and their positions by version, newest
    first (texts: each version as the entry names it)."""

    kept: KeptRows
    groups: list[list[int]]
    texts: list[str]

    @classmethod
    def of(cls, kept: KeptRows, fits: Callable[[str, str | None], bool]) -> Judged:
        """The rows `fits` keeps (asked of a filename and its Requires-Python), grouped."""
        rows, sources = kept.rows, kept.sources
        fitted = [i for i, row in enumerate(rows) if fits(row[1], row[4])]
        if len(fitted) < len(rows):
            picked = None if sources is None else [sources[i] for i in fitted]
            kept = KeptRows(kept.index_urls, [rows[i] for i in fitted], picked)
        rows = kept.rows
        groups = list(positions_by_version(row[1] for row in rows).values())
        # Each version as its first file spells it: parsed already, where str(Version) is not.
        return cls(kept, groups, [version_text(rows[positions[0]][1]) or "" for positions in groups])

    def files(self) -> GroupedFiles:
        """The files, each version's DistFiles built when the resolver first reaches it."""
        return GroupedFiles(self.texts, len(self.kept.rows), lambda i: self.kept.files(self.groups[i]))


def _encode(key: JudgedKey, judged: Judged) -> bytes:
    """A sha256 line over the rest, a header line, then one chunk per version, newest first, so
    that a reader builds only the versions it reaches; the header holds each chunk's version,
    span and the index of each of its files (null: all from the first).

    A chunk is the marshal of the version's rows (models.FileRow): a cold plan writes thousands
    of them, and marshal takes a tenth of json's time both ways. Entries are only read after
    their sha256 checks, so marshal never sees damaged bytes."""
    rows, sources = judged.kept.rows, judged.kept.sources
    chunks: list[bytes] = []
    groups: list[list[object]] = []
    start = 0
    for text, positions in zip(judged.texts, judged.groups, strict=True):
        chunk = marshal.dumps([rows[i] for i in positions])
        chunks.append(chunk)
        index_of = [] if sources is None else [sources[i] for i in positions]
        groups.append([text, start, start + len(chunk), index_of if any(index_of) else None])
        start += len(chunk)
    indexes = list(judged.kept.index_urls)
    header = {"key": asdict(key), "indexes": indexes, "groups": groups, "count": len(rows)}
    rest = json.dumps(header, sort_keys=True).encode() + b"\n" + b"".join(chunks)
    return _MAGIC + hashlib.sha256(rest).hexdigest().encode() + b"\n" + rest


def _decode(raw: bytes, key: JudgedKey) -> GroupedFiles | None:
    """The entry's files, or None when it is damaged or for another key."""
    if not raw.startswith(_MAGIC):
        return None
    digest, _, rest = raw[len(_MAGIC) :].partition(b"\n")
    if digest != hashlib.sha256(rest).hexdigest().encode():
        return None
    line, _, body = rest.partition(b"\n")
    try:
        header = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(header, dict) or header.get("key") != asdict(key):
        return None
    indexes, groups, count = header.get("indexes"), header.get("groups"), header.get("count")
    if not (isinstance(indexes, list) and isinstance(groups, list) and isinstance(count, int)):
        return None

    # The checksum covers everything, so each group is checked only when read, against a
    # writer's bug rather than damage: most groups are never read.
    def load(i: int) -> list[DistFile]:
        files = _group(groups[i], body, indexes)
        if files is None:
            raise InputError(
                f"the cached candidates of {key.project} are unreadable",
                hint="delete the candidates directory of the xbuild cache and plan again",
            )
        return files

    texts = [g[0] if isinstance(g, list) and g and isinstance(g[0], str) else "" for g in groups]
    return GroupedFiles(texts, count, load)


def _group(group: object, body: bytes, indexes: list[object]) -> list[DistFile] | None:
    if not (isinstance(group, list) and len(group) == 4):
        return None
    _, start, end, index_of = group
    if not (isinstance(start, int) and isinstance(end, int)):
        return None
    urls = tuple(u for u in indexes if isinstance(u, str))
    rows = _rows(body[start:end])
    if rows is None or not urls or len(urls) != len(indexes):
        return None
    if index_of is not None:
        if not (isinstance(index_of, list) and len(index_of) == len(rows)):
            return None
        if not all(isinstance(j, int) and 0 <= j < len(urls) for j in index_of):
            return None
    return KeptRows(urls, rows, index_of).files(range(len(rows)))


def _rows(chunk: bytes) -> list[Any] | None:
    """A chunk's rows; None for a chunk of the wrong shape (a writer's bug: the entry's sha256
    already ruled out damage)."""
    try:
        rows = marshal.loads(chunk)
    except (EOFError, ValueError, TypeError):
        return None
    if isinstance(rows, list) and all(type(row) is tuple and len(row) == len(ROW_FIELDS) for row in rows):
        return rows
    return None


class JudgedProjects:
    """Judged files per project for one plan: each judged once, from disk when its page is
    unchanged; `prefetch` fetches pages (and, through `lookahead`, the dependencies of the
    likely picks) on worker threads before the resolver asks for them.

    Use it as a context manager: leaving it stops the lookahead and waits for its threads.
    """

    def __init__(
        self,
        source: PageSource,
        target: Target,
        *,
        prerelease: str,
        store: CandidateStore | None,
        lookahead: Lookahead | None = None,
        workers: int = _LOOKAHEAD_WORKERS,
    ) -> None:
        self._source = source
        self._target = target
        self._prerelease = prerelease
        self._store = store
        self.lookahead = lookahead  # settable: the provider that supplies it needs this object first
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="xbuild-lookahead")
        self._memo: _Memo[NormalizedName, Sequence[DistFile]] = _Memo(self._pool)
        self._visited: set[NormalizedName] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._tags = tags_digest(target) if store is not None else ""
        self._fits = Fits(target)

    def files(self, name: str) -> Sequence[DistFile]:
        """The project's files that fit the target (ProjectNotFound as the client raises it)."""
        project = canonicalize_name(name)
        return self._memo.get(project, lambda: self._judged(project))

    def prefetch(self, names: Iterable[str]) -> None:
        """Judge these projects on worker threads, then look ahead at their dependencies.

        In the order given, which is the order the resolver asks in (requirements as written,
        dependencies as their metadata lists them): the workers then start on what it needs
        first. Alphabetical order measured 2-4% slower on a cold plan (bench/README.md)."""
        with self._lock:
            if self._closed:
                return
            fresh = [n for n in dict.fromkeys(map(canonicalize_name, names)) if n not in self._visited]
            self._visited.update(fresh)
            for project in fresh:
                self._pool.submit(self._visit, project)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._memo.abandon()

    def __enter__(self) -> JudgedProjects:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _visit(self, project: NormalizedName) -> None:
        # Speculative: any failure resurfaces when the resolver asks for the same thing itself.
        try:
            files = self.files(project)
            if self.lookahead is not None and not self._closed:
                self.prefetch(self.lookahead(project, files))
        except Exception as exc:
            log.debug("lookahead at %s stopped: %s", project, exc)

    def _judged(self, project: NormalizedName) -> Sequence[DistFile]:
        key = self._key(project)
        if key is None or self._store is None:
            return fitting(self._source.project(project).files, self._target)
        stored = self._store.load(key)
        if stored is not None:
            return stored
        # The entry stored here is what the next run reads, so the page's whole file list is
        # neither built nor stored: most files miss the target (10 set: 43,000 of 57,000). This
        # run builds DistFiles only for the versions its resolver reaches, as the next run does.
        judged = Judged.of(self._source.project_rows(project, self._fits.tags), self._fits)
        self._store.store(key, judged)
        return judged.files()

    def _key(self, project: NormalizedName) -> JudgedKey | None:
        if self._store is None:
            return None
        validator = self._source.page_validator(project)
        if validator is None:
            return None
        return JudgedKey(
            project=project,
            validator=validator,
            tags=self._tags,
            python_full=self._target.python_full,
            prerelease=self._prerelease,
        )
