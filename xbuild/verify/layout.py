"""Where things live in a wheel: its dist-info and data directories, and the `path` check."""

from __future__ import annotations

import re
import stat
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from xbuild.verify.contents import Member
from xbuild.verify.model import Check, Finding, error, warning

DATA_SCHEMES = frozenset({"purelib", "platlib", "headers", "scripts", "data"})
# Top-level packages that many projects ship by mistake and that then overwrite each other.
_COMMON_COLLISIONS = frozenset({"tests", "test", "docs", "doc", "examples", "benchmarks"})
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class WheelDirs:
    """The wheel's own metadata directories, as found among the member names."""

    dist_info: str | None  # "pkg-1.0.dist-info", None when the wheel has none that fits
    data_dir: str | None  # "pkg-1.0.data"
    other_dist_infos: tuple[str, ...]


def split_dist_dir(dirname: str) -> tuple[str, str] | None:
    """`foo_bar-1.0.dist-info` -> ("foo_bar", "1.0"); None when it is not name-version.suffix."""
    stem = dirname.rsplit(".", 1)[0]
    name, sep, version = stem.rpartition("-")
    return (name, version) if sep and name and version else None


def find_layout(names: Iterable[str], project: str | None, version: str | None) -> WheelDirs:
    """Pick the dist-info that belongs to the wheel's own name and version (from its filename)."""
    tops = sorted(
        {n.split("/", 1)[0] for n in names if "/" in n and n.split("/", 1)[0].endswith(".dist-info")}
    )
    own = next((d for d in tops if _belongs(d, project, version)), None)
    if own is None and project is None and len(tops) == 1:
        own = tops[0]  # without a valid filename, a lone dist-info is the best guess
    data_dir = None if own is None else own[: -len(".dist-info")] + ".data"
    return WheelDirs(own, data_dir, tuple(d for d in tops if d != own))


def _belongs(dirname: str, project: str | None, version: str | None) -> bool:
    parts = split_dist_dir(dirname)
    if parts is None or project is None or version is None:
        return False
    return canonicalize_name(parts[0]) == canonicalize_name(project) and _same_version(parts[1], version)


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def installed_path(name: str, layout: WheelDirs) -> str | None:
    """Where a member lands relative to site-packages; None for scripts, headers and data files."""
    if layout.data_dir is not None and name.startswith(layout.data_dir + "/"):
        rest = name[len(layout.data_dir) + 1 :]
        scheme, _, inner = rest.partition("/")
        return inner if scheme in ("purelib", "platlib") else None
    return name


def check_paths(entries: Sequence[Member], layout: WheelDirs) -> list[Finding]:
    findings = check_names(entries)
    for entry in entries:
        findings += _tree_problems(entry.name, layout)
    findings += _collisions([e.name for e in entries])
    return findings


def check_names(entries: Sequence[Member]) -> list[Finding]:
    """The `path` rules any archive or tree must meet, wheel or installed: safe, unique names of
    regular files."""
    findings: list[Finding] = []
    for entry in entries:
        findings += _name_problems(entry.name)
        findings += _kind_problems(entry)
    findings += _duplicates([e.name for e in entries])
    return findings


# Where an installed tree keeps its distributions: at the top (a function zip, `pip install
# --target`), under python/ (a Lambda layer) or python/lib/pythonX.Y/site-packages/ (a layer
# for one runtime). Lambda puts /opt/python and that site-packages on sys.path.
_SITE = re.compile(r"^((?:python/(?:lib/python\d+\.\d+/site-packages/)?)?)[^/]+\.dist-info/")
_LAYER_SITE = re.compile(r"^python/lib/python\d+\.\d+/site-packages/")


def site_roots(names: Iterable[str]) -> tuple[str, ...]:
    """The import roots of an installed tree ("" or a prefix ending in `/`), longest first.

    Roots are where `*.dist-info` directories are; a tree without any (its metadata stripped)
    is rooted at the layer site-packages directories, else at python/ when everything is under
    it, else at the top.
    """
    listed = list(names)
    roots = {m.group(1) for n in listed if (m := _SITE.match(n))}
    if not roots:
        roots = {m.group(0) for n in listed if (m := _LAYER_SITE.match(n))}
    if not roots:
        layer = bool(listed) and all(n.startswith("python/") for n in listed)
        roots = {"python/" if layer else ""}
    return tuple(sorted(roots, key=lambda r: (-len(r), r)))


