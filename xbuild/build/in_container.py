"""Container and emulated routes: build inside an image that matches the target, offline.

The emulated route is the container route with a foreign platform: the engine runs the image's
binaries through binfmt_misc + qemu-user (or on a native engine mapped with XBUILD_ENGINE_<ARCH>).
"""

from __future__ import annotations

import shlex
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from xbuild.build.container import Container, ContainerSpec, Mount, running
from xbuild.build.job import BuildJob
from xbuild.errors import EngineError, InputError
from xbuild.images import ImageSpec, find_image
from xbuild.sdist import Sdist
from xbuild.target import Libc, Target

SRC, WHEELS = "/xbuild/src", "/xbuild/wheels"
# Inside the container only, and copied out as tar data: the container writes nothing on the host.
OUT = "/tmp/xbuild/out"
FRONTEND = "/tmp/xbuild/frontend"
METADATA_LIMIT = 16 * 1024**2  # a METADATA file is a few KiB; a backend may not flood the planner
# Caches, VCS internals and environments of a project directory that a build never needs.
_PROJECT_IGNORE = (
    ".venv",
    "venv",
    ".tox",
    ".nox",
    "__pycache__",
    "node_modules",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
)
# Asks the backend for METADATA only (PEP 517 prepare_metadata_for_build_wheel, or a wheel build
# when the backend lacks that hook) and copies it to OUT.
METADATA_SCRIPT = """\
import pathlib, shutil, sys
import build
src, out = sys.argv[1], pathlib.Path(sys.argv[2])
dist_info = build.ProjectBuilder(src).metadata_path(str(out / "md"))
shutil.copyfile(pathlib.Path(dist_info) / "METADATA", out / "METADATA")
"""


def image_python(image: ImageSpec | None, target: Target) -> str:
    """The interpreter for the target's Python inside the image."""
    if image is not None and image.python == "multi":
        abi = target.abi
        return f"/opt/python/{abi}-{abi}/bin/python"
    return f"python{target.python}"


def repair_platform(target: Target) -> str | None:
    """The policy tag auditwheel repairs to; None where auditwheel has nothing to do."""
    if target.libc in (Libc.GLIBC, Libc.MUSL) and target.libc_version is not None:
        return target.platform_tags[0]
    return None


def source_root(source: Path) -> str:
    """The single top-level directory of an sdist (where its pyproject.toml lives)."""
    return Sdist(source).root()


def build_in_container(job: BuildJob) -> Path:
    """The container and emulated routes: the same build, the engine runs a foreign image via qemu."""
    with _environment(job) as (step, box):
        step(
            "build the wheel",
            f"{FRONTEND}/bin/python",
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            "/tmp/xbuild/dist",
            "/tmp/xbuild/src/root",
        )
        step("repair the wheel", "sh", "-c", _repair_script(repair_platform(job.target)))
        box.copy_out(OUT, job.out_dir, suffix=".whl")
    return _single_wheel(job.out_dir, job.name)


def prepare_metadata(job: BuildJob) -> bytes:
    """METADATA of job.source from its build backend, run in the job's container, not here."""
    with _environment(job) as (step, box):
        step("prepare metadata", f"{FRONTEND}/bin/python", "-c", METADATA_SCRIPT, "/tmp/xbuild/src/root", OUT)
        found = box.copy_out(OUT, job.out_dir, suffix="METADATA", limit=METADATA_LIMIT)
    if not found:
        raise EngineError(f"{job.name} {job.version}: the build backend wrote no METADATA")
    return found[0].read_bytes()


Step = Callable[..., None]


@contextmanager
def _environment(job: BuildJob) -> Iterator[tuple[Step, Container]]:
    """A container for the job with its build requirements installed and its source unpacked."""
    image = job.verdict.image
    if image is None or job.find_links is None:
        raise EngineError(f"{job.name}: no image or build requirements for the {job.verdict.route} route")
    job.out_dir.mkdir(parents=True, exist_ok=True)
    with _source_copy(job) as src_dir, running(_spec(job, image, src_dir)) as box:

        def step(what: str, *cmd: str) -> None:
            box.call(list(cmd), log_path=job.log_path, what=f"{job.name} {job.version}: {what}")

        python = image_python(find_image(image), job.target)
        step("check the container's architecture", "sh", "-c", _arch_check(job.target))
        step("make the work folders", "mkdir", "-p", OUT, "/tmp/xbuild/src")
        # No ensurepip + upgrade: the venv starts empty and pip runs straight from its mounted
        # wheel to install everything (pip included) in one go; measured ~4 s less per build.
        step("create the build environment", python, "-m", "venv", "--without-pip", FRONTEND)
        step("install build requirements", "sh", "-c", _install_script(job.requirements))
        step("unpack the source", "sh", "-c", _unpack(job.source))
        yield step, box


