"""The library entry points: verify one wheel or installed tree, or many in parallel."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xbuild.errors import InputError
from xbuild.target import Target
from xbuild.verify.archive import read_archive
from xbuild.verify.checks import evaluate
from xbuild.verify.installed import evaluate_installed
from xbuild.verify.metadata import parse_filename
from xbuild.verify.model import Finding, Kind, Limits, Severity, WheelReport
from xbuild.verify.tree import read_tree

DEFAULT_LIMITS = Limits()


def verify_wheel(
    path: Path, target: Target | None, *, limits: Limits = DEFAULT_LIMITS, jobs: int = 1
) -> WheelReport:
    """Check one wheel file; findings are data. Raises InputError only if the file cannot be opened.

    `jobs` threads decompress a large wheel's members in parallel.
    """
    parsed = parse_filename(path.name)
    name = None if isinstance(parsed, Finding) else parsed
    findings = [parsed] if isinstance(parsed, Finding) else []
    findings += evaluate(name, read_archive(path, limits, workers=jobs), target)
    return WheelReport(
        path=path,
        ok=not any(f.severity is Severity.ERROR for f in findings),
        findings=tuple(findings),
        name=name.project if name else "",
        version=str(name.version) if name else "",
        tags=name.tag_strings if name else (),
    )


def verify_installed(
    path: Path, target: Target | None, *, limits: Limits = DEFAULT_LIMITS, jobs: int = 1
) -> WheelReport:
    """Check installed distributions: a directory (`pip install --target`, a bundle directory) or
    any zip that is not a wheel (a Lambda function or layer). Raises InputError only if `path`
    cannot be opened; `xbuild bundle` runs this on its own output before placing it.
    """
    if path.is_dir():
        archive = read_tree(path, limits, workers=jobs)
    else:
        archive = read_archive(path, limits, workers=jobs, installed=True)
    findings, dists = evaluate_installed(archive, target)
    return WheelReport(
        path=path,
        ok=not any(f.severity is Severity.ERROR for f in findings),
        findings=tuple(findings),
        kind=Kind.INSTALLED,
        distributions=tuple(d.label for d in dists),
    )


def collect(paths: Iterable[Path]) -> list[tuple[Path, Kind]]:
    """What each path is verified as: a `.whl` file a wheel, any other file an installed tree (a
    zip is never judged as a wheel unless it is named one), a directory an installed tree when it
    holds `*.dist-info` (at its top, under python/ or python/lib/pythonX.Y/site-packages/), else
    its `*.whl` files (sorted). Missing paths, and directories with neither, are usage errors."""
    found: list[tuple[Path, Kind]] = []
    for path in paths:
        if path.is_dir():
            found += _directory(path)
        elif path.exists():
            found.append((path, Kind.WHEEL if path.name.lower().endswith(".whl") else Kind.INSTALLED))
        else:
            raise InputError(
                f"{path} does not exist",
                hint="pass wheel files, Lambda zips, or directories holding wheels or installed packages",
            )
    return list(dict.fromkeys(found))


def _directory(path: Path) -> list[tuple[Path, Kind]]:
    if is_installed_tree(path):
        return [(path, Kind.INSTALLED)]
    wheels = sorted(p for p in path.glob("*.whl") if p.is_file())
    if not wheels:
        raise InputError(
            f"{path} contains no wheels (*.whl) and no installed distributions (*.dist-info)",
            hint="pass the directory the build wrote its wheels to, wheel files, a Lambda zip, "
            "or a directory made by `pip install --target`",
        )
    return [(w, Kind.WHEEL) for w in wheels]


def is_installed_tree(path: Path) -> bool:
    """A directory with `*.dist-info` directories where Lambda or `pip --target` puts them."""
    patterns = ("*.dist-info", "python/*.dist-info", "python/lib/python*.*/site-packages/*.dist-info")
    return any(p.is_dir() for pattern in patterns for p in path.glob(pattern))


def collect_wheels(paths: Iterable[Path]) -> list[Path]:
    """The paths `collect` finds, whatever each is verified as."""
    return [path for path, _ in collect(paths)]


def verify_one(
    path: Path, kind: Kind, target: Target | None, *, limits: Limits = DEFAULT_LIMITS, jobs: int = 1
) -> WheelReport:
    if kind is Kind.WHEEL:
        return verify_wheel(path, target, limits=limits, jobs=jobs)
    return verify_installed(path, target, limits=limits, jobs=jobs)


def verify_paths(
    paths: Iterable[Path], target: Target | None, jobs: int | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> list[WheelReport]:
    """Verify every wheel and installed tree under `paths` (see `collect`); reports come in
    collection order.

    Threads, not processes: decompression and hashing release the GIL, and a process pool pays
    for pickling and, with `spawn`, interpreter start-up (bench/verify_vs_auditwheel.py measures
    both). One wheel gets all the threads for its members; several wheels are spread over the
    threads largest first, so one big wheel does not finish alone at the end.
    """
    items = collect(paths)
    workers = max(1, jobs or default_jobs())
    if len(items) == 1 or workers == 1:
        return [verify_one(p, k, target, limits=limits, jobs=workers) for p, k in items]
    largest_first = sorted(items, key=lambda item: _size(item[0]), reverse=True)
    with ThreadPoolExecutor(max_workers=min(workers, len(items)), thread_name_prefix="xbuild-verify") as pool:
        done = dict(
            zip(
                largest_first,
                pool.map(lambda item: verify_one(item[0], item[1], target, limits=limits), largest_first),
                strict=True,
            )
        )
    return [done[item] for item in items]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def default_jobs() -> int:
    return min(8, os.cpu_count() or 1)
