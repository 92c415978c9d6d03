"""The I/O edge for a directory of installed distributions (`pip install --target`, a bundle
directory): the same single pass as archive.py does over a zip, over files on disk.

Links are never followed: a symbolic link becomes a member the `path` check refuses, as it does
in a zip, so verify never reads outside the directory it was given.
"""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xbuild.errors import InputError
from xbuild.verify.archive import (
    LimitExceeded,
    metadata_pattern,
    parse_member,
    read_stream,
    split_runs,
    wanted_digests,
)
from xbuild.verify.contents import Archive, Member
from xbuild.verify.layout import site_roots
from xbuild.verify.model import Check, Finding, Limits, error


def read_tree(path: Path, limits: Limits, *, workers: int = 1) -> Archive:
    """Read every file under `path`; raises InputError only when `path` cannot be listed."""
    try:
        entries = _walk(path)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    if len(entries) > limits.max_members:
        message = (
            f"has {len(entries)} files, more than the limit of {limits.max_members}; refusing to "
            "read it (raise Limits.max_members if this tree is genuine)"
        )
        return Archive(path=path, members=(), findings=(error(Check.ZIP, "", message),), complete=False)
    roots = site_roots(name for name, _ in entries)
    metadata = metadata_pattern(roots)
    findings: list[Finding] = []
    texts: dict[str, bytes] = {}
    for name, st in entries:
        if name.endswith("/RECORD") and metadata.match(name) and stat.S_ISREG(st.st_mode):
            _, data = _read(path, name, st, (), limits, True, findings)
            if data is not None:
                texts[name] = data
    algorithms = wanted_digests(texts, installed=True)

    def read(indexes: list[int]) -> list[Member]:
        done = []
        for i in indexes:
            name, st = entries[i]
            text = metadata.match(name) is not None and name not in texts
            member, data = _read(path, name, st, algorithms.get(name, ()), limits, text, findings)
            if text and data is not None:
                texts[name] = data
            done.append(member)
        return done

    runs = split_runs(list(range(len(entries))), [st.st_size for _, st in entries], workers)
    if len(runs) == 1:
        members = read(runs[0])
    else:
        with ThreadPoolExecutor(max_workers=len(runs), thread_name_prefix="xbuild-tree") as pool:
            members = [m for part in pool.map(read, runs) for m in part]
    return Archive(
        path=path,
        members=tuple(members),
        texts=texts,
        findings=tuple(findings),
        complete=all(m.read for m in members if stat.S_ISREG(m.mode)),
        roots=roots,
    )


def _walk(top: Path) -> list[tuple[str, os.stat_result]]:
    """(posix name relative to `top`, lstat) of every non-directory, sorted; links not followed."""
    found: list[tuple[str, os.stat_result]] = []

    def fail(exc: OSError) -> None:
        raise exc

    for here, dirs, files in os.walk(top, onerror=fail, followlinks=False):
        rel = Path(here).relative_to(top).as_posix()
        prefix = "" if rel == "." else rel + "/"
        for entry in (*dirs, *files):
            st = os.lstat(os.path.join(here, entry))
            if not stat.S_ISDIR(st.st_mode):
                found.append((prefix + entry, st))
    return sorted(found, key=lambda e: e[0])


def _read(
    top: Path,
    name: str,
    st: os.stat_result,
    algorithms: tuple[str, ...],
    limits: Limits,
    text: bool,
    findings: list[Finding],
) -> tuple[Member, bytes | None]:
    base = Member(name=name, declared_size=st.st_size, mode=st.st_mode, is_dir=False, encrypted=False)
    if not stat.S_ISREG(st.st_mode):
        return base, None  # links and devices: refused by the path check, never opened
    try:
        with open(top / name, "rb") as stream:
            member, data = read_stream(stream, base, algorithms, limits, text=text)
    except LimitExceeded as exc:
        findings.append(error(Check.ZIP, name, f"{exc}; not read further (raise the Limits)"))
        return base, None
    except OSError as exc:
        findings.append(error(Check.ZIP, name, f"cannot be read ({exc.strerror or exc})"))
        return base, None
    if text and data is None:
        findings.append(error(Check.ZIP, name, "is larger than the metadata limit; not parsed"))
    parsed, problem = parse_member(member, data, limits)
    if problem:
        findings.append(error(Check.ZIP, name, problem))
    return parsed, data if text else None
