"""`xbuild targets` and `xbuild targets show TARGET`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from xbuild.cli import console
from xbuild.cli.options import PythonInterp, PythonVersion, resolve_target
from xbuild.target import Target, load_catalog

SCHEMA_VERSION = 1


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="List named targets, or show what a target means.", invoke_without_command=True)

    @group.callback(invoke_without_command=True)
    def _list(
        ctx: typer.Context,
        json_out: bool = typer.Option(False, "--json", help="Stable JSON output."),
    ) -> None:
        if ctx.invoked_subcommand is None:
            list_targets(json_out)

    @group.command("show")
    def _show(
        target: str = typer.Argument(..., metavar="TARGET"),
        python_version: str | None = PythonVersion,
        python: Path | None = PythonInterp,
        json_out: bool = typer.Option(False, "--json", help="Stable JSON output."),
    ) -> None:
        """Normalized target, its marker environment and its ordered wheel tags."""
        resolved = resolve_target(None if python else target, python_version, python)
        assert resolved is not None  # a platform was passed
        show_target(resolved, json_out)

    app.add_typer(group, name="targets")


def list_targets(json_out: bool) -> None:
    catalog = load_catalog()
    if json_out:
        console.print_json(
            {
                "schema": SCHEMA_VERSION,
                "targets": [
                    {
                        "name": e.name,
                        "description": e.description,
                        "platform": e.platform,
                        "python": e.python,
                        "image": e.image,
                    }
                    for e in catalog.entries
                ],
            }
        )
        return
    table = Table("name", "python", "platform", "description", box=None)
    for e in catalog.entries:
        table.add_row(e.name, e.python, e.platform, e.description)
    console.out.print(table)


def target_document(target: Target) -> dict[str, Any]:
    return {
        "schema": SCHEMA_VERSION,
        "target": target.to_json(),
        "markers": target.marker_environment(),
        "tags": [str(t) for t in target.tags],
    }


def show_target(target: Target, json_out: bool) -> None:
    if json_out:
        console.print_json(target_document(target))
        return
    data = target.to_json()
    for key in (
        "name",
        "description",
        "os",
        "arch",
        "libc",
        "libc_version",
        "python_version",
        "abi",
        "macos_min",
        "image",
    ):
        if data[key] is not None:
            console.out.print(f"{key:>16}: {data[key]}")
    console.out.print(f"{'python from':>16}: {target.python_version_source}")
    console.out.print("\nmarker environment:")
    for key, value in target.marker_environment().items():
        console.out.print(f"  {key} = {value!r}")
    tags = [str(t) for t in target.tags]
    console.out.print(f"\n{len(tags)} compatible tags, best first (first 12, --json for all):")
    for tag in tags[:12]:
        console.out.print(f"  {tag}")
