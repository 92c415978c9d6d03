"""Probe results cached on disk, keyed by what would change them, written atomically."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

log = logging.getLogger("xbuild.host")


def cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """`XBUILD_CACHE_DIR`, else the platform's user cache directory for xbuild."""
    env = os.environ if environ is None else environ
    override = env.get("XBUILD_CACHE_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_cache_dir("xbuild"))


def probe_key(path: Path, script: str) -> str | None:
    """Key for one interpreter's probe; None when the file cannot be stat'ed.

    (realpath, size, mtime) changes when the binary is replaced. The path as invoked is part of
    the key too: a venv's python is a symlink to the base binary, yet reports a different prefix.
    The script's digest invalidates every entry when the probe itself changes. A wrapper script
    is keyed by itself, not by the binary it execs: replacing only that binary needs a cache clear.
    """
    try:
        real = path.resolve()
        st = real.stat()
    except OSError:
        return None
    material = json.dumps(
        [
            str(path.absolute()),
            str(real),
            st.st_size,
            st.st_mtime_ns,
            hashlib.sha256(script.encode()).hexdigest(),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


class ProbeCache:
    """One JSON file per key under `<cache dir>/probe/`; any I/O problem is a cache miss."""

    def __init__(self, root: Path) -> None:
        self.root = root / "probe"

    def get(self, key: str) -> str | None:
        try:
            return (self.root / f"{key}.json").read_text(encoding="utf-8")
        except OSError:
            return None

    def put(self, key: str, text: str) -> None:
        # A read-only or full cache only costs a re-probe next time; it must not fail the command.
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{key}.", suffix=".part", dir=self.root)
        except OSError as exc:
            log.debug("cannot write probe cache %s: %s", self.root, exc)
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.root / f"{key}.json")
        except OSError as exc:
            log.debug("cannot write probe cache %s: %s", self.root, exc)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
