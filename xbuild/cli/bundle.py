"""`xbuild bundle`: plan, build, verify, install for the target and package, in one go."""

from __future__ import annotations

import shutil
from pathlib import Path

import typer

from xbuild.build.container import RUN_ID
from xbuild.build.orchestrate import BuildSettings, carry_out
from xbuild.bundle.compile import CompileSettings, find_compiler
from xbuild.bundle.install import Layout
from xbuild.bundle.make import (
    BundleSettings,
    check_settings,
    make_bundle,
    output_names_directory,
    parse_strip,
)
from xbuild.bundle.size import LAMBDA_UNZIPPED, LAMBDA_ZIPPED, Limits, parse_size
from xbuild.cli import console, progress
from xbuild.cli.build import render as render_build
from xbuild.cli.flags import options_from, resolution_flags
from xbuild.cli.planning import build_host, plan_for_build
from xbuild.errors import UsageError
from xbuild.host.cacheroot import default_cache_dir
from xbuild.options import Flags


def register(app: typer.Typer) -> None:
    app.command("bundle")(bundle_command)


@resolution_flags
def bundle_command(
    *,
    flags: Flags,
    plan_file: Path | None = typer.Option(
        None, "--plan", metavar="FILE", help="Carry out a JSON plan written by `xbuild plan -o FILE`."
    ),
    lock: Path | None = typer.Option(
        None, "--lock", metavar="FILE", hidden=True, help="Deprecated: use -r pylock.toml."
    ),
    layout: str | None = typer.Option(
        None,
        "--layout",
        metavar="LAYOUT",
        help="lambda (default: a function zip), lambda-layer (python/ inside) or dir.",
    ),
    output: str | None = typer.Option(
        None,
        "-o",
        "--output",
        metavar="PATH",
        help="The zip (or, with --layout dir, the directory) to write; missing parents are created.",
    ),
    include: list[Path] = typer.Option(
        [], "--include", metavar="PATH", help="Your own code (file or directory) to add at the bundle root."
    ),
    strip: str | None = typer.Option(
        None,
        "--strip",
        metavar="ITEMS",
        help="Leave out, comma-separated: tests, pycache, dist-info, typing.",
    ),
    max_size: str | None = typer.Option(
        None, "--max-size", metavar="SIZE", help="Refuse a bundle bigger than SIZE zipped (e.g. 50M)."
    ),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, metavar="N", help="Builds to run in parallel."),
    force: bool = typer.Option(
        False, "--force", help="With --layout dir: replace a non-empty directory xbuild did not make."
    ),
    compile_: bool | None = typer.Option(
        None,
        "--compile/--no-compile",
        help="Add bytecode compiled by the target's Python X.Y (on this host or in its image).",
    ),
) -> None:
    """A Lambda zip, Lambda layer or directory that imports on THE TARGET; byte-reproducible."""
    options = options_from(flags, plan_file)
    config = options.config
    chosen_layout = _layout(layout or config.bundle.layout or "lambda")
    out_text = output or config.bundle.output
    if out_text is None:
        raise UsageError("no output given", hint="pass -o function.zip (or set [tool.xbuild.bundle] output)")
    # Every flag is checked before planning, so a typo fails fast and leaves no open client.
    strip_items = parse_strip(strip if strip is not None else ",".join(config.bundle.strip))
    size_text = max_size or config.bundle.max_size
    max_bytes = parse_size(size_text) if size_text else None
    settings = BundleSettings(
        layout=chosen_layout,
        out=Path(out_text),
        out_is_dir=output_names_directory(out_text),
        force=force,
        includes=tuple(include) or tuple(Path(p) for p in config.bundle.include),
        strip=strip_items,
        limits=_limits(chosen_layout, max_bytes, options.target.spec),
        environ=dict(options.environ),
        compile=CompileSettings(image=options.image, remote_engines=options.engines)
        if (config.bundle.compile if compile_ is None else compile_)
        else None,
    )
    check_settings(settings)
    if settings.compile is not None:
        find_compiler(options.target, settings.compile)  # nothing to compile with: say so before any download
    plan, client = plan_for_build(options, plan_file=plan_file, lock=lock)
    cache = default_cache_dir(dict(options.environ))
    wheels_dir = cache / "bundle-wheels" / RUN_ID
    try:
        with client:
            console.err.print(
                f"fetching {console.plural(len(plan.distributions) - len(plan.builds), 'wheel')} and "
                f"building {console.plural(len(plan.builds), 'distribution')} "
                f"for {plan.target.platform_label}",
                markup=False,
            )
            with progress.reporter() as report:
                steps = BuildSettings(
                    out_dir=wheels_dir,
                    cache_dir=cache,
                    jobs=jobs,
                    progress=report,
                    build_timeout=options.build_timeout,
                    manifest=False,  # the bundle writes its own manifest beside the zip
                )
                built = carry_out(plan, client, lambda: build_host(options, plan.target), steps)
        if not built.ok:
            render_build(built)
            raise typer.Exit(int(built.exit_code))
        result = make_bundle([o.wheel for o in built.outcomes if o.wheel], plan.target, settings)
    finally:
        shutil.rmtree(wheels_dir, ignore_errors=True)
    size = f"{result.zipped:,} bytes zipped, " if result.zipped is not None else ""
    console.out.print(
        f"wrote {result.out} ({size}{result.unzipped:,} bytes unzipped, "
        f"{len(result.wheels)} wheels) for {plan.target.name or plan.target.spec}",
        markup=False,
    )
    console.out.print(f"manifest: {result.manifest}", markup=False)


def _layout(text: str) -> Layout:
    try:
        return Layout(text)
    except ValueError:
        raise UsageError(f"unknown --layout {text!r}", hint="use lambda, lambda-layer or dir") from None


def _limits(layout: Layout, max_bytes: int | None, spec: str) -> Limits:
    if max_bytes is not None:
        return Limits(zipped=max_bytes, unzipped=None)
    if layout in (Layout.LAMBDA, Layout.LAMBDA_LAYER) or spec.startswith("aws-lambda"):
        return Limits(zipped=LAMBDA_ZIPPED, unzipped=LAMBDA_UNZIPPED)
    return Limits(zipped=None, unzipped=None)
