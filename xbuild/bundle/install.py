"""Install wheels into a target layout with `installer`: no host paths, no host launchers, no bytecode."""

from __future__ import annotations

import logging
import shutil
import zipfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.records import RecordEntry
from installer.sources import WheelFile

from xbuild.errors import RefusedError
from xbuild.limits import DEFAULT_LIMITS, Limits

log = logging.getLogger(__name__)


class Layout(StrEnum):
    LAMBDA = "lambda"  # everything at the zip root: Lambda puts the function root on sys.path
    LAMBDA_LAYER = "lambda-layer"  # under python/: Lambda adds /opt/python to sys.path
    DIR = "dir"  # a plain directory, laid out like `lambda`


def site_root(root: Path, layout: Layout) -> Path:
    return root / "python" if layout is Layout.LAMBDA_LAYER else root


class _TargetDestination(SchemeDictionaryDestination):
    """Drops console-script launchers: they would be generated for the HOST's OS and interpreter."""

    def write_script(self, name: str, module: str, attr: str, section: str) -> RecordEntry:
        log.debug("not writing launcher %s (%s:%s): it would target the host", name, module, attr)
        return RecordEntry(f"../bin/{name}", None, None)  # as pip --target records it: not shipped


@dataclass(frozen=True)
class Installed:
    wheel: Path
    top_level: tuple[str, ...]  # first path components it added under the site root


def install_wheels(
    wheels: list[Path], root: Path, layout: Layout, limits: Limits = DEFAULT_LIMITS
) -> list[Installed]:
    site = site_root(root, layout)
    site.mkdir(parents=True, exist_ok=True)
    # purelib and platlib are one directory on the target; headers/scripts are not shipped.
    scratch = root.parent / f".{root.name}.unshipped"
    schemes = {
        "purelib": str(site),
        "platlib": str(site),
        "data": str(site),
        "headers": str(scratch / "headers"),
        "scripts": str(scratch / "scripts"),
    }
    results = []
    for wheel in sorted(wheels):
        before = set(p.name for p in site.iterdir())
        destination = _TargetDestination(schemes, interpreter="/usr/bin/python3", script_kind="posix")
        _check_member_paths(wheel, limits)
        with WheelFile.open(wheel) as source:
            install(source, destination, additional_metadata={"INSTALLER": b"xbuild\n"})
        added = tuple(sorted(set(p.name for p in site.iterdir()) - before))
        results.append(Installed(wheel=wheel, top_level=added))
    shutil.rmtree(scratch, ignore_errors=True)
    return results


def _check_member_paths(wheel: Path, limits: Limits) -> None:
    """verify reads names without writing them; installing needs each to fit a file system
    (not a 300-byte name, not a path 2,000 directories deep) and Python's recursion limit."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    for name in names:
        problem = _path_problem(name, limits)
        if problem is not None:
            raise RefusedError(
                f"{wheel.name} holds {problem} ({name[:60]}...), too long to install",
                hint="the wheel is malformed; rebuild it or report it to its authors",
            )


def _path_problem(name: str, limits: Limits) -> str | None:
    parts = name.split("/")
    longest = max(len(part.encode()) for part in parts)
    if longest > limits.max_name_bytes:
        return f"a file name of {longest} bytes"
    if len(parts) > limits.max_path_depth:
        return f"a path {len(parts)} directories deep"
    if len(name.encode()) > limits.max_path_bytes:
        return f"a path of {len(name.encode())} bytes"
    return None
