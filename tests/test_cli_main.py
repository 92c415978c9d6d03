"""The entry point: start-up paths import only what they use, help reads as prose, -v levels."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import typer.main
from support.index_server import IndexServer
from support.packages import make_wheel
from typer import _click
from typer.core import TyperGroup

from xbuild import __version__
from xbuild.cli.main import COMMANDS, build_app, main

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("typer", "rich", "xbuild.index.wire", "docker", "xbuild.cli.plan", "xbuild.index")


def _python(code: str) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout


def _loaded_after(args: list[str]) -> dict[str, bool]:
    code = (
        "import sys, io, contextlib\n"
        "from xbuild.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({args!r})\n"
        f"print(*[any(m == n or m.startswith(n + '.') for m in sys.modules) for n in {HEAVY!r}])\n"
    )
    return dict(zip(HEAVY, (flag == "True" for flag in _python(code).split()), strict=True))


def test_version_answers_before_typer_or_rich(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"xbuild {__version__}\n"
    assert not any(_loaded_after(["--version"]).values())
    assert main(["-v", "--version"]) == 0


def test_root_help_imports_no_command_and_no_rich() -> None:
    loaded = _loaded_after(["--help"])
    assert loaded["typer"]
    assert not any(loaded[name] for name in HEAVY[1:]), loaded


def test_root_help_lists_every_command_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    listing = capsys.readouterr().out.split("Commands:")[1]
    for name, summary in COMMANDS.items():
        assert re.search(rf"^  {name}\s+{re.escape(summary)}$", listing, re.MULTILINE), name


def test_full_app_lists_the_same_summaries() -> None:
    group = typer.main.get_command(build_app())
    assert isinstance(group, TyperGroup)
    assert {name: cmd.get_short_help_str(200) for name, cmd in group.commands.items()} == COMMANDS


def _commands(
    command: _click.Command, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], _click.Command]]:
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))


ALL_COMMANDS = [path for path, _ in _commands(typer.main.get_command(build_app()))]


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "root")
def test_help_never_shows_python_types(path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert not re.search(r"<\w+(\[[\w\[\], ]*\])?>", out), out
    assert "list[" not in out and "Path" not in out


OWNED = {("targets",), ("targets", "show"), ("doctor",), ("matrix",), ()}


def test_every_option_of_these_commands_is_described() -> None:
    for path, command in _commands(typer.main.get_command(build_app())):
        if path in OWNED:
            undescribed = [p.name for p in command.params if not getattr(p, "help", None)]
            assert undescribed == [], (path, undescribed)


def test_unknown_command_is_a_usage_error_without_importing_commands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tragets"]) == 2
    assert "No such command 'tragets'" in capsys.readouterr().err


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XBUILD_CACHE_DIR": str(cwd / "cache")}
    return subprocess.run(
        [sys.executable, "-m", "xbuild", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_http_logs_only_at_vvv(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "idna", "3.7")
    args = ("plan", "idna", "-i", index_server.index_url, "-p", "aws-lambda-python3.12-arm64")
    quiet, decisions, timings, wire = (_cli(tmp_path, *v, *args) for v in ((), ("-v",), ("-vv",), ("-vvv",)))
    assert {quiet.returncode, decisions.returncode, timings.returncode, wire.returncode} == {0}
    assert quiet.stderr == ""
    for run in (decisions, timings):
        assert "-> HTTP" not in run.stderr, run.stderr
    assert "DEBUG" not in decisions.stderr
    assert re.search(r"^\s+\d+\.\d\ds DEBUG ", timings.stderr, re.MULTILINE), timings.stderr
    # The runs share a cache: the later ones revalidate the page (304).
    assert re.search(r"GET http://127\.0\.0\.1:\d+/simple/idna/ -> HTTP 304 \(new connection\)", wire.stderr)


@pytest.mark.parametrize(("verbose", "shown"), [((), False), (("-vv",), True)])
def test_a_library_warning_never_reaches_the_user_below_vv(verbose: tuple[str, ...], shown: bool) -> None:
    # A command whose library code warns while it runs, as some dependencies do (RuntimeWarning).
    code = (
        "import sys, warnings\n"
        "import xbuild.cli.targets as targets\n"
        "from xbuild.cli.main import main\n"
        "plain = targets.list_targets\n"
        "def noisy(*args):\n"
        "    warnings.warn('library noise', RuntimeWarning, stacklevel=1)\n"
        "    plain(*args)\n"
        "targets.list_targets = noisy\n"
        f"sys.exit(main([*{verbose!r}, 'targets']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "always"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0 and "aws-lambda-python3.12-arm64" in done.stdout
    assert ("RuntimeWarning: library noise" in done.stderr) is shown, done.stderr
    assert "RuntimeWarning" not in done.stdout


@pytest.mark.parametrize(("verbose", "traceback"), [((), False), (("-vv",), True)])
def test_an_internal_error_is_two_lines_and_its_traceback_waits_for_vv(
    verbose: tuple[str, ...], traceback: bool
) -> None:
    code = (
        "import sys\n"
        "import xbuild.cli.targets as targets\n"
        "from xbuild.cli.main import main\n"
        "def broken(*args):\n"
        "    raise ValueError('[/bold] not markup')\n"
        "targets.list_targets = broken\n"
        f"sys.exit(main([*{verbose!r}, 'targets']))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 3
    assert "ERROR internal error: ValueError: [/bold] not markup" in done.stderr
    assert "TIP rerun with -vv for the traceback, and report it" in done.stderr
    assert ("Traceback (most recent call last)" in done.stderr) is traceback, done.stderr


def test_verbosity_may_follow_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "show", "linux", "--python-version", "3.12", "-v", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"]["arch"]
    assert main(["targets", "--", "-v"]) == 2  # after `--` it is an argument, not a flag
