"""`xbuild plan`: what will be downloaded or built for the target, one line per package, and why."""

from __future__ import annotations

from pathlib import Path

import typer

from xbuild.cli import console
from xbuild.cli.flags import options_from, resolution_flags
from xbuild.cli.planning import plan_from_options
from xbuild.errors import ExitCode
from xbuild.options import Flags
from xbuild.plan.lock import write_pylock
from xbuild.plan.model import Action, Plan
from xbuild.util.atomic import write_text_atomic


def register(app: typer.Typer) -> None:
    app.command("plan")(plan_command)


@resolution_flags
def plan_command(
    *,
    flags: Flags,
    fmt: str = typer.Option("text", "--format", metavar="FORMAT", help="text (default) or json."),
    output: Path | None = typer.Option(
        None, "-o", "--output", metavar="FILE", help="Also write the JSON plan to FILE (for `build --plan`)."
    ),
    write_lock: Path | None = typer.Option(
        None,
        "--write-lock",
        metavar="FILE",
        help="Also write the plan as a PEP 751 lock (pylock.toml); read it back with `-r FILE`.",
    ),
) -> None:
    """Resolve requirements FOR THE TARGET and say, per package, what will be used or built and why."""
    if fmt not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--format")
    plan = plan_from_options(options_from(flags))
    if output is not None:
        write_text_atomic(output, console.dumps(plan.to_json()))
    if write_lock is not None:
        write_pylock(plan, write_lock)
    if fmt == "json":
        console.print_json(plan.to_json())
    else:
        render(plan)
    if not plan.feasible:
        missing = any(d.route is not None and d.route.missing_tool for d in plan.builds)
        raise typer.Exit(ExitCode.ENGINE if missing else ExitCode.REFUSED)


def render(plan: Plan) -> None:
    target = plan.target
    console.out.print(
        f"target: {target.name or target.spec} -> {target.platform_tags[0]} "
        f"Python {target.python_full} ({target.python_version_source})",
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
    for skipped in plan.skipped:
        console.out.print(f"skipped {skipped.requirement}: {skipped.reason}", markup=False)
    wheels = sum(1 for d in plan.distributions if d.action is Action.WHEEL)
    builds = len(plan.builds)
    verdict = "can be carried out here" if plan.feasible else "CANNOT be carried out on this host"
    console.out.print(
        f"{console.plural(len(plan.distributions), 'distribution')}: "
        f"{console.plural(wheels, 'wheel')}, {console.plural(builds, 'build')}; plan {verdict}",
        markup=False,
    )
