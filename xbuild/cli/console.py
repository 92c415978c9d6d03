"""Where the CLI writes: results to stdout, logs and errors to stderr (so --json never mixes with logs).

Both consoles have markup and emoji codes OFF: paths, requirements, index pages and tool output
are printed as they are (`[tool.xbuild]`, `idna[all]`, `nc-[/x]`, `:memo:`), never read as rich
markup. Deliberate style goes through `styled()`, which builds a `Text` and never parses.

rich is imported on first use (`out`, `err`, `styled`, `setup_logging`): `xbuild --version` and
`xbuild --help` never need it, and it is a third of their start-up time.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from xbuild.util.text import plural as plural  # noqa: PLC0414 (re-export: console.plural)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

    out: Console
    err: Console

# -v: decisions (INFO from xbuild); -vv: timings and debug; -vvv: also every HTTP exchange.
DECISIONS, TIMINGS, HTTP = 1, 2, 3
_HTTP_LOGGER = "xbuild.http"  # index/wire.py: one line per HTTP exchange
_STARTED = time.time()


def __getattr__(name: str) -> Any:
    # PEP 562: `console.out` / `console.err` are made on first use, then are plain globals.
    if name not in ("out", "err"):
        raise AttributeError(name)
    return _console(name)


def _console(name: str) -> Console:
    if name not in globals():
        from rich.console import Console

        settings: dict[str, Any] = {"soft_wrap": True, "highlight": False, "markup": False, "emoji": False}
        globals()["out"] = Console(**settings)
        globals()["err"] = Console(stderr=True, **settings)
    console: Console = globals()[name]
    return console


def styled(*parts: str | tuple[str, str]) -> Text:
    """Plain strings and (text, style) pairs, joined; the text is never parsed as markup."""
    from rich.text import Text

    return Text.assemble(*parts)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def print_json(data: Any) -> None:
    # Plain write: rich would re-wrap or colour the JSON, and consumers parse it.
    stream = sys.stdout  # what `out.file` is; going through it would import rich for one write
    stream.write(dumps(data))
    stream.flush()


def setup_logging(verbose: int) -> None:
    """Only xbuild's own loggers speak below WARNING; other libraries' warnings (log records and
    Python warnings alike) from -vv on; HTTP libraries' debug only at -vvv."""
    libraries = logging.WARNING if verbose >= TIMINGS else logging.ERROR
    logging.basicConfig(level=libraries, handlers=[_handler(verbose)], force=True)
    levels = {0: logging.WARNING, DECISIONS: logging.INFO}
    logging.getLogger("xbuild").setLevel(levels.get(verbose, logging.DEBUG))
    logging.getLogger(_HTTP_LOGGER).setLevel(logging.DEBUG if verbose >= HTTP else logging.WARNING)
    capture_warnings(verbose)


def capture_warnings(verbose: int = 0) -> None:
    """Python warnings (a library's RuntimeWarning, DeprecationWarning) go to the `py.warnings`
    logger, shown from -vv on. Called again by `setup_logging` once -v is known."""
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.WARNING if verbose >= TIMINGS else logging.CRITICAL)


def _handler(verbose: int) -> logging.Handler:
    """Columns on a terminal; one unwrapped line per record otherwise (CI logs are grepped)."""
    if not is_terminal(sys.stderr):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_PlainFormatter(with_time=verbose >= TIMINGS))
        return handler
    from rich.logging import RichHandler

    return RichHandler(
        console=_console("err"),
        show_time=verbose >= TIMINGS,
        log_time_format=_since_start,
        show_path=verbose >= TIMINGS,
        markup=False,
        rich_tracebacks=False,
    )


def is_terminal(stream: Any) -> bool:
    """rich's `Console.is_terminal` for a console made as `_console` makes them, decided without
    importing rich (35-40 ms, paid by every command only to choose a log handler): TTY_COMPATIBLE,
    then FORCE_COLOR, then isatty."""
    compatible = os.environ.get("TTY_COMPATIBLE", "")
    if compatible in ("0", "1"):
        return compatible == "1"
    force = os.environ.get("FORCE_COLOR")
    if force is not None:
        return force != ""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # no isatty, or a closed file
        return False


class _PlainFormatter(logging.Formatter):
    def __init__(self, *, with_time: bool) -> None:
        super().__init__()
        self.with_time = with_time

    def format(self, record: logging.LogRecord) -> str:
        when = f"{record.created - _STARTED:7.2f}s " if self.with_time else ""
        return f"{when}{record.levelname:<7} {super().format(record)}"


def _since_start(when: datetime) -> Text:
    from rich.text import Text

    return Text(f"{when.timestamp() - _STARTED:7.2f}s")
