"""User text is shown as typed, by every command: rich markup in paths, requirements, file contents
and index pages (`[`, `]`, `[/bold]`, `[link]`) is never interpreted, never crashes, never vanishes.

Each case runs the real CLI (`python -m xbuild`) in a subprocess, as a user or CI would, with no
engine (DOCKER_HOST points at a missing socket) and a private cache; packages come from the
loopback index.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from support.index_server import IndexServer
from support.packages import make_wheel

ROOT = Path(__file__).resolve().parent.parent
TARGET = ("--python-platform", "aws-lambda-python3.12-arm64")
# A directory name made of markup: a closing tag with no opener, an opening tag, a link, emoji code.
HOSTILE = "nc-[/bold] [link=x]y[/link] [red]:memo:"


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    directory = tmp_path / HOSTILE
    directory.mkdir(parents=True)  # "/" in the name: three nested hostile directories
    return directory


def run(cwd: Path, *args: str, extra_env: dict[str, str] | None = None) -> Run:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "XBUILD_CACHE_DIR": str(cwd / "cache"),
        "DOCKER_HOST": f"unix://{cwd}/[red]no-docker.sock",
        "COLUMNS": "200",
        **(extra_env or {}),
    }
    for var in ("UV_INDEX_URL", "PIP_INDEX_URL", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        env.pop(var, None)
    done = subprocess.run(
        [sys.executable, "-m", "xbuild", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result = Run(done.returncode, done.stdout, done.stderr)
    assert "Traceback" not in result.text, result.text
    assert "internal error" not in result.text, result.text
    return result


def test_targets_show_unknown_name_is_literal(tmp_path: Path) -> None:
    result = run(tmp_path, "targets", "show", "[/bold]x[link]")
    assert result.code == 2
    assert "ERROR unknown target '[/bold]x[link]'" in result.err


def test_targets_show_missing_interpreter_path_is_literal(hostile: Path) -> None:
    result = run(hostile.parent, "targets", "show", "host", "--python", str(hostile / "python"))
    assert result.code == 2
    assert f"{hostile}/python" in result.err


def test_doctor_shows_paths_literally(tmp_path: Path) -> None:
    bindir = tmp_path / "bin-[/bold] [link=x]"  # no ":" here: PATH splits on it
    bindir.mkdir(parents=True)
    broken = bindir / "python3.12"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    result = run(tmp_path, "doctor", extra_env={"PATH": f"{bindir}:/usr/bin:/bin", "HOME": str(tmp_path)})
    assert result.code == 0
    assert f"{broken}: interpreter {broken} is broken" in result.out
    assert f"container: no (no socket at {tmp_path}/[red]no-docker.sock)" in result.out


def test_plan_missing_requirements_file_exits_2(tmp_path: Path) -> None:
    result = run(tmp_path, "plan", "-r", "[/bold]req.txt", *TARGET)
    assert result.code == 2
    assert "[/bold]req.txt" in result.err and result.err.startswith("ERROR ")


def test_plan_conflict_keeps_extras_and_file_names(index_server: IndexServer, hostile: Path) -> None:
    make_wheel(index_server.dist_dir, "idna", "3.7")
    requirements = hostile / "req[link].txt"
    requirements.write_text("idna[all]==0.0.1  # [/bold] a comment\n")
    result = run(hostile.parent, "plan", "-r", str(requirements), "-i", index_server.index_url, *TARGET)
    assert result.code == 1
    assert f"idna[all]==0.0.1 (requested by {requirements}:1)" in result.err


def test_plan_with_extras_lists_the_package(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "idna", "3.7")
    result = run(tmp_path, "plan", "idna[link]", "-i", index_server.index_url, *TARGET)
    assert result.code == 0
    assert "idna" in result.out and "idna-3.7-py3-none-any.whl" in result.out


def test_build_output_dir_and_requirements_path_are_literal(index_server: IndexServer, hostile: Path) -> None:
    make_wheel(index_server.dist_dir, "idna", "3.7")
    requirements = hostile / "[bold]req[link].txt"
    requirements.write_text("idna[all]  # [link]\n")
    out = hostile / "dist[/link]"
    result = run(
        hostile.parent,
        "build",
        "-r",
        str(requirements),
        "-o",
        str(out),
        "-i",
        index_server.index_url,
        *TARGET,
    )
    assert result.code == 0, result.text
    assert (out / "idna-3.7-py3-none-any.whl").is_file()
    assert f"placed in {out}" in result.out


def test_bundle_include_and_output_are_literal(index_server: IndexServer, hostile: Path) -> None:
    make_wheel(index_server.dist_dir, "idna", "3.7")
    handler = hostile / "handler[bold].py"
    handler.write_text("MESSAGE = '[bold]not markup[/bold]'\n")
    out = hostile / "fn[link].zip"
    args = (
        "bundle",
        "idna",
        "--include",
        str(handler),
        "-o",
        str(out),
        "-i",
        index_server.index_url,
        *TARGET,
    )
    result = run(hostile.parent, *args)
    assert result.code == 0, result.text
    with zipfile.ZipFile(out) as archive:
        assert archive.read("handler[bold].py") == handler.read_bytes()
    assert str(out) in result.text


def test_bundle_missing_include_exits_2(index_server: IndexServer, hostile: Path) -> None:
    make_wheel(index_server.dist_dir, "idna", "3.7")
    missing = hostile / "nothere[/x].py"
    args = ("bundle", "idna", "--include", str(missing), "-o", "f.zip", "-i", index_server.index_url)
    result = run(hostile.parent, *args, *TARGET)
    assert result.code == 2
    assert str(missing) in result.err


def test_verify_missing_path_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = run(tmp_path, "verify", "nc-[/x]")
    assert result.code == 2
    assert result.err.splitlines()[0] == "ERROR nc-[/x] does not exist"


def test_verify_wheel_in_a_markup_directory(hostile: Path) -> None:
    wheel = make_wheel(hostile, "demo", "1.0", files={"demo/[link]x[/link].py": "A = '[/bold]'\n"})
    result = run(hostile.parent, "verify", str(hostile), *TARGET)
    assert result.code == 0, result.text
    assert "demo" in result.out and "1 wheel" in result.out
    with zipfile.ZipFile(wheel, "a") as archive:  # a member outside RECORD: a finding naming it
        archive.writestr("demo/[/bold]extra.py", "B = 1\n")
    refused = run(hostile.parent, "verify", str(wheel), *TARGET)
    assert refused.code == 1
    assert "demo/[/bold]extra.py" in refused.out


def test_matrix_tip_shows_the_table_name(tmp_path: Path) -> None:
    result = run(tmp_path, "matrix", "--project", str(tmp_path))
    assert result.code == 2
    assert "TIP add `targets = [...]` under [tool.xbuild] in pyproject.toml" in result.err


def test_matrix_quotes_hostile_targets_and_paths(hostile: Path) -> None:
    (hostile / "pyproject.toml").write_text('[tool.xbuild]\ntargets = ["[/bold]x"]\n')
    result = run(hostile.parent, "matrix", "--project", str(hostile))
    assert result.code == 2
    assert "'[/bold]x'" in result.err


def test_usage_errors_show_values_literally(tmp_path: Path) -> None:
    bad_format = run(tmp_path, "targets", "--format", "[/bold]")
    assert bad_format.code == 2 and "'[/bold]'" in bad_format.err
    unknown = run(tmp_path, "[link]plan")
    assert unknown.code == 2 and "No such command '[link]plan'" in unknown.err


def test_matrix_commands_quote_a_markup_project_path(hostile: Path) -> None:
    (hostile / "pyproject.toml").write_text(
        '[project]\nname = "demo"\nversion = "1"\n[tool.xbuild]\ntargets = ["aws-lambda-python3.12-arm64"]\n'
    )
    result = run(hostile.parent, "matrix", "--project", str(hostile), "--format", "json")
    assert result.code == 0, result.text
    (job,) = json.loads(result.out)["jobs"]
    argv = shlex.split(job["command"])
    assert argv[:4] == ["xbuild", "build", "--project", str(hostile)]
