"""The one atomic write: a reader sees the old file or the whole new one, never half of it.

The temp file lives beside its final path, so os.replace never crosses file systems.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from xbuild.errors import InputError

log = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_output(final: Path, *, make_parents: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside `final`; on success it replaces `final`, on error it vanishes.

    A missing directory is an InputError (a user's output path), unless `make_parents` (caches).
    """
    parent = final.parent if str(final.parent) else Path(".")
    if make_parents:
        parent.mkdir(parents=True, exist_ok=True)
    elif not parent.is_dir():
        raise InputError(f"cannot write {final}: directory {parent} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".part", dir=parent)
    os.close(fd)
    tmp_path = Path(tmp)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; outputs get the usual mode
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def write_bytes_atomic(final: Path, data: bytes, *, make_parents: bool = False) -> None:
    with atomic_output(final, make_parents=make_parents) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(final: Path, text: str, *, make_parents: bool = False) -> None:
    write_bytes_atomic(final, text.encode("utf-8"), make_parents=make_parents)


def link_or_copy(source: Path, final: Path) -> None:
    """Hard-link `source` to `final` (copy when linking is impossible), atomically."""
    with atomic_output(final, make_parents=True) as temp:
        temp.unlink()
        try:
            os.link(source, temp)
        except OSError as exc:
            log.debug("hard link %s -> %s failed (%s); copying", source, final, exc)
            shutil.copyfile(source, temp)


def publish_dir(staging: Path, final: Path) -> bool:
    """Move a finished folder into place in one rename; False (staging removed) when a peer
    published `final` first, which then stays as it is."""
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staging, final)
    except OSError as exc:  # ENOTEMPTY/EEXIST: the same entry is already there
        log.debug("%s already published: %s", final, exc)
        shutil.rmtree(staging, ignore_errors=True)
        return False
    return True
