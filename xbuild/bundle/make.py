"""Wheels -> verified, installed, stripped, size-checked, reproducible bundle written atomically."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xbuild.verify as verify_api
from xbuild.binary import BinaryFormat, BinaryParseError, MachOInfo, parse, sniff
from xbuild.bundle.archive import files_in, write_zip
from xbuild.bundle.install import Installed, Layout, install_wheels, site_root
from xbuild.bundle.size import Limits, check_limits, tree_size
from xbuild.errors import InputError, RefusedError, UsageError
from xbuild.index.hashing import sha256_file
from xbuild.target import OS, Target
from xbuild.util.atomic import write_text_atomic
from xbuild.verify.platforms import canonical_arch, target_arch

STRIPPABLE = {
    "tests": "test directories inside installed packages",
    "pycache": "__pycache__ directories and .pyc files",
    "dist-info": ".dist-info metadata (breaks importlib.metadata lookups)",
    "typing": ".pyi stubs and py.typed markers",
}


@dataclass(frozen=True, kw_only=True)
class BundleSettings:
    layout: Layout
    out: Path
    includes: tuple[Path, ...] = ()
    strip: frozenset[str] = frozenset()
    limits: Limits = field(default_factory=lambda: Limits(zipped=None, unzipped=None))
    environ: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class BundleResult:
    out: Path
    manifest: Path
    zipped: int | None
    unzipped: int
    wheels: tuple[Path, ...]


def parse_strip(text: str | None) -> frozenset[str]:
    items = frozenset(s.strip() for s in (text or "").split(",") if s.strip())
    unknown = sorted(items - set(STRIPPABLE))
    if unknown:
        raise UsageError(
            f"unknown --strip item(s): {', '.join(unknown)}",
            hint="choose from: " + ", ".join(f"{k} ({v})" for k, v in STRIPPABLE.items()),
        )
    return items


def make_bundle(wheels: list[Path], target: Target, settings: BundleSettings) -> BundleResult:
    _verify_wheels(wheels, target)
    for path in settings.includes:
        if not path.exists():
            raise InputError(f"--include {path}: no such file or directory")
    parent = settings.out.resolve().parent
    if not parent.is_dir():
        raise InputError(f"cannot write {settings.out}: {parent} does not exist")
    with tempfile.TemporaryDirectory(prefix=".xbuild-bundle-", dir=parent) as tmp:
        root = Path(tmp) / "root"
        installed = install_wheels(wheels, root, settings.layout)
        _include(settings.includes, site_root(root, settings.layout), target)
        _strip(root, settings.strip | {"pycache"})
        sizes = _package_sizes(installed, site_root(root, settings.layout))
        unzipped = tree_size(root)
        zipped = None
        if settings.layout is Layout.DIR:
            check_limits(zipped=None, unzipped=unzipped, limits=settings.limits, per_package=sizes)
            _replace_dir(root, settings.out)
        else:
            staged = Path(tmp) / "bundle.zip"
            write_zip(root, staged, settings.environ)
            zipped = staged.stat().st_size
            check_limits(zipped=zipped, unzipped=unzipped, limits=settings.limits, per_package=sizes)
            os.replace(staged, settings.out)
    manifest = settings.out.with_name(settings.out.name + ".manifest.json")
    result = BundleResult(
        out=settings.out, manifest=manifest, zipped=zipped, unzipped=unzipped, wheels=tuple(wheels)
    )
    write_text_atomic(
        manifest, json.dumps(manifest_document(result, target, settings, sizes), indent=2) + "\n"
    )
    return result


def _verify_wheels(wheels: list[Path], target: Target) -> None:
    """The same verifier as `xbuild verify`, run again on exactly what goes into the bundle."""
    refused = []
    for wheel in wheels:
        report = verify_api.verify_wheel(wheel, target)
        if not report.ok:
            errors = [f for f in report.findings if str(f.severity) == "error"]
            refused.append(f"{wheel.name}: " + "; ".join(f"{f.check}: {f.message}" for f in errors[:3]))
    if refused:
        raise RefusedError(
            "bundle refused: wheels do not fit the target:\n  " + "\n  ".join(refused),
            hint=f"run `xbuild verify` on them with --python-platform {target.spec}",
        )


def _include(paths: tuple[Path, ...], site: Path, target: Target) -> None:
    for path in paths:
        dest = site / path.name
        if dest.exists():
            raise RefusedError(f"--include {path}: {path.name} would overwrite an installed file or package")
        if path.is_dir():
            shutil.copytree(path, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(path, dest)
    _check_included_binaries(site, paths, target)


_FORMAT_OF_OS = {OS.LINUX: BinaryFormat.ELF, OS.MACOS: BinaryFormat.MACHO, OS.WINDOWS: BinaryFormat.PE}


def _check_included_binaries(site: Path, paths: tuple[Path, ...], target: Target) -> None:
    """The user's own code may carry binaries too: each must be the target's format and arch."""
    problems = []
    for path in paths:
        root = site / path.name
        for file in files_in(root) if root.is_dir() else [root]:
            problem = _binary_problem(file.read_bytes(), target)
            if problem:
                problems.append(f"{file.relative_to(site).as_posix()}: {problem}")
    if problems:
        raise RefusedError(
            "included files do not fit the target:\n  " + "\n  ".join(problems),
            hint=f"rebuild them for the target, e.g. with `xbuild build --python-platform {target.spec}`",
        )


def _binary_problem(data: bytes, target: Target) -> str | None:
    kind = sniff(data[:64])
    if kind is None:
        return None
    if kind is not _FORMAT_OF_OS[target.os]:
        return f"is a {kind} binary, but the target runs {target.os}"
    try:
        info = parse(data)
    except BinaryParseError as exc:
        return f"unreadable {kind} binary: {exc}"
    arches = [s.arch for s in info.slices] if isinstance(info, MachOInfo) else [info.arch]
    want = target_arch(target)
    if want not in {canonical_arch(a) for a in arches}:
        return f"is built for {', '.join(arches)}, the target needs {want}"
    return None


def _strip(root: Path, items: frozenset[str]) -> None:
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if not path.exists():
            continue
        name = path.name
        doomed = (
            ("pycache" in items and (name == "__pycache__" or path.suffix == ".pyc"))
            or (
                "tests" in items
                and path.is_dir()
                and name in ("tests", "test")
                and len(path.relative_to(root).parts) > 1
            )
            or ("dist-info" in items and path.is_dir() and name.endswith(".dist-info"))
            or ("typing" in items and (path.suffix == ".pyi" or name == "py.typed"))
        )
        if doomed:
            shutil.rmtree(path) if path.is_dir() else path.unlink()


def _package_sizes(installed: list[Installed], site: Path) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for item in installed:
        name = item.wheel.name.split("-")[0]
        sizes[name] = sum(
            tree_size(site / top) if (site / top).is_dir() else (site / top).stat().st_size
            for top in item.top_level
            if (site / top).exists()
        )
    return sizes


def _replace_dir(staged: Path, out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError(f"{out} exists and is not a directory")
    if out.exists():
        old = out.with_name(f".{out.name}.old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(out, old)
        os.replace(staged, out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, out)


def manifest_document(
    result: BundleResult, target: Target, settings: BundleSettings, sizes: dict[str, int]
) -> dict[str, Any]:
    return {
        "schema": 1,
        "target": target.to_json(),
        "layout": str(settings.layout),
        "output": result.out.name,
        "sha256": sha256_file(result.out) if result.out.is_file() else None,
        "zipped_size": result.zipped,
        "unzipped_size": result.unzipped,
        "wheels": [{"filename": w.name, "sha256": sha256_file(w)} for w in result.wheels],
        "package_sizes": dict(sorted(sizes.items())),
        "includes": [p.name for p in settings.includes],
        "strip": sorted(settings.strip),
    }
