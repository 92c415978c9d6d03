"""The on-disk HTTP cache: revalidated pages, plus files and metadata keyed by sha256.

Layout under the root::

    pages/ab/<sha256 of url>         framed: project pages with ETag/Last-Modified
    pages/ab/<sha256 of url>.files   framed: the files parsed from that page, with what they
                                     were parsed from (body sha256, URLs, parser version)
    metadata/ab/<file sha256>        framed: core metadata, immutable
    files/ab/<file sha256>/<name>    distributions, immutable
    locks/<key>.lock                 one filelock per download, so two processes do not fetch it twice

Every write is atomic (temp file beside the target + os.replace). A framed entry records the
sha256 of its body, so a damaged entry is detected, logged and treated as a miss.

The parsed files let a run skip parsing a page whose body has not changed, which matters most
for indexes that send no ETag or Last-Modified: their pages are fetched in full every run. A
plan keeps its own judged copy instead (plan/candidate_cache.py) and writes no `.files` entry.
A page fetched again is compared with its entry byte for byte (`holds_page`), not re-hashed.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import EngineError
from ..util.atomic import atomic_output
from .hashing import sha256_file
from .models import DistFile, Hashes

logger = logging.getLogger(__name__)

_MAGIC = b"xbuild-cache-1\n"
_LOCK_TIMEOUT = 600.0  # a stuck peer should surface as an error, not hang a build forever


@dataclass(frozen=True, kw_only=True)
class CachedPage:
    """A page response as stored. status 404 entries exist only so --offline can answer."""

    url: str  # final URL after redirects, the base for relative links
    status: int
    content_type: str
    etag: str | None
    last_modified: str | None
    body: bytes

    @property
    def body_sha256(self) -> str:
        """Hashed once per page: the page validator, the parse key and the stored entry share it.
        Kept in the instance's __dict__ by hand: functools.cached_property takes one lock for
        every instance before Python 3.12, which would make threads hash pages one at a time."""
        digest = self.__dict__.get("_body_sha256")
        if not isinstance(digest, str):
            digest = self.__dict__["_body_sha256"] = _sha256(self.body)
        return digest


@dataclass(frozen=True, kw_only=True)
class ParseKey:
    """Everything a page's file list depends on: the body, where it came from, the parser."""

    page_sha256: str
    content_type: str
    page_url: str  # the final URL, which relative links resolve against
    index_url: str
    project: str | None  # None: a find-links page, files of every project
    parser: str  # changes whenever parsing could give a different answer


