"""`xbuild matrix`: the CI build matrix for the targets configured in [tool.xbuild]."""

from __future__ import annotations

from pathlib import Path

import typer

from xbuild.cli import console
from xbuild.config import load_config
from xbuild.errors import UsageError
from xbuild.matrix import entry, github, gitlab
from xbuild.target import parse_target


def register(app: typer.Typer) -> None:
    app.command("matrix")(matrix_command)


def matrix_command(
    project: Path = typer.Option(
        Path("."),
        "--project",
        metavar="DIR",
        help="Project directory whose pyproject.toml has [tool.xbuild].",
    ),
    target: list[str] = typer.Option(
        [],
        "--python-platform",
        "-p",
        metavar="TARGET",
        help="A target to build for; repeat for more (default: [tool.xbuild] targets).",
        show_default=False,
    ),
    python_version: str | None = typer.Option(
        None,
        "--python-version",
        metavar="X.Y",
        help="Python version (default: [tool.xbuild] python-version).",
    ),
    fmt: str = typer.Option(
        "json",
        "--format",
        metavar="json|github|gitlab",
        help="json, github (strategy.matrix for fromJSON) or gitlab (parallel: matrix:).",
    ),
) -> None:
    """Print one job per target with the runner it needs and the command to run."""
    config = load_config(project)
    spellings = tuple(target) or config.targets
    if not spellings:
        raise UsageError(
            "no targets to build for",
            hint="add `targets = [...]` under [tool.xbuild] in pyproject.toml or pass --python-platform",
        )
    version = python_version or config.python_version
    entries = [
        entry(
            s,
            parse_target(s, python_version=version, default_python=None if version else (3, 12, 0)),
            project=project.as_posix(),
            name=config.name,
        )
        for s in spellings
    ]
    if fmt == "github":
        console.out.file.write(console.dumps(github(entries)).replace("\n", "").replace("  ", "") + "\n")
    elif fmt == "gitlab":
        console.out.file.write(gitlab(entries))
    elif fmt == "json":
        console.print_json({"schema": 1, "jobs": [e.to_json() for e in entries]})
    else:
        raise UsageError(f"unknown --format {fmt!r}", hint="use github, gitlab or json")
