"""Entry point: builds the typer app from one module per command and maps errors to exit codes.

Start-up is part of the interface: `--version` answers before typer or rich is imported, the
root `--help` lists the commands from `COMMANDS` without importing them, and a command imports
only its own module.
"""

from __future__ import annotations

import gc
import importlib
import logging
import sys
from typing import TYPE_CHECKING

from xbuild import __version__
from xbuild.cli import console, replay
from xbuild.errors import ExitCode, XbuildError
from xbuild.util import signals
from xbuild.util.oserror import user_os_error

if TYPE_CHECKING:
    import typer

# The one-line summary of each command in `xbuild --help` (the command's own --help has the rest).
COMMANDS: dict[str, str] = {
    "targets": "List named targets, or show what one means.",
    "doctor": "What this machine can build for: libc, emulators, engine, Pythons.",
    "verify": "Check wheels against the target: tags, metadata, RECORD, binaries.",
    "plan": "Per package: which wheel, or which route builds it, and why.",
    "build": "Fetch or build every wheel for the target, verified, into -o DIR.",
    "bundle": "A Lambda zip, layer or directory that imports on the target.",
    "matrix": "One CI job per [tool.xbuild] target: runner and command.",
}
_ROOT_FLAGS = replay.VERBOSE_FLAGS | {"--version"}


def build_app(only: str | None = None, *, listing: bool = False) -> typer.Typer:
    """The typer app: every command, or with `only` just that command's module (start-up time).
    With `listing` (root --help, a mistyped command), commands are named from `COMMANDS`, none imported."""
    import typer

    from xbuild.cli import helpfmt

    app = typer.Typer(
        name="xbuild",
        help="Wheels, Lambda zips and a verify gate that are right for THE TARGET, not for this machine.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
        cls=helpfmt.Group,
    )

    @app.callback()
    def _root(
        verbose: int = typer.Option(
            0,
            "--verbose",
            "-v",
            count=True,
            show_default=False,
            help="-v: why each decision was taken; -vv: timings, debug; -vvv: HTTP. Anywhere on the line.",
        ),
        version: bool = typer.Option(
            False, "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ) -> None:
        console.setup_logging(verbose)

    if listing:
        for name, summary in COMMANDS.items():
            app.command(name, help=summary, short_help=summary, cls=helpfmt.Command)(_not_loaded)
        return app
    for name in (only,) if only in COMMANDS else COMMANDS:
        importlib.import_module(f"xbuild.cli.{name}").register(app)
    _human_help(app)
    return app


def _human_help(app: typer.Typer) -> None:
    """Every command and group renders help with `helpfmt` and lists with its `COMMANDS` summary."""
    from typer.core import TyperCommand, TyperGroup

    from xbuild.cli import helpfmt

    for info in app.registered_commands:
        if info.cls in (None, TyperCommand):
            info.cls = helpfmt.Command
        info.short_help = info.short_help or COMMANDS.get(info.name or "")
    for sub in app.registered_groups:
        if not isinstance(sub.cls, type) or sub.cls is TyperGroup:
            sub.cls = helpfmt.Group
        if sub.name in COMMANDS:
            sub.short_help = COMMANDS[sub.name]
        if sub.typer_instance is not None:
            _human_help(sub.typer_instance)


def _not_loaded() -> None:
    raise AssertionError("listing stubs are never invoked: a named command loads its module")


def _print_version(value: bool) -> None:
    if value:
        sys.stdout.write(f"xbuild {__version__}\n")
        raise SystemExit(0)


def __getattr__(name: str) -> typer.Typer:
    # `from xbuild.cli.main import app` (tests, CliRunner) gets the full app, built on demand.
    if name == "app":
        return build_app()
    raise AttributeError(name)


def _verbosity_first(argv: list[str]) -> list[str]:
    """`xbuild plan ... -v` means `xbuild -v plan ...`, as with pip: -v is only a root option, and
    no command has a -v of its own. Nothing after `--` moves."""
    head = replay.before_dashes(argv)
    flags = [a for a in head if a in replay.VERBOSE_FLAGS]
    return [*flags, *(a for a in head if a not in replay.VERBOSE_FLAGS), *argv[len(head) :]]


# Every ERROR carries a TIP: these stand in when the error itself has none.
_DEFAULT_HINTS = {
    ExitCode.REFUSED: "rerun with -v to see why, and fix the input named above",
    ExitCode.USAGE: "check the argument, path or URL named above; `xbuild <command> --help` lists options",
    ExitCode.ENGINE: "rerun with -v for the tool's output; `xbuild doctor` checks engines and tools",
}


def report(exc: XbuildError) -> int:
    """ERROR and TIP lines; the message and hint are user text (paths, requirements), never markup."""
    console.err.print(console.styled(("ERROR", "bold red"), " ", exc.message))
    hint = exc.hint or _DEFAULT_HINTS.get(exc.exit_code)
    if hint:
        console.err.print(console.styled(("TIP", "bold"), " ", hint))
    return int(exc.exit_code)


def _interrupted() -> int:
    console.err.print("interrupted", markup=False)
    return 130


def _interrupt_in(exc: BaseException) -> KeyboardInterrupt | None:
    """typer turns Ctrl-C into a silent exit 130; the KeyboardInterrupt stays in the chain."""
    seen: BaseException | None = exc
    for _ in range(100):  # a chain is short; the bound only guards against a cycle
        if seen is None or isinstance(seen, KeyboardInterrupt):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; the only place that turns exceptions into exit codes.

    A process's own command line (no `argv`) that `replay` may answer next time is recorded.
    """
    raw = sys.argv[1:] if argv is None else argv
    if argv is not None or not replay.eligible(raw):
        return _main(raw, final=argv is None)
    replay.install()
    with replay.recording(raw) as done:
        code = _main(raw, final=True)
        done(code)
    return code


def _main(raw: list[str], *, final: bool) -> int:
    args = _verbosity_first(raw)
    if "--version" in args and _ROOT_FLAGS.issuperset(args):
        sys.stdout.write(f"xbuild {__version__}\n")  # before typer and rich are even imported
        return 0
    console.capture_warnings()  # from here on, also while command modules are imported
    try:
        name = replay.command_of(args)
        # The first Ctrl-C/SIGTERM stops containers, cleans up, exits 130/143. The process's own
        # entry point (`final`) ignores signals once the command has returned.
        with signals.trapped(final=final):
            build_app(name, listing=name not in COMMANDS)(args=args, prog_name="xbuild")
    except SystemExit as exc:  # typer's standalone mode: usage errors exit 2 with a message
        if isinstance(exc, signals.Interrupted):  # signals.trapped() has said "interrupted"
            return int(exc.code or 130)
        if _interrupt_in(exc) is not None:
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
    console.err.print("TIP rerun with -vv for the traceback, and report it", markup=False)
    return int(ExitCode.ENGINE)


def run() -> None:
    try:
        code = main()
    except KeyboardInterrupt:  # a second Ctrl-C while the first was being handled
        code = _interrupted()
    # The interpreter's shutdown runs the cycle collector over everything still alive, several
    # times: 0.1-0.2 s after a cold plan (index pages, caches). Nothing left needs collecting,
    # so the survivors are frozen out of its sight; reference counting still frees them.
    gc.freeze()
    sys.exit(code)
