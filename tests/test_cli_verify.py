"""`xbuild verify` through typer's CliRunner: exact exit codes and the key lines of every format."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from typer.testing import CliRunner
from verify_helpers import WheelSpec, binary

from xbuild.cli.main import app, main

GOOD = WheelSpec(
    tags="cp312-cp312-manylinux_2_17_x86_64",
    files={
        "demo/__init__.py": b"",
        "demo/_xb.cpython-312-x86_64-linux-gnu.so": binary("x86_64-linux-gnu.so"),
    },
)
BAD = WheelSpec(
    name="broken",
    tags="cp312-cp312-manylinux_2_17_x86_64",
    files={"broken/__init__.py": b"", "broken/_xb.cpython-312-darwin.so": binary("aarch64-macos.11.0.so")},
)
TARGET = ["--python-platform", "x86_64-manylinux_2_28", "--python-version", "3.12"]


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["verify", *(str(a) for a in args)])
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def good(tmp_path: Path) -> Path:
    return GOOD.build(tmp_path / "good")


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    GOOD.build(tmp_path / "mixed")
    BAD.build(tmp_path / "mixed")
    return tmp_path / "mixed"


def test_text_pass(good: Path) -> None:
    code, out, _ = run(good, *TARGET)
    assert code == 0
    assert "target: manylinux_2_28_x86_64 cp312" in out
    row = next(line for line in out.splitlines() if line.strip().startswith("demo"))
    assert row.split() == ["demo", "1.0", "cp312-cp312-manylinux_2_17_x86_64", "ok"]
    assert "1 wheel: 1 passed, 0 refused, 0 warnings" in out


def test_text_refusal(mixed: Path) -> None:
    code, out, _ = run(mixed, *TARGET)
    assert code == 1
    assert "refused" in out
    assert "ERROR" in out and "binary-format broken/_xb.cpython-312-darwin.so" in out
    assert "2 wheels: 1 passed, 1 refused" in out


def test_text_without_target_says_so(good: Path) -> None:
    code, out, _ = run(good)
    assert code == 0
    assert "no target given" in out and "internal consistency only" in out


def test_json(mixed: Path) -> None:
    code, out, _ = run(mixed, *TARGET, "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False
    assert data["target"]["platform_tags"][0] == "manylinux_2_28_x86_64"
    by_name = {Path(w["path"]).name.split("-")[0]: w for w in data["wheels"]}
    assert by_name["demo"]["ok"] is True and by_name["demo"]["findings"] == []
    finding = by_name["broken"]["findings"][0]
    assert set(finding) == {"check", "severity", "member", "message"}
    assert (finding["check"], finding["severity"]) == ("binary-format", "error")


def test_json_without_target(good: Path) -> None:
    code, out, _ = run(good, "--format", "json")
    assert code == 0 and json.loads(out)["target"] is None


def test_junit(mixed: Path) -> None:
    code, out, _ = run(mixed, *TARGET, "--format", "junit")
    assert code == 1
    root = ET.fromstring(out)
    cases = root.findall(".//testcase")
    assert len(cases) == 2
    failed = [c for c in cases if c.find("failure") is not None]
    assert [c.get("name", "").split("-")[0] for c in failed] == ["broken"]
    assert root.get("failures") == "1"


def test_github(mixed: Path) -> None:
    code, out, _ = run(mixed, *TARGET, "--format", "github")
    assert code == 1
    errors = [line for line in out.splitlines() if line.startswith("::error file=")]
    assert errors and "broken-1.0-" in errors[0] and "title=xbuild verify%3A binary-format::" in errors[0]
    assert "xbuild verify: 1 of 2 wheels passed" in out


def test_github_warning(tmp_path: Path) -> None:
    WheelSpec(purelib=False).build(tmp_path)
    code, out, _ = run(tmp_path, "--format", "github")
    assert code == 0 and out.startswith("::warning file=")


def test_missing_path_is_usage_error(tmp_path: Path) -> None:
    code, _, err = run(tmp_path / "nope")
    assert code == 2 and "does not exist" in err


def test_directory_without_wheels_is_usage_error(tmp_path: Path) -> None:
    code, _, err = run(tmp_path)
    assert code == 2 and "contains no wheels" in err and "no installed distributions" in err


def lambda_zip(tmp_path: Path, *, foreign: bool = False) -> Path:
    """A function zip: the example wheels unpacked at the root, a handler beside them."""
    out = tmp_path / "fünction [1].zip"
    with zipfile.ZipFile(out, "w") as zf:
        for wheel in sorted((EXAMPLES / "good").glob("*.whl")):
            with zipfile.ZipFile(wheel) as whl:
                for info in whl.infolist():
                    data = whl.read(info)
                    if foreign and info.filename.endswith(".so"):
                        data = binary("aarch64-linux-gnu.2.17.so")
                    zf.writestr(info.filename, data)
        zf.writestr("app handler.py", "def handler(event, context):\n    return 1\n")
    return out


LAMBDA = ["--python-platform", "aws-lambda-python3.12-x86_64"]
NATIVE = "xbuild_demo/_native.cpython-312-x86_64-linux-gnu.so"


def test_lambda_zip_text(tmp_path: Path) -> None:
    code, out, _ = run(lambda_zip(tmp_path), *LAMBDA)
    assert code == 0
    row = next(line for line in out.splitlines() if line.strip().startswith("fünction"))
    assert row.split()[-4:] == ["installed:", "2", "distributions", "ok"]
    assert "WARNING record app handler.py: is a file no installed distribution's RECORD lists" in out
    assert "1 installed tree: 1 passed, 0 refused, 1 warning" in out


def test_lambda_zip_with_foreign_extension_is_refused(tmp_path: Path) -> None:
    code, out, _ = run(lambda_zip(tmp_path, foreign=True), *LAMBDA)
    assert code == 1
    assert f"ERROR   arch {NATIVE}: is built for aarch64" in out


def test_lambda_zip_json(tmp_path: Path) -> None:
    code, out, _ = run(lambda_zip(tmp_path, foreign=True), EXAMPLES / "good", *LAMBDA, "--format", "json")
    assert code == 1
    function, *wheels = json.loads(out)["wheels"]
    assert (function["kind"], function["ok"]) == ("installed", False)
    assert function["distributions"] == ["xbuild_demo 1.0.0", "xbuild_pure 1.0.0"]
    assert {(f["check"], f["member"]) for f in function["findings"] if f["severity"] == "error"} == {
        ("arch", NATIVE),
        ("record", NATIVE),
    }
    assert [(w["kind"], w["ok"]) for w in wheels] == [("wheel", True), ("wheel", True)]


def test_lambda_zip_junit_and_github(tmp_path: Path) -> None:
    bad = lambda_zip(tmp_path, foreign=True)
    code, out, _ = run(bad, *LAMBDA, "--format", "junit")
    assert code == 1
    [case] = ET.fromstring(out).findall(".//testcase")
    assert case.get("name") == bad.name and case.find("failure") is not None
    code, out, _ = run(bad, *LAMBDA, "--format", "github")
    assert code == 1
    assert f"title=xbuild verify%3A arch::{NATIVE}: is built for aarch64" in out
    assert "::warning file=" in out and "xbuild verify: 0 of 1 installed tree passed" in out


def test_pip_target_style_directory(tmp_path: Path) -> None:
    target = tmp_path / "pkgs [x]"
    for wheel in sorted((EXAMPLES / "good").glob("*.whl")):
        with zipfile.ZipFile(wheel) as whl:
            whl.extractall(target / "python")
    assert run(target, *LAMBDA)[0] == 0
    (target / "python" / NATIVE).write_text("text, not a module")
    code, out, _ = run(target, *LAMBDA)
    assert code == 1 and f"binary-format python/{NATIVE}" in out


def test_not_a_zip_is_a_refusal(tmp_path: Path) -> None:
    path = tmp_path / "demo-1.0-py3-none-any.whl"
    path.write_bytes(b"hello")
    code, out, _ = run(path, "--format", "json")
    assert code == 1
    assert json.loads(out)["wheels"][0]["findings"][0]["check"] == "zip"


def test_unknown_target_is_usage_error(good: Path) -> None:
    code, _, err = run(good, "--python-platform", "nonsense-os")
    assert code == 2 and "unknown target" in err


def test_bad_format_is_usage_error(good: Path) -> None:
    code, _, _ = run(good, "--format", "xml")
    assert code == 2


def test_jobs(mixed: Path) -> None:
    code, out, _ = run(mixed, *TARGET, "--jobs", "2", "--format", "json")
    assert code == 1 and len(json.loads(out)["wheels"]) == 2


def test_macos_deployment_target_is_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    WheelSpec(
        tags="cp312-cp312-macosx_10_13_x86_64",
        files={"demo/_xb.cpython-312-darwin.so": binary("x86_64-macos.10.13.so")},
    ).build(tmp_path)
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "10.14")
    assert run(tmp_path, "-p", "x86_64-apple-darwin", "--python-version", "3.12")[0] == 0
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "10.12")
    code, out, _ = run(tmp_path, "-p", "x86_64-apple-darwin", "--python-version", "3.12")
    assert code == 1 and "tags" in out


def test_main_entry_point_exit_codes(good: Path, mixed: Path, tmp_path: Path) -> None:
    assert main(["verify", str(good), *TARGET]) == 0
    assert main(["verify", str(mixed), *TARGET]) == 1
    assert main(["verify", str(tmp_path / "nope")]) == 2


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "wheels"


def test_readme_examples() -> None:
    lam = ["--python-platform", "aws-lambda-python3.12-x86_64"]
    assert run(EXAMPLES / "good", *lam)[0] == 0
    code, out, _ = run(EXAMPLES / "bad", *lam, "--format", "json")
    assert code == 1
    checks = {
        Path(w["path"]).name.split("-")[0]: {f["check"] for f in w["findings"]}
        for w in json.loads(out)["wheels"]
    }
    assert checks == {
        "built_on_macos": {"binary-format"},
        "glibc_too_new": {"symbol-versions"},
        "edited_after_build": {"record"},
    }
