"""`xbuild verify PATH...`: the CI gate. Exit 0 when every wheel or bundle passes, 1 when any is refused."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from pathlib import Path

import typer
from packaging.utils import canonicalize_name
from rich.markup import escape
from rich.table import Table

from xbuild.cli import console
from xbuild.cli.options import PythonInterp, PythonPlatform, PythonVersion, resolve_target
from xbuild.errors import ExitCode, RefusedError, XbuildError
from xbuild.target import Target
from xbuild.verify import WheelReport, verify_paths
from xbuild.verify.model import Kind, Severity
from xbuild.verify.report import counted, to_github, to_json, to_junit

# Findings shown per wheel in text output; JSON and JUnit always carry all of them.
TEXT_FINDINGS_PER_WHEEL = 50


class OutputFormat(StrEnum):
    TEXT = "text"
    JSON = "json"
    JUNIT = "junit"
    GITHUB = "github"


def register(app: typer.Typer) -> None:
    @app.command("verify")
    def _verify(
        paths: list[Path] = typer.Argument(
            ...,
            metavar="PATH...",
            help="Wheel files or directories of wheels; Lambda function or layer zips, or "
            "directories made by `pip install --target` (checked as installed distributions).",
        ),
        python_platform: str | None = PythonPlatform,
        python_version: str | None = PythonVersion,
        python: Path | None = PythonInterp,
        output: OutputFormat = typer.Option(
            OutputFormat.TEXT, "--format", help="text, json, junit or github."
        ),
        jobs: int | None = typer.Option(
            None, "--jobs", "-j", min=1, metavar="N", help="Wheels verified in parallel."
        ),
        require: list[str] = typer.Option(
            [],
            "--require",
            metavar="PROJECT",
            help="Refuse unless a wheel of PROJECT is among those checked (the CI gate for a "
            "project's own wheel).",
        ),
    ) -> None:
        """Check wheels and bundles against the target: tags, metadata, RECORD, paths and every binary inside.

        A `.whl` is checked as a wheel. Any other zip (a Lambda function or layer) and a directory
        holding `*.dist-info` (made by `pip install --target`) are checked as installed
        distributions: each RECORD against the files, every binary against the target, and files
        no RECORD lists (your handler code, say) as warnings.
        """
        try:
            target = resolve_target(python_platform, python_version, python)
            reports = verify_paths(paths, target, jobs)
        except XbuildError as exc:
            from xbuild.cli.main import report

            raise typer.Exit(report(exc)) from exc
        render(reports, target, output)
        missing = missing_projects(reports, require)
        if missing:
            raise RefusedError(
                f"no wheel of {', '.join(missing)} among {console.plural(len(reports), 'checked file')}",
                hint="the build produced no wheel of the project itself: build it with "
                "`xbuild build --project DIR` (the command `xbuild matrix` prints)",
            )
        if not all(r.ok for r in reports):
            raise typer.Exit(int(ExitCode.REFUSED))


def missing_projects(reports: Sequence[WheelReport], required: Sequence[str]) -> list[str]:
    """The required projects that no checked wheel belongs to."""
    present = {canonicalize_name(r.name) for r in reports if r.name and r.kind is not Kind.INSTALLED}
    return [name for name in required if canonicalize_name(name) not in present]


def render(reports: Sequence[WheelReport], target: Target | None, output: OutputFormat) -> None:
    if output is OutputFormat.JSON:
        console.print_json(to_json(reports, target))
    elif output is OutputFormat.JUNIT:
        console.out.file.write(to_junit(reports, target))
    elif output is OutputFormat.GITHUB:
        console.out.file.write(to_github(reports))
    else:
        render_text(reports, target)


def render_text(reports: Sequence[WheelReport], target: Target | None) -> None:
    out = console.out
    if target is None:
        out.print(
            "no target given: each wheel (and each installed distribution) was checked for internal "
            "consistency only (tags against contents); pass --python-platform to check against a "
            "target",
            markup=False,
        )
    else:
        out.print(f"target: {target.platform_label}", markup=False)
    table = Table(box=None)
    # One line per wheel whatever the terminal width: CI logs are read by grep as much as by eye.
    for header, cells in (
        ("wheel", [r.name or r.path.name for r in reports]),
        ("version", [r.version for r in reports]),
        ("tags", [_tag_triple(r) for r in reports]),
    ):
        table.add_column(header, no_wrap=True, min_width=max(len(header), *map(len, cells)))
    table.add_column("verdict", no_wrap=True, min_width=7)
    for r in reports:
        verdict = "[green]ok[/]" if r.ok else "[bold red]refused[/]"
        table.add_row(escape(r.name or r.path.name), escape(r.version), escape(_tag_triple(r)), verdict)
    out.print(table, crop=False, markup=True)  # cells are escaped above
    for r in reports:
        _findings(r)
    refused = sum(not r.ok for r in reports)
    warnings = sum(len(r.warnings) for r in reports)
    out.print(
        f"\n{counted(reports)}: {len(reports) - refused} passed, {refused} refused, "
        f"{console.plural(warnings, 'warning')}",
        markup=False,
    )


def _tag_triple(report: WheelReport) -> str:
    """The tags as the filename writes them (compressed), e.g. cp312-cp312-manylinux_2_17_x86_64."""
    if report.kind is Kind.INSTALLED:
        return f"installed: {console.plural(len(report.distributions), 'distribution')}"
    return "-".join(report.path.stem.split("-")[-3:]) if report.tags else ""


def _findings(report: WheelReport) -> None:
    if not report.findings:
        return
    out = console.out
    out.print(f"\n{report.path}", markup=False)
    for f in report.findings[:TEXT_FINDINGS_PER_WHEEL]:
        label = "[bold red]ERROR[/]  " if f.severity is Severity.ERROR else "[yellow]WARNING[/]"
        where = f"{escape(f.member)}: " if f.member else ""
        out.print(f"  {label} [bold]{f.check}[/] {where}{escape(f.message)}", markup=True)
    hidden = len(report.findings) - TEXT_FINDINGS_PER_WHEEL
    if hidden > 0:
        out.print(f"  ... and {hidden} more (use --format json for all)", markup=False)
