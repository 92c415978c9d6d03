"""Atomic file writes: a temp file in the target's directory, then os.replace."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

logger = logging.getLogger(__name__)


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temp path beside `final`; on success it replaces `final`, on error it is removed.

    Same directory so os.replace never crosses file systems and readers never see partial files.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    temp = Path(name)
    try:
        yield temp
        os.replace(temp, final)
    finally:
        temp.unlink(missing_ok=True)


def write_bytes_atomic(final: Path, data: bytes) -> None:
    with atomic_path(final) as temp:
        temp.write_bytes(data)


def link_or_copy(source: Path, final: Path) -> None:
    """Hard-link `source` to `final` (copy when linking is impossible), atomically."""
    with atomic_path(final) as temp:
        temp.unlink()
        try:
            os.link(source, temp)
        except OSError as exc:
            logger.debug("hard link %s -> %s failed (%s); copying", source, final, exc)
            shutil.copyfile(source, temp)
