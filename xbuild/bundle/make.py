"""Wheels -> verified, installed, stripped, size-checked, reproducible bundle written atomically."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xbuild.verify as verify_api
from xbuild.bundle.archive import write_zip
from xbuild.bundle.compile import Compiled, Compiler, CompileSettings, compile_tree, find_compiler
from xbuild.bundle.install import Installed, Layout, install_wheels, site_root
from xbuild.bundle.size import Limits, check_limits, tree_size
from xbuild.errors import InputError, RefusedError, UsageError
from xbuild.host.cache import RUN_ID, scratch_dir
from xbuild.host.cacheroot import default_cache_dir
from xbuild.index.hashing import sha256_file
from xbuild.target import Target
from xbuild.util.oserror import user_os_error
from xbuild.verify.installed import BUNDLE_MARKER

MARKER = BUNDLE_MARKER  # inside every --layout dir output: xbuild may replace that directory
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
    limits: Limits = field(default_factory=Limits)
    environ: dict[str, str] = field(default_factory=dict)
    # Replace a non-empty --layout dir output that xbuild did not make (its files are lost).
    force: bool = False
    # The user wrote the output with a trailing slash (`-o out/`), which Path drops: a directory.
    out_is_dir: bool = False
    # Byte-compile for the target's Python (`--compile`); None leaves the bundle source-only.
    compile: CompileSettings | None = None


@dataclass(frozen=True, kw_only=True)
class BundleResult:
    out: Path
    manifest: Path
    zipped: int | None
    unzipped: int
    wheels: tuple[Path, ...]
    compiled: Compiled | None = None


def parse_strip(text: str | None) -> frozenset[str]:
    items = frozenset(s.strip() for s in (text or "").split(",") if s.strip())
    unknown = sorted(items - set(STRIPPABLE))
    if unknown:
        raise UsageError(
            f"unknown --strip item(s): {', '.join(unknown)}",
            hint="choose from: " + ", ".join(f"{k} ({v})" for k, v in STRIPPABLE.items()),
        )
    return items


def output_names_directory(text: str) -> bool:
    """`-o out/` names a directory; the CLI asks before Path() drops the trailing slash."""
    return text.endswith(("/", os.sep)) or Path(text).name in ("", ".", "..")


def _existing_ancestor(path: Path) -> Path:
    """Missing parents of -o are created when the bundle is placed (as `mkdir -p` would)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def manifest_path(out: Path) -> Path:
    return out.with_name(out.name + ".manifest.json")


def check_output(out: Path, layout: Layout, *, force: bool = False, out_is_dir: bool = False) -> None:
    """Refuse an output that cannot be written or whose writing would lose the user's files.
    Cheap and without side effects: the CLI calls it before planning, make_bundle again."""
    if out.name in ("", ".", ".."):
        raise UsageError(
            f"-o {out} names the current or parent directory, which the bundle would replace",
            hint="name a new file or directory, e.g. -o dist/function.zip or -o dist/bundle/ --layout dir",
        )
    parent = _existing_ancestor(out.absolute().parent)
    if not parent.is_dir():
        raise InputError(
            f"cannot write {out}: {parent} is not a directory", hint="name a path under a directory"
        )
    if layout is Layout.DIR:
        _check_dir_output(out, force)
    elif out_is_dir or out.is_dir():
        raise UsageError(
            f"-o {out} names a directory, but --layout {layout} writes a zip file",
            hint=f"name the zip inside it (-o {out / 'function.zip'}), or use --layout dir",
        )
    if manifest_path(out).is_dir():
        raise UsageError(
            f"the manifest {manifest_path(out)} would replace a directory",
            hint="move that directory away, or choose another -o",
        )


def _check_dir_output(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"-o {out} exists and is not a directory", hint="choose another -o, or remove it")
    if not out.is_dir() or force or (out / MARKER).is_file() or not any(out.iterdir()):
        return
    raise RefusedError(
        f"{out} is not empty and was not written by xbuild: the bundle would delete what it holds",
        hint="choose a new or empty directory, or pass --force to replace it and lose its files",
    )


def check_settings(settings: BundleSettings) -> None:
    """Everything about the output and the included files that can be known before planning."""
    check_output(settings.out, settings.layout, force=settings.force, out_is_dir=settings.out_is_dir)
    for path in settings.includes:
        if not path.exists():
            raise InputError(f"--include {path}: no such file or directory", hint="check the path")
    if settings.compile is not None and "pycache" in settings.strip:
        raise UsageError(
            "--compile writes the __pycache__ directories that --strip pycache leaves out",
            hint="drop pycache from --strip (and from [tool.xbuild.bundle] strip), or drop --compile",
        )


