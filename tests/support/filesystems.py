"""Read-only and full file systems for tests: a small tmpfs when running as root, else modes."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _mount_tmpfs(path: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    command = ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)]
    done = subprocess.run(command, check=False, capture_output=True)
    return done.returncode == 0


@contextlib.contextmanager
def read_only_dir(path: Path) -> Iterator[Path]:
    """`path` as a directory nobody can write into: a read-only tmpfs, or mode 0555."""
    path.mkdir(parents=True, exist_ok=True)
    if _mount_tmpfs(path, "ro,size=64k"):
        try:
            yield path
        finally:
            subprocess.run(["umount", str(path)], check=True)
        return
    path.chmod(0o555)
    try:
        if os.access(path, os.W_OK):
            pytest.skip("cannot make a read-only directory here (root without mount)")
        yield path
    finally:
        path.chmod(0o755)


@contextlib.contextmanager
def full_dir(path: Path, size: str = "64k") -> Iterator[Path]:
    """`path` as a tiny tmpfs that fills up at once (ENOSPC); needs root."""
    path.mkdir(parents=True, exist_ok=True)
    if not _mount_tmpfs(path, f"size={size}"):
        pytest.skip("a full file system needs root to mount a tiny tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)
