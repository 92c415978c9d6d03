"""Which vendored ELF libraries the dynamic loader finds, modelled on glibc's ld.so.

A library vendored in the wheel is only useful if the loader can reach it. The search for a
DT_NEEDED of object L is, in glibc's order: an object already loaded under that name; the
DT_RPATH of L and then of each object up the chain that loaded L (only while L has no
DT_RUNPATH); L's own DT_RUNPATH. auditwheel relies on the chain: it sets DT_RPATH on extension
modules and none on the libraries it grafts, whose own dependencies are then found through the
extension's RPATH. Loading is breadth-first, so a root's direct dependencies are all loaded
before any of theirs are searched for.
"""

from __future__ import annotations

import posixpath
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from xbuild.binary import ElfInfo
from xbuild.verify.policy import is_loader


@dataclass(frozen=True)
class Unreachable:
    """`needer` names `soname`, which the wheel vendors, but no load order makes the loader find it."""

    needer: str  # installed path
    soname: str


def unreachable_vendored(elves: Mapping[str, ElfInfo], vendored: Collection[str]) -> list[Unreachable]:
    """Pairs (L, X) where X names a file the wheel ships (`vendored`: basenames) and no closure
    that loads L finds it. `elves` maps installed path -> ElfInfo for every ELF in the wheel."""
    needed_by_others = {n for info in elves.values() for n in info.needed}
    roots = [p for p in elves if posixpath.basename(p) not in needed_by_others] or list(elves)
    found: set[tuple[str, str]] = set()
    missed: set[tuple[str, str]] = set()
    for root in sorted(roots):
        _closure(root, elves, vendored, found, missed)
    return [Unreachable(n, s) for n, s in sorted(missed - found)]


def _closure(
    root: str,
    elves: Mapping[str, ElfInfo],
    vendored: Collection[str],
    found: set[tuple[str, str]],
    missed: set[tuple[str, str]],
) -> None:
    own = elves[root].soname
    loaded = {posixpath.basename(root), *([own] if own else [])}
    queue: deque[tuple[str, tuple[str, ...]]] = deque([(root, ())])
    visited = {root}
    while queue:
        path, loaders = queue.popleft()
        for soname in elves[path].needed:
            if soname not in vendored or is_loader(soname):
                continue  # system libraries are the allow-list's business
            if soname in loaded:
                found.add((path, soname))
                continue
            target = _search(soname, path, loaders, elves)
            if target is None:
                missed.add((path, soname))
                continue
            found.add((path, soname))
            loaded.add(soname)
            if target in elves and target not in visited:
                visited.add(target)
                queue.append((target, (path, *loaders)))


def _search(soname: str, path: str, loaders: tuple[str, ...], elves: Mapping[str, ElfInfo]) -> str | None:
    info = elves[path]
    dirs: list[str] = []
    if not info.runpath:
        for holder in (path, *loaders):
            held = elves[holder]
            if not held.runpath:  # an object with DT_RUNPATH has its DT_RPATH ignored
                dirs += _expand(held.rpath, holder)
    dirs += _expand(info.runpath, path)
    for directory in dirs:
        candidate = posixpath.normpath(posixpath.join(directory, soname))
        if candidate in elves:
            return candidate
    return None


def _expand(entries: tuple[str, ...], holder: str) -> list[str]:
    origin = posixpath.dirname(holder)
    out = []
    for entry in (part for raw in entries for part in raw.split(":")):
        if "$ORIGIN" in entry or "${ORIGIN}" in entry:
            out.append(entry.replace("${ORIGIN}", origin).replace("$ORIGIN", origin))
    return out
