"""Which wheel tags uv accepts for each new platform, compared with the Target's own tag set.

One fixture wheel per candidate tag, each its own version of one project on the loopback index;
`uv pip compile --no-build 'pkg==<version>'` succeeds exactly when uv would install that wheel on
the target. The Target must accept the same wheels: uv is the reference for `--python-platform`.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from packaging import tags as ptags
from support.index_server import IndexServer
from support.packages import make_wheel

from xbuild.target import parse_target

PROJECT = "tag-probe"

# (uv spelling, Python, candidate tags: right and wrong ones for that target)
CASES = [
    (
        "arm64-apple-ios",
        "3.13",
        [
            "cp313-cp313-ios_13_0_arm64_iphoneos",
            "cp313-cp313-ios_12_0_arm64_iphoneos",
            "cp313-cp313-ios_14_0_arm64_iphoneos",
            "cp313-cp313-ios_13_0_arm64_iphonesimulator",
            "cp313-cp313-ios_13_0_x86_64_iphonesimulator",
            "cp313-cp313-macosx_11_0_arm64",
            "cp39-abi3-ios_13_0_arm64_iphoneos",
            "cp314-cp314-ios_13_0_arm64_iphoneos",
            "py3-none-any",
        ],
    ),
    (
        "arm64-apple-ios-simulator",
        "3.13",
        [
            "cp313-cp313-ios_13_0_arm64_iphonesimulator",
            "cp313-cp313-ios_13_0_arm64_iphoneos",
            "cp313-cp313-ios_13_0_x86_64_iphonesimulator",
        ],
    ),
    (
        "x86_64-apple-ios-simulator",
        "3.13",
        ["cp313-cp313-ios_13_0_x86_64_iphonesimulator", "cp313-cp313-ios_13_0_arm64_iphonesimulator"],
    ),
    (
        "aarch64-linux-android",
        "3.13",
        [
            "cp313-cp313-android_24_arm64_v8a",
            "cp313-cp313-android_21_arm64_v8a",
            "cp313-cp313-android_16_arm64_v8a",
            "cp313-cp313-android_26_arm64_v8a",
            "cp313-cp313-android_24_x86_64",
            "cp313-cp313-manylinux_2_17_aarch64",
            "cp313-cp313-linux_aarch64",
            "cp310-abi3-android_24_arm64_v8a",
        ],
    ),
    (
        "x86_64-linux-android",
        "3.14",
        [
            "cp314-cp314-android_24_x86_64",
            "cp314-cp314-android_24_arm64_v8a",
            "cp314-cp314-manylinux_2_28_x86_64",
        ],
    ),
    (
        "wasm32-pyodide2024",
        "3.12",
        [
            "cp312-cp312-pyodide_2024_0_wasm32",
            "cp312-cp312-emscripten_3_1_58_wasm32",
            "cp312-cp312-pyemscripten_2024_0_wasm32",
            "cp312-cp312-pyodide_2025_0_wasm32",
            "cp312-abi3-pyodide_2024_0_wasm32",
            "cp313-cp313-pyodide_2024_0_wasm32",
            "py3-none-any",
        ],
    ),
    (
        "wasm32-pyodide2025",
        "3.13",
        [
            "cp313-cp313-pyemscripten_2025_0_wasm32",
            "cp313-cp313-pyodide_2025_0_wasm32",
            "cp313-cp313-emscripten_4_0_9_wasm32",
            "cp313-cp313-pyodide_2024_0_wasm32",
            "cp313-cp313-pyemscripten_2026_0_wasm32",
        ],
    ),
]
# Tags the Target accepts although uv does not: what the platform's own installer also takes.
XBUILD_ONLY = {"cp312-cp312-emscripten_3_1_58_wasm32", "cp313-cp313-emscripten_4_0_9_wasm32"}


def uv_binary() -> str:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent))
    if uv is None:
        pytest.skip(f"no uv next to {sys.executable}: install the dev extra (pip install -e '.[dev]')")
    return uv


def uv_accepts(index: IndexServer, platform: str, python: str, version: str, cache: Path) -> bool:
    argv = [
        uv_binary(),
        "pip",
        "compile",
        "--no-build",
        "--no-config",
        "--no-python-downloads",
        "--python",
        sys.executable,
        "--python-platform",
        platform,
        "--python-version",
        python,
        "--index-url",
        index.index_url,
        "--cache-dir",
        str(cache),
        "-",
    ]
    result = subprocess.run(
        argv, input=f"{PROJECT}=={version}", capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode not in (0, 1):
        pytest.fail(f"uv failed unexpectedly: {result.stderr}")
    return result.returncode == 0


@pytest.mark.parametrize(("platform", "python", "candidates"), CASES, ids=[c[0] for c in CASES])
def test_accepted_tags_equal_uvs(
    index_server: IndexServer, tmp_path: Path, platform: str, python: str, candidates: list[str]
) -> None:
    versions = {tag: f"1.0.{i}" for i, tag in enumerate(candidates)}
    for tag, version in versions.items():
        make_wheel(index_server.dist_dir, PROJECT, version, tags=[tag])
    target = parse_target(platform, python_version=python, environ={})
    ours = {tag for tag in candidates if target.is_compatible(frozenset(ptags.parse_tag(tag)))}
    theirs = {tag for tag, v in versions.items() if uv_accepts(index_server, platform, python, v, tmp_path)}
    assert ours - XBUILD_ONLY == theirs
    assert candidates[0] in theirs  # each case starts with the tag the platform's builds write


# (uv spelling, Python, two tags of one release): uv installs one, the Target must rank it first.
PREFERENCES = [
    (
        "wasm32-pyodide2025",
        "3.13",
        ["cp313-cp313-pyodide_2025_0_wasm32", "cp313-cp313-pyemscripten_2025_0_wasm32"],
    ),
    (
        "wasm32-pyodide2024",
        "3.12",
        ["cp312-abi3-pyodide_2024_0_wasm32", "cp312-cp312-pyemscripten_2024_0_wasm32"],
    ),
    (
        "arm64-apple-ios",
        "3.13",
        ["cp313-abi3-ios_13_0_arm64_iphoneos", "cp313-cp313-ios_12_0_arm64_iphoneos"],
    ),
    (
        "arm64-apple-ios",
        "3.13",
        ["cp313-cp313-ios_12_9_arm64_iphoneos", "cp313-cp313-ios_13_0_arm64_iphoneos"],
    ),
    (
        "aarch64-linux-android",
        "3.13",
        ["cp313-abi3-android_24_arm64_v8a", "cp313-cp313-android_21_arm64_v8a"],
    ),
    (
        "aarch64-linux-android",
        "3.13",
        ["cp313-cp313-android_23_arm64_v8a", "cp313-cp313-android_24_arm64_v8a"],
    ),
]


def uv_installs(index: IndexServer, platform: str, python: str, work: Path) -> str:
    """The tag of the wheel `uv pip install --target` picks, read back from its installed WHEEL file."""
    argv = [
        uv_binary(),
        "pip",
        "install",
        "--no-config",
        "--no-python-downloads",
        "--python",
        sys.executable,
        "--python-platform",
        platform,
        "--python-version",
        python,
        "--target",
        str(work / "site"),
        "--index-url",
        index.index_url,
        "--cache-dir",
        str(work / "uv-cache"),
        f"{PROJECT}==1.0",
    ]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    (wheel_file,) = (work / "site").glob("*.dist-info/WHEEL")
    (tag,) = [
        line.split(":", 1)[1].strip()
        for line in wheel_file.read_text().splitlines()
        if line.startswith("Tag:")
    ]
    return tag


@pytest.mark.parametrize(("platform", "python", "pair"), PREFERENCES)
def test_preferred_wheel_equals_uvs(
    index_server: IndexServer, tmp_path: Path, platform: str, python: str, pair: list[str]
) -> None:
    for tag in pair:
        make_wheel(index_server.dist_dir, PROJECT, "1.0", tags=[tag])
    target = parse_target(platform, python_version=python, environ={})
    ranks = {tag: target.tag_rank(frozenset(ptags.parse_tag(tag))) for tag in pair}
    assert None not in ranks.values()
    ours = min(pair, key=lambda tag: ranks[tag] or 0)
    assert ours == uv_installs(index_server, platform, python, tmp_path) == pair[1]
