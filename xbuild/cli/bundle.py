"""`xbuild bundle`: plan, build, verify, install for the target and package, in one go."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import typer

from xbuild.build.container import RUN_ID
from xbuild.build.orchestrate import BuildSettings, carry_out
from xbuild.bundle.install import Layout
from xbuild.bundle.make import BundleSettings, make_bundle, parse_strip
from xbuild.bundle.size import LAMBDA_UNZIPPED, LAMBDA_ZIPPED, Limits, parse_size
from xbuild.cli import console
from xbuild.cli.build import render as render_build
from xbuild.cli.options import PythonInterp, PythonPlatform, PythonVersion
from xbuild.cli.planning import PlanOptions, build_host, plan_for_build
from xbuild.config import load_config
from xbuild.errors import UsageError
from xbuild.index.cache import default_cache_dir


def register(app: typer.Typer) -> None:
    app.command("bundle")(bundle_command)


def bundle_command(
    requirements: list[str] = typer.Argument(None, metavar="[REQ]...", help="PEP 508 requirements."),
    requirement: list[Path] = typer.Option([], "-r", "--requirement", help="Requirements file."),
    constraint: list[Path] = typer.Option([], "-c", "--constraint"),
    project: Path | None = typer.Option(
        None, "--project", help="Project directory (its dependencies and [tool.xbuild])."
    ),
    plan_file: Path | None = typer.Option(None, "--plan"),
    lock: Path | None = typer.Option(None, "--lock"),
    python_platform: str | None = PythonPlatform,
    python_version: str | None = PythonVersion,
    python: Path | None = PythonInterp,
    layout: str | None = typer.Option(None, "--layout", help="lambda | lambda-layer | dir"),
    output: Path | None = typer.Option(None, "-o", "--output", help="The zip (or directory) to write."),
    include: list[Path] = typer.Option([], "--include", help="Your own code to add at the bundle root."),
    strip: str | None = typer.Option(None, "--strip", help="Comma list: tests,pycache,dist-info,typing"),
    max_size: str | None = typer.Option(None, "--max-size", help="Zipped size limit (e.g. 50M)."),
    source_policy: str | None = typer.Option(None, "--source-policy"),
    index_url: str | None = typer.Option(None, "--index-url", "-i"),
    extra_index_url: list[str] = typer.Option([], "--extra-index-url"),
    find_links: list[str] = typer.Option([], "--find-links", "-f"),
    offline: bool = typer.Option(False, "--offline"),
    image: str | None = typer.Option(None, "--image"),
    route: str = typer.Option("auto", "--route"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1),
) -> None:
    """A Lambda zip, Lambda layer or directory that imports on THE TARGET; byte-reproducible."""
    config = load_config(project)
    chosen_layout = _layout(layout or config.bundle.layout or "lambda")
    out = output or (Path(config.bundle.output) if config.bundle.output else None)
    if out is None:
        raise UsageError("no output given", hint="pass -o function.zip (or set [tool.xbuild.bundle] output)")
    options = PlanOptions(
        requirements=tuple(requirements or ()),
        requirement_files=tuple(requirement),
        constraint_files=tuple(constraint),
        project=project,
        python_platform=python_platform,
        python_version=python_version,
        python=python,
        source_policy=source_policy,
        index_url=index_url,
        extra_index_urls=tuple(extra_index_url),
        find_links=tuple(find_links),
        offline=offline,
        image=image,
        route=route,
    )
    # Every flag is checked before planning, so a typo fails fast and leaves no open client.
    strip_items = parse_strip(strip if strip is not None else ",".join(config.bundle.strip))
    size_text = max_size or config.bundle.max_size
    max_bytes = parse_size(size_text) if size_text else None
    plan, client = plan_for_build(options, plan_file=plan_file, lock=lock)
    settings = BundleSettings(
        layout=chosen_layout,
        out=out,
        includes=tuple(include) or tuple(Path(p) for p in config.bundle.include),
        strip=strip_items,
        limits=_limits(chosen_layout, max_bytes, plan.target.spec),
        environ=dict(os.environ),
    )
    cache = default_cache_dir(os.environ)
    wheels_dir = cache / "bundle-wheels" / RUN_ID
    try:
        with client:
            console.err.print(
                f"building {len(plan.distributions)} distributions for {plan.target.platform_label}",
                markup=False,
            )
            built = carry_out(
                plan,
                client,
                build_host(options),
                BuildSettings(out_dir=wheels_dir, cache_dir=cache, jobs=jobs),
            )
        if not built.ok:
            render_build(built)
            raise typer.Exit(1)
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
