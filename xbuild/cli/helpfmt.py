"""Help pages a human reads: `-r, --requirement FILE`, never typer's `<list[Path]>` or `<str>`.

typer 0.2x appends the Python type of every parameter to its help line (`<list[str]>`), and after
an argument's metavar too. These command and group classes write the options section themselves:
the metavar the command declared (FILE, DIR, URL, PACKAGE, ...) or, when it declared none, a word
derived from the type. Set on every command by `xbuild.cli.main.build_app`.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, get_args, get_origin

from typer import _click
from typer.core import TyperCommand, TyperGroup

_WORDS: dict[Any, str] = {str: "TEXT", int: "N", float: "NUMBER", Path: "PATH"}
_PATH_WORDS = {"file": "FILE", "directory": "DIR"}


def metavar(param: _click.Parameter) -> str:
    """What follows an option (or names an argument) in help: the declared metavar, else a word."""
    if param.param_type_name == "argument":
        name = param.metavar or (param.name or "ARG").upper()
        return name if param.nargs == 1 or name.endswith("...") else name + "..."
    if param.metavar:
        return param.metavar
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", str)
    if get_origin(annotation) is list:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "|".join(str(m.value) for m in annotation)
    if annotation is Path:
        return _PATH_WORDS.get(str(getattr(descriptor, "path_type", "")), "PATH")
    return _WORDS.get(annotation, "VALUE")


def help_name(param: _click.Parameter) -> str:
    """`-r, --requirement FILE`: short spellings first, then the metavar unless it is a flag."""
    if param.param_type_name == "argument":
        return metavar(param)
    names = ", ".join(sorted(param.opts, key=lambda o: len(o) - len(o.lstrip("-"))))
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return names
    return f"{names} {metavar(param)}"


def format_params(command: _click.Command, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
    rows: dict[str, list[tuple[str, str]]] = {"argument": [], "option": []}
    for param in command.get_params(ctx):
        record = param.get_help_record(ctx)
        if record is not None and param.param_type_name in rows:
            rows[param.param_type_name].append((help_name(param), record[1]))
    for title, kind in (("Arguments", "argument"), ("Options", "option")):
        if rows[kind]:
            with formatter.section(title):
                formatter.write_dl(rows[kind])


class Command(TyperCommand):
    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        format_params(self, ctx, formatter)


class Group(TyperGroup):
    def format_options(self, ctx: _click.Context, formatter: _click.HelpFormatter) -> None:
        format_params(self, ctx, formatter)
        self.format_commands(ctx, formatter)
