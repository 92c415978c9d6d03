"""IndexClient: project pages, core metadata and downloads for the resolver's provider.

Pages are fetched once per client (the resolver asks for the same names many times) and
revalidated against the disk cache once per client; metadata and files are keyed by sha256 and
never revalidated.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import re
import tempfile
import threading
import zipfile
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar, overload

from packaging.utils import InvalidName, NormalizedName

from ..errors import InputError, RefusedError, UsageError
from ..limits import DEFAULT_LIMITS, Limits
from ..util.atomic import atomic_output, link_or_copy
from .archives import local_metadata
from .cache import CachedPage, HttpCache, ParseKey
from .hashing import copy_hashing, digest_bytes, mismatch
from .http import Fetcher, RetryPolicy, not_cached
from .local import directory_files, local_index_files
from .metadata_match import metadata_differences
from .models import (
    DistFile,
    FileRow,
    KeptRows,
    ProjectPage,
    canonical_project,
    first_of_each_name,
    from_row,
    merge_files,
)
from .pages import PARSER_VERSION, Keep, PageFormatError, parse_page, parse_page_rows
from .remote_zip import RangesUnsupported, metadata_over_ranges
from .urls import (
    file_url_path,
    is_file_url,
    is_remote_url,
    location_to_url,
    project_url,
    redact_url,
    strip_credentials,
    url_credentials,
)

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_CHUNK = 1 << 20
_NOT_FOUND_HINT = "check the spelling, or add the index that hosts it as an extra index"


class _Memo(Generic[K, V]):
    """One computation per key, shared by every caller; failures are remembered too."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._futures: dict[K, Future[V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V]) -> V:
        future, mine = self._claim(key)
        if mine:
            _fill(future, compute)
        return future.result()

    def submit(self, key: K, compute: Callable[[], V]) -> None:
        future, mine = self._claim(key)
        if mine:
            self._pool.submit(_fill, future, compute)

    def peek(self, key: K) -> V | None:
        """The value already computed for key, or None (never computed, running or failed)."""
        with self._lock:
            future = self._futures.get(key)
        if future is None or not future.done() or future.exception() is not None:
            return None
        return future.result()

    def abandon(self) -> None:
        """Fail whatever never ran (the pool was shut down), so no caller waits forever."""
        with self._lock:
            pending = [f for f in self._futures.values() if not f.done()]
        for future in pending:
            with contextlib.suppress(InvalidStateError):  # it finished in the meantime
                future.set_exception(UsageError("the index client was closed"))

    def _claim(self, key: K) -> tuple[Future[V], bool]:
        with self._lock:
            if key in self._futures:
                return self._futures[key], False
            future: Future[V] = Future()
            self._futures[key] = future
            return future, True


def _fill(future: Future[V], compute: Callable[[], V]) -> None:
    try:
        future.set_result(compute())
    except BaseException as exc:
        future.set_exception(exc)
        if not isinstance(exc, Exception):
            raise


