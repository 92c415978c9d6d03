"""Carry out a plan: download wheels, build sources through their routes, verify, then place.

Nothing reaches the output directory until every wheel of the run has been verified against the
target; outputs are staged beside it and moved in with os.replace, and a refused wheel is kept in
the cache's rejected folder with its findings, never in the output.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from filelock import FileLock

import xbuild.verify as verify_api
from xbuild.build.buildenv import environment_key, environment_requirements
from xbuild.build.container import RUN_ID, docker_client, image_id
from xbuild.errors import ExitCode, RefusedError, XbuildError
from xbuild.images import find_image
from xbuild.index import DistFile, IndexClient
from xbuild.index.hashing import sha256_file
from xbuild.plan.inputs import Inputs, parse_requirement
from xbuild.plan.model import Action, Plan, PlannedDist, SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost, BuildJob, RouteName, Verdict
from xbuild.routes.container import repair_platform
from xbuild.routes.registry import ROUTES
from xbuild.target import Target
from xbuild.util.atomic import write_text_atomic

log = logging.getLogger(__name__)
# packaging parses markers with ast.literal_eval, and CPython 3.11's AST conversion is not safe
# from concurrent threads ("AST constructor recursion depth mismatch"): plan one at a time.
_PLANNING = threading.Lock()
Progress = Callable[[str, str, str], None]  # (package, route, state)


@dataclass(frozen=True, kw_only=True)
class Outcome:
    name: str
    version: str
    wheel: Path | None  # staged wheel, None when refused or failed
    origin: str  # index | built | cache
    route: str | None = None
    image: str | None = None
    image_id: str | None = None
    log_path: Path | None = None
    error: str | None = None
    findings: tuple[Any, ...] = ()
    exit_code: ExitCode = ExitCode.REFUSED  # of the error, when there is one


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    out_dir: Path
    manifest: Path
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.wheel is not None for o in self.outcomes)

    @property
    def exit_code(self) -> ExitCode:
        """The gravest failure's code (an unreachable index is 3, a refused wheel 1), else 0."""
        failed = [o.exit_code for o in self.outcomes if o.wheel is None]
        return max(failed, default=ExitCode.OK)


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    out_dir: Path
    cache_dir: Path
    jobs: int = 1
    keep_going: bool = False
    source_date_epoch: int = 315532800
    progress: Progress = field(default=lambda name, route, state: None)


def refuse_impossible(plan: Plan) -> None:
    """A source build with no route here is refused before any work starts."""
    blocked = [d for d in plan.builds if d.route is not None and not d.route.possible]
    if not blocked:
        return
    lines = [f"{d.name} {d.version}: {d.route.reason}" for d in blocked if d.route]
    alternatives = dict.fromkeys(a for d in blocked if d.route for a in d.route.alternatives)
    raise RefusedError(
        "cannot build from source for "
        + plan.target.platform_label
        + " on this host:\n  "
        + "\n  ".join(lines),
        hint="; ".join(alternatives) or None,
    )


def carry_out(plan: Plan, client: IndexClient, host: BuildHost, settings: BuildSettings) -> BuildResult:
    refuse_impossible(plan)
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    staging = settings.out_dir / f".xbuild-staging-{RUN_ID}"
    staging.mkdir(exist_ok=True)
    try:
        with ThreadPoolExecutor(max_workers=max(1, settings.jobs)) as pool:
            outcomes = list(
                pool.map(lambda d: _one(d, plan, client, host, settings, staging), plan.distributions)
            )
        result = _place(plan, outcomes, settings)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return result


def _one(
    dist: PlannedDist,
    plan: Plan,
    client: IndexClient,
    host: BuildHost,
    settings: BuildSettings,
    staging: Path,
) -> Outcome:
    route = dist.route.route if dist.route else "download"
    settings.progress(dist.name, route, "running")
    try:
        outcome = (
            _fetch(dist, client, staging)
            if dist.action is Action.WHEEL
            else _build(dist, plan, client, host, settings, staging)
        )
        outcome = _verified(outcome, plan.target, settings)
    except XbuildError as exc:
        tip = f"\n  TIP {exc.hint}" if exc.hint else ""
        outcome = Outcome(
            name=dist.name,
            version=dist.version,
            wheel=None,
            origin="built",
            route=route,
            error=exc.message + tip,
            exit_code=exc.exit_code,
        )
    settings.progress(dist.name, route, "done" if outcome.wheel else "failed")
    return outcome


