"""`xbuild build`: carry out a plan into DIR; every wheel verified against the target, or nothing shipped."""

from __future__ import annotations

from pathlib import Path

import typer

from xbuild.build.orchestrate import BuildResult, BuildSettings, carry_out, refuse_impossible
from xbuild.cli import console, progress
from xbuild.cli.flags import options_from, resolution_flags
from xbuild.cli.planning import build_host, plan_for_build, project_build
from xbuild.host.cacheroot import default_cache_dir
from xbuild.index import IndexClient
from xbuild.options import Flags, Options
from xbuild.plan.model import Plan


def register(app: typer.Typer) -> None:
    app.command("build")(build_command)


@resolution_flags
def build_command(
    *,
    flags: Flags,
    plan_file: Path | None = typer.Option(
        None, "--plan", metavar="FILE", help="Carry out a JSON plan written by `xbuild plan -o FILE`."
    ),
    lock: Path | None = typer.Option(
        None, "--lock", metavar="FILE", hidden=True, help="Deprecated: use -r pylock.toml."
    ),
    output: Path = typer.Option(
        ..., "-o", "--output", metavar="DIR", help="Directory that receives the verified wheels."
    ),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, metavar="N", help="Builds to run in parallel."),
    keep_going: bool = typer.Option(
        False, "--keep-going", help="Place the wheels that passed even if some failed."
    ),
    with_deps: bool | None = typer.Option(
        None,
        "--with-deps/--no-deps",
        help="With --project: also build/fetch its dependencies (default: the project's wheel only). "
        "With requirements: --no-deps takes only those named.",
        show_default=False,
    ),
) -> None:
    """Download or build every wheel the target needs, verify each against the target, place them
    in -o DIR."""
    options = project_build(options_from(flags, plan_file), with_deps)
    plan, client = plan_for_build(options, plan_file=plan_file, lock=lock)
    with client:
        refuse_impossible(plan)  # before any progress output: nothing will be attempted
        result = _carry_out(plan, client, options, output, jobs, keep_going)
    console.err.print("")
    render(result)
    if not result.ok:
        raise typer.Exit(int(result.exit_code))


def _carry_out(
    plan: Plan, client: IndexClient, options: Options, output: Path, jobs: int, keep_going: bool
) -> BuildResult:
    with progress.reporter() as report:
        settings = BuildSettings(
            out_dir=output,
            cache_dir=default_cache_dir(dict(options.environ)),
            jobs=jobs,
            keep_going=keep_going,
            progress=report,
            build_timeout=options.build_timeout,
        )
        return carry_out(plan, client, lambda: build_host(options, plan.target), settings)


def render(result: BuildResult) -> None:
    for o in result.outcomes:
        if o.wheel is not None:
            how = f", {o.route}" if o.route and o.origin != "index" else ""
            console.out.print(
                f"ok      {o.wheel.name}  ({o.origin}{how})",
                markup=False,
            )
    for o in result.outcomes:
        if o.wheel is None:
            console.err.print(f"REFUSED {o.name} {o.version}: {o.error}", markup=False)
            if o.log_path is not None:
                console.err.print(f"        build log: {o.log_path}", markup=False)
    if result.ok:
        console.out.print(
            f"{console.plural(len(result.outcomes), 'wheel')} verified and placed in {result.out_dir}; "
            f"manifest {result.manifest.name}",
            markup=False,
        )
    else:
        console.err.print(
            "nothing that failed verification was placed; fix the findings above and rerun", markup=False
        )