class IndexClient:
    """Reads PEP 691/503 indexes and find-links sources; use it as a context manager."""

    def __init__(
        self,
        index_urls: Sequence[str],
        find_links: Sequence[str] = (),
        *,
        cache: HttpCache | None,
        offline: bool = False,
        max_workers: int = 16,
        timeout: float = 30,
        retries: int = 3,
        retry_backoff: float = 0.5,
        netrc_path: Path | None = None,
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        locations = [_location_url(u) for u in (*index_urls, *find_links)]
        self._indexes = tuple(strip_credentials(u) for u in locations[: len(index_urls)])
        self._find_links = tuple(strip_credentials(u) for u in locations[len(index_urls) :])
        self._cache = cache
        self._fetcher = Fetcher(
            cache=cache,
            offline=offline,
            timeout=timeout,
            retry=RetryPolicy(tries=retries, backoff=retry_backoff),
            credentials=dict(c for c in map(url_credentials, locations) if c is not None),
            netrc_path=netrc_path,
            limits=limits,
        )
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="xbuild-index")
        self._pages: _Memo[NormalizedName, ProjectPage] = _Memo(self._pool)
        self._link_pages: _Memo[str, tuple[DistFile, ...]] = _Memo(self._pool)
        self._metadata: _Memo[str, bytes | None] = _Memo(self._pool)  # None: see metadata_without_download
        self._whole_metadata: _Memo[str, bytes] = _Memo(self._pool)
        # Fetched once per URL: page_validator() and project() both need the same response.
        self._fetched: _Memo[str, CachedPage] = _Memo(self._pool)

    def close(self, *, cancel: bool = False) -> None:
        """Wait for running fetches; with cancel (an error or Ctrl-C is unwinding) they stop at
        their next chunk instead, so a slow server cannot hold the exit up."""
        if cancel:
            self._fetcher.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        for memo in (self._pages, self._link_pages, self._metadata, self._whole_metadata, self._fetched):
            memo.abandon()
        self._fetcher.close()

    def __enter__(self) -> IndexClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close(cancel=exc is not None)

    # --- project pages ---------------------------------------------------------------------

    def project(self, name: str) -> ProjectPage:
        """Every file of `name` across indexes and find-links; InputError when none has it."""
        project = _project_name(name)
        return self._pages.get(project, lambda: self._load_project(project))

    def project_rows(self, name: str, keep: Keep) -> KeptRows:
        """project(name)'s files whose filename `keep` accepts, as rows: asked before any
        DistFile is built, neither memoised nor stored parsed, for a caller that keeps its own
        judged copy (plan.candidate_cache). The page itself is fetched once, as for project().

        With one remote index and no find-links, as most runs have, the page is read into rows
        directly; otherwise the files are merged as project() merges them."""
        project = _project_name(name)
        if len(self._indexes) == 1 and not self._find_links and not is_file_url(self._indexes[0]):
            index_url = self._indexes[0]
            try:
                rows = self._remote_index_rows(index_url, project, keep)
            except PageFormatError as exc:
                raise _unreadable_index(index_url, project, exc) from exc
            if rows is None:
                raise _not_found(project, self._indexes, self._find_links)
            return KeptRows((index_url,), first_of_each_name(rows, _row_filename))
        return KeptRows.of_files(self._load_project(project, keep).files)

    def prefetch(self, names: Iterable[str]) -> None:
        """Start fetching these pages in the background; errors surface from project()."""
        for name in names:
            with contextlib.suppress(InputError):
                project = _project_name(name)
                self._pages.submit(project, functools.partial(self._load_project, project))

    @property
    def cache_root(self) -> Path | None:
        """The disk cache's directory, where callers may keep what they derive from pages."""
        return self._cache.root if self._cache is not None else None

    def page_validator(self, name: str) -> str | None:
        """A digest that changes whenever project(name)'s files could, found without parsing
        (offline: from the stored page's header alone); None when it cannot be told cheaply
        (find-links, file:// indexes, no disk cache, or no index has the project)."""
        if self._cache is None or self._find_links or any(map(is_file_url, self._indexes)):
            return None
        project = _project_name(name)
        parts: list[object] = [PARSER_VERSION]
        for index_url in self._indexes:
            part = self._page_identity(project_url(index_url, project))
            if part is None:
                return None
            parts.append([index_url, *part])
        if all(part[2] != 200 for part in parts[1:] if isinstance(part, list)):
            return None  # project() reports the 404 itself
        return digest_bytes(json.dumps(parts).encode())["sha256"]

    def _page_identity(self, url: str) -> tuple[str, int, str, str] | None:
        """(final url, status, content type, body sha256) of the page project() would read."""
        assert self._cache is not None
        if self._fetcher.offline:
            header = self._cache.load_page_header(url)
            if header is None:
                return None
            final, status = header.get("url"), header.get("status")
            kind, body = header.get("content_type"), header.get("body_sha256")
            if not (isinstance(final, str) and isinstance(status, int)):
                return None
            if not (isinstance(kind, str) and isinstance(body, str)):
                return None
            return final, status, kind, body
        page = self._page(url)
        return page.url, page.status, page.content_type, page.body_sha256

    def _page(self, url: str) -> CachedPage:
        return self._fetched.get(url, lambda: self._fetcher.page(url))

    def _load_project(self, project: NormalizedName, keep: Keep | None = None) -> ProjectPage:
        listed = [(url, self._index_files(url, project, keep)) for url in self._indexes]
        found = [(url, files) for url, files in listed if files is not None]
        linked = [_kept(self._find_links_files(url, project), keep) for url in self._find_links]
        if not found and not any(linked):
            raise _not_found(project, self._indexes, self._find_links)
        sources = [*(files for _, files in found), *linked]
        first = found[0][0] if found else next(f[0].index_url for f in linked if f)
        return ProjectPage(project, merge_files(sources), first)

    def _index_files(
        self, index_url: str, project: NormalizedName, keep: Keep | None
    ) -> tuple[DistFile, ...] | None:
        """The index's files for the project, or None when it answers 404."""
        try:
            if is_file_url(index_url):
                local = local_index_files(file_url_path(index_url), project, index_url)
                return None if local is None else _kept(local, keep)
            return self._remote_index_files(index_url, project, keep)
        except PageFormatError as exc:
            raise _unreadable_index(index_url, project, exc) from exc

    def _remote_index_files(
        self, index_url: str, project: NormalizedName, keep: Keep | None
    ) -> tuple[DistFile, ...] | None:
        if keep is not None:
            rows = self._remote_index_rows(index_url, project, keep)
            return None if rows is None else tuple(from_row(row, index_url) for row in rows)
        url = project_url(index_url, project)
        page = self._page(url)
        files = self._parse(url, page, index_url, project) if page.status == 200 else None
        if files is not None:
            _refuse_local_links(((f.filename, f.url) for f in files), url)
        self._fetcher.store_page(url, page)
        return files

    def _remote_index_rows(self, index_url: str, project: NormalizedName, keep: Keep) -> list[FileRow] | None:
        """The index's kept files for the project as rows, or None when it answers 404."""
        url = project_url(index_url, project)
        page = self._page(url)
        rows: list[FileRow] | None = None
        if page.status == 200:
            rows = parse_page_rows(
                content_type=page.content_type, body=page.body, page_url=page.url, project=project, keep=keep
            )
            _refuse_local_links(((row[1], row[2]) for row in rows), url)
        self._fetcher.store_page(url, page)
        return rows

    def _parse(
        self, url: str, page: CachedPage, index_url: str, project: NormalizedName | None
    ) -> tuple[DistFile, ...]:
        """parse_page, or the files parsed before from the same body at the same URL.

        The client's memos already parse each page once per run; this spares the next run,
        which fetches the whole page again when the index sends no validators.
        """
        if self._cache is None:
            return _parse_page(page, index_url, project)
        key = ParseKey(
            page_sha256=page.body_sha256,
            content_type=page.content_type,
            page_url=page.url,
            index_url=index_url,
            project=project,
            parser=PARSER_VERSION,
        )
        files = self._cache.load_files(url, key)
        if files is None:
            files = _parse_page(page, index_url, project)
            self._cache.store_files(url, key, files)
        return files

    def _find_links_files(self, location: str, project: NormalizedName) -> tuple[DistFile, ...]:
        files = self._link_pages.get(location, lambda: self._load_find_links(location))
        return tuple(f for f in files if f.project == project)

    def _load_find_links(self, location: str) -> tuple[DistFile, ...]:
        """Every wheel/sdist a find-links source lists, for all projects at once."""
        try:
            if is_file_url(location) and file_url_path(location).is_dir():
                return directory_files(file_url_path(location), None, location)
            return self._find_links_page(location)
        except PageFormatError as exc:
            raise InputError(f"find-links {redact_url(location)} returned {exc}") from exc

    def _find_links_page(self, location: str) -> tuple[DistFile, ...]:
        if is_file_url(location):
            path = file_url_path(location)
            if not path.is_file():
                raise InputError(f"find-links location {path} does not exist")
            return _all_files(path.read_bytes(), "text/html", location, location)
        page = self._fetcher.page(location)
        if page.status != 200:
            raise InputError(f"find-links page {redact_url(location)} answered HTTP 404")
        files = self._parse(location, page, location, None)
        _refuse_local_links(((f.filename, f.url) for f in files), location)
        self._fetcher.store_page(location, page)
        return files

    # --- metadata --------------------------------------------------------------------------

    def metadata(self, file: DistFile) -> bytes:
        """Core metadata (METADATA or PKG-INFO bytes): PEP 658 file, else wheel byte ranges,
        else the whole file. PKG-INFO fields may be Dynamic; judging that is the caller's job."""
        key = _metadata_key(file)
        data = self._metadata.get(key, lambda: self._load_metadata(file))
        if data is None:  # a guess got there first and found no way short of the whole file
            return self._whole_metadata.get(key, lambda: self._load_metadata(file))
        return data

    def prefetch_metadata(self, files: Iterable[DistFile]) -> None:
        for file in files:
            self._metadata.submit(_metadata_key(file), functools.partial(self._load_metadata, file))

    def metadata_without_download(self, file: DistFile) -> bytes | None:
        """metadata(), or None where only downloading the whole file would tell: for guesses
        made ahead of the resolver. Both share one fetch per file; after a None, metadata()
        downloads the file itself."""
        return self._metadata.get(_metadata_key(file), lambda: self._load_metadata(file, whole=False))

    @overload
    def _load_metadata(self, file: DistFile) -> bytes: ...

    @overload
    def _load_metadata(self, file: DistFile, *, whole: bool) -> bytes | None: ...

    def _load_metadata(self, file: DistFile, *, whole: bool = True) -> bytes | None:
        sha256 = file.sha256
        if sha256 is not None and self._cache is not None:
            cached = self._cache.load_metadata(sha256)
            if cached is not None:
                return cached
        data = self._fetch_metadata(file) if whole else self._fetch_metadata_without_download(file)
        if data is not None and sha256 is not None and self._cache is not None:
            self._cache.store_metadata(sha256, data)
        return data

    def _fetch_metadata_without_download(self, file: DistFile) -> bytes | None:
        if is_file_url(file.url):
            return local_metadata(file_url_path(file.url), file.project, file.filename)
        if self._fetcher.offline:
            return None
        if file.metadata_hashes is not None:
            data = self._pep658_metadata(file)
            if data is not None:
                return data
        return self._ranged_metadata(file) if file.is_wheel else None

    def _fetch_metadata(self, file: DistFile) -> bytes:
        local = self._local_copy(file)
        if local is not None:
            return local_metadata(local, file.project, file.filename)
        if self._fetcher.offline:
            url = file.metadata_url if file.metadata_hashes is not None else file.url
            raise not_cached(url)
        if file.metadata_hashes is not None:
            data = self._pep658_metadata(file)
            if data is not None:
                return data
        if file.is_wheel:
            data = self._ranged_metadata(file)
            if data is not None:
                return data
        with self._whole_file(file) as path:
            return local_metadata(path, file.project, file.filename)

    def _local_copy(self, file: DistFile) -> Path | None:
        """The file itself when it is local or already in the cache."""
        if is_file_url(file.url):
            return file_url_path(file.url)
        if self._cache is not None and file.sha256 is not None:
            return self._cache.cached_file(file.sha256, file.filename)
        return None

    def _pep658_metadata(self, file: DistFile) -> bytes | None:
        data = self._fetcher.get_bytes(file.metadata_url)
        if data is None:
            logger.debug("%s offered but missing; trying the wheel", redact_url(file.metadata_url))
            return None
        expected = file.metadata_hashes or ()
        problem = mismatch(expected, digest_bytes(data, expected))
        if problem is not None:
            raise RefusedError(
                f"core metadata {redact_url(file.metadata_url)} does not match the index: {problem}",
                hint="the index or a proxy served altered metadata; report it to the index",
            )
        return data

    def _ranged_metadata(self, file: DistFile) -> bytes | None:
        try:
            return metadata_over_ranges(
                lambda spec: self._fetcher.get_range(file.url, spec), file.project, file.filename
            )
        except RangesUnsupported as exc:
            logger.debug("range requests for %s failed (%s)", redact_url(file.url), exc)
        except (zipfile.BadZipFile, KeyError, EOFError, ValueError) as exc:
            logger.debug("cannot read %s through ranges (%s)", redact_url(file.url), exc)
        return None

    @contextlib.contextmanager
    def _whole_file(self, file: DistFile) -> Iterator[Path]:
        """The verified file: in the cache when there is one, else in a temp dir for a while."""
        if self._cache is not None and file.sha256 is not None:
            yield self._cached_download(file, file.sha256)
            return
        with tempfile.TemporaryDirectory(prefix="xbuild-dist-") as scratch:
            yield self.download(file, Path(scratch))

    # --- downloads -------------------------------------------------------------------------

    def download(self, file: DistFile, dest_dir: Path) -> Path:
        """dest_dir/<filename>, verified against the index's hashes, written atomically;
        a wheel's METADATA must also match the core metadata this client planned with."""
        dest = dest_dir / file.filename
        if is_file_url(file.url):
            self._copy_verified(file_url_path(file.url), dest, file)
        elif self._cache is not None and file.sha256 is not None:
            link_or_copy(self._cached_download(file, file.sha256), dest)
        else:
            logger.debug("%s: no cache or no sha256; downloading directly", file.filename)
            self._download_verified(file, dest)
        self._check_planned_metadata(file, dest)
        return dest

    def _check_planned_metadata(self, file: DistFile, path: Path) -> None:
        """PEP 658 metadata is a separate file the index serves: it may differ from the wheel.
        The plan resolved dependencies from it, so a wheel that says otherwise is refused."""
        if not file.is_wheel:
            return
        planned = self._metadata.peek(_metadata_key(file))
        if planned is None and file.sha256 is not None and self._cache is not None:
            planned = self._cache.load_metadata(file.sha256)
        if planned is None:
            return
        differences = metadata_differences(planned, local_metadata(path, file.project, file.filename))
        if differences:
            path.unlink(missing_ok=True)
            raise RefusedError(
                f"{file.filename} from {redact_url(file.url)} does not match the core metadata the "
                f"index published for it: {'; '.join(differences)}",
                hint="the index serves metadata that its wheel does not carry; report it to the "
                "index, and do not use this file (nothing was kept)",
            )

    def _cached_download(self, file: DistFile, sha256: str) -> Path:
        assert self._cache is not None
        with self._cache.lock(f"file-{sha256}"):
            cached = self._cache.cached_file(sha256, file.filename)
            if cached is not None:
                return cached
            path = self._cache.file_path(sha256, file.filename)
            self._download_verified(file, path)
            return path

    def _download_verified(self, file: DistFile, final: Path) -> None:
        with atomic_output(final, make_parents=True) as temp:
            _verify(file, self._fetcher.download(file.url, temp, file.hashes))

    def _copy_verified(self, source: Path, final: Path, file: DistFile) -> None:
        if not source.is_file():
            raise InputError(f"{source} does not exist")
        with source.open("rb") as stream, atomic_output(final, make_parents=True) as temp:
            chunks = iter(lambda: stream.read(_CHUNK), b"")
            _verify(file, copy_hashing(chunks, temp, file.hashes))


