"""A lock file read into plain values: what `pylock.toml` and `uv.lock` have in common.

Readers (`pylock.py`, `uvlock.py`) turn their format into these values; `locked.py` turns them
into a Plan for one target. Nothing here reads files or knows a target.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName

from xbuild.index.models import Hashes

UV_LOCK = "uv.lock"

# What reading a lock of the wrong shape raises, in either format: the reader turns it into one
# InputError naming the file.
UNREADABLE = (KeyError, TypeError, ValueError, AttributeError, InvalidMarker, InvalidSpecifier, InvalidName)


@dataclass(frozen=True, kw_only=True)
class LockedFile:
    """One wheel or sdist as the lock records it: where it is and what it must hash to."""

    filename: str
    url: str  # https://... or file:///... (a lock's relative `path` is made absolute on reading)
    hashes: Hashes = ()
    size: int | None = None

    @property
    def sha256(self) -> str | None:
        return next((value for algo, value in self.hashes if algo == "sha256"), None)


@dataclass(frozen=True, kw_only=True)
class LockedPackage:
    name: NormalizedName
    version: str | None  # a local directory or VCS checkout may have none
    marker: Marker | None = None  # None: always installed (uv.lock's markers are judged on reading)
    requires_python: SpecifierSet | None = None
    index: str | None = None
    wheels: tuple[LockedFile, ...] = ()
    sdist: LockedFile | None = None
    directory: Path | None = None  # a local source tree, built like any local project
    vcs: str | None = None  # a VCS URL: not planned (xbuild builds from files, not checkouts)
    reason: str | None = None  # xbuild's own locks record why; others do not
    action: str | None = None  # xbuild's own locks: "wheel" or "build", as planned
    requested_by: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Lock:
    path: Path
    created_by: str
    requires_python: SpecifierSet | None
    environments: tuple[Marker, ...]
    packages: tuple[LockedPackage, ...]
    default_groups: tuple[str, ...] = ()
    # xbuild's own locks record the target and policy they were planned for (tool.xbuild).
    target_spec: str | None = None
    target_python: str | None = None
    source_policy: str | None = None


def is_lock_file(path: Path) -> bool:
    """PEP 751 names (`pylock.toml`, `pylock.<name>.toml`) and uv's `uv.lock`."""
    name = path.name
    if name in (UV_LOCK, "pylock.toml"):
        return True
    middle = name.removeprefix("pylock.").removesuffix(".toml")
    return name.startswith("pylock.") and name.endswith(".toml") and bool(middle) and "." not in middle


def file_url(url: str | None, path: str | None, base: Path) -> str | None:
    """A lock entry's location as a URL; a `path` is relative to the lock file's directory."""
    if url:
        return url
    if path:
        return (base / path).resolve().as_uri()
    return None


def filename_of(url: str) -> str:
    return unquote(urlparse(url).path.rstrip("/").rsplit("/", 1)[-1])
