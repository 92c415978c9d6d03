"""Reproducible zips: sorted entries, fixed timestamps, normalized permissions, atomic write."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

from xbuild.util.atomic import atomic_output

ZIP_EPOCH = 315532800  # 1980-01-01, the earliest timestamp a zip can store
_EXECUTABLE_MAGIC = (b"\x7fELF", b"#!")


def zip_timestamp(environ: dict[str, str] | None = None) -> tuple[int, int, int, int, int, int]:
    env = os.environ if environ is None else environ
    try:
        epoch = max(int(env.get("SOURCE_DATE_EPOCH", ZIP_EPOCH)), ZIP_EPOCH)
    except ValueError:
        epoch = ZIP_EPOCH
    t = time.gmtime(epoch)
    return (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec - t.tm_sec % 2)


def _is_executable(path: Path) -> bool:
    """0755 for shared objects and anything that execs; 0644 for the rest, whatever the host umask."""
    if ".so" in path.suffixes or path.suffix in (".so", ".dylib") or os.access(path, os.X_OK):
        return True
    with path.open("rb") as handle:
        return handle.read(4).startswith(_EXECUTABLE_MAGIC)


def files_in(root: Path) -> list[Path]:
    return sorted(
        (p for p in root.rglob("*") if p.is_file() and not p.is_symlink()),
        key=lambda p: p.relative_to(root).as_posix(),
    )


def write_zip(root: Path, out: Path, environ: dict[str, str] | None = None) -> None:
    """Zip `root` into `out` byte-reproducibly; `out` appears whole or not at all."""
    stamp = zip_timestamp(environ)
    with atomic_output(out) as tmp, zipfile.ZipFile(tmp, "w") as zf:
        for path in files_in(root):
            info = zipfile.ZipInfo(path.relative_to(root).as_posix(), date_time=stamp)
            mode = 0o755 if _is_executable(path) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.create_system = 3  # unix, so the permissions above are honoured by unzip
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)
