"""The proof a bundle runs on its target: unpack it in the target image and call the handler.

The aarch64 case runs under qemu emulation. Wheels come from the real index (`network`).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from xbuild.cli.main import main

pytestmark = [pytest.mark.network, pytest.mark.container]
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "lambda"
CALL = (
    "import json, handler; r = handler.handler({'name': '<x>'}, None); "
    "assert r['statusCode'] == 200; print(json.dumps(r))"
)


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "xbuild-cache"))


def _bundle(target: str, out: Path) -> int:
    return main(
        [
            "bundle",
            "-r",
            str(EXAMPLE / "requirements.txt"),
            "--include",
            str(EXAMPLE / "handler.py"),
            "--python-platform",
            target,
            "--layout",
            "lambda",
            "-o",
            str(out),
        ]
    )


def _run_in(image: str, task: Path) -> str:
    import docker

    client = docker.from_env()
    try:
        output: bytes = client.containers.run(
            image,
            ["python3", "-c", CALL],
            working_dir="/var/task",
            network_mode="none",
            remove=True,
            volumes={str(task): {"bind": "/var/task", "mode": "ro"}},
        )
    finally:
        client.close()
    return output.decode()


def _unpack(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    return dest


@pytest.mark.emulation
def test_lambda_zip_imports_and_runs_on_arm64(arm64_image: str, tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    assert _bundle("debian-bullseye-aarch64", out) == 0
    result = json.loads(_run_in(arm64_image, _unpack(out, tmp_path / "task")))
    body = json.loads(result["body"])
    assert body["greeting"] == "hello &lt;x&gt;"
    assert "aarch64" in body["compiled"]
    manifest = json.loads(out.with_name("function.zip.manifest.json").read_text())
    assert manifest["target"]["arch"] == "aarch64" and manifest["sha256"]
    # Reproducible: a second bundle from the same inputs is byte-identical.
    again = tmp_path / "again.zip"
    assert _bundle("debian-bullseye-aarch64", again) == 0
    assert again.read_bytes() == out.read_bytes()


def test_lambda_zip_imports_and_runs_on_amd64(amd64_image: str, tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    assert _bundle("debian-bullseye-x86_64", out) == 0
    body = json.loads(json.loads(_run_in(amd64_image, _unpack(out, tmp_path / "task")))["body"])
    assert "x86_64" in body["compiled"]


def test_layer_layout(tmp_path: Path) -> None:
    out = tmp_path / "layer.zip"
    assert (
        main(
            [
                "bundle",
                "-r",
                str(EXAMPLE / "requirements.txt"),
                "--python-platform",
                "aws-lambda-python3.12-arm64",
                "--layout",
                "lambda-layer",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    names = zipfile.ZipFile(out).namelist()
    assert all(n.startswith("python/") for n in names)
    assert any(n.startswith("python/markupsafe/_speedups") and "aarch64" in n for n in names)
