"""Image facts: the inspection's parser, its cache, and real images on the real engine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from build_helpers import make_c_extension_sdist

from xbuild.build.container import LABEL_RUN, RUN_ID
from xbuild.errors import ExitCode, UsageError
from xbuild.host.images import (
    LABEL_INSPECT,
    ImageFactsCache,
    inspect_images,
    parse_inspection,
    with_image_facts,
)
from xbuild.images import ImageFacts, ImagePython
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, parse_target

IMAGE_ID = "sha256:" + "c" * 64
# Recorded from `docker run --rm --network none xbuild-base:bullseye-amd64 sh -c "$SCRIPT"`.
BULLSEYE_OUTPUT = (
    "machine=x86_64\ngnu_libc=glibc 2.31\nldd=ldd (Debian GLIBC 2.31-13+deb11u11) 2.31\n"
    "compiler=/usr/bin/cc\npython=3.9 cpython 0 /usr/bin/python3.9\nend=1\n"
)
# What the script prints in a musllinux image: the musl loader's banner (stderr, two lines),
# Pythons under /opt/python including a free-threaded one, and no getconf answer.
MUSLLINUX_OUTPUT = (
    "machine=aarch64\nldd=musl libc (aarch64)\nmusl=musl libc (aarch64)\nmusl=Version 1.2.5\n"
    "compiler=/usr/local/bin/gcc\n"
    "python=3.12 cpython 0 /usr/local/bin/python3.12\n"
    "python=3.13 cpython 1 /opt/python/cp313-cp313t/bin/python\n"
    "python=3.13 cpython 0 /opt/python/cp313-cp313/bin/python\n"
    "python=3.10 pypy 0 /opt/python/pp310-pypy310_pp73/bin/python\n"
    "end=1\n"
)


def test_parse_a_debian_image() -> None:
    facts = parse_inspection("xbuild-base:bullseye-amd64", IMAGE_ID, BULLSEYE_OUTPUT)
    assert (facts.arch, facts.libc, facts.libc_version) == (Arch.X86_64, Libc.GLIBC, (2, 31))
    assert facts.pythons == (ImagePython(version="3.9", path="/usr/bin/python3.9"),)
    assert facts.compiler == "/usr/bin/cc" and facts.error is None and facts.present


def test_parse_a_musllinux_style_image() -> None:
    facts = parse_inspection("quay.io/pypa/musllinux_1_2_aarch64", IMAGE_ID, MUSLLINUX_OUTPUT)
    assert (facts.arch, facts.libc, facts.libc_version) == (Arch.AARCH64, Libc.MUSL, (1, 2))
    assert facts.python_for("3.13") == "/opt/python/cp313-cp313/bin/python"  # not the free-threaded one
    assert facts.python_for("3.12") == "/usr/local/bin/python3.12"
    assert facts.python_for("3.10") is None  # only PyPy has 3.10
    assert facts.python_for("3.10", "pypy") == "/opt/python/pp310-pypy310_pp73/bin/python"


def test_parse_an_image_without_python_or_compiler() -> None:
    facts = parse_inspection("busybox", IMAGE_ID, "machine=armv7l\nldd=sh: ldd: not found\nend=1\n")
    assert facts.arch is Arch.ARMV7L and facts.libc is None and facts.pythons == () and facts.compiler is None


def test_a_cut_off_answer_is_an_error_not_facts() -> None:
    facts = parse_inspection("x", IMAGE_ID, "machine=x86_64\ngnu_libc=glibc 2.31\n")
    assert facts.error is not None and "did not finish" in facts.error and facts.arch is None


def test_cache_round_trip_and_failures_are_not_kept(tmp_path: Path) -> None:
    cache = ImageFactsCache(tmp_path)
    facts = parse_inspection("first name", IMAGE_ID, BULLSEYE_OUTPUT)
    cache.put(facts)
    # Keyed by ID: another name for the same content gets the same facts, under its own name.
    again = cache.get("another [name] 'ü'", IMAGE_ID)
    assert again == replace(facts, image="another [name] 'ü'")
    assert cache.get("x", "sha256:" + "d" * 64) is None
    cache.put(ImageFacts(image="y", image_id="sha256:" + "e" * 64, error="no answer within 60 s"))
    assert cache.get("y", "sha256:" + "e" * 64) is None
    assert not list((tmp_path / "images").glob(".*.part"))


def test_a_damaged_cache_entry_is_a_miss(tmp_path: Path) -> None:
    cache = ImageFactsCache(tmp_path)
    cache.put(parse_inspection("x", IMAGE_ID, BULLSEYE_OUTPUT))
    (entry,) = (tmp_path / "images").glob("*.json")
    entry.write_text("{not json")
    assert cache.get("x", IMAGE_ID) is None
    entry.write_text(json.dumps({"image": "x", "image_id": IMAGE_ID, "arch": "vax"}))
    assert cache.get("x", IMAGE_ID) is None


def test_no_engine_means_no_inspection(tmp_path: Path) -> None:
    host = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36))
    target = parse_target("x86_64-manylinux_2_31", python_version="3.9", environ={})
    assert with_image_facts(host, target, "anything", cache=ImageFactsCache(tmp_path)) is host
    mac = parse_target("aarch64-apple-darwin", python_version="3.12", environ={})
    assert with_image_facts(replace(host, engine="20.10"), mac, None) == replace(host, engine="20.10")


# --- the real engine ---------------------------------------------------------------------------


def _present(name: str) -> str:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=5)
    except DockerException as exc:
        pytest.skip(f"no Docker engine ({exc}): run scripts/setup-engine.sh as root")
    try:
        client.images.get(name)
    except DockerException:
        pytest.skip(f"image {name} missing: run scripts/setup-engine.sh as root")
    finally:
        client.close()
    return name


def _our_containers() -> list[object]:
    import docker

    client = docker.from_env(timeout=5)
    try:
        return list(
            client.containers.list(all=True, filters={"label": [f"{LABEL_RUN}={RUN_ID}", LABEL_INSPECT]})
        )
    finally:
        client.close()


@pytest.mark.container
def test_facts_of_real_images_are_learnt_once(tmp_path: Path) -> None:
    bullseye, bookworm = _present("xbuild-base:bullseye-amd64"), _present("xbuild-base:bookworm-amd64")
    cache = ImageFactsCache(tmp_path)
    start = time.monotonic()
    first, second, missing = inspect_images([bullseye, bookworm, "xbuild-absent:no-such"], cache=cache)
    assert time.monotonic() - start < 10
    assert (first.arch, first.libc, first.libc_version) == (Arch.X86_64, Libc.GLIBC, (2, 31))
    assert first.python_for("3.9") == "/usr/bin/python3.9" and first.compiler
    assert (second.libc_version, second.python_for("3.11")) == ((2, 36), "/usr/bin/python3.11")
    assert not missing.present and missing.image == "xbuild-absent:no-such"
    assert _our_containers() == []  # auto-removed
    # Cached by ID: a doctored entry proves the second ask runs no container.
    assert first.image_id is not None
    (entry,) = [p for p in (tmp_path / "images").glob("*.json") if first.image_id[7:] in p.name]
    data = json.loads(entry.read_text())
    entry.write_text(json.dumps({**data, "compiler": "/from/the/cache"}))
    (again,) = inspect_images([bullseye], cache=cache)
    assert again.compiler == "/from/the/cache"


@pytest.mark.container
def test_a_malformed_reference_is_a_usage_error(tmp_path: Path) -> None:
    _present("xbuild-base:bullseye-amd64")
    with pytest.raises(UsageError, match="not an image reference") as info:
        inspect_images(["xbuild [no] such:'ü'"], cache=ImageFactsCache(tmp_path))
    assert info.value.exit_code == ExitCode.USAGE


@pytest.mark.container
def test_inspection_timeout_kills_the_container(tmp_path: Path) -> None:
    image = _present("xbuild-base:bullseye-amd64")
    (facts,) = inspect_images([image], cache=ImageFactsCache(tmp_path), timeout=0.001)
    assert facts.present and facts.error is not None and "no answer within" in facts.error
    assert not (tmp_path / "images").exists() or not list((tmp_path / "images").glob("*.json"))
    assert _our_containers() == []


@pytest.mark.container
@pytest.mark.emulation
def test_facts_of_a_foreign_arch_image_come_through_qemu(tmp_path: Path) -> None:
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip("no qemu-aarch64 binfmt_misc entry: run scripts/setup-engine.sh as root")
    image = _present("xbuild-base:bullseye-arm64")
    (facts,) = inspect_images([image], cache=ImageFactsCache(tmp_path))
    assert (facts.arch, facts.machine, facts.libc_version) == (Arch.AARCH64, "aarch64", (2, 31))
    assert facts.python_for("3.9") is not None


# --- up-front refusals through the real CLI ------------------------------------------------------

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cli_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the CLI runs of this module: the first pays for probing this host's
    interpreters (as a first run on a clean machine does), the others measure the refusal."""
    return tmp_path_factory.mktemp("xbuild-cache")


