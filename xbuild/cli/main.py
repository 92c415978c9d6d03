"""Entry point: builds the typer app from one module per command and maps errors to exit codes."""

from __future__ import annotations

import importlib
import logging
import sys

import typer

from xbuild import __version__
from xbuild.cli import console
from xbuild.errors import ExitCode, XbuildError

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


def report(exc: XbuildError) -> int:
    console.err.print(f"[bold red]ERROR[/] {exc.message}", markup=True, highlight=False)
    if exc.hint:
        console.err.print(f"[bold]TIP[/] {exc.hint}", markup=True, highlight=False)
    return int(exc.exit_code)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the only place that turns exceptions into exit codes."""
    try:
        args = sys.argv[1:] if argv is None else argv
        build_app(_command(args))(args=args, prog_name="xbuild")
    except SystemExit as exc:  # typer's standalone mode: usage errors exit 2 with a message
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else int(ExitCode.USAGE))
    except XbuildError as exc:
        return report(exc)
    except KeyboardInterrupt:
        console.err.print("interrupted; nothing was left half-written", markup=False)
        return 130
    except Exception as exc:
        logging.getLogger("xbuild").debug("internal error", exc_info=True)
        console.err.print(f"ERROR internal error: {type(exc).__name__}: {exc}", markup=False)
        console.err.print("TIP rerun with -v for details and report it", markup=False)
        return int(ExitCode.ENGINE)
    return 0


def run() -> None:
    sys.exit(main())
