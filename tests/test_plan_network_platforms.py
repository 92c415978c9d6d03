"""`xbuild plan` for Android, iOS and Pyodide against the real PyPI, with uv as the reference.

Each set mixes projects that publish wheels for the platform (cibuildwheel's android_24, ios_13_0
and pyemscripten builds) with pure ones, plus requirements whose markers only that platform's
Python satisfies. uv's wheels-only resolution (`uv pip compile --no-build`) is what xbuild's plan
must equal. Deselect with `pytest -m "not network"`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from xbuild.cli.main import main

pytestmark = pytest.mark.network

PYPI = "https://pypi.org/simple"

# (uv spelling, Python, requirements): platform wheels, pure wheels, and dependencies behind
# markers (click's colorama on Windows, cffi's pycparser off PyPy).
CASES = [
    ("aarch64-linux-android", "3.13", ("markupsafe", "charset-normalizer", "requests", "click", "six")),
    ("arm64-apple-ios", "3.13", ("cffi", "markupsafe", "idna", "click", "six")),
    ("wasm32-pyodide2024", "3.12", ("requests", "attrs", "click", "six")),
]
# Root requirements whose markers only the platform's own Python satisfies (`six`) or refuses (`pytz`).
ROOT_MARKERS = {
    "aarch64-linux-android": (
        'six; sys_platform == "android" and platform_system == "Android" and platform_machine == "aarch64"',
        'pytz; sys_platform == "linux"',
    ),
    "arm64-apple-ios": (
        'six; sys_platform == "ios" and platform_system == "iOS" and platform_machine == "arm64"',
        'pytz; sys_platform == "darwin"',
    ),
    "wasm32-pyodide2024": (
        'six; sys_platform == "emscripten" and platform_release == "3.1.58" and platform_machine == "wasm32"',
        'pytz; sys_platform == "linux"',
    ),
}


@pytest.fixture(autouse=True)
def isolated_index_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Both resolvers read PyPI itself and start from empty caches of their own."""
    for name in ("UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_INDEX"):
        monkeypatch.delenv(name, raising=False)
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "IPHONEOS_DEPLOYMENT_TARGET", "ANDROID_API_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "xbuild-cache"))


def uv_binary() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.skip(f"no uv next to {sys.executable}: install the dev extra (pip install -e '.[dev]')")
    return uv


def uv_pins(platform: str, python: str, requirements: tuple[str, ...], cache: Path) -> dict[str, str]:
    """uv's wheels-only resolution for the platform, as name -> version."""
    argv = [
        uv_binary(),
        "pip",
        "compile",
        "--no-build",
        "--python-platform",
        platform,
        "--python-version",
        python,
        "--no-header",
        "--no-annotate",
        "--no-config",
        "--no-python-downloads",
        "--python",
        sys.executable,
        "--index-url",
        PYPI,
        "--cache-dir",
        str(cache),
        "-",
    ]
    result = subprocess.run(
        argv, input="\n".join(requirements), capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    pins = (line.split("==") for line in result.stdout.splitlines() if "==" in line)
    return {name.strip(): version.strip() for name, version in pins}


@pytest.mark.parametrize(("platform", "python", "requirements"), CASES, ids=[c[0] for c in CASES])
def test_wheels_only_plan_equals_uvs(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    platform: str,
    python: str,
    requirements: tuple[str, ...],
) -> None:
    expected = uv_pins(platform, python, requirements, tmp_path / "uv-cache")
    argv = ["plan", *requirements, "--python-platform", platform, "--python-version", python]
    code = main([*argv, "--index-url", PYPI, "--source-policy", "never", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0, out
    dists = json.loads(out)["distributions"]
    assert {d["name"]: d["version"] for d in dists} == expected
    assert {d["action"] for d in dists} == {"wheel"}
    assert "colorama" not in expected  # click's Windows-only dependency stayed out


@pytest.mark.parametrize(("platform", "python", "requirements"), CASES, ids=[c[0] for c in CASES])
def test_root_markers_are_the_platforms(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    platform: str,
    python: str,
    requirements: tuple[str, ...],
) -> None:
    roots = ROOT_MARKERS[platform]
    expected = uv_pins(platform, python, roots, tmp_path / "uv-cache")
    assert set(expected) == {"six"}  # uv evaluates them as the platform's Python would
    argv = ["plan", *roots, "--python-platform", platform, "--python-version", python]
    code = main([*argv, "--index-url", PYPI, "--source-policy", "never", "--format", "json"])
    out = capsys.readouterr().out
    assert code == 0, out
    assert {d["name"]: d["version"] for d in json.loads(out)["distributions"]} == expected


def test_platform_wheels_are_the_ones_chosen(capsys: pytest.CaptureFixture[str]) -> None:
    """Where a project publishes wheels for the platform, the plan names them, not a pure fallback."""
    for platform, python, project, tag in [
        ("aarch64-linux-android", "3.13", "markupsafe", "cp313-cp313-android_24_arm64_v8a"),
        ("arm64-apple-ios", "3.13", "cffi", "cp313-cp313-ios_13_0_arm64_iphoneos"),
    ]:
        argv = ["plan", project, "--python-platform", platform, "--python-version", python]
        code = main([*argv, "--index-url", PYPI, "--source-policy", "never", "--format", "json"])
        assert code == 0
        dists = {d["name"]: d for d in json.loads(capsys.readouterr().out)["distributions"]}
        assert json.dumps(dists[project]).count(tag) >= 1, dists[project]


def pip_choice(project: str, abi: str, platform_tag: str, work: Path) -> str:
    """The wheel pip picks for one project given an explicit ABI (pip's tags come from packaging)."""
    argv = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--report",
        "-",
        "--ignore-installed",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--platform",
        platform_tag,
        "--python-version",
        "3.14",
        "--abi",
        abi,
        "--implementation",
        "cp",
        "--target",
        str(work / "unused-target"),
        "--cache-dir",
        str(work / "pip-cache"),
        "--index-url",
        PYPI,
        project,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=300)
    assert result.returncode == 0, result.stderr
    (item,) = json.loads(result.stdout)["install"]
    return str(item["download_info"]["url"]).rsplit("/", 1)[1]


@pytest.mark.parametrize("python", ["3.14t", "3.14"])
def test_free_threaded_choice_equals_pips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], python: str
) -> None:
    """uv has no `3.14t`; pip given `--abi cp314t` picks from packaging's tags, as the Target does.

    cryptography ships cp311-abi3 wheels for GIL builds and cp314t ones for free-threading."""
    abi = "cp314t" if python.endswith("t") else "cp314"
    for project in ("cryptography", "markupsafe"):
        expected = pip_choice(project, abi, "manylinux_2_28_x86_64", tmp_path)
        argv = ["plan", project, "--python-platform", "x86_64-manylinux_2_28", "--python-version", python]
        code = main([*argv, "--index-url", PYPI, "--source-policy", "never", "--format", "json"])
        assert code == 0
        dists = {d["name"]: d for d in json.loads(capsys.readouterr().out)["distributions"]}
        chosen = dists[project]["file"]["filename"]
        assert chosen == expected
        assert ("-abi3-" in chosen) == (project == "cryptography" and abi == "cp314")
        assert ("cp314t" in chosen) == (abi == "cp314t")
