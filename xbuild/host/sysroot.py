"""The glibc version of an interpreter that cannot run here, read from the root file system it sits in.

A Python copied out of an image (`docker export`, a Yocto or Buildroot sysroot) usually has its
root's C library a few directories up: the loader it names in PT_INTERP, and beside it libc.so.6,
which carries the banner "GNU C Library (...) stable release version 2.36." as plain text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

_GLIBC_BANNER = re.compile(rb"GNU C Library [^\n\0]*?release version (\d+)\.(\d+)")
_MAX_LIBC_SIZE = 32 * 1024 * 1024
_MAX_LINKS = 16
_LIBC_GLOBS = (
    "lib/*/libc.so.6",
    "usr/lib/*/libc.so.6",
    "lib64/libc.so.6",
    "usr/lib64/libc.so.6",
    "lib/libc.so.6",
    "usr/lib/libc.so.6",
)


def find_root(interpreter: Path, loader: str) -> Path | None:
    """The nearest directory above `interpreter` that contains the loader at its PT_INTERP path."""
    relative = loader.lstrip("/")
    for root in interpreter.absolute().parents:
        if resolve_in_root(root, relative) is not None:
            return root
    return None


def resolve_in_root(root: Path, relative: str) -> Path | None:
    """Follow symlinks as if `root` were `/`: absolute targets (common in Debian) stay inside it."""
    current = relative
    for _ in range(_MAX_LINKS):
        candidate = root / current
        if not candidate.is_symlink():
            return candidate if candidate.is_file() else None
        target = os.readlink(candidate)
        current = (
            target.lstrip("/")
            if target.startswith("/")
            else os.path.normpath(os.path.join(os.path.dirname(current), target))
        )
        if current.startswith(".."):
            return None
    return None


def glibc_version_in_root(root: Path, loader: str) -> tuple[tuple[int, int], Path] | None:
    """(version, libc file) from the libc.so.6 beside the loader or in the usual library dirs."""
    resolved = resolve_in_root(root, loader.lstrip("/"))
    candidates = [resolved.parent / "libc.so.6"] if resolved is not None else []
    for pattern in _LIBC_GLOBS:
        candidates.extend(sorted(root.glob(pattern)))
    for candidate in candidates:
        inside = resolve_in_root(root, str(candidate.relative_to(root)))
        version = _banner_version(inside) if inside is not None else None
        if version is not None and inside is not None:
            return version, inside
    return None


def _banner_version(path: Path) -> tuple[int, int] | None:
    try:
        if path.stat().st_size > _MAX_LIBC_SIZE:
            return None
        match = _GLIBC_BANNER.search(path.read_bytes())
    except OSError:
        return None
    return (int(match.group(1)), int(match.group(2))) if match else None
