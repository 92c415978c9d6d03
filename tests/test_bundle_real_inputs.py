"""Issue 9's gate: the files real tools export bundle, for both Lambda arches, into a zip holding
exactly the locked distributions whose markers hold, every `.so` built for the target's arch.

The expected sets are read from the fixtures here with `packaging` directly (not with xbuild's
parser), and markers are evaluated against a Lambda environment written out in this file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.utils import canonicalize_name

pytestmark = pytest.mark.network

REAL = Path(__file__).resolve().parent / "fixtures" / "real"
XBUILD = [sys.executable, "-m", "xbuild"]
FIXTURES = (
    "uv-export-hashes.txt",
    "pip-compile-hashes.txt",
    "poetry-export-hashes.txt",
    "pylock.toml",
    "lambda-app/uv.lock",
)
MACHINE = {"arm64": 183, "x86_64": 62}  # ELF e_machine: EM_AARCH64, EM_X86_64


def _lambda_env(arch: str) -> dict[str, str]:
    machine = "aarch64" if arch == "arm64" else "x86_64"
    return {
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "sys_platform": "linux",
        "platform_system": "Linux",
        "os_name": "posix",
        "platform_machine": machine,
        "python_version": "3.12",
        "python_full_version": "3.12.12",
        "implementation_version": "3.12.12",
        "platform_release": "",
        "platform_version": "",
        "extra": "",
    }


def _expected(fixture: str, arch: str) -> set[tuple[str, str]]:
    env = _lambda_env(arch)
    path = REAL / fixture
    if path.suffix == ".toml":
        return _from_pylock(path, env)
    if path.name == "uv.lock":
        # The app is virtual, and its lock names every package of the default set; the test
        # expects the same set as uv's own pylock export of it.
        return _from_pylock(REAL / "pylock.toml", env)
    pins: set[tuple[str, str]] = set()
    text = path.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;]+)\s*(?:;([^-]*))?", line)
        if match and (match.group(3) is None or Marker(match.group(3).strip()).evaluate(env)):
            pins.add((canonicalize_name(match.group(1)), match.group(2)))
    return pins


def _from_pylock(path: Path, env: dict[str, str]) -> set[tuple[str, str]]:
    data = tomllib.loads(path.read_text())
    return {
        (canonicalize_name(p["name"]), p["version"])
        for p in data["packages"]
        if "marker" not in p or Marker(p["marker"]).evaluate(env)
    }


def _bundled(zip_path: Path) -> set[tuple[str, str]]:
    with zipfile.ZipFile(zip_path) as zf:
        names = {n.split("/", 1)[0] for n in zf.namelist() if ".dist-info/" in n}
    found: set[tuple[str, str]] = set()
    for info in names:
        name, version = info.removesuffix(".dist-info").rsplit("-", 1)
        found.add((canonicalize_name(name), version))
    return found


def _machines(zip_path: Path) -> set[int]:
    with zipfile.ZipFile(zip_path) as zf:
        return {
            int.from_bytes(zf.read(n)[18:20], "little")
            for n in zf.namelist()
            if n.endswith(".so") or ".so." in n.rsplit("/", 1)[-1]
        }


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-cache")  # downloads shared across this module only


def _run(args: list[str], cache: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XBUILD_CACHE_DIR": str(cache)}
    return subprocess.run(
        [*XBUILD, *args], cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900
    )


@pytest.mark.parametrize("arch", ["arm64", "x86_64"])
@pytest.mark.parametrize("fixture", FIXTURES)
def test_real_exports_bundle_exactly_the_locked_set(
    fixture: str, arch: str, cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out [ü]" / "function.zip"  # a parent that does not exist yet: created
    target = f"aws-lambda-python3.12-{arch}"
    done = _run(["bundle", "-r", str(REAL / fixture), "-p", target, "-o", str(out)], cache, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert _bundled(out) == _expected(fixture, arch)
    assert _machines(out) == {MACHINE[arch]}
    gate = _run(["verify", str(out), "-p", target], cache, tmp_path)
    assert gate.returncode == 0, gate.stdout + gate.stderr


def test_a_wrong_hash_writes_nothing(cache: Path, tmp_path: Path) -> None:
    text = (REAL / "uv-export-hashes.txt").read_text()
    # Every hash of idna replaced: the download cannot match any of them.
    block = re.search(r"^idna==.*?(?=^\S)", text, flags=re.S | re.M)
    assert block is not None
    tampered = re.sub(r"sha256:[0-9a-f]{64}", "sha256:" + "0" * 64, block.group(0))
    req = tmp_path / "requirements.txt"
    req.write_text(text.replace(block.group(0), tampered))
    own_cache = tmp_path / "cache"
    out = tmp_path / "function.zip"
    done = _run(
        ["bundle", "-r", str(req), "-p", "aws-lambda-python3.12-arm64", "-o", str(out)], own_cache, tmp_path
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "idna" in done.stderr and "Traceback" not in done.stderr
    assert not out.exists()
    assert not [p for p in own_cache.rglob("idna*") if p.is_file()]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".xbuild")] == []
    shutil.rmtree(own_cache, ignore_errors=True)