def make_bundle(wheels: list[Path], target: Target, settings: BundleSettings) -> BundleResult:
    check_settings(settings)
    # Before any work: a bundle that cannot be compiled is refused, not made and then dropped.
    compiler = None if settings.compile is None else find_compiler(target, settings.compile)
    _verify_wheels(wheels, target)
    try:
        return _make(wheels, target, settings, compiler)
    except OSError as exc:
        error = user_os_error(exc, "the bundle")
        if error is None:
            raise
        raise error from exc


def _make(
    wheels: list[Path], target: Target, settings: BundleSettings, compiler: Compiler | None = None
) -> BundleResult:
    """Stage everything beside the output, then swap output and manifest in together."""
    out = settings.out
    # Beside the output's own name (not a symlink's target), so every rename stays on one file system.
    out.absolute().parent.mkdir(parents=True, exist_ok=True)
    cache_root = default_cache_dir(settings.environ)
    with scratch_dir(out.absolute().parent, "bundle", cache_root) as tmp:
        root = tmp / "root"
        installed = install_wheels(wheels, root, settings.layout, settings.limits)
        _include(settings.includes, site_root(root, settings.layout), target)
        _strip(root, settings.strip | {"pycache"})
        compiled = None
        if compiler is not None and settings.compile is not None:  # after the strip, which drops pycs
            compiled = compile_tree(
                site_root(root, settings.layout),
                compiler,
                work=tmp / "compile",
                log_path=cache_root / "logs" / RUN_ID / "bundle-compile.log",
                timeout=settings.compile.timeout,
            )
        sizes = _package_sizes(installed, site_root(root, settings.layout))
        unzipped = tree_size(root)
        zipped = None
        if settings.layout is Layout.DIR:
            check_limits(zipped=None, unzipped=unzipped, limits=settings.limits, per_package=sizes)
            (root / MARKER).write_text("written by xbuild bundle; it may replace this directory\n")
            staged = root
        else:
            staged = tmp / "bundle.zip"
            write_zip(root, staged, settings.environ)
            zipped = staged.stat().st_size
            check_limits(zipped=zipped, unzipped=unzipped, limits=settings.limits, per_package=sizes)
        _self_check(staged, target)
        result = BundleResult(
            out=out,
            manifest=manifest_path(out),
            zipped=zipped,
            unzipped=unzipped,
            wheels=tuple(wheels),
            compiled=compiled,
        )
        document = manifest_document(result, target, settings, sizes, staged=staged)
        staged_manifest = tmp / "manifest.json"
        staged_manifest.write_text(json.dumps(document, indent=2) + "\n")
        _publish([(staged, out), (staged_manifest, result.manifest)], tmp / "previous")
    return result


def _self_check(staged: Path, target: Target) -> None:
    """The bundle as the gate will see it (`xbuild verify function.zip`), before it replaces
    anything: every RECORD, and every binary, the user's included code's too."""
    report = verify_api.verify_installed(staged, target)
    if report.ok:
        return
    errors = [
        f"{f.member}: {f.check}: {f.message}" if f.member else f"{f.check}: {f.message}"
        for f in report.errors
    ]
    raise RefusedError(
        "bundle refused: its contents do not fit the target:\n  " + "\n  ".join(errors[:20]),
        hint="rebuild what is named for the target (`xbuild build -p TARGET`), or leave it out of --include",
    )


def _publish(moves: list[tuple[Path, Path]], previous: Path) -> None:
    """Rename each staged path onto its final place, all or none: on a failure the finals
    already replaced get their previous content back. `previous` is on the same file system."""
    previous.mkdir()
    done: list[tuple[Path, Path | None]] = []
    try:
        for n, (staged, final) in enumerate(moves):
            backup = None
            if final.exists() or final.is_symlink():
                backup = previous / str(n)
                os.replace(final, backup)
            done.append((final, backup))
            os.replace(staged, final)
    except OSError:
        _restore(done)
        raise


def _restore(done: list[tuple[Path, Path | None]]) -> None:
    for final, backup in reversed(done):
        if final.is_dir() and not final.is_symlink():
            shutil.rmtree(final, ignore_errors=True)
        else:
            final.unlink(missing_ok=True)
        if backup is not None:
            os.replace(backup, final)


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


def manifest_document(
    result: BundleResult,
    target: Target,
    settings: BundleSettings,
    sizes: dict[str, int],
    *,
    staged: Path | None = None,
) -> dict[str, Any]:
    """`staged` is where the output lies until it is published (default: result.out)."""
    written = result.out if staged is None else staged
    return {
        "schema": 1,
        "target": target.to_json(),
        "layout": str(settings.layout),
        "output": result.out.name,
        "sha256": sha256_file(written) if written.is_file() else None,
        "zipped_size": result.zipped,
        "unzipped_size": result.unzipped,
        "wheels": [{"filename": w.name, "sha256": sha256_file(w)} for w in result.wheels],
        "package_sizes": dict(sorted(sizes.items())),
        "includes": [p.name for p in settings.includes],
        "strip": sorted(settings.strip),
        **({"bytecode": result.compiled.to_json()} if result.compiled is not None else {}),
    }
