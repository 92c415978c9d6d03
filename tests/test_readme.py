"""The README's first commands work as written: bundle the example Lambda app, verify the zip."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def first_xbuild_commands() -> list[list[str]]:
    """The `.venv/bin/xbuild ...` steps of the README's first sh block (lines joined, `&&` split)."""
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block is not None
    lines = block.group(1).replace("\\\n", " ").splitlines()
    steps = [step.strip() for line in lines for step in line.split("&&")]
    return [shlex.split(step)[1:] for step in steps if step.startswith(".venv/bin/xbuild ")]


def test_two_commands_set_up_and_test() -> None:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.DOTALL)
    assert block is not None
    lines = block.group(1).strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("./scripts/bootstrap.sh && ")
    assert lines[1] == "./scripts/test.sh"


def test_the_first_commands_are_the_main_job() -> None:
    commands = first_xbuild_commands()
    assert [c[0] for c in commands] == ["bundle", "verify"]
    assert "aws-lambda-python3.12-arm64" in commands[0] and "function.zip" in commands[1]


@pytest.mark.network
def test_readme_commands_run_as_written(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "examples" / "lambda", tmp_path / "examples" / "lambda")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XBUILD_CACHE_DIR": str(tmp_path / "cache")}
    for args in first_xbuild_commands():
        done = subprocess.run(
            [sys.executable, "-m", "xbuild", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
    with zipfile.ZipFile(tmp_path / "function.zip") as bundle:
        names = bundle.namelist()
    assert "handler.py" in names
    assert any(n.startswith("markupsafe/_speedups.") and n.endswith("aarch64-linux-gnu.so") for n in names)
