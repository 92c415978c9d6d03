"""`xbuild doctor` through typer's CliRunner: exit code, key lines, and the JSON schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from xbuild.cli.main import app
from xbuild.host.facts import host_target


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """No engine, an empty PATH and HOME: the report depends only on this machine's fixed places."""
    (tmp_path / "bin").mkdir()
    return {
        "DOCKER_HOST": f"unix://{tmp_path}/docker.sock",
        "PATH": str(tmp_path / "bin"),
        "HOME": str(tmp_path),
        "XBUILD_CACHE_DIR": str(tmp_path / "cache"),
    }


def test_doctor_text_report(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["doctor"], env=env)
    assert result.exit_code == 0, result.output
    target = host_target()
    lines = result.output.splitlines()
    assert lines[0].startswith(f"host         {target.os} {target.arch}")
    assert "can build for:" in lines
    tag = target.platform_tags[0].removesuffix(f"_{target.arch}")
    assert f"  native:    {target.arch} {tag}" in result.output
    assert f"  container: no (no socket at {env['HOME']}/docker.sock)" in lines
    assert any(line.startswith("  emulated:  ") for line in lines)
    assert "pythons      " in result.output


def test_doctor_json(env: dict[str, str]) -> None:
    result = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["schema"] == 1
    assert data["host"]["arch"] == str(host_target().arch)
    assert data["engine"]["available"] is False and data["engine"]["error"].startswith("no socket at")
    assert data["can_build_for"]["container"]["available"] is False
    assert data["interpreters"], "the interpreter running xbuild is always probed"
    first = data["interpreters"][0]
    assert {"path", "version", "arch", "libc", "static", "environment", "platform_tag"} <= set(first)
    for skipped in data["skipped_interpreters"]:
        assert skipped["reason"]


def test_doctor_format_json_and_json_alias(env: dict[str, str]) -> None:
    by_format = CliRunner().invoke(app, ["doctor", "--format", "json"], env=env)
    assert by_format.exit_code == 0, by_format.output
    alias = CliRunner().invoke(app, ["doctor", "--json"], env=env)
    assert json.loads(by_format.stdout)["schema"] == json.loads(alias.stdout)["schema"] == 1
    assert json.loads(by_format.stdout)["host"] == json.loads(alias.stdout)["host"]


def test_doctor_help() -> None:
    result = CliRunner().invoke(app, ["doctor", "--help"])
    assert result.exit_code == 0
    assert "--format text|json" in result.output and "--json" in result.output
