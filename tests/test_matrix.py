"""`xbuild matrix` emits one valid job per configured target."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xbuild.cli.main import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "github-actions"


def test_github_matrix_for_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--project", str(EXAMPLE), "--format", "github"]) == 0
    data = json.loads(capsys.readouterr().out)
    jobs = {j["target"]: j for j in data["include"]}
    assert set(jobs) == {
        "x86_64-manylinux_2_28",
        "aarch64-manylinux_2_28",
        "aws-lambda-python3.12-arm64",
        "aarch64-apple-darwin",
    }
    assert jobs["aarch64-apple-darwin"]["runner"].startswith("macos")
    assert jobs["aarch64-manylinux_2_28"]["arch"] == "aarch64"
    for job in jobs.values():
        assert (
            job["command"].startswith("xbuild build ")
            and f"--python-platform {job['target']}" in job["command"]
        )
        assert job["python"] == "3.12"


def test_workflow_uses_the_matrix_and_the_gate() -> None:
    workflow = (EXAMPLE / "build.yml").read_text()
    assert "xbuild matrix --format github" in workflow
    assert "xbuild verify dist/ --python-platform ${{ matrix.target }}" in workflow
    assert "--format github" in workflow


def test_gitlab_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--project", str(EXAMPLE), "--format", "gitlab"]) == 0
    assert "parallel:" in capsys.readouterr().out
    assert main(["matrix", "-p", "linux", "--python-version", "3.11", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["jobs"][0]["runner"] == "ubuntu-latest"


def test_no_targets_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["matrix", "--project", str(tmp_path)]) == 2


def test_unknown_target_is_a_usage_error(tmp_path: Path) -> None:
    assert main(["matrix", "-p", "sparc-linux", "--python-version", "3.12"]) == 2


def test_workflow_installs_this_project_not_pypi_xbuild() -> None:
    # PyPI's `xbuild` is BeeWare's unrelated tool: the example must install this distribution.
    workflow = (EXAMPLE / "build.yml").read_text()
    installs = [line.strip() for line in workflow.splitlines() if "pip install" in line and "#" not in line]
    assert installs and all(line == '- run: pip install "$XBUILD_SPEC"' for line in installs)
    assert 'XBUILD_SPEC: "xbuild-wheels"' in workflow
    assert 'name = "xbuild-wheels"' in (EXAMPLE.parent.parent / "pyproject.toml").read_text()