def _spec(job: BuildJob, image: str, src_dir: Path) -> ContainerSpec:
    assert job.find_links is not None
    return ContainerSpec(
        image=image,
        platform=job.target.docker_platform,
        engine_url=job.verdict.engine_url,
        timeout=job.timeout,
        mounts=(Mount(source=src_dir, target=SRC), Mount(source=job.find_links, target=WHEELS)),
        environment={
            "SOURCE_DATE_EPOCH": str(job.source_date_epoch),
            "PIP_NO_INDEX": "1",
            "PIP_FIND_LINKS": WHEELS,
            "HOME": "/tmp",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PIP_NO_CACHE_DIR": "1",
        },
    )


@contextmanager
def _source_copy(job: BuildJob) -> Iterator[Path]:
    """A fresh folder holding only the source, readable by the container's unprivileged user.

    An sdist is copied alone under a fixed name; a project directory is copied without its
    caches and environments. Nothing beside the source (a secret next to an sdist) is visible.
    """
    folder = Path(tempfile.mkdtemp(prefix="src-", dir=job.out_dir))
    try:
        try:
            if job.source.is_dir():
                shutil.copytree(
                    job.source,
                    folder / "root",
                    symlinks=True,
                    ignore=shutil.ignore_patterns(*_PROJECT_IGNORE),
                )
            else:
                shutil.copyfile(job.source, folder / _archive_name(job.source))
            _readable(folder)
        except (OSError, shutil.Error) as exc:
            raise InputError(f"{job.name}: cannot copy the source {job.source}: {exc}") from exc
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _readable(root: Path) -> None:
    for path in (root, *root.rglob("*")):
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        path.chmod((mode | 0o555 if path.is_dir() else mode | 0o444) & 0o7777 & ~0o6000)


def _archive_name(source: Path) -> str:
    return "sdist.zip" if source.name.endswith(".zip") else "sdist.tar"


def _install_script(requirements: tuple[str, ...]) -> str:
    reqs = " ".join(shlex.quote(r) for r in requirements)
    return (
        f"set -e; pip_wheel=$(ls {WHEELS}/pip-*.whl | head -n 1); "
        f'{FRONTEND}/bin/python "$pip_wheel/pip" install -q --no-compile {reqs}'
    )


def _arch_check(target: Target) -> str:
    want = str(target.arch)
    return (
        f'm=$(uname -m); [ "$m" = "{want}" ] || {{ echo "container runs $m, target needs {want}: '
        f'the image is for another architecture" >&2; exit 1; }}'
    )


def _unpack(source: Path) -> str:
    if source.is_dir():
        return f"cp -R {SRC}/root /tmp/xbuild/src/root"
    root = source_root(source)
    archive = f"{SRC}/{_archive_name(source)}"
    # --no-same-owner/-permissions: the archive's owners and modes (setuid bits) are not kept.
    unpack = (
        f"python3 -m zipfile -e {archive} /tmp/xbuild/src"
        if source.name.endswith(".zip")
        else f"tar --no-same-owner --no-same-permissions -xf {archive} -C /tmp/xbuild/src"
    )
    return f"{unpack} && mv /tmp/xbuild/src/{shlex.quote(root)} /tmp/xbuild/src/root"


def _repair_script(platform: str | None) -> str:
    # Only `linux_<arch>` wheels need auditwheel (retag + vendor libraries). A wheel whose backend
    # already claims a policy tag is copied as it is and must then pass `xbuild verify` on its own.
    repair = (
        f'{FRONTEND}/bin/python -m auditwheel repair --plat {platform} -w {OUT} "$w"'
        if platform
        else f'cp "$w" {OUT}/'
    )
    return (
        f'set -e; export PATH={FRONTEND}/bin:$PATH; for w in /tmp/xbuild/dist/*.whl; do case "$w" in '
        f'*-linux_*.whl) {repair} ;; *) cp "$w" {OUT}/ ;; esac; done'
    )


def _single_wheel(out_dir: Path, name: str) -> Path:
    wheels = sorted(out_dir.glob("*.whl"))
    if len(wheels) != 1:
        raise EngineError(
            f"{name}: the build produced {len(wheels)} wheels, expected 1", hint=f"inspect {out_dir}"
        )
    return wheels[0]
