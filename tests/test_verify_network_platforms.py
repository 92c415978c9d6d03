"""Real iOS, Android, Pyodide and free-threaded wheels from PyPI pass against matching targets (no
false positives) and are refused against the neighbouring ones. Deselect with `-m "not network"`.

Wheels are downloaded once (pip download, pinned versions) into `.cache/verify-wheels-platforms/`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xbuild.target import Target, parse_target
from xbuild.verify import WheelReport, verify_paths

pytestmark = pytest.mark.network

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "verify-wheels-platforms"
# (pip --platform, --python-version, --abi, packages, the target a user would verify them against)
CASES = [
    ("ios_13_0_arm64_iphoneos", "3.13", "cp313", ("markupsafe==3.0.4", "cffi==2.1.1"), "arm64-apple-ios"),
    (
        "ios_13_0_arm64_iphonesimulator",
        "3.13",
        "cp313",
        ("markupsafe==3.0.4", "cffi==2.1.1"),
        "arm64-apple-ios-simulator",
    ),
    (
        "ios_13_0_x86_64_iphonesimulator",
        "3.14",
        "cp314",
        ("markupsafe==3.0.4",),
        "x86_64-apple-ios-simulator",
    ),
    ("android_24_arm64_v8a", "3.13", "cp313", ("markupsafe==3.0.4",), "aarch64-linux-android"),
    ("android_24_x86_64", "3.14", "cp314", ("markupsafe==3.0.4",), "x86_64-linux-android"),
    (
        "manylinux2014_x86_64",
        "3.14",
        "cp314t",
        ("markupsafe==3.0.4", "cffi==2.1.1", "pydantic-core==2.50.5"),
        "x86_64-manylinux_2_28",
    ),
    ("macosx_14_0_arm64", "3.14", "cp314t", ("markupsafe==3.0.4", "cffi==2.1.1"), "macosx_14_0_arm64"),
]
# pydantic-core publishes Pyodide wheels for the 2026.0 ABI (Python 3.14) only, which
# targets/platforms.toml does not list yet: they are checked against their own tags.
PYODIDE = ("pyemscripten_2026_0_wasm32", "3.14", "cp314", ("pydantic-core==2.50.5",), None)


def download(platform: str, python: str, abi: str, packages: tuple[str, ...]) -> Path:
    folder = CACHE / f"{platform}-{abi}"
    if folder.is_dir() and len(list(folder.glob("*.whl"))) >= len(packages):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"),
        *("--platform", platform, "--python-version", python, "--implementation", "cp", "--abi", abi),
        *("-d", str(folder), *packages),
    ]
    subprocess.run(command, check=True, timeout=300)
    return folder


def refusals(reports: list[WheelReport]) -> dict[str, list[str]]:
    return {
        r.path.name: [f"{f.check} {f.member}: {f.message}" for f in r.errors] for r in reports if not r.ok
    }


def target_of(spec: str, python: str, abi: str) -> Target:
    return parse_target(spec, python_version=python + ("t" if abi.endswith("t") else ""))


@pytest.mark.parametrize(("platform", "python", "abi", "packages", "target"), [*CASES, PYODIDE])
def test_real_wheels_pass(
    platform: str, python: str, abi: str, packages: tuple[str, ...], target: str | None
) -> None:
    folder = download(platform, python, abi, packages)
    reports = verify_paths([folder], target_of(target, python, abi) if target else None, jobs=2)
    assert len(reports) >= len(packages)
    assert refusals(reports) == {}
    assert all(f"-{abi}-" in r.path.name for r in reports)


@pytest.mark.parametrize(
    ("case", "wrong", "checks"),
    [
        (0, "arm64-apple-ios-simulator", {"tags", "binary-format"}),  # device modules, simulator target
        (1, "arm64-apple-ios", {"tags", "binary-format"}),
        (0, "macosx_14_0_arm64", {"tags", "binary-format"}),  # iOS modules on macOS
        (3, "x86_64-linux-android", {"tags", "arch"}),
        (3, "aarch64-manylinux_2_28", {"tags"}),  # bionic modules for a glibc target
    ],
)
def test_real_wheels_refused_for_a_neighbouring_target(case: int, wrong: str, checks: set[str]) -> None:
    platform, python, abi, packages, _ = CASES[case]
    reports = verify_paths([download(platform, python, abi, packages)], target_of(wrong, python, abi), jobs=2)
    assert reports and not any(r.ok for r in reports)
    assert all(checks <= {str(f.check) for f in r.errors} for r in reports)


@pytest.mark.parametrize("case", [5, 6])
def test_free_threaded_wheels_refused_on_the_gil_build(case: int) -> None:
    platform, python, abi, packages, target = CASES[case]
    assert target is not None
    reports = verify_paths(
        [download(platform, python, abi, packages)], parse_target(target, python_version=python)
    )
    assert reports and not any(r.ok for r in reports)
    assert all("the target runs the GIL build" in r.errors[0].message for r in reports)


def test_pyodide_wheel_refused_against_another_pyodide_and_linux() -> None:
    platform, python, abi, packages, _ = PYODIDE
    folder = download(platform, python, abi, packages)
    [other] = verify_paths([folder], parse_target("wasm32-pyodide2025"))
    assert {"tags", "ext-suffix"} <= {str(f.check) for f in other.errors}
    [linux] = verify_paths([folder], parse_target("x86_64-manylinux_2_28", python_version=python))
    assert {"tags", "binary-format"} <= {str(f.check) for f in linux.errors}
