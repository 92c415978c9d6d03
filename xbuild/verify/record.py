"""The `record` check: RECORD lists every member with a strong digest and size that match."""

from __future__ import annotations

import csv
import posixpath
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from xbuild.verify.contents import Member
from xbuild.verify.model import Check, Finding, error, warning

STRONG_ALGORITHMS = frozenset(
    {"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b", "blake2s"}
)
WEAK_ALGORITHMS = frozenset({"md5", "sha1", "sha224"})
# Signatures cannot list their own digest, and RECORD cannot list its own.
UNHASHED = ("RECORD", "RECORD.jws", "RECORD.p7s")


@dataclass(frozen=True)
class RecordRow:
    line: int
    path: str
    algorithm: str  # "" when the row has no digest
    digest: str
    size: int | None


@dataclass(frozen=True)
class RecordFile:
    rows: tuple[RecordRow, ...]
    problems: tuple[str, ...] = ()  # lines that are not `path,algorithm=digest,size`


@lru_cache(maxsize=8)
def parse_record(data: bytes) -> RecordFile:
    """Parse RECORD; cached because the archive pass and the record check both need it."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return RecordFile((), ("RECORD is not UTF-8",))
    rows: list[RecordRow] = []
    problems: list[str] = []
    try:
        for number, fields in enumerate(csv.reader(text.splitlines()), start=1):
            if not fields:
                continue
            row = _row(number, fields)
            if isinstance(row, str):
                problems.append(row)
            else:
                rows.append(row)
    except csv.Error as exc:
        problems.append(f"RECORD is not valid CSV ({exc})")
    return RecordFile(tuple(rows), tuple(problems))


def _row(number: int, fields: list[str]) -> RecordRow | str:
    if len(fields) != 3:
        return f"line {number} has {len(fields)} fields instead of 3 (path,hash,size)"
    path, hash_field, size_field = fields
    algorithm, _, digest = hash_field.partition("=")
    size_text = size_field.strip()
    size = int(size_text) if size_text.isdigit() else None
    if size_text and size is None:
        return f"line {number} ({path}) has a size that is not a number: {size_field!r}"
    return RecordRow(number, path, algorithm.strip().lower(), digest.strip().rstrip("="), size)


def check_record(dist_info: str, record: bytes | None, members: Sequence[Member]) -> list[Finding]:
    """Compare RECORD (of the wheel's own dist-info) with the members as actually read."""
    record_name = f"{dist_info}/RECORD"
    if record is None:
        return [
            error(
                Check.RECORD,
                record_name,
                "RECORD is missing: installers cannot verify or "
                "uninstall this wheel; rebuild it with a standard build backend",
            )
        ]
    parsed = parse_record(record)
    findings = [error(Check.RECORD, record_name, f"{p}; rebuild the wheel") for p in parsed.problems]
    findings += _duplicates(record_name, parsed.rows)
    listed = {row.path: row for row in parsed.rows}
    unhashed = {f"{dist_info}/{name}" for name in UNHASHED}
    present = {m.name for m in members}
    for member in members:
        if member.name not in unhashed and not member.is_dir:
            findings += _member(member, listed.get(member.name))
    for row in parsed.rows:
        if row.path not in present and not row.path.endswith("/"):
            findings.append(
                error(
                    Check.RECORD,
                    row.path,
                    "listed in RECORD but missing from the "
                    "archive: the wheel was altered after it was built; rebuild it",
                )
            )
    return findings


def _duplicates(record_name: str, rows: tuple[RecordRow, ...]) -> list[Finding]:
    counts = Counter(row.path for row in rows)
    return [
        error(Check.RECORD, path, f"listed {n} times in RECORD; each file must appear once")
        for path, n in sorted(counts.items())
        if n > 1
    ]


def _member(member: Member, row: RecordRow | None) -> list[Finding]:
    if row is None:
        return [
            error(
                Check.RECORD,
                member.name,
                "not listed in RECORD: it was added after the "
                "wheel was built, or RECORD was not regenerated; rebuild the wheel",
            )
        ]
    if not row.algorithm or not row.digest:
        return [
            error(
                Check.RECORD,
                member.name,
                "listed in RECORD without a digest; every file needs a sha256 digest",
            )
        ]
    if row.algorithm in WEAK_ALGORITHMS:
        return [
            error(
                Check.RECORD,
                member.name,
                f"RECORD uses {row.algorithm}, which installers "
                "refuse as too weak; rebuild the wheel so RECORD uses sha256",
            )
        ]
    if row.algorithm not in STRONG_ALGORITHMS:
        return [
            error(
                Check.RECORD,
                member.name,
                f"RECORD names an unknown digest algorithm {row.algorithm!r}; use sha256",
            )
        ]
    if row.size is None:
        return [error(Check.RECORD, member.name, "listed in RECORD without a size")]
    if not member.read:
        return []  # unreadable members are already refused by the zip check
    return _compare(member, row)


def _compare(member: Member, row: RecordRow) -> list[Finding]:
    findings = []
    actual = dict(member.digests).get(row.algorithm)
    if actual != row.digest:
        findings.append(
            error(
                Check.RECORD,
                member.name,
                f"content does not match its {row.algorithm} "
                "digest in RECORD: the file was modified after the wheel was built; "
                "rebuild the wheel instead of editing it",
            )
        )
    if row.size != member.size:
        findings.append(
            error(
                Check.RECORD,
                member.name,
                f"is {member.size} bytes but RECORD says {row.size}; rebuild the wheel instead of editing it",
            )
        )
    return findings


def installed_name(root: str, path: str) -> tuple[str, bool] | None:
    """The tree member a RECORD row of an installed distribution names (its root prefixed), and
    whether the row points outside that root; None for an absolute path.

    pip --target records console scripts as ../../bin/x (relative to the staging lib directory it
    installs into) and then moves bin/ into the target, so an escaping row is looked for under
    the root with its leading `..` segments dropped.
    """
    if path.startswith("/") or path[1:2] == ":":
        return None
    parts = posixpath.normpath(path).split("/")
    escaped = parts[0] == ".."
    while parts and parts[0] == "..":
        parts.pop(0)
    if not parts or parts == ["."]:
        return None
    return root + "/".join(parts), escaped


def check_installed_record(
    dist_info: str, root: str, record: bytes | None, present: Mapping[str, Member]
) -> tuple[list[Finding], frozenset[str]]:
    """RECORD of an installed distribution against the tree; also returns the members it claims.

    Unlike a wheel's RECORD this one may list bytecode without a digest, bytecode that is gone
    (bundles strip it) and scripts that were never shipped; a file removed after install is a
    warning, a file changed after install an error.
    """
    record_name = f"{dist_info}/RECORD"
    if record is None:
        return [
            error(
                Check.RECORD,
                record_name,
                "RECORD is missing: the files of this distribution cannot be checked; reinstall it "
                "with pip, uv or `xbuild bundle`",
            )
        ], frozenset()
    parsed = parse_record(record)
    findings = [error(Check.RECORD, record_name, f"{p}; reinstall it") for p in parsed.problems]
    findings += _duplicates(record_name, parsed.rows)
    claimed: set[str] = set()
    for row in parsed.rows:
        resolved = installed_name(root, row.path)
        if resolved is None or row.path.endswith("/"):
            continue
        name, escaped = resolved
        member = present.get(name)
        if member is None:
            if not escaped and not _bytecode(name):
                findings.append(_removed(name))
            continue
        claimed.add(name)
        if name != record_name and not member.is_dir and not (_bytecode(name) and not row.digest):
            findings += _member(member, row)
    return findings, frozenset(claimed)


def _bytecode(name: str) -> bool:
    return name.endswith((".pyc", ".pyo"))


def _removed(name: str) -> Finding:
    return warning(
        Check.RECORD,
        name,
        "listed in RECORD but missing from the tree: removed after install (stripped on purpose, "
        "or an incomplete copy); an import of it will fail",
    )
