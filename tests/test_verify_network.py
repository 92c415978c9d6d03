"""Real wheels from PyPI, and trees pip and uv install from them, pass against matching targets: no
false positives. Deselect with `-m "not network"`.

Wheels are downloaded once (pip download, pinned versions) into `.cache/verify-wheels/`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from xbuild.cli.main import main
from xbuild.target import parse_target
from xbuild.verify import Kind, verify_paths

pytestmark = pytest.mark.network

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "verify-wheels"
PACKAGES = ("markupsafe==3.0.2", "msgpack==1.1.0", "orjson==3.10.15")
# pip --platform, the target a user would verify those wheels against.
PLATFORMS = [
    ("manylinux2014_x86_64", "x86_64-manylinux_2_28"),
    ("manylinux2014_aarch64", "aws-lambda-python3.12-arm64"),
    ("musllinux_1_2_x86_64", "x86_64-unknown-linux-musl"),
    ("macosx_11_0_arm64", "macosx_11_0_arm64"),
    ("macosx_11_0_universal2", "macosx_12_0_x86_64"),
    ("win_amd64", "win_amd64"),
    ("win32", "win32"),
]


def download(platform: str) -> Path:
    folder = CACHE / platform
    if folder.is_dir() and len(list(folder.glob("*.whl"))) >= len(PACKAGES):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--platform",
        platform,
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "-d",
        str(folder),
        *PACKAGES,
    ]
    subprocess.run(command, check=True, timeout=300)
    return folder


@pytest.mark.parametrize(("platform", "target"), PLATFORMS)
def test_real_wheels_pass(platform: str, target: str) -> None:
    folder = download(platform)
    reports = verify_paths([folder], parse_target(target, python_version="3.12"), jobs=2)
    assert len(reports) >= len(PACKAGES)
    refused = {
        r.path.name: [f"{f.check} {f.member}: {f.message}" for f in r.errors] for r in reports if not r.ok
    }
    assert refused == {}
    binaries = [r for r in reports if not r.tags[0].endswith("-any")]
    assert binaries, "expected platform wheels"


def test_real_wheel_refused_for_the_wrong_target() -> None:
    folder = download("macosx_11_0_arm64")
    reports = verify_paths([folder], parse_target("x86_64-manylinux_2_28", python_version="3.12"), jobs=1)
    assert reports and not any(r.ok for r in reports)
    assert all({"tags", "binary-format"} <= {str(f.check) for f in r.errors} for r in reports)


# Installed trees made by the tools Lambda users run: `pip install --platform ... --target` and
# `uv pip install --target`, as directories and zipped as a function or a layer.
TREE_PACKAGES = ("markupsafe==3.0.2", "charset-normalizer==3.4.1")
LAMBDA_ARM = "aws-lambda-python3.12-arm64"
LAMBDA_X86 = "aws-lambda-python3.12-x86_64"


def pip_target(folder: Path, platform: str = "manylinux2014_aarch64") -> Path:
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--platform",
        platform,
        "--only-binary=:all:",
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "--target",
        str(folder),
        *TREE_PACKAGES,
    ]
    subprocess.run(command, check=True, timeout=300)
    return folder


def uv_target(folder: Path) -> Path:
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        pytest.skip(f"uv is not installed next to {sys.executable}")
    command = [
        str(uv),
        "pip",
        "install",
        "--quiet",
        "--python",
        sys.executable,
        "--python-platform",
        "aarch64-manylinux2014",
        "--python-version",
        "3.12",
        "--only-binary",
        ":all:",
        "--target",
        str(folder),
        *TREE_PACKAGES,
    ]
    subprocess.run(command, check=True, timeout=300, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never"})
    return folder


def zipped(tree: Path, out: Path, prefix: str = "") -> Path:
    """`cd tree && zip -r out .` (or, with a prefix, a layer: `zip -r out python/`)."""
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in tree.rglob("*") if p.is_file()):
            zf.write(path, prefix + path.relative_to(tree).as_posix())
    return out


def verdicts(path: Path, target: str) -> tuple[bool, list[tuple[str, str, str]]]:
    [report] = verify_paths([path], parse_target(target))
    assert report.kind is Kind.INSTALLED
    return report.ok, [(str(f.severity), str(f.check), f.member) for f in report.findings]


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("trees")
    return {
        "pip": pip_target(base / "pip [ü] target"),
        "uv": uv_target(base / "uv target (x)"),
    }


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_target_directories_pass_as_dir_function_zip_and_layer_zip(
    trees: dict[str, Path], tool: str, tmp_path: Path
) -> None:
    tree = trees[tool]
    ok, found = verdicts(tree, LAMBDA_ARM)
    assert ok and not [f for f in found if f[0] == "error"]
    assert verdicts(zipped(tree, tmp_path / "function [1].zip"), LAMBDA_ARM) == (ok, found)
    ok_layer, in_layer = verdicts(zipped(tree, tmp_path / "layer.zip", "python/"), LAMBDA_ARM)
    assert ok_layer and in_layer == [(s, c, "python/" + m) for s, c, m in found]
    [report] = verify_paths([tree], parse_target(LAMBDA_ARM))
    assert sorted(report.distributions) == ["MarkupSafe 3.0.2", "charset-normalizer 3.4.1"]


@pytest.mark.parametrize("tool", ["pip", "uv"])
def test_target_directories_for_the_wrong_arch_are_refused_alike(
    trees: dict[str, Path], tool: str, tmp_path: Path
) -> None:
    tree = trees[tool]
    ok, found = verdicts(tree, LAMBDA_X86)
    assert not ok
    arch = sorted(m for s, c, m in found if c == "arch")
    assert arch and all(m.endswith("-aarch64-linux-gnu.so") for m in arch)
    assert verdicts(zipped(tree, tmp_path / "function.zip"), LAMBDA_X86) == (ok, found)


def test_foreign_extension_swapped_in_is_refused_naming_it(
    trees: dict[str, Path], tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tree = tmp_path / "function [ü]"
    shutil.copytree(trees["pip"], tree)
    x86 = pip_target(tmp_path_factory.mktemp("x86"), "manylinux2014_x86_64")
    [native] = (tree / "markupsafe").glob("_speedups.*.so")
    [foreign] = (x86 / "markupsafe").glob("_speedups.*.so")
    native.write_bytes(foreign.read_bytes())  # same name, x86_64 inside
    member = native.relative_to(tree).as_posix()
    ok, found = verdicts(tree, LAMBDA_ARM)
    assert not ok
    assert ("error", "arch", member) in found and ("error", "record", member) in found
    assert verdicts(zipped(tree, tmp_path / "function.zip"), LAMBDA_ARM) == (ok, found)
    code = main(["verify", str(tree), "--python-platform", LAMBDA_ARM])
    assert code == 1
