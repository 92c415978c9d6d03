"""`xbuild plan` through the CLI against a loopback index: lines, JSON, lock, exit codes."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest
from support.index_server import IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.cli.main import main
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc

HOST = BuildHost(
    os=OS.LINUX,
    arch=Arch.X86_64,
    libc=Libc.GLIBC,
    libc_version=(2, 36),
    engine="28.0",
    emulated_arches=frozenset({Arch.AARCH64}),
)


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("xbuild.host.facts.detect_build_host", lambda engines=(): HOST)
    for var in ("UV_INDEX_URL", "PIP_INDEX_URL", "UV_EXTRA_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(var, raising=False)


def plan(index: IndexServer, *args: str) -> int:
    return main(["plan", "--index-url", index.index_url, *args])


def test_one_line_per_package_with_the_fallback(
    index_server: IndexServer, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheel(index_server.dist_dir, "numpy", "2.0.0", tags=("cp312-cp312-manylinux_2_17_x86_64",))
    make_sdist(index_server.dist_dir, "numpy", "2.5.5")
    assert (
        plan(index_server, "numpy", "--python-platform", "x86_64-manylinux2014", "--python-version", "3.12")
        == 0
    )
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("numpy"))
    assert "2.0.0" in line and "numpy 2.5.5 has no wheel" in line and "--source-policy newest" in line


def test_json_output_and_lock(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheel(index_server.dist_dir, "a", "1.0", requires_dist=["b"])
    make_wheel(index_server.dist_dir, "b", "1.0")
    lock, out = tmp_path / "pylock.toml", tmp_path / "plan.json"
    assert (
        plan(
            index_server,
            "a",
            "-p",
            "linux",
            "--python-version",
            "3.12",
            "--format",
            "json",
            "--write-lock",
            str(lock),
            "-o",
            str(out),
        )
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data["distributions"]] == ["a", "b"]
    assert data["distributions"][1]["requested_by"] == ["a 1.0"]
    assert json.loads(out.read_text()) == data
    parsed = tomllib.loads(lock.read_text())
    assert parsed["lock-version"] == "1.0" and len(parsed["packages"]) == 2


def test_impossible_build_exits_1(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    make_sdist(index_server.dist_dir, "native", "1.0")
    assert plan(index_server, "native", "-p", "aarch64-apple-darwin", "--python-version", "3.12") == 1
    assert "IMPOSSIBLE HERE" in capsys.readouterr().out


def test_requirements_file_errors_name_the_line(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    req = tmp_path / "req.txt"
    req.write_text("ok-name\nnot a requirement!!\n")
    assert plan(index_server, "-r", str(req), "-p", "linux", "--python-version", "3.12") == 2
    assert f"{req}:2" in capsys.readouterr().err


def test_missing_target_and_bad_policy(index_server: IndexServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert plan(index_server, "x") == 2
    assert "--python-platform" in capsys.readouterr().err
    assert (
        plan(index_server, "x", "-p", "linux", "--python-version", "3.12", "--source-policy", "sometimes")
        == 2
    )


def test_missing_requirements_file(index_server: IndexServer) -> None:
    assert plan(index_server, "-r", "/nonexistent/req.txt", "-p", "linux", "--python-version", "3.12") == 2


def test_project_config_supplies_the_target(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheel(index_server.dist_dir, "dep", "1.0")
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname="p"\nversion="1"\ndependencies=["dep"]\n'
        '[tool.xbuild]\ntargets=["aws-lambda-python3.12-arm64"]\n'
    )
    assert plan(index_server, "--project", str(tmp_path)) == 0
    assert "aws-lambda-python3.12-arm64" in capsys.readouterr().out


def test_plan_file_and_lock_read_back_into_the_same_wheels(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What `plan -o` and `plan --write-lock` write, `build --plan` and `build -r` carry out."""
    make_wheel(index_server.dist_dir, "a", "1.0", requires_dist=["b"])
    make_wheel(index_server.dist_dir, "b", "1.0")
    (tmp_path / "lock [x]").mkdir()
    lock, out = tmp_path / "lock [x]" / "pylock.x86.toml", tmp_path / "plan [x].json"
    target = ["-p", "x86_64-manylinux_2_28", "--python-version", "3.12"]
    assert plan(index_server, "a", *target, "--write-lock", str(lock), "-o", str(out)) == 0
    placed = {}
    for how, args in {
        "plan": ["--plan", str(out)],  # no -p: the plan carries its target
        "lock": ["-r", str(lock), *target],
    }.items():
        dest = tmp_path / f"dist-{how}"
        code = main(["build", "--index-url", index_server.index_url, *args, "-o", str(dest)])
        assert code == 0, capsys.readouterr().err
        placed[how] = sorted(p.name for p in dest.glob("*.whl"))
    assert placed["plan"] == placed["lock"] == ["a-1.0-py3-none-any.whl", "b-1.0-py3-none-any.whl"]


def test_a_plan_file_for_another_target_is_refused(
    index_server: IndexServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_wheel(index_server.dist_dir, "a", "1.0")
    out = tmp_path / "plan.json"
    assert (
        plan(index_server, "a", "-p", "x86_64-manylinux_2_28", "--python-version", "3.12", "-o", str(out))
        == 0
    )
    args = ["build", "--plan", str(out), "-p", "aarch64-manylinux_2_28", "--python-version", "3.12"]
    assert main([*args, "-o", str(tmp_path / "d")]) == 2
    assert "was planned for" in capsys.readouterr().err


def test_a_lock_under_another_name_is_refused_with_the_pep751_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odd = tmp_path / "my-lock.toml"
    odd.write_text('lock-version = "1.0"\n')
    assert main(["plan", "-r", str(odd), "-p", "linux", "--python-version", "3.12"]) == 2
    assert "pylock.<name>.toml" in capsys.readouterr().err
