"""Help pages a human reads: `-r, --requirement FILE`, never typer's `<list[Path]>` or `<str>`.

typer appends the Python type of every parameter to its help line (`<list[str]>`), and after
an argument's metavar too. These command and group classes write the options section themselves:
the metavar the command declared (FILE, DIR, URL, PACKAGE, ...) or, when it declared none, a word
derived from the click type typer made for it. Set on every command by `xbuild.cli.main.build_app`.
"""

from __future__ import annotations

from typer import _click
from typer.core import TyperCommand, TyperGroup

# By the name of the parameter's click type.
_WORDS = {"str": "TEXT", "int": "N", "float": "NUMBER", "boolean": "BOOL"}


def metavar(param: _click.Parameter) -> str:
    """What follows an option (or names an argument) in help: the declared metavar, else a word."""
    if param.param_type_name == "argument":
        name = param.metavar or (param.name or "ARG").upper()
        return name if param.nargs == 1 or name.endswith("...") else name + "..."
    if param.metavar:
        return param.metavar
    kind = param.type
    choices = getattr(kind, "choices", None)
    if choices:  # an Enum option: its values are the words to type
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    name = str(getattr(kind, "name", ""))
    if name == "path":
        files, dirs = getattr(kind, "file_okay", True), getattr(kind, "dir_okay", True)
        return "DIR" if dirs and not files else "FILE" if files and not dirs else "PATH"
    return _WORDS.get(name.split()[0] if name else "", "VALUE")


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