class HttpCache:
    """Disk cache shared by every IndexClient (and process) using the same root."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # --- pages ---------------------------------------------------------------------------

    def load_page(self, url: str) -> CachedPage | None:
        framed = self._load_framed(self._page_path(url))
        if framed is None:
            return None
        page = _page_from_header(*framed)
        if page is None:
            logger.warning("cache entry for %s has a damaged header; treating it as a miss", url)
        return page

    def load_page_header(self, url: str) -> dict[str, object] | None:
        """The stored page's header (url, status, content_type, body_sha256, ...) without reading
        or checking its body: enough to tell which body is stored, for caches derived from it."""
        try:
            with self._page_path(url).open("rb") as stream:
                magic, line = stream.readline(), stream.readline()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("cannot read cache entry for %s (%s); treating it as a miss", url, exc)
            return None
        if magic != _MAGIC:
            return None
        try:
            header = json.loads(line)
        except (UnicodeDecodeError, json.JSONDecodeError):
            return None
        return header if isinstance(header, dict) else None

    def store_page(self, url: str, page: CachedPage) -> None:
        path = self._page_path(url)
        self._store_framed(path, _page_header(page), page.body, page.body_sha256)

    def holds_page(self, url: str, page: CachedPage) -> bool:
        """Whether the entry for `url` is byte for byte what store_page(page) would write: a
        page fetched again unchanged is then neither hashed twice nor written again, and a
        damaged entry never passes for it."""
        prefix = _page_prefix(page)
        path = self._page_path(url)
        try:
            if path.stat().st_size != len(prefix) + len(page.body):
                return False
            raw = path.read_bytes()
        except OSError:
            return False
        return raw.startswith(prefix) and raw.endswith(page.body) and len(raw) == len(prefix) + len(page.body)

    def load_files(self, url: str, key: ParseKey) -> tuple[DistFile, ...] | None:
        """The files parsed from the page at `url`, if they were parsed from exactly `key`."""
        framed = self._load_framed(self._files_path(url))
        if framed is None or framed[0].get("key") != asdict(key):
            return None
        files = _files_from_json(framed[1], key.index_url)
        if files is None:
            logger.warning("parsed files for %s are damaged; parsing the page again", url)
        return files

    def store_files(self, url: str, key: ParseKey, files: tuple[DistFile, ...]) -> None:
        path = self._files_path(url)
        self._store_framed(path, {"key": asdict(key)}, _files_to_json(files))

    # --- metadata ------------------------------------------------------------------------

    def load_metadata(self, sha256: str) -> bytes | None:
        framed = self._load_framed(self._metadata_path(sha256))
        return None if framed is None else framed[1]

    def store_metadata(self, sha256: str, data: bytes) -> None:
        self._store_framed(self._metadata_path(sha256), {}, data)

    # --- files ---------------------------------------------------------------------------

    def file_path(self, sha256: str, filename: str) -> Path:
        """Where a distribution with this hash lives; write it only under lock(file-<sha256>)."""
        return self.root / "files" / sha256[:2] / sha256 / filename

    def cached_file(self, sha256: str, filename: str) -> Path | None:
        """The cached file if present and intact; a damaged copy is removed and reported missing."""
        path = self.file_path(sha256, filename)
        if not path.is_file():
            return None
        try:
            intact = sha256_file(path) == sha256
            if not intact:
                logger.warning("cached %s does not match its sha256; discarding it", path)
                path.unlink()
        except OSError as exc:
            logger.warning("cannot read cached %s (%s); treating it as a miss", path, exc)
            return None
        return path if intact else None

    @contextlib.contextmanager
    def lock(self, key: str) -> Iterator[None]:
        """Exclusive across threads and processes; EngineError if a peer holds it too long."""
        from filelock import FileLock, Timeout  # 80 ms of imports (4.x), for runs that download

        path = self.root / "locks" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = FileLock(path, timeout=_LOCK_TIMEOUT)
        try:
            lock.acquire()
        except Timeout as exc:
            raise EngineError(
                f"cache lock {path} stayed busy for {_LOCK_TIMEOUT:.0f} s",
                hint="another xbuild process is using this cache; wait for it or set XBUILD_CACHE_DIR",
            ) from exc
        try:
            yield
        finally:
            lock.release()

    # --- framing -------------------------------------------------------------------------

    def _page_path(self, url: str) -> Path:
        key = _url_key(url)
        return self.root / "pages" / key[:2] / key

    def _files_path(self, url: str) -> Path:
        page = self._page_path(url)
        return page.with_name(f"{page.name}.files")

    def _metadata_path(self, sha256: str) -> Path:
        return self.root / "metadata" / sha256[:2] / sha256

    def _store_framed(
        self, path: Path, header: Mapping[str, object], body: bytes, body_sha256: str | None = None
    ) -> None:
        """Best effort: pages and metadata can always be fetched again, so a cache that cannot
        be written (read-only, disk full) costs speed, not the run.

        No lock: two writers of one entry each rename a whole file into place, so a reader sees
        one complete entry or the other, and both are valid. (filelock alone takes 80 ms to
        import in its 4.x releases, on the path of every cold plan.)"""
        prefix = _frame_prefix(header, body_sha256 or _sha256(body))
        try:
            with atomic_output(path, make_parents=True) as temp, temp.open("wb") as out:
                out.write(prefix)  # not prefix + body: a page body is megabytes, not worth a copy
                out.write(body)
        except OSError as exc:
            logger.warning("cannot write cache entry %s (%s); continuing without it", path, exc)

    def _load_framed(self, path: Path) -> tuple[dict[str, object], bytes] | None:
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            logger.warning("cannot read cache entry %s (%s); treating it as a miss", path, exc)
            return None
        framed = _unframe(raw)
        if framed is None:
            logger.warning("cache entry %s is damaged; treating it as a miss", path)
        return framed


def _frame_prefix(header: Mapping[str, object], body_sha256: str) -> bytes:
    """What precedes the body in an entry: the magic line and the header, with the body's digest."""
    line = json.dumps({**header, "body_sha256": body_sha256}, sort_keys=True).encode()
    return _MAGIC + line + b"\n"


def _page_header(page: CachedPage) -> dict[str, object]:
    return {k: v for k, v in asdict(page).items() if k != "body"}


