"""`xbuild build`: carry out a plan into DIR; every wheel verified against the target, or nothing shipped."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import typer
from rich.live import Live
from rich.table import Table

from xbuild.build.orchestrate import BuildResult, BuildSettings, carry_out, refuse_impossible
from xbuild.cli import console
from xbuild.cli.options import PythonInterp, PythonPlatform, PythonVersion
from xbuild.cli.planning import PlanOptions, build_host, plan_for_build
from xbuild.index import IndexClient
from xbuild.index.cache import default_cache_dir
from xbuild.plan.model import Plan


def register(app: typer.Typer) -> None:
    app.command("build")(build_command)


def build_command(
    requirements: list[str] = typer.Argument(None, metavar="[REQ]...", help="PEP 508 requirements."),
    requirement: list[Path] = typer.Option([], "-r", "--requirement", help="Requirements file."),
    constraint: list[Path] = typer.Option([], "-c", "--constraint", help="Constraints file."),
    project: Path | None = typer.Option(None, "--project", help="Project directory (pyproject.toml)."),
    plan_file: Path | None = typer.Option(None, "--plan", help="A plan written by `xbuild plan -o`."),
    lock: Path | None = typer.Option(None, "--lock", help="A pylock.toml written by `xbuild plan --lock`."),
    python_platform: str | None = PythonPlatform,
    python_version: str | None = PythonVersion,
    python: Path | None = PythonInterp,
    source_policy: str | None = typer.Option(
        None, "--source-policy", help="prefer-binary (default) | newest | never"
    ),
    only_binary: list[str] = typer.Option([], "--only-binary"),
    no_binary: list[str] = typer.Option([], "--no-binary"),
    index_url: str | None = typer.Option(None, "--index-url", "-i"),
    extra_index_url: list[str] = typer.Option([], "--extra-index-url"),
    find_links: list[str] = typer.Option([], "--find-links", "-f"),
    offline: bool = typer.Option(False, "--offline"),
    output: Path = typer.Option(..., "-o", "--output", help="Directory that receives the verified wheels."),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Builds to run in parallel."),
    image: str | None = typer.Option(None, "--image", help="Build image (overrides the target's)."),
    route: str = typer.Option("auto", "--route", help="auto | native | container | emulated"),
    keep_going: bool = typer.Option(
        False, "--keep-going", help="Place the wheels that passed even if some failed."
    ),
) -> None:
    """Download or build every wheel the target needs, verify each against the target, place them in DIR."""
    options = PlanOptions(
        requirements=tuple(requirements or ()),
        requirement_files=tuple(requirement),
        constraint_files=tuple(constraint),
        project=project,
        python_platform=python_platform,
        python_version=python_version,
        python=python,
        source_policy=source_policy,
        only_binary=tuple(only_binary),
        no_binary=tuple(no_binary),
        index_url=index_url,
        extra_index_urls=tuple(extra_index_url),
        find_links=tuple(find_links),
        offline=offline,
        image=image,
        route=route,
    )
    plan, client = plan_for_build(options, plan_file=plan_file, lock=lock)
    with client:
        refuse_impossible(plan)  # before any progress output: nothing will be attempted
        result = _carry_out(plan, client, options, output, jobs, keep_going)
    console.err.print("")
    render(result)
    if not result.ok:
        raise typer.Exit(1)


def _carry_out(
    plan: Plan, client: IndexClient, options: PlanOptions, output: Path, jobs: int, keep_going: bool
) -> BuildResult:
    board = _Board()
    settings = BuildSettings(
        out_dir=output,
        cache_dir=default_cache_dir(os.environ),
        jobs=jobs,
        keep_going=keep_going,
        progress=board.update,
    )
    with Live(board.render(), console=console.err, refresh_per_second=4, transient=False) as live:
        board.live = live
        return carry_out(plan, client, build_host(options), settings)


class _Board:
    """One line per build: package, route, elapsed, state."""

    def __init__(self) -> None:
        self.rows: dict[str, tuple[str, float, str, float]] = {}
        self.lock = threading.Lock()
        self.live: Live | None = None

    def update(self, name: str, route: str, state: str) -> None:
        with self.lock:
            start = self.rows[name][1] if name in self.rows else time.monotonic()
            self.rows[name] = (route, start, state, time.monotonic())
        if self.live is not None:
            self.live.update(self.render())

    def render(self) -> Table:
        table = Table("package", "route", "elapsed", "state", box=None)
        with self.lock:
            for name, (route, start, state, last) in self.rows.items():
                end = time.monotonic() if state == "running" else last
                table.add_row(name, route, f"{end - start:5.1f}s", state)
        return table


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
            f"{len(result.outcomes)} wheels verified and placed in {result.out_dir}; "
            f"manifest {result.manifest.name}",
            markup=False,
        )
    else:
        console.err.print(
            "nothing that failed verification was placed; fix the findings above and rerun", markup=False
        )
