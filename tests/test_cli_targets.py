"""`xbuild targets` through the real CLI entry point (exit codes and key lines)."""

from __future__ import annotations

import json

import pytest

from xbuild.cli.main import main


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