def _fetch(dist: PlannedDist, client: IndexClient, staging: Path) -> Outcome:
    path = client.download(_dist_file(dist), staging)
    return Outcome(name=dist.name, version=dist.version, wheel=path, origin="index")


def _dist_file(dist: PlannedDist) -> DistFile:
    from packaging.utils import canonicalize_name

    hashes = (("sha256", dist.file.sha256),) if dist.file.sha256 else ()
    return DistFile(
        project=canonicalize_name(dist.name),
        filename=dist.file.filename,
        url=dist.file.url,
        hashes=hashes,
        size=dist.file.size,
        index_url=dist.file.index_url or "",
    )


def _verified(outcome: Outcome, target: Target, settings: BuildSettings) -> Outcome:
    if outcome.wheel is None:
        return outcome
    report = verify_api.verify_wheel(outcome.wheel, target)
    if report.ok:
        return outcome
    rejected = settings.cache_dir / "rejected" / RUN_ID
    rejected.mkdir(parents=True, exist_ok=True)
    kept = rejected / outcome.wheel.name
    shutil.move(str(outcome.wheel), kept)
    findings = [f.__dict__ if not hasattr(f, "to_json") else f.to_json() for f in report.findings]
    write_text_atomic(
        rejected / f"{outcome.wheel.name}.findings.json", json.dumps(findings, indent=2, default=str)
    )
    errors = [f for f in report.findings if str(f.severity) == "error"]
    summary = "; ".join(f"{f.check}: {f.member}: {f.message}" for f in errors[:5])
    return replace(
        outcome,
        wheel=None,
        findings=tuple(report.findings),
        error=f"{kept.name} does not fit {target.platform_label}: {summary}\n  kept in {kept}",
    )


# building ----------------------------------------------------------------------------------------


def _build(
    dist: PlannedDist,
    plan: Plan,
    client: IndexClient,
    host: BuildHost,
    settings: BuildSettings,
    staging: Path,
) -> Outcome:
    assert dist.route is not None
    verdict = Verdict(
        route=RouteName(dist.route.route),
        possible=dist.route.possible,
        reason=dist.route.reason,
        image=dist.route.image,
        engine_url=host.remote_engine(plan.target.arch),
    )
    source = _source(dist, client, settings)
    img_id = _image_id(verdict)
    requirements = environment_requirements(source, repair=repair_platform(plan.target) is not None)
    key = _build_key(source, plan.target, img_id, requirements, settings)
    cached = _cached_wheel(settings, key)
    logs = settings.cache_dir / "logs" / RUN_ID
    log_path = logs / f"{dist.name}-{dist.version}.log"
    base = Outcome(
        name=dist.name,
        version=dist.version,
        wheel=None,
        origin="built",
        route=str(verdict.route),
        image=verdict.image,
        image_id=img_id,
        log_path=log_path,
    )
    if cached is not None:
        log.info("%s %s: served from the build cache", dist.name, dist.version)
        return replace(base, wheel=_copy(cached, staging), origin="cache")
    find_links = None
    if verdict.route is not RouteName.NATIVE:
        find_links = _environment_wheels(requirements, plan.target, verdict, img_id, client, host, settings)
    out = settings.cache_dir / "work" / RUN_ID / f"{dist.name}-{dist.version}"
    job = BuildJob(
        name=dist.name,
        version=dist.version,
        source=source,
        target=plan.target,
        verdict=verdict,
        find_links=find_links,
        requirements=requirements,
        out_dir=out,
        log_path=log_path,
        source_date_epoch=settings.source_date_epoch,
    )
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    wheel = ROUTES[verdict.route].build(job)
    log.info("%s %s: built in %.1f s", dist.name, dist.version, time.monotonic() - started)
    _store_cached(settings, key, wheel)
    staged = _copy(wheel, staging)
    shutil.rmtree(out, ignore_errors=True)
    return replace(base, wheel=staged)


