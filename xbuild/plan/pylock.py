"""Read a PEP 751 `pylock.toml` from any producer (uv, pip, PDM, xbuild) into lock values."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from xbuild.errors import InputError
from xbuild.index.models import normalize_hashes
from xbuild.plan.lockfile import UNREADABLE, Lock, LockedFile, LockedPackage, file_url, filename_of


def read_pylock(path: Path) -> Lock:
    data = load_toml(path)
    if str(data.get("lock-version", "")).split(".")[0] != "1" or not isinstance(data.get("packages"), list):
        raise InputError(
            f"{path} is not a PEP 751 lock (lock-version 1.x with [[packages]])",
            hint="write one with `uv export --format pylock.toml` or `pip lock`",
        )
    try:
        packages = tuple(_package(p, path.parent) for p in data["packages"])
        xbuild = data.get("tool", {}).get("xbuild", {})
        target = xbuild.get("target") or {}
        return Lock(
            path=path,
            created_by=str(data.get("created-by", "")),
            requires_python=_specifier(data.get("requires-python")),
            environments=tuple(Marker(m) for m in data.get("environments", [])),
            packages=packages,
            default_groups=tuple(data.get("default-groups", [])),
            target_spec=target.get("spec") or None,
            target_python=target.get("python_version") or None,
            source_policy=xbuild.get("source-policy"),
        )
    except UNREADABLE as exc:
        raise InputError(f"cannot read lock {path}: {exc!r}", hint="is it a valid PEP 751 file?") from exc


def load_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read lock file {path}: {exc}") from exc


def _specifier(text: object) -> SpecifierSet | None:
    return SpecifierSet(str(text)) if text else None


def _package(p: dict[str, Any], base: Path) -> LockedPackage:
    name = canonicalize_name(p["name"], validate=True)
    tool = p.get("tool", {}).get("xbuild", {})
    wheels = tuple(_file(w, base) for w in p.get("wheels", []))
    sdist = _file(p["sdist"], base) if "sdist" in p else None
    if "archive" in p:  # a direct URL to a wheel or an sdist
        archive = _file(p["archive"], base)
        if archive.filename.endswith(".whl"):
            wheels = (*wheels, archive)
        else:
            sdist = sdist or archive
    directory = (base / p["directory"]["path"]).resolve() if "directory" in p else None
    vcs = p["vcs"].get("url") or p["vcs"].get("path") if "vcs" in p else None
    return LockedPackage(
        name=name,
        version=str(p["version"]) if "version" in p else None,
        marker=Marker(p["marker"]) if p.get("marker") else None,
        requires_python=_specifier(p.get("requires-python")),
        index=p.get("index"),
        wheels=wheels,
        sdist=sdist,
        directory=directory,
        vcs=vcs,
        reason=tool.get("reason"),
        action=tool.get("action"),
    )


def _file(entry: dict[str, Any], base: Path) -> LockedFile:
    url = file_url(entry.get("url"), entry.get("path"), base)
    if url is None:
        raise ValueError(f"a file entry has neither url nor path: {entry}")
    return LockedFile(
        filename=entry.get("name") or filename_of(url),
        url=url,
        hashes=normalize_hashes(entry.get("hashes", {})),
        size=entry.get("size"),
    )
