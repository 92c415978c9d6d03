"""Real wheels from PyPI pass against matching targets: no false positives. Deselect with `-m "not network"`.

Wheels are downloaded once (pip download, pinned versions) into `.cache/verify-wheels/`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from xbuild.target import parse_target
from xbuild.verify import verify_paths

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