def _source(dist: PlannedDist, client: IndexClient, settings: BuildSettings) -> Path:
    if dist.file.url.startswith("file:") and not dist.file.sha256:
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(dist.file.url).path))
    sdists = settings.cache_dir / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    return client.download(_dist_file(dist), sdists)


def _image_id(verdict: Verdict) -> str:
    if verdict.route is RouteName.NATIVE or verdict.image is None:
        return "host"
    client = docker_client(verdict.engine_url)
    try:
        return image_id(client, verdict.image)
    finally:
        client.close()


def _build_key(
    source: Path, target: Target, img_id: str, requirements: tuple[str, ...], settings: BuildSettings
) -> str:
    digest = _tree_digest(source) if source.is_dir() else sha256_file(source)
    material = json.dumps(
        [digest, target.to_json(), img_id, requirements, settings.source_date_epoch],
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _cached_wheel(settings: BuildSettings, key: str) -> Path | None:
    folder = settings.cache_dir / "built" / key
    wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
    return wheels[0] if len(wheels) == 1 else None


def _store_cached(settings: BuildSettings, key: str, wheel: Path) -> None:
    folder = settings.cache_dir / "built" / key
    tmp = settings.cache_dir / "built" / f".{key}.{RUN_ID}"
    tmp.mkdir(parents=True, exist_ok=True)
    shutil.copy2(wheel, tmp / wheel.name)
    try:
        os.replace(tmp, folder)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)  # another run stored the same key first


def _copy(wheel: Path, staging: Path) -> Path:
    dest = staging / wheel.name
    shutil.copy2(wheel, dest)
    return dest


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


def _environment_wheels(
    requirements: tuple[str, ...],
    target: Target,
    verdict: Verdict,
    img_id: str,
    client: IndexClient,
    host: BuildHost,
    settings: BuildSettings,
) -> Path:
    """Resolve and download the build environment's wheels once per (image, requirements)."""
    folder = settings.cache_dir / "buildenv" / environment_key(img_id, requirements)
    done = folder / ".complete"
    folder.mkdir(parents=True, exist_ok=True)
    with FileLock(str(folder) + ".lock"):
        if done.exists():
            return folder
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
            client.download(_dist_file(dist), folder)
        done.write_text("\n".join(d.file.filename for d in env_plan.distributions) + "\n")
    return folder


# placing ------------------------------------------------------------------------------------------


def _place(plan: Plan, outcomes: list[Outcome], settings: BuildSettings) -> BuildResult:
    failed = [o for o in outcomes if o.wheel is None]
    placed = [o for o in outcomes if o.wheel is not None]
    if failed and not settings.keep_going:
        placed = []  # all or nothing: a refused run ships nothing
    final: list[Outcome] = []
    for outcome in placed:
        assert outcome.wheel is not None
        dest = settings.out_dir / outcome.wheel.name
        os.replace(outcome.wheel, dest)
        final.append(replace(outcome, wheel=dest))
    manifest = settings.out_dir / "xbuild-manifest.json"
    result = BuildResult(out_dir=settings.out_dir, manifest=manifest, outcomes=tuple(final + failed))
    if final or not failed:
        write_text_atomic(manifest, json.dumps(manifest_document(plan, result), indent=2) + "\n")
    return result


def manifest_document(plan: Plan, result: BuildResult) -> dict[str, Any]:
    return {
        "schema": 1,
        "target": plan.target.to_json(),
        "inputs": {"source_policy": str(plan.source_policy), "index_urls": list(plan.index_urls)},
        "wheels": [
            {
                "name": o.name,
                "version": o.version,
                "filename": o.wheel.name,
                "sha256": sha256_file(o.wheel),
                "origin": o.origin,
                "route": o.route,
                "image": o.image,
                "image_id": o.image_id,
                "build_log": str(o.log_path) if o.log_path else None,
            }
            for o in result.outcomes
            if o.wheel is not None
        ],
        "failed": [
            {"name": o.name, "version": o.version, "error": o.error}
            for o in result.outcomes
            if o.wheel is None
        ],
    }