def root_of(name: str, roots: Sequence[str]) -> str | None:
    """The import root a member is under (roots longest first); None when it is under none."""
    return next((r for r in roots if name.startswith(r)), None)


def _name_problems(name: str) -> list[Finding]:
    def refuse(what: str) -> list[Finding]:
        return [
            error(
                Check.PATH,
                name,
                f"{what}; an installer would write outside site-packages "
                "or refuse the wheel: rebuild it with a standard build backend",
            )
        ]

    if not name or name.startswith("/"):
        return refuse("is an absolute path")
    if _DRIVE.match(name):
        return refuse("starts with a drive letter")
    if "\\" in name:
        return refuse("contains a backslash (member names use `/`)")
    if _CONTROL.search(name):
        return refuse("contains a control character")
    segments = name.rstrip("/").split("/")
    if ".." in segments:
        return refuse("contains a `..` segment")
    if "." in segments or "" in segments:
        return refuse("is not a normalized path (`.` or empty segment)")
    return []


def _kind_problems(entry: Member) -> list[Finding]:
    mode = entry.mode
    if stat.S_ISLNK(mode):
        return [
            error(
                Check.PATH,
                entry.name,
                "is a symbolic link; installers do not create links "
                "and a link can point outside the install tree: ship the file itself",
            )
        ]
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) or stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode):
        return [
            error(
                Check.PATH,
                entry.name,
                "is a device, FIFO or socket entry; a wheel may only hold regular files",
            )
        ]
    return []


def _tree_problems(name: str, layout: WheelDirs) -> list[Finding]:
    top, _, rest = name.partition("/")
    if top.endswith(".dist-info") and rest:
        if top == layout.dist_info:
            return []
        return [
            error(
                Check.PATH,
                name,
                f"belongs to another distribution's metadata ({top}); "
                "installing it would overwrite that distribution: remove it from the wheel",
            )
        ]
    if top.endswith(".data") and rest:
        scheme = rest.split("/", 1)[0]
        if top != layout.data_dir:
            return [
                error(
                    Check.PATH,
                    name,
                    f"is in a data directory ({top}) that does not match "
                    f"the wheel ({layout.data_dir or 'no dist-info found'})",
                )
            ]
        if scheme not in DATA_SCHEMES:
            return [
                error(
                    Check.PATH,
                    name,
                    f"uses the unknown install scheme {scheme!r}; allowed: {', '.join(sorted(DATA_SCHEMES))}",
                )
            ]
        return []
    if not rest and top.endswith(".pth"):
        return [
            warning(
                Check.PATH,
                name,
                "installs a .pth file, which runs at every interpreter start-up; make sure that is intended",
            )
        ]
    return []


def _duplicates(names: list[str]) -> list[Finding]:
    counts = Counter(names)
    return [
        error(
            Check.PATH,
            name,
            f"appears {n} times in the archive; which copy gets installed "
            "depends on the installer: rebuild the wheel",
        )
        for name, n in sorted(counts.items())
        if n > 1
    ]


def _collisions(names: list[str]) -> list[Finding]:
    findings: list[Finding] = []
    by_fold: dict[str, set[str]] = {}
    for name in set(names):
        by_fold.setdefault(name.casefold(), set()).add(name)
    for group in sorted(by_fold.values(), key=sorted):
        if len(group) > 1:
            first, *others = sorted(group)
            findings.append(
                warning(
                    Check.PATH,
                    first,
                    f"differs only in case from {', '.join(others)}; "
                    "they collide on Windows and macOS file systems",
                )
            )
    tops = sorted({n.split("/", 1)[0] for n in names if "/" in n} & _COMMON_COLLISIONS)
    findings += [
        warning(
            Check.PATH,
            f"{top}/",
            f"installs a top-level `{top}` package, which other "
            "projects ship too and would overwrite: move it inside your package or "
            "exclude it from the wheel",
        )
        for top in tops
    ]
    return findings