def _xbuild(args: list[str], tmp_path: Path, cache: Path) -> tuple[int, str, float]:
    """Run the installed `xbuild` on this tree; returns (exit code, stderr+stdout, seconds)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "XBUILD_CACHE_DIR": str(cache),
        "NO_COLOR": "1",
        "COLUMNS": "400",
    }
    exe = Path(sys.executable).with_name("xbuild")
    start = time.monotonic()
    done = subprocess.run(
        [str(exe), *args], check=False, capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60
    )
    return done.returncode, done.stderr + done.stdout, time.monotonic() - start


@pytest.fixture
def links(tmp_path: Path) -> Path:
    """A find-links folder with one C-extension sdist and no wheel: every plan must build it."""
    folder = tmp_path / "links [x] 'ü'"
    make_c_extension_sdist(folder)
    return folder


REFUSALS = [
    # (image, target, python, exit code, words the reason must contain)
    ("xbuild-absent:no-such", "x86_64-manylinux_2_31", "3.9", ExitCode.ENGINE, "is not on the engine"),
    ("xbuild-base:bullseye-arm64", "x86_64-manylinux_2_31", "3.9", ExitCode.REFUSED, "runs aarch64"),
    ("xbuild-base:bullseye-amd64", "musllinux_1_2_x86_64", "3.9", ExitCode.REFUSED, "needs musl"),
    ("xbuild-base:bullseye-amd64", "x86_64-manylinux_2_31", "3.12", ExitCode.REFUSED, "has no Python 3.12"),
]


@pytest.mark.container
@pytest.mark.parametrize(("image", "target", "python", "code", "words"), REFUSALS)
@pytest.mark.parametrize("command", ["plan", "build"])
def test_refused_up_front_through_the_cli(
    tmp_path: Path,
    cli_cache: Path,
    links: Path,
    command: str,
    image: str,
    target: str,
    python: str,
    code: int,
    words: str,
) -> None:
    _present("xbuild-base:bullseye-amd64")
    if image != "xbuild-absent:no-such":
        _present(image)
    if "arm64" in image and not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip(
            "inspecting an arm64 image needs qemu-aarch64 in binfmt_misc: run scripts/setup-engine.sh"
        )
    out = tmp_path / "out"
    args = [command, "xbuild-cext", "-f", str(links), "--no-index", "-p", target, "--python-version", python]
    args += ["--image", image] + (["-o", str(out)] if command == "build" else [])
    code_seen, text, seconds = _xbuild(args, tmp_path, cli_cache)
    assert (code_seen, words in text) == (code, True), text
    assert seconds < 10, f"{seconds:.1f} s"
    assert not out.exists()  # nothing was built, nothing placed
    if code == ExitCode.ENGINE:
        assert f"docker pull {image}" in text


@pytest.mark.container
def test_plan_json_carries_the_image_facts(tmp_path: Path, cli_cache: Path, links: Path) -> None:
    image = _present("xbuild-base:bullseye-amd64")
    args = ["plan", "xbuild-cext", "-f", str(links), "--no-index", "-p", "x86_64-manylinux_2_31"]
    code, text, _ = _xbuild(
        [*args, "--python-version", "3.9", "--image", image, "--format", "json"], tmp_path, cli_cache
    )
    assert code == 0, text
    (dist,) = json.loads(text)["distributions"]
    assert dist["possible"] and not dist["missing_tool"]
    facts = dist["image_facts"]
    assert (facts["image"], facts["arch"], facts["libc"], facts["libc_version"]) == (
        image,
        "x86_64",
        "glibc",
        "2.31",
    )
    assert {
        "version": "3.9",
        "path": "/usr/bin/python3.9",
        "implementation": "cpython",
        "free_threaded": False,
    } in facts["pythons"]
