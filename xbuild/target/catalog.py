"""Named targets, read from `targets/*.toml` (rules as data, not code)."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xbuild.errors import InputError

_NAME = re.compile(r"^[a-z0-9][a-z0-9._\-]*$")
_KEYS = {"name", "description", "platform", "python", "image", "runtime", "tags"}


@dataclass(frozen=True, kw_only=True)
class NamedTarget:
    name: str
    description: str
    platform: str  # any spelling parse_target accepts except another name
    python: str
    image: str | None
    source: Path


@dataclass(frozen=True)
class Catalog:
    entries: tuple[NamedTarget, ...]

    def get(self, name: str) -> NamedTarget | None:
        return next((e for e in self.entries if e.name == name), None)

    def names(self) -> list[str]:
        return [e.name for e in self.entries]


def targets_dir() -> Path:
    """`XBUILD_TARGETS_DIR`, else the data shipped in the package (a link to the repo's targets/)."""
    override = os.environ.get("XBUILD_TARGETS_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent.parent / "data" / "targets"


@cache
def load_catalog(directory: Path | None = None) -> Catalog:
    root = directory or targets_dir()
    entries: list[NamedTarget] = []
    for path in sorted(root.glob("*.toml")):
        entries.extend(_load_file(path))
    names = [e.name for e in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"duplicate target names in {root}: {', '.join(dupes)}")
    return Catalog(tuple(entries))


def _load_file(path: Path) -> list[NamedTarget]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read target file {path}: {exc}") from exc
    raw = data.get("target", [])
    if not isinstance(raw, list):
        raise InputError(f"{path}: expected [[target]] tables")
    return [_entry(path, i, item) for i, item in enumerate(raw)]


def _entry(path: Path, index: int, item: object) -> NamedTarget:
    where = f"{path}: target #{index + 1}"
    if not isinstance(item, dict):
        raise InputError(f"{where}: not a table")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise InputError(
            f"{where}: unknown keys {', '.join(unknown)}",
            hint=f"valid keys: {', '.join(sorted(_KEYS))}",
        )
    for key in ("name", "platform", "python"):
        if not isinstance(item.get(key), str):
            raise InputError(f"{where}: `{key}` must be a string")
    if not _NAME.match(item["name"]):
        raise InputError(f"{where}: invalid name {item['name']!r}")
    return NamedTarget(
        name=item["name"],
        description=str(item.get("description", "")),
        platform=item["platform"],
        python=item["python"],
        image=item.get("image"),
        source=path,
    )