def _page_prefix(page: CachedPage) -> bytes:
    return _frame_prefix(_page_header(page), page.body_sha256)


def _page_from_header(header: dict[str, object], body: bytes) -> CachedPage | None:
    url, status, content_type = header.get("url"), header.get("status"), header.get("content_type")
    etag, last_modified = header.get("etag"), header.get("last_modified")
    if not (isinstance(url, str) and isinstance(status, int) and isinstance(content_type, str)):
        return None
    if not all(v is None or isinstance(v, str) for v in (etag, last_modified)):
        return None
    page = CachedPage(
        url=url,
        status=status,
        content_type=content_type,
        etag=etag if isinstance(etag, str) else None,
        last_modified=last_modified if isinstance(last_modified, str) else None,
        body=body,
    )
    page.__dict__["_body_sha256"] = header["body_sha256"]  # _unframe checked it against the body
    return page


# Parsed files as JSON columns, one list per DistFile field, each checked by the set of the
# types in it, so that 50k files load in a fraction of what parsing them takes. Hashes are flat
# lists (algorithm, digest, ...); index_url is the ParseKey's.
_NONE: type = type(None)
_COLUMNS: dict[str, frozenset[type]] = {
    "project": frozenset((str,)),
    "filename": frozenset((str,)),
    "url": frozenset((str,)),
    "hashes": frozenset((list,)),
    "requires_python": frozenset((str, _NONE)),
    "yanked": frozenset((str, _NONE)),
    "metadata_hashes": frozenset((list, _NONE)),
    "size": frozenset((int, _NONE)),
}


def _files_to_json(files: tuple[DistFile, ...]) -> bytes:
    columns = {name: [getattr(f, name) for f in files] for name in _COLUMNS}
    columns["hashes"] = [_flat(f.hashes) for f in files]
    columns["metadata_hashes"] = [_flat(f.metadata_hashes) for f in files]
    return json.dumps(columns, separators=(",", ":")).encode()


def _files_from_json(data: bytes, index_url: str) -> tuple[DistFile, ...] | None:
    try:
        columns = json.loads(data)
        if not isinstance(columns, dict) or not isinstance(columns.get("url"), list):
            return None
        count = len(columns["url"])
        project, filename, url, requires_python, yanked, size = (
            _column(columns, name, count)
            for name in ("project", "filename", "url", "requires_python", "yanked", "size")
        )
        hashes = _hash_column(_column(columns, "hashes", count))
        metadata = _hash_column(_column(columns, "metadata_hashes", count))
    except (UnicodeDecodeError, ValueError):
        return None
    return tuple(
        DistFile(
            project=row[0],
            filename=row[1],
            url=row[2],
            hashes=row[3] or (),
            requires_python=row[4],
            yanked=row[5],
            metadata_hashes=row[6],
            size=row[7],
            index_url=index_url,
        )
        for row in zip(project, filename, url, hashes, requires_python, yanked, metadata, size, strict=True)
    )


def _column(columns: dict[str, Any], name: str, count: int) -> list[Any]:
    column = columns.get(name)
    if not isinstance(column, list) or len(column) != count or not set(map(type, column)) <= _COLUMNS[name]:
        raise ValueError(f"the {name} column is damaged")
    return column


def _hash_column(column: list[Any]) -> list[Hashes | None]:
    flats = [flat for flat in column if flat is not None]
    if any(n % 2 for n in set(map(len, flats))) or not set(map(type, itertools.chain(*flats))) <= {str}:
        raise ValueError("a hashes column is damaged")
    return [None if flat is None else _pairs(flat) for flat in column]


def _pairs(flat: list[str]) -> Hashes:
    if len(flat) == 2:  # one sha256, as nearly every file has: twice as fast as the general case
        return ((flat[0], flat[1]),)
    return tuple(zip(flat[::2], flat[1::2], strict=True))


def _flat(hashes: Hashes | None) -> list[str] | None:
    return None if hashes is None else [text for pair in hashes for text in pair]


def _url_key(url: str) -> str:
    return _sha256(url.encode())


def _unframe(raw: bytes) -> tuple[dict[str, object], bytes] | None:
    if not raw.startswith(_MAGIC):
        return None
    line, sep, body = raw[len(_MAGIC) :].partition(b"\n")
    try:
        header = json.loads(line) if sep else None
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not isinstance(header, dict) or header.get("body_sha256") != _sha256(body):
        return None
    return header, body


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
