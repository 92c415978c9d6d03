"""The library entry points: verify one wheel, or many in parallel."""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from xbuild.errors import InputError
from xbuild.target import Target
from xbuild.verify.archive import read_archive
from xbuild.verify.checks import evaluate
from xbuild.verify.metadata import parse_filename
from xbuild.verify.model import Finding, Limits, Severity, WheelReport

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


def collect_wheels(paths: Iterable[Path]) -> list[Path]:
    """Files as given, directories expanded to their `*.whl` (sorted); missing paths are usage errors."""
    wheels: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.glob("*.whl") if p.is_file())
            if not found:
                raise InputError(
                    f"{path} contains no wheels (*.whl)",
                    hint="pass the directory the build wrote its wheels to, or wheel files",
                )
            wheels.extend(found)
        elif path.exists():
            wheels.append(path)
        else:
            raise InputError(f"{path} does not exist", hint="pass wheel files or directories holding them")
    return list(dict.fromkeys(wheels))


def verify_paths(
    paths: Iterable[Path], target: Target | None, jobs: int | None = None, *, limits: Limits = DEFAULT_LIMITS
) -> list[WheelReport]:
    """Verify every wheel under `paths` (files or directories); reports come in collection order.

    Threads, not processes: decompression and hashing release the GIL, and a process pool pays
    for pickling and, with `spawn`, interpreter start-up (bench/verify_vs_auditwheel.py measures
    both). One wheel gets all the threads for its members; several wheels are spread over the
    threads largest first, so one big wheel does not finish alone at the end.
    """
    wheels = collect_wheels(paths)
    workers = max(1, jobs or default_jobs())
    if len(wheels) == 1 or workers == 1:
        return [verify_wheel(w, target, limits=limits, jobs=workers) for w in wheels]
    largest_first = sorted(wheels, key=_size, reverse=True)
    with ThreadPoolExecutor(
        max_workers=min(workers, len(wheels)), thread_name_prefix="xbuild-verify"
    ) as pool:
        done = dict(
            zip(
                largest_first,
                pool.map(lambda w: verify_wheel(w, target, limits=limits), largest_first),
                strict=True,
            )
        )
    return [done[w] for w in wheels]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def default_jobs() -> int:
    return min(8, os.cpu_count() or 1)
