"""Checks for installed distributions: a Lambda function or layer zip, a `pip install --target`
or `uv pip install --target` directory, an `xbuild bundle` output.

Each `*.dist-info`'s RECORD is compared with the files, every binary gets the same per-binary
checks as in a wheel (held to the tags in its distribution's WHEEL, and to the target), and files
that no RECORD claims are listed as warnings: handler code is expected to be among them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email.message import Message
from email.parser import HeaderParser

from packaging.tags import Tag, parse_tag
from packaging.version import InvalidVersion, Version

from xbuild.target import Target
from xbuild.verify.checks import Context, check_member, for_tags, sort_findings, tree_context
from xbuild.verify.contents import Archive, Member
from xbuild.verify.layout import check_names, root_of, split_dist_dir
from xbuild.verify.metadata import WheelName, check_tags
from xbuild.verify.model import Check, Finding, warning
from xbuild.verify.record import check_installed_record

_DIST_INFO = re.compile(r"^(.*?)([^/]+\.dist-info)/")
_SITE_VERSION = re.compile(r"/python(\d+)\.(\d+)/site-packages/$")
# Lambda's LD_LIBRARY_PATH holds /var/task and /var/task/lib (a function zip's top and its lib/)
# and /opt/lib (a layer zip's lib/).
LAMBDA_LIBRARY_DIRS = ("", "lib/")


@dataclass(frozen=True)
class Distribution:
    """One installed distribution, as its dist-info directory describes it."""

    dist_info: str  # member prefix, e.g. "python/markupsafe-3.0.2.dist-info"
    root: str  # the import root holding it ("" or ending in "/")
    name: WheelName | None  # project, version and the WHEEL's Tag lines; None when unreadable

    @property
    def label(self) -> str:
        if self.name is not None:
            return f"{self.name.project} {self.name.version}"
        return self.dist_info.rsplit("/", 1)[-1].removesuffix(".dist-info")


def evaluate_installed(
    archive: Archive, target: Target | None
) -> tuple[list[Finding], tuple[Distribution, ...]]:
    """All findings for one installed tree (errors first), and the distributions found in it."""
    findings = list(archive.findings)
    if not archive.readable:
        return findings, ()
    members = archive.members
    present = {m.name: m for m in members if not m.is_dir}
    dists = find_distributions(present, archive.texts, archive.roots)
    findings += check_names(members)
    # A dist-info directory's own files belong to it, listed in its RECORD or not.
    owner = _metadata_owners(dists, present)
    for dist in dists:
        found, claimed = check_installed_record(
            dist.dist_info, dist.root, archive.texts.get(f"{dist.dist_info}/RECORD"), present
        )
        findings += found
        for name in claimed:
            owner.setdefault(name, dist)
        if target is not None and dist.name is not None:
            where = f"{dist.dist_info}/WHEEL"
            findings += [replace(f, member=where) for f in check_tags(dist.name, target)]
    findings += unclaimed(sorted(n for n in present if n not in owner and n != BUNDLE_MARKER), archive.roots)
    findings += _roots_for_target(archive.roots, target)
    findings += _binaries(members, owner, target)
    return sort_findings(findings), dists


def _metadata_owners(dists: Sequence[Distribution], present: Mapping[str, Member]) -> dict[str, Distribution]:
    by_dir = {d.dist_info: d for d in dists}
    owners = {}
    for name in present:
        match = _DIST_INFO.match(name)
        dist = by_dir.get(match.group(1) + match.group(2)) if match else None
        if dist is not None:
            owners[name] = dist
    return owners


def find_distributions(
    present: Mapping[str, Member], texts: Mapping[str, bytes], roots: Sequence[str]
) -> tuple[Distribution, ...]:
    """Every dist-info directory directly under an import root."""
    found: dict[str, Distribution] = {}
    for name in present:
        match = _DIST_INFO.match(name)
        if match is None or match.group(1) not in roots:
            continue
        dist_info = match.group(1) + match.group(2)
        if dist_info not in found:
            found[dist_info] = Distribution(
                dist_info=dist_info, root=match.group(1), name=_wheel_name(dist_info, texts)
            )
    return tuple(found[k] for k in sorted(found))


def _wheel_name(dist_info: str, texts: Mapping[str, bytes]) -> WheelName | None:
    """Name and version from METADATA (else the directory name), tags from WHEEL."""
    metadata = _headers(texts.get(f"{dist_info}/METADATA"))
    wheel = _headers(texts.get(f"{dist_info}/WHEEL"))
    parts = split_dist_dir(dist_info.rsplit("/", 1)[-1])
    project = (metadata and metadata.get("Name")) or (parts[0] if parts else None)
    version_text = (metadata and metadata.get("Version")) or (parts[1] if parts else None)
    tags: set[Tag] = set()
    for line in (wheel and wheel.get_all("Tag")) or []:
        try:
            tags |= parse_tag(line.strip())
        except ValueError:
            continue  # a malformed WHEEL holds its dist to the target alone
    if project is None or version_text is None or not tags:
        return None
    try:
        version = Version(version_text.strip())
    except InvalidVersion:
        return None
    return WheelName(project.strip(), version, frozenset(tags))


def _headers(data: bytes | None) -> Message | None:
    if data is None:
        return None
    try:
        return HeaderParser().parsestr(data.decode("utf-8"))
    except UnicodeDecodeError:
        return None


# `xbuild bundle --layout dir` marks the directories it made (so it may replace them); not user code.
BUNDLE_MARKER = ".xbuild-bundle"


def unclaimed(names: Sequence[str], roots: Sequence[str]) -> list[Finding]:
    """One warning per top-level entry (under its import root) holding files no RECORD lists.
    Bytecode of such a source (`__pycache__/x.cpython-312.pyc` beside `x.py`) counts with it."""
    groups: dict[str, int] = {}
    present = set(names)
    for name in names:
        if _source_of(name) in present:
            continue
        root = root_of(name, roots) or ""
        first, sep, _ = name[len(root) :].partition("/")
        key = root + first + sep
        groups[key] = groups.get(key, 0) + 1
    return [
        warning(
            Check.RECORD,
            key,
            f"{_files(count, key)} no installed distribution's RECORD lists: your own code "
            "(--include'd handler code is expected here), or files added or copied in after "
            "install, which nothing checks",
        )
        for key, count in sorted(groups.items())
    ]


def _source_of(name: str) -> str | None:
    """`pkg/__pycache__/mod.cpython-312.pyc` -> `pkg/mod.py` (PEP 3147), else None."""
    folder, _, file = name.rpartition("/")
    if not file.endswith(".pyc") or folder.rpartition("/")[2] != "__pycache__":
        return None
    parent = folder.rpartition("/")[0]
    stem = file.split(".", 1)[0]
    return f"{parent}/{stem}.py" if parent else f"{stem}.py"


def _files(count: int, key: str) -> str:
    if key.endswith("/"):
        return f"holds {count} file{'s' if count != 1 else ''}"
    return "is a file"


def _roots_for_target(roots: Sequence[str], target: Target | None) -> list[Finding]:
    """A layer's python/lib/pythonX.Y/site-packages is only on sys.path of Python X.Y."""
    findings = []
    for root in roots:
        match = _SITE_VERSION.search("/" + root)
        if target is None or match is None:
            continue
        version = (int(match.group(1)), int(match.group(2)))
        if version != target.python_version:
            findings.append(
                warning(
                    Check.PATH,
                    root,
                    f"is on sys.path only for Python {version[0]}.{version[1]}, but the target "
                    f"runs Python {target.python}: nothing in it will be imported there",
                )
            )
    return findings


def _binaries(
    members: Sequence[Member], owner: Mapping[str, Distribution], target: Target | None
) -> list[Finding]:
    base = tree_context(tuple(members), target, library_dirs=LAMBDA_LIBRARY_DIRS)
    contexts: dict[str | None, Context] = {None: for_tags(base, None)}
    findings: list[Finding] = []
    for member in members:
        dist = owner.get(member.name)
        key = dist.dist_info if dist is not None else None
        if key not in contexts:
            contexts[key] = for_tags(base, dist.name if dist is not None else None)
        findings += check_member(member, contexts[key])
    return findings
