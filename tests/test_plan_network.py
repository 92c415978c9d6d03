"""`xbuild plan` against the real PyPI, with uv as the reference resolver for a foreign target.

uv evaluates markers and Requires-Python for the target (pip evaluates markers for the interpreter
running it), so uv's wheels-only resolution is what xbuild's must equal. Deselect with
`pytest -m "not network"`.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xbuild.cli.main import main

pytestmark = pytest.mark.network

PYPI = "https://pypi.org/simple"
TARGET = "x86_64-manylinux2014"
PYTHON = "3.12"
REQUIREMENTS = (
    "numpy",
    "pandas",
    "pydantic",
    "fastapi",
    "boto3",
    "cryptography",
    "orjson",
    "requests",
    "lxml",
    "pillow",
)


@pytest.fixture(autouse=True)
def isolated_index_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both resolvers read PyPI itself and start from empty caches of their own."""
    for name in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        monkeypatch.delenv(name, raising=False)
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "xbuild-cache"))


def uv_binary() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.skip(f"no uv next to {sys.executable}: install the dev extra (pip install -e '.[dev]')")
    return uv


def uv_pins(requirements: tuple[str, ...], tmp_path: Path, target: str = TARGET) -> dict[str, str]:
    """uv's wheels-only resolution for the target, as name -> version."""
    argv = [
        uv_binary(),
        "pip",
        "compile",
        "--no-build",
        "--python-platform",
        target,
        "--python-version",
        PYTHON,
        "--no-header",
        "--no-annotate",
        "--no-config",
        "--no-python-downloads",
        "--python",
        sys.executable,
        "--index-url",
        PYPI,
        "--cache-dir",
        str(tmp_path / "uv-cache"),
        "-",
    ]
    result = subprocess.run(
        argv, input="\n".join(requirements), capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    pins = (line.split("==") for line in result.stdout.splitlines() if "==" in line)
    return {name.split("[")[0].strip(): version.strip() for name, version in pins}


def plan_lines(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["plan", *args, "--python-version", PYTHON, "--index-url", PYPI])
    return code, capsys.readouterr().out


def test_wheels_only_resolution_equals_uvs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expected = uv_pins(REQUIREMENTS, tmp_path)
    code, out = plan_lines(
        capsys, *REQUIREMENTS, "--python-platform", TARGET, "--source-policy", "never", "--format", "json"
    )
    assert code == 0
    dists = json.loads(out)["distributions"]
    assert {d["name"]: d["version"] for d in dists} == expected
    assert {d["action"] for d in dists} == {"wheel"}
    assert len(expected) > len(REQUIREMENTS)  # dependencies came along, not only the roots


def test_headline_numpy_for_manylinux2014(capsys: pytest.CaptureFixture[str]) -> None:
    """One line for numpy that names the wheel and says why it was chosen."""
    code, out = plan_lines(capsys, "numpy", "--python-platform", TARGET)
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("numpy ")]
    version = line.split()[1]
    assert re.search(
        rf" wheel numpy-{re.escape(version)}-cp312-cp312-\S*manylinux\S*_x86_64\S*\.whl - ", line
    )
    fallback = re.search(
        r"numpy (\S+) has no wheel for x86_64-manylinux2014 cp312; using (\S+) \(wheel\)", line
    )
    if fallback is None:
        assert "fits x86_64-manylinux2014 cp312" in line
    else:
        assert fallback.group(2) == version
        assert f"Pin numpy=={fallback.group(1)} or use --source-policy newest" in line
    assert out.splitlines()[-1].endswith("1 wheel, 0 builds; plan can be carried out here")


def test_fallback_when_the_newest_allowed_release_dropped_the_target(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """numpy 2.3 moved its x86_64 wheels to manylinux_2_28, so manylinux2014 gets 2.2.6 instead."""
    code, out = plan_lines(capsys, "numpy>=2.2,<2.4", "--python-platform", TARGET)
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("numpy ")]
    assert line.split()[:3] == ["numpy", "2.2.6", "wheel"]
    assert "numpy-2.2.6-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl" in line
    assert re.search(
        r"numpy 2\.3\.\d+ has no wheel for x86_64-manylinux2014 cp312; using 2\.2\.6 \(wheel\)", line
    )


def test_no_fallback_for_a_target_the_newest_release_supports(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = plan_lines(capsys, "numpy>=2.2,<2.4", "--python-platform", "x86_64-manylinux_2_28")
    assert code == 0
    (line,) = [line for line in out.splitlines() if line.startswith("numpy ")]
    assert re.match(r"numpy +2\.3\.\d+ +wheel numpy-2\.3\.\d+-cp312-cp312-\S*manylinux_2_28_x86_64", line)
    assert "has no wheel" not in line and "fits x86_64-manylinux_2_28 cp312" in line


# Markers on both the roots and the dependencies: colorama, pywin32, uvloop, tzdata,
# pywin32-ctypes, SecretStorage/jeepney, exceptiongroup and friends differ per platform.
MARKER_HEAVY = (
    "uvicorn[standard]",
    "pytest",
    "keyring",
    "portalocker",
    "jupyter-core",
    "tzlocal",
    "psutil",
    "click",
    'pywin32; sys_platform == "win32"',
    "uvloop; sys_platform != 'win32'",
)


@pytest.mark.parametrize(
    ("target", "skipped"),
    [
        ("x86_64-pc-windows-msvc", "uvloop"),
        ("aarch64-apple-darwin", "pywin32"),
        ("x86_64-unknown-linux-musl", "pywin32"),
    ],
)
def test_marker_heavy_sets_equal_uvs(
    target: str,
    skipped: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "13.0")  # both tools read it
    expected = uv_pins(MARKER_HEAVY, tmp_path, target)
    code, out = plan_lines(
        capsys, *MARKER_HEAVY, "--python-platform", target, "--source-policy", "never", "--format", "json"
    )
    assert code == 0
    data = json.loads(out)
    assert {d["name"]: d["version"] for d in data["distributions"]} == expected
    assert [s["requirement"].split(";")[0] for s in data["skipped"]] == [skipped]