# URLs that wire.check_url takes as they are, told apart without importing the socket half:
# printable ASCII, http(s) with a host name or a valid IPv4 address (any host of digits and dots
# is checked as one), or file:///.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_PLAIN_URL = re.compile(
    rf"(?:https?://(?:[\w.~%!$&'()*+,;=:-]*@)?"
    rf"(?:{_OCTET}(?:\.{_OCTET}){{3}}|(?![\d.]+(?:[:/?#]|$))[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.?)"
    r"(?::\d{1,5})?(?:[/?#][!-~]*)?|file:///(?!/)[!-~]*)",
    re.ASCII,
)


def _location_url(location: str) -> str:
    try:
        url = location_to_url(location)
        if len(url) > 2000 or not _PLAIN_URL.fullmatch(url):
            from .wire import check_url  # anything unusual: the parse a request would make

            check_url(url)  # the parse every request makes, done once up front
    except ValueError as exc:
        shown = "***@" + location.rsplit("@", 1)[1] if "@" in location else location
        raise UsageError(
            f"invalid index or find-links URL {shown[:200]!r}: {exc}",
            hint="give an http(s):// or file:// URL, or a local path",
        ) from exc
    return url


def _row_filename(row: FileRow) -> str:
    return row[1]


def _unreadable_index(index_url: str, project: str, exc: PageFormatError) -> InputError:
    detail = f": {exc.detail}" if exc.detail else ""
    return InputError(
        f"index {redact_url(index_url)} returned {exc.what} for project {project}{detail}",
        hint="check that the URL points at a PEP 503/691 simple index",
    )


