"""`xbuild plan`: what will be downloaded or built for the target, one line per package, and why."""

from __future__ import annotations

from pathlib import Path

import typer

from xbuild.cli import console
from xbuild.cli.options import PythonInterp, PythonPlatform, PythonVersion
from xbuild.cli.planning import PlanOptions, plan_from_options
from xbuild.plan.lock import write_pylock
from xbuild.plan.model import Action, Plan
from xbuild.util.atomic import write_text_atomic


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)


def plan_command(
    requirements: list[str] = typer.Argument(None, metavar="[REQ]...", help="PEP 508 requirements."),
    requirement: list[Path] = typer.Option(
        [], "-r", "--requirement", help="Requirements file (nesting, --hash)."
    ),
    constraint: list[Path] = typer.Option([], "-c", "--constraint", help="Constraints file."),
    project: Path | None = typer.Option(None, "--project", help="Project directory (pyproject.toml)."),
    extra: list[str] = typer.Option([], "--extra", help="Project extra to include."),
    group: list[str] = typer.Option([], "--group", help="PEP 735 dependency group to include."),
    python_platform: str | None = PythonPlatform,
    python_version: str | None = PythonVersion,
    python: Path | None = PythonInterp,
    source_policy: str | None = typer.Option(
        None, "--source-policy", help="prefer-binary (default) | newest | never"
    ),
    only_binary: list[str] = typer.Option([], "--only-binary", help="PKG[,PKG] or :all:"),
    no_binary: list[str] = typer.Option([], "--no-binary", help="PKG[,PKG] or :all:"),
    index_url: str | None = typer.Option(None, "--index-url", "-i"),
    extra_index_url: list[str] = typer.Option([], "--extra-index-url"),
    find_links: list[str] = typer.Option([], "--find-links", "-f"),
    offline: bool = typer.Option(False, "--offline", help="Use the cache only."),
    image: str | None = typer.Option(None, "--image", help="Build image for source builds."),
    route: str | None = typer.Option(None, "--route", help="auto | native | container | emulated"),
    fmt: str = typer.Option("text", "--format", help="text | json"),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write the JSON plan here."),
    lock: Path | None = typer.Option(None, "--lock", help="Write a PEP 751 pylock.toml here."),
) -> None:
    """Resolve requirements FOR THE TARGET and say, per package, what will be used or built and why."""
    options = PlanOptions(
        requirements=tuple(requirements or ()),
        requirement_files=tuple(requirement),
        constraint_files=tuple(constraint),
        project=project,
        extras=tuple(extra),
        groups=tuple(group),
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
    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    plan = plan_from_options(options)
    if output is not None:
        write_text_atomic(output, console.dumps(plan.to_json()))
    if lock is not None:
        write_pylock(plan, lock)
    if fmt == "json":
        console.print_json(plan.to_json())
    else:
        render(plan)
    if not plan.feasible:
        raise typer.Exit(1)


def render(plan: Plan) -> None:
    target = plan.target
    console.out.print(
        f"target: {target.name or target.spec} -> {target.platform_tags[0]} "
        f"Python {target.python} ({target.python_version_source})",
        markup=False,
    )
    width = max((len(d.name) for d in plan.distributions), default=4)
    for d in plan.distributions:
        if d.action is Action.WHEEL:
            what = d.file.filename
        else:
            assert d.route is not None
            state = "ok" if d.route.possible else "IMPOSSIBLE HERE"
            what = f"{d.route.route} {d.route.image or ''} [{state}: {d.route.reason}]"
        console.out.print(
            f"{d.name:<{width}} {d.version:<12} {d.action:<5} {what} - {d.reason}", markup=False
        )
        if d.route is not None and not d.route.possible:
            for alt in d.route.alternatives:
                console.out.print(f"{'':<{width}}   alternative: {alt}", markup=False)
    wheels = sum(1 for d in plan.distributions if d.action is Action.WHEEL)
    builds = len(plan.builds)
    verdict = "can be carried out here" if plan.feasible else "CANNOT be carried out on this host"
    console.out.print(
        f"{len(plan.distributions)} distributions: {wheels} wheels, {builds} builds; plan {verdict}",
        markup=False,
    )
