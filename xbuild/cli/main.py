"""Entry point: builds the typer app from one module per command and maps errors to exit codes."""

from __future__ import annotations

import importlib
import logging
import sys

import typer
from rich.markup import escape

from xbuild import __version__
from xbuild.cli import console
from xbuild.errors import ExitCode, XbuildError
from xbuild.util.oserror import user_os_error

COMMANDS = ("targets", "doctor", "verify", "plan", "build", "bundle", "matrix")


def _version(value: bool) -> None:
    if value:
        console.out.print(f"xbuild {__version__}")
        raise typer.Exit()


def _root(
    verbose: int = typer.Option(
        0, "--verbose", "-v", count=True, help="Debug logs on stderr: why each decision was taken."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    console.setup_logging(verbose)


def build_app(only: str | None = None) -> typer.Typer:
    """The typer app; with `only`, just that command's module is imported (start-up time)."""
    app = typer.Typer(
        name="xbuild",
        help="Wheels, Lambda zips and a verify gate that are right for THE TARGET, not for this machine.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    app.callback()(_root)
    for name in (only,) if only in COMMANDS else COMMANDS:
        module = importlib.import_module(f"xbuild.cli.{name}")
        module.register(app)
    return app


def __getattr__(name: str) -> typer.Typer:
    # `from xbuild.cli.main import app` (tests, CliRunner) gets the full app, built on demand.
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _command(argv: list[str]) -> str | None:
    """The subcommand named on the command line, skipping the root options."""
    return next((a for a in argv if not a.startswith("-")), None)


# Every ERROR carries a TIP: these stand in when the error itself has none.
_DEFAULT_HINTS = {
    ExitCode.REFUSED: "rerun with -v to see why, and fix the input named above",
    ExitCode.USAGE: "check the argument, path or URL named above; `xbuild <command> --help` lists options",
    ExitCode.ENGINE: "rerun with -v for the tool's output; `xbuild doctor` checks engines and tools",
}


def report(exc: XbuildError) -> int:
    # Messages quote user input ("[project]", "pkg[extra]"): escaped, so rich shows it verbatim.
    console.err.print(f"[bold red]ERROR[/] {escape(exc.message)}", markup=True, highlight=False)
    hint = exc.hint or _DEFAULT_HINTS.get(exc.exit_code)
    if hint:
        console.err.print(f"[bold]TIP[/] {escape(hint)}", markup=True, highlight=False)
    return int(exc.exit_code)


def _interrupted() -> int:
    console.err.print("interrupted", markup=False)
    return 130


def _by_interrupt(exc: BaseException) -> bool:
    """typer turns Ctrl-C into a silent exit 130; the KeyboardInterrupt stays in the chain."""
    seen: BaseException | None = exc
    for _ in range(100):  # a chain is short; the bound only guards against a cycle
        if seen is None:
            break
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the only place that turns exceptions into exit codes."""
    try:
        args = sys.argv[1:] if argv is None else argv
        build_app(_command(args))(args=args, prog_name="xbuild")
    except SystemExit as exc:  # typer's standalone mode: usage errors exit 2 with a message
        if _by_interrupt(exc):
            return _interrupted()
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else int(ExitCode.USAGE))
    except XbuildError as exc:
        return report(exc)
    except KeyboardInterrupt:
        return _interrupted()
    except OSError as exc:  # a full, read-only or unwritable disk, or a directory where a file goes
        error = user_os_error(exc)
        if error is None:
            return _internal(exc)
        return report(error)
    except Exception as exc:
        return _internal(exc)
    return 0


def _internal(exc: Exception) -> int:
    logging.getLogger("xbuild").debug("internal error", exc_info=True)
    console.err.print(f"ERROR internal error: {type(exc).__name__}: {exc}", markup=False)
    console.err.print("TIP rerun with -v for details and report it", markup=False)
    return int(ExitCode.ENGINE)


def run() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being handled
        code = _interrupted()
    sys.exit(code)
