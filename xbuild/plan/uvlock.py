"""Read uv's `uv.lock` for one target: walk the dependency graph from the project root(s).

uv.lock is universal: it holds every package any platform might need, with the markers that
decide it on each dependency edge. Walking from the root with the target's marker environment
gives the packages this target installs, as `uv sync` would: the requested extras of the root,
and dependency groups (uv's `dev` included) only when named, since a bundle is a production
artifact. A virtual root (no build system) contributes only its dependencies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name

from xbuild.errors import InputError, UsageError
from xbuild.plan.lockfile import UNREADABLE, Lock, LockedFile, LockedPackage, file_url, filename_of
from xbuild.plan.pylock import load_toml

Entry = dict[str, Any]


@dataclass(frozen=True)
class _Edge:
    """One step of the walk: a package entry, with the extras asked of it and who asked."""

    index: int
    extras: frozenset[str]
    parent: str


def read_uv_lock(
    path: Path,
    environment: Mapping[str, str],
    *,
    extras: Iterable[str] = (),
    groups: Iterable[str] = (),
) -> Lock:
    """The packages a target with this marker environment installs from the lock."""
    data = load_toml(path)
    if not isinstance(data.get("package"), list) or "version" not in data:
        raise InputError(f"{path} is not a uv.lock (version and [[package]])", hint="write it with `uv lock`")
    try:
        entries: list[Entry] = data["package"]
        roots = _roots(data, entries, path)
        reached = _walk(entries, roots, environment, tuple(extras), tuple(groups), path)
        packages = tuple(
            _package(entries[i], parents, path.parent)
            for i, parents in sorted(reached.items(), key=lambda kv: entries[kv[0]]["name"])
            if not _source(entries[i]).get("virtual")
        )
        requires_python = SpecifierSet(data["requires-python"]) if data.get("requires-python") else None
    except UNREADABLE as exc:
        raise InputError(f"cannot read {path}: {exc!r}", hint="regenerate it with `uv lock`") from exc
    return Lock(
        path=path, created_by="uv", requires_python=requires_python, environments=(), packages=packages
    )


def _source(entry: Entry) -> dict[str, Any]:
    source = entry.get("source", {})
    return source if isinstance(source, dict) else {}


def _roots(data: Entry, entries: list[Entry], path: Path) -> list[int]:
    """The workspace members (uv's [manifest]), else the project at the lock's own directory."""
    members = {canonicalize_name(m) for m in data.get("manifest", {}).get("members", [])}
    roots = [
        i
        for i, e in enumerate(entries)
        if (
            canonicalize_name(e["name"]) in members
            if members
            else _source(e).get("virtual") == "." or _source(e).get("editable") == "."
        )
    ]
    if not roots:
        raise InputError(
            f"{path}: no project root (a package with source virtual or editable '.')",
            hint="lock a project with `uv lock` in its directory",
        )
    return roots


def _walk(
    entries: list[Entry],
    roots: list[int],
    environment: Mapping[str, str],
    extras: tuple[str, ...],
    groups: tuple[str, ...],
    path: Path,
) -> dict[int, list[str]]:
    """Each reachable package entry with the names of the packages that required it."""
    env = {**environment, "extra": ""}
    by_name: dict[NormalizedName, list[int]] = {}
    for i, e in enumerate(entries):
        by_name.setdefault(canonicalize_name(e["name"]), []).append(i)
    reached: dict[int, list[str]] = {}
    seen: set[tuple[int, frozenset[str]]] = set()
    todo: list[_Edge] = []
    for root in roots:
        todo.append(_Edge(root, _root_extras(entries[root], extras, path), "lock file"))
        for dep in _root_groups(entries[root], groups, path):
            todo.extend(_edges(dep, entries, by_name, env, entries[root]["name"]))
    while todo:
        edge = todo.pop()
        reached.setdefault(edge.index, [])
        if edge.parent not in reached[edge.index]:
            reached[edge.index].append(edge.parent)
        if (edge.index, edge.extras) in seen:
            continue
        seen.add((edge.index, edge.extras))
        entry = entries[edge.index]
        deps = list(entry.get("dependencies", []))
        optional = entry.get("optional-dependencies", {})
        for extra in edge.extras:
            deps.extend(optional.get(extra, []))
        who = f"{entry['name']} {entry.get('version', '')}".strip()
        for dep in deps:
            todo.extend(_edges(dep, entries, by_name, env, who))
    return reached


def _root_extras(root: Entry, extras: tuple[str, ...], path: Path) -> frozenset[str]:
    known = {canonicalize_name(k): k for k in root.get("optional-dependencies", {})}
    known.update({canonicalize_name(k): k for k in root.get("metadata", {}).get("provides-extras", [])})
    missing = [e for e in extras if canonicalize_name(e) not in known]
    if missing:
        raise UsageError(
            f"{path}: {root['name']} has no extra {', '.join(map(repr, missing))}",
            hint=f"extras: {', '.join(sorted(known.values())) or 'none'}",
        )
    return frozenset(known[canonicalize_name(e)] for e in extras)


def _root_groups(root: Entry, groups: tuple[str, ...], path: Path) -> list[Entry]:
    table = root.get("dev-dependencies", {})
    known = {canonicalize_name(k): k for k in table}
    deps: list[Entry] = []
    for group in groups:
        key = known.get(canonicalize_name(group))
        if key is None:
            raise UsageError(
                f"{path}: {root['name']} has no dependency group {group!r}",
                hint=f"groups: {', '.join(sorted(table)) or 'none'}",
            )
        deps.extend(table[key])
    return deps


def _edges(
    dep: Entry,
    entries: list[Entry],
    by_name: dict[NormalizedName, list[int]],
    env: Mapping[str, str],
    parent: str,
) -> list[_Edge]:
    marker = dep.get("marker")
    if marker and not Marker(marker).evaluate(env):
        return []
    index = _target_of(dep, entries, by_name)
    return [_Edge(index, frozenset(dep.get("extra", [])), parent)]


def _target_of(dep: Entry, entries: list[Entry], by_name: dict[NormalizedName, list[int]]) -> int:
    """A dependency names a package; uv adds version and source when one name has several entries."""
    found = by_name.get(canonicalize_name(dep["name"]), [])
    if "version" in dep:
        found = [i for i in found if entries[i].get("version") == dep["version"]]
    if "source" in dep:
        found = [i for i in found if _source(entries[i]) == dep["source"]]
    if len(found) != 1:
        raise ValueError(f"dependency {dep} matches {len(found)} packages")
    return found[0]


def _package(entry: Entry, parents: list[str], base: Path) -> LockedPackage:
    source = _source(entry)
    local = source.get("editable") or source.get("directory")
    archive = file_url(source.get("url"), source.get("path"), base)
    registry = source.get("registry")
    # A local registry (a find-links directory) lists its files relative to itself.
    files_base = base / registry if registry and "://" not in registry else base
    return LockedPackage(
        name=canonicalize_name(entry["name"], validate=True),
        version=entry.get("version"),
        index=registry if registry and "://" in registry else None,
        wheels=tuple(_file(w, files_base, archive) for w in entry.get("wheels", [])),
        sdist=_file(entry["sdist"], files_base, archive) if "sdist" in entry else None,
        directory=(base / local).resolve() if local else None,
        vcs=source.get("git"),
        requested_by=tuple(parents),
    )


def _file(entry: Entry, base: Path, archive: str | None) -> LockedFile:
    # A `path` or `url` source stores its archive's location on the source, not on the file.
    url = file_url(entry.get("url"), entry.get("path"), base) or archive
    if url is None:
        raise ValueError(f"a file entry has neither url nor path: {entry}")
    algo, _, digest = str(entry.get("hash", "")).partition(":")
    return LockedFile(
        filename=entry.get("filename") or filename_of(url),
        url=url,
        hashes=((algo.lower(), digest.lower()),) if digest else (),
        size=entry.get("size"),
    )
