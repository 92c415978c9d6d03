"""The I/O edge for a directory of installed distributions (`pip install --target`, a bundle
directory): the same single pass as archive.py does over a zip, over files on disk.

Links are never followed: a symbolic link becomes a member the `path` check refuses, as it does
in a zip, so verify never reads outside the directory it was given.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from xbuild.errors import InputError
from xbuild.verify import schedule
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
    roots = site_roots(e.name for e in entries)
    metadata = metadata_pattern(roots)
    findings = [_undecodable(e.name) for e in entries if e.name != e.real]
    texts: dict[str, bytes] = {}
    for entry in entries:
        if entry.name.endswith("/RECORD") and metadata.match(entry.name) and stat.S_ISREG(entry.st.st_mode):
            _, data = _read(path, entry, (), limits, True, findings)
            if data is not None:
                texts[entry.name] = data
    algorithms = wanted_digests(texts, installed=True)

    def read(indexes: list[int]) -> list[Member]:
        done = []
        for i in indexes:
            entry = entries[i]
            text = metadata.match(entry.name) is not None and entry.name not in texts
            member, data = _read(path, entry, algorithms.get(entry.name, ()), limits, text, findings)
            if text and data is not None:
                texts[entry.name] = data
            done.append(member)
        return done

    runs = split_runs(list(range(len(entries))), [e.st.st_size for e in entries], workers)
    parts: list[list[Member]] = [[] for _ in runs]

    def read_run(number: int) -> None:
        parts[number] = read(runs[number])

    schedule.run_tasks([partial(read_run, n) for n in range(len(runs))], len(runs))
    members = [m for part in parts for m in part]
    return Archive(
        path=path,
        members=tuple(members),
        texts=texts,
        findings=tuple(findings),
        complete=all(m.read for m in members if stat.S_ISREG(m.mode)),
        roots=roots,
    )


@dataclass(frozen=True)
class _Entry:
    name: str  # the member name findings use: posix, relative, always valid text
    real: str  # the name on disk, which may hold undecodable bytes (surrogate escapes)
    st: os.stat_result


def _walk(top: Path) -> list[_Entry]:
    """Every non-directory under `top` (lstat), sorted by name; links are not followed."""
    found: list[_Entry] = []

    def fail(exc: OSError) -> None:
        raise exc

    for here, dirs, files in os.walk(top, onerror=fail, followlinks=False):
        rel = Path(here).relative_to(top).as_posix()
        prefix = "" if rel == "." else rel + "/"
        for entry in (*dirs, *files):
            st = os.lstat(os.path.join(here, entry))
            if not stat.S_ISDIR(st.st_mode):
                real = prefix + entry
                found.append(_Entry(os.fsencode(real).decode("utf-8", "replace"), real, st))
    return sorted(found, key=lambda e: e.name)


def _undecodable(name: str) -> Finding:
    return error(
        Check.PATH,
        name,
        "has a file name that is not valid UTF-8 (shown with \ufffd): zip tools, Lambda and "
        "importers disagree on such names; rename it",
    )


def _read(
    top: Path,
    entry: _Entry,
    algorithms: tuple[str, ...],
    limits: Limits,
    text: bool,
    findings: list[Finding],
) -> tuple[Member, bytes | None]:
    name, st = entry.name, entry.st
    base = Member(name=name, declared_size=st.st_size, mode=st.st_mode, is_dir=False, encrypted=False)
    if not stat.S_ISREG(st.st_mode):
        return base, None  # links and devices: refused by the path check, never opened
    try:
        with open(top / entry.real, "rb") as stream:
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