def _refuse_local_links(links: Iterable[tuple[str, str]], page_url: str) -> None:
    """A remote page must not make xbuild read this machine's files (links: filename, URL)."""
    local = next(((name, url) for name, url in links if not is_remote_url(url)), None)
    if local is not None:
        raise RefusedError(
            f"remote page {redact_url(page_url)} links {local[0]} at {redact_url(local[1])}, "
            "which is not an http(s) URL",
            hint="file: links are accepted only from local indexes and find-links "
            "(a path or file:// URL given with -i or -f)",
        )


def _all_files(body: bytes, content_type: str, page_url: str, source: str) -> tuple[DistFile, ...]:
    return parse_page(content_type=content_type, body=body, page_url=page_url, index_url=source, project=None)


def _parse_page(page: CachedPage, index_url: str, project: NormalizedName | None) -> tuple[DistFile, ...]:
    return parse_page(
        content_type=page.content_type,
        body=page.body,
        page_url=page.url,
        index_url=index_url,
        project=project,
    )


def _kept(files: tuple[DistFile, ...], keep: Keep | None) -> tuple[DistFile, ...]:
    return files if keep is None else tuple(f for f in files if keep(f.filename))


def _verify(file: DistFile, digests: dict[str, str]) -> None:
    if not file.hashes:
        logger.debug("%s has no published hash; nothing to check", file.filename)
    problem = mismatch(file.hashes, digests)
    if problem is not None:
        raise RefusedError(
            f"{file.filename} from {redact_url(file.url)} does not match its published hash: {problem}",
            hint="the file was altered in transit or on the index; nothing was kept",
        )


def _metadata_key(file: DistFile) -> str:
    return file.sha256 or file.url


def _project_name(name: str) -> NormalizedName:
    try:
        return canonical_project(name)
    except InvalidName as exc:
        raise InputError(f"{name!r} is not a valid project name") from exc


class ProjectNotFound(InputError):
    """No index or find-links source has the project (HTTP 404/410): a resolver counts it as
    having no candidates; a caller that needs the project reports it as an input error."""


def _not_found(project: str, indexes: Sequence[str], find_links: Sequence[str]) -> ProjectNotFound:
    places = [f"index {redact_url(u)}" for u in indexes]
    places += [f"find-links {redact_url(u)}" for u in find_links]
    where = ", ".join(places) if places else "no index configured"
    return ProjectNotFound(f"project {project!r} was not found (HTTP 404) on {where}", hint=_NOT_FOUND_HINT)
