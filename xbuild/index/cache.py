"""The on-disk HTTP cache: revalidated pages, plus files and metadata keyed by sha256.

Layout under the root::

    pages/ab/<sha256 of url>         framed: project pages with ETag/Last-Modified
    metadata/ab/<file sha256>        framed: core metadata, immutable
    files/ab/<file sha256>/<name>    distributions, immutable
    locks/<key>.lock                 one filelock per key, so two processes never race a write

Every write is atomic (temp file beside the target + os.replace). A framed entry records the
sha256 of its body, so a damaged entry is detected, logged and treated as a miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs
from filelock import FileLock, Timeout

from ..errors import EngineError
from ._fs import write_bytes_atomic
from .hashing import sha256_file

logger = logging.getLogger(__name__)

_MAGIC = b"xbuild-cache-1\n"
_LOCK_TIMEOUT = 600.0  # a stuck peer should surface as an error, not hang a build forever


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    """XBUILD_CACHE_DIR when set, else the platform's user cache directory."""
    override = environ.get("XBUILD_CACHE_DIR", "").strip()
    return Path(override) if override else Path(platformdirs.user_cache_dir("xbuild"))


@dataclass(frozen=True, kw_only=True)
class CachedPage:
    """A page response as stored. status 404 entries exist only so --offline can answer."""

    url: str  # final URL after redirects, the base for relative links
    status: int
    content_type: str
    etag: str | None
    last_modified: str | None
    body: bytes


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

    def store_page(self, url: str, page: CachedPage) -> None:
        header = {k: v for k, v in asdict(page).items() if k != "body"}
        self._store_framed(f"page-{_url_key(url)}", self._page_path(url), header, page.body)

    # --- metadata ------------------------------------------------------------------------

    def load_metadata(self, sha256: str) -> bytes | None:
        framed = self._load_framed(self._metadata_path(sha256))
        return None if framed is None else framed[1]

    def store_metadata(self, sha256: str, data: bytes) -> None:
        self._store_framed(f"metadata-{sha256}", self._metadata_path(sha256), {}, data)

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

    def _metadata_path(self, sha256: str) -> Path:
        return self.root / "metadata" / sha256[:2] / sha256

    def _store_framed(self, key: str, path: Path, header: Mapping[str, object], body: bytes) -> None:
        """Best effort: pages and metadata can always be fetched again, so a cache that cannot
        be written (read-only, disk full) costs speed, not the run."""
        full = {**header, "body_sha256": _sha256(body)}
        line = json.dumps(full, sort_keys=True).encode()
        try:
            with self.lock(key):
                write_bytes_atomic(path, _MAGIC + line + b"\n" + body)
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


def _page_from_header(header: dict[str, object], body: bytes) -> CachedPage | None:
    url, status, content_type = header.get("url"), header.get("status"), header.get("content_type")
    etag, last_modified = header.get("etag"), header.get("last_modified")
    if not (isinstance(url, str) and isinstance(status, int) and isinstance(content_type, str)):
        return None
    if not all(v is None or isinstance(v, str) for v in (etag, last_modified)):
        return None
    return CachedPage(
        url=url,
        status=status,
        content_type=content_type,
        etag=etag if isinstance(etag, str) else None,
        last_modified=last_modified if isinstance(last_modified, str) else None,
        body=body,
    )


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
