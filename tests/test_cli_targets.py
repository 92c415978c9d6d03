"""`xbuild targets` through the real CLI entry point (exit codes and key lines)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from xbuild.cli.main import main
from xbuild.target import load_catalog


def test_show_json_for_manylinux2014(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "show", "x86_64-manylinux2014", "--python-version", "3.12", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tags"][0] == "cp312-cp312-manylinux_2_17_x86_64"
    assert "cp312-abi3-manylinux2014_x86_64" in data["tags"]
    assert "py3-none-any" in data["tags"]
    assert data["markers"]["platform_machine"] == "x86_64"


def test_show_lambda_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "show", "aws-lambda-python3.12-arm64"]) == 0
    out = capsys.readouterr().out
    assert "libc_version: 2.34" in out and "python_version: 3.12" in out and "arch: aarch64" in out


def test_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--json"]) == 0
    names = [t["name"] for t in json.loads(capsys.readouterr().out)["targets"]]
    assert "aws-lambda-python3.14-x86_64" in names


def test_unknown_target_exits_2_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "show", "x86_64-manylinux_2_28x", "--python-version", "3.12"]) == 2
    err = capsys.readouterr().err
    assert "did you mean" in err and "Traceback" not in err


def test_default_python_is_announced(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "show", "linux", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["target"]["python_version_source"] == "host"


def test_bad_option_is_usage_error() -> None:
    assert main(["targets", "show", "linux", "--bogus"]) == 2


def _targets_at(columns: int) -> str:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent), "COLUMNS": str(columns)}
    done = subprocess.run(
        [sys.executable, "-m", "xbuild", "targets"], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.mark.parametrize("columns", [60, 80, 200])
def test_list_never_cuts_a_name(columns: int) -> None:
    out = _targets_at(columns)
    words = set(out.split())
    for entry in load_catalog().entries:
        assert entry.name in words, (columns, entry.name)
    assert "…" not in out
    assert ("description" in words) == (columns >= 200)


def test_list_uses_one_platform_spelling(capsys: pytest.CaptureFixture[str]) -> None:
    # The catalog files mix spellings (uv triples, wheel tags); the list shows wheel platform tags.
    assert main(["targets", "--format", "json"]) == 0
    tags = {t["name"]: t["platform_tag"] for t in json.loads(capsys.readouterr().out)["targets"]}
    assert main(["targets"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[1:] if line.strip()]
    shown = {row[0]: row[2] for row in rows if row and row[0] in tags}
    assert shown == tags
    assert not any(re.match(r"(x86_64|aarch64)-", tag) for tag in shown.values())


def test_format_json_and_the_json_alias_agree(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--format", "json"]) == 0
    by_format = json.loads(capsys.readouterr().out)
    assert main(["targets", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == by_format
    lambda312 = next(t for t in by_format["targets"] if t["name"] == "aws-lambda-python3.12-arm64")
    assert lambda312["platform_tag"] == "manylinux_2_34_aarch64"
    assert main(["targets", "show", "aws-lambda-python3.12-arm64", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["target"]["arch"] == "aarch64"


def test_bad_format_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "--format", "yaml"]) == 2
    assert "yaml" in capsys.readouterr().err
