"""The CLI's output helpers: literal text, plurals, and which loggers speak at which -v level."""

from __future__ import annotations

import io
import logging
import os
import warnings
from collections.abc import Iterator

import pytest
from rich.console import Console

from xbuild.cli import console

LOGGERS = ("xbuild", "xbuild.http", "py.warnings")


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level, {n: logging.getLogger(n).level for n in LOGGERS})
    yield
    logging.captureWarnings(False)
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in saved[2].items():
        logging.getLogger(name).setLevel(level)


@pytest.mark.parametrize(
    ("count", "word", "many", "expected"),
    [
        (1, "wheel", None, "1 wheel"),
        (2, "wheel", None, "2 wheels"),
        (0, "wheel", None, "0 wheels"),
        (1, "entry", "entries", "1 entry"),
        (3, "entry", "entries", "3 entries"),
    ],
)
def test_plural(count: int, word: str, many: str | None, expected: str) -> None:
    assert console.plural(count, word, many) == expected


def test_consoles_print_markup_literally(capsys: pytest.CaptureFixture[str]) -> None:
    console.out.print("[tool.xbuild] idna[all]==1 nc-[/x] [link=x]y[/link] :memo:")
    assert capsys.readouterr().out == "[tool.xbuild] idna[all]==1 nc-[/x] [link=x]y[/link] :memo:\n"


def test_styled_never_parses() -> None:
    sink = io.StringIO()
    Console(file=sink, force_terminal=True).print(console.styled(("ERROR", "bold red"), " [/bold] x"))
    assert "[/bold] x" in sink.getvalue() and "\x1b[" in sink.getvalue()


@pytest.mark.parametrize(
    ("verbose", "decisions", "timings", "http"),
    [(0, False, False, False), (1, True, False, False), (2, True, True, False), (3, True, True, True)],
)
def test_levels(verbose: int, decisions: bool, timings: bool, http: bool) -> None:
    console.setup_logging(verbose)
    assert logging.getLogger("xbuild.plan.planner").isEnabledFor(logging.INFO) is decisions
    assert logging.getLogger("xbuild.build").isEnabledFor(logging.DEBUG) is timings
    assert logging.getLogger("xbuild.http").isEnabledFor(logging.DEBUG) is http
    assert not logging.getLogger("docker.api").isEnabledFor(logging.INFO)
    assert logging.getLogger("docker.api").isEnabledFor(logging.WARNING) is timings
    assert logging.getLogger("docker.api").isEnabledFor(logging.ERROR)
    assert logging.getLogger("xbuild").isEnabledFor(logging.WARNING)


def test_library_warnings_do_not_reach_the_user(capsys: pytest.CaptureFixture[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        console.setup_logging(0)
        warnings.warn("coroutine was never awaited", RuntimeWarning, stacklevel=1)
        assert capsys.readouterr().err == ""
        console.setup_logging(2)
        warnings.warn("coroutine was never awaited", RuntimeWarning, stacklevel=1)
        assert "RuntimeWarning: coroutine was never awaited" in capsys.readouterr().err


def test_log_lines_are_plain_and_unwrapped_when_not_a_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    console.setup_logging(1)
    long = "chose manylinux_2_34_aarch64 wheel " + "x" * 300
    logging.getLogger("xbuild.plan").info(long)
    assert capsys.readouterr().err == f"INFO    {long}\n"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"FORCE_COLOR": "1"},
        {"FORCE_COLOR": ""},
        {"TTY_COMPATIBLE": "0", "FORCE_COLOR": "1"},
        {"TTY_COMPATIBLE": "1"},
    ],
)
def test_is_terminal_agrees_with_rich(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """The log handler is chosen without importing rich: the answer must stay rich's own."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with open(os.devnull, "w") as stream:  # not a tty: only the environment can say yes
        assert console.is_terminal(stream) == Console(file=stream).is_terminal
