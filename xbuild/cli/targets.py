"""`xbuild targets` and `xbuild targets show TARGET`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from xbuild.cli import console
from xbuild.cli.formats import Format, FormatOption, JsonAlias, wants_json
from xbuild.cli.options import PythonInterp, PythonVersion, resolve_target
from xbuild.target import Catalog, Target, load_catalog, parse_target

SCHEMA_VERSION = 1
# Below this many columns for the description, `xbuild targets` drops it rather than cut a name.
MIN_DESCRIPTION_WIDTH = 24


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="List named targets, or show what a target means.", invoke_without_command=True)

    @group.callback(invoke_without_command=True)
    def _list(
        ctx: typer.Context,
        fmt: Format = FormatOption,
        json_alias: bool = JsonAlias,
    ) -> None:
        if ctx.invoked_subcommand is None:
            list_targets(wants_json(fmt, json_alias))

    @group.command("show", short_help="What a target means: platform, markers, ordered wheel tags.")
    def _show(
        target: str = typer.Argument(
            ...,
            metavar="TARGET",
            help="A named target, a uv triple, a wheel platform tag, or `host`.",
            show_default=False,
        ),
        python_version: str | None = PythonVersion,
        python: Path | None = PythonInterp,
        fmt: Format = FormatOption,
        json_alias: bool = JsonAlias,
    ) -> None:
        """Normalized target, its marker environment and its ordered wheel tags."""
        resolved = resolve_target(None if python else target, python_version, python)
        assert resolved is not None  # a platform was passed
        show_target(resolved, wants_json(fmt, json_alias))

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
                        "platform_tag": _platform_tag(e.name, catalog),
                        "python": e.python,
                        "image": e.image,
                    }
                    for e in catalog.entries
                ],
            }
        )
        return
    rows = [(e.name, e.python, _platform_tag(e.name, catalog), e.description) for e in catalog.entries]
    console.out.print(target_table(rows, console.out.width), crop=False)


def target_table(rows: list[tuple[str, str, str, str]], width: int) -> Table:
    """Names are what users copy: never cut. The description wraps, or goes when it would not fit."""
    fixed = [
        max(len(header), *(len(r[i]) for r in rows))
        for i, header in enumerate(("name", "python", "platform"))
    ]
    room = width - sum(fixed) - 2 * 4  # rich pads each of the 4 cells with a space either side
    table = Table(box=None)
    for header, size in zip(("name", "python", "platform"), fixed, strict=True):
        table.add_column(header, no_wrap=True, min_width=size)
    with_description = room >= MIN_DESCRIPTION_WIDTH
    if with_description:
        table.add_column("description", overflow="fold", max_width=room)
    for row in rows:
        table.add_row(*(row if with_description else row[:3]))
    if not with_description:
        table.caption = "descriptions: a wider terminal, or `xbuild targets show NAME`"
    return table


def _platform_tag(name: str, catalog: Catalog) -> str:
    """One spelling for every target: the wheel platform tag (the catalog files mix spellings)."""
    return parse_target(name, catalog=catalog).platform_tags[0]


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
        "python_full_version",
        "abi",
        "free_threaded",
        "macos_min",
        "ios_min",
        "ios_simulator",
        "android_api",
        "pyodide_abi",
        "emscripten",
        "image",
    ):
        if data.get(key) not in (None, False):
            console.out.print(f"{key:>19}: {data[key]}")
    console.out.print(f"{'python from':>19}: {target.python_version_source}")
    console.out.print("\nmarker environment:")
    for key, value in target.marker_environment().items():
        console.out.print(f"  {key} = {value!r}")
    tags = [str(t) for t in target.tags]
    shown = "" if len(tags) <= 12 else " (the first 12; --format json lists all)"
    console.out.print(f"\n{console.plural(len(tags), 'compatible tag')}, best first{shown}:")
    for tag in tags[:12]:
        console.out.print(f"  {tag}")
