"""The library entry points: verify one wheel or installed tree, or many in parallel."""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import partial
from pathlib import Path

from xbuild.errors import InputError
from xbuild.target import Target
from xbuild.verify import schedule
from xbuild.verify.archive import open_archive
from xbuild.verify.checks import evaluate
from xbuild.verify.contents import Archive
from xbuild.verify.installed import evaluate_installed
from xbuild.verify.metadata import parse_filename
from xbuild.verify.model import Finding, Kind, Limits, Severity, WheelReport
from xbuild.verify.schedule import Work
from xbuild.verify.tree import read_tree

DEFAULT_LIMITS = Limits()


def verify_wheel(
    path: Path, target: Target | None, *, limits: Limits = DEFAULT_LIMITS, jobs: int = 1
) -> WheelReport:
    """Check one wheel file; findings are data. Raises InputError only if the file cannot be opened.

    `jobs` threads decompress a large wheel's members in parallel.
    """
    return schedule.run([(path, Kind.WHEEL)], partial(_start, target=target, limits=limits), jobs)[0]


def _wheel_report(path: Path, archive: Archive, target: Target | None) -> WheelReport:
    parsed = parse_filename(path.name)
    name = None if isinstance(parsed, Finding) else parsed
    findings = [parsed] if isinstance(parsed, Finding) else []
    findings += evaluate(name, archive, target)
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
        return _installed_report(path, read_tree(path, limits, workers=jobs), target)
    return schedule.run([(path, Kind.INSTALLED)], partial(_start, target=target, limits=limits), jobs)[0]


def _installed_report(path: Path, archive: Archive, target: Target | None) -> WheelReport:
    findings, dists = evaluate_installed(archive, target)
    return WheelReport(
        path=path,
        ok=not any(f.severity is Severity.ERROR for f in findings),
        findings=tuple(findings),
        kind=Kind.INSTALLED,
        distributions=tuple(d.label for d in dists),
    )


def _start(item: tuple[Path, Kind], *, target: Target | None, limits: Limits) -> Work[WheelReport]:
    """Open one path for the scheduler: a zip's members become batches; a directory is read
    whole by the thread that opens it (its files are not one archive to batch)."""
    path, kind = item
    if kind is Kind.INSTALLED and path.is_dir():
        return Work(tasks=(), finish=partial(verify_installed, path, target, limits=limits))
    work = open_archive(path, limits=limits, installed=kind is Kind.INSTALLED)
    report = _wheel_report if kind is Kind.WHEEL else _installed_report
    return Work(tasks=work.tasks, finish=lambda: report(path, work.finish(), target), close=work.close)


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


def verify_paths(
    paths: Iterable[Path], target: Target | None, jobs: int | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> list[WheelReport]:
    """Verify every wheel and installed tree under `paths` (see `collect`); reports come in
    collection order.

    `jobs` threads share the member batches of every archive (`schedule`), archives opened
    largest first so that the last batches are small ones.
    """
    items = collect(paths)
    workers = max(1, jobs or default_jobs())
    largest_first = sorted(items, key=lambda item: _size(item[0]), reverse=True)
    reports = schedule.run(largest_first, partial(_start, target=target, limits=limits), workers)
    done = dict(zip(largest_first, reports, strict=True))
    return [done[item] for item in items]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def default_jobs() -> int:
    return min(8, os.cpu_count() or 1)
