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
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import xbuild.verify as verify_api
from xbuild.build.buildenv import (
    dist_file,
    environment_requirements,
    environment_wheels,
    verdict_image_id,
)
from xbuild.errors import EngineError, RefusedError, XbuildError
from xbuild.host.cache import RUN_ID, run_scratch
from xbuild.index import IndexClient
from xbuild.index.hashing import sha256_file
from xbuild.plan.model import Action, Plan, PlannedDist
from xbuild.routes.base import BuildHost, BuildJob, RouteName, Verdict
from xbuild.routes.container import repair_platform
from xbuild.routes.registry import ROUTES
from xbuild.target import Target
from xbuild.util import signals
from xbuild.util.atomic import write_text_atomic

log = logging.getLogger(__name__)
DEFAULT_BUILD_TIMEOUT = 1800.0  # seconds per source build (--build-timeout)
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


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    out_dir: Path
    manifest: Path
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.wheel is not None for o in self.outcomes)


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    out_dir: Path
    cache_dir: Path
    jobs: int = 1
    keep_going: bool = False
    source_date_epoch: int = 315532800
    build_timeout: float | None = DEFAULT_BUILD_TIMEOUT  # None: no limit
    progress: Progress = field(default=lambda name, route, state: None)


def refuse_impossible(plan: Plan) -> None:
    """A source build with no route here is refused before any work starts."""
    blocked = [d for d in plan.builds if d.route is not None and not d.route.possible]
    if not blocked:
        return
    lines = [f"{d.name} {d.version}: {d.route.reason}" for d in blocked if d.route]
    alternatives = dict.fromkeys(a for d in blocked if d.route for a in d.route.alternatives)
    # A missing engine, image or tool is exit 3; a target the host cannot serve is exit 1.
    error = EngineError if any(d.route and d.route.missing_tool for d in blocked) else RefusedError
    raise error(
        "cannot build from source for "
        + plan.target.platform_label
        + " on this host:\n  "
        + "\n  ".join(lines),
        hint="; ".join(alternatives) or None,
    )


def carry_out(plan: Plan, client: IndexClient, host: BuildHost, settings: BuildSettings) -> BuildResult:
    """Fetch or build every distribution, verify each, then place them all (or none).

    The first SIGINT/SIGTERM stops every container and subprocess of the run, removes this run's
    scratch data and raises `Interrupted`; scratch left by killed runs is swept before starting.
    """
    refuse_impossible(plan)
    scratch = run_scratch(settings.cache_dir)
    scratch.claim()
    settings.out_dir.mkdir(parents=True, exist_ok=True)
    staging = scratch.track(settings.out_dir / f".xbuild-staging-{RUN_ID}")
    staging.mkdir(exist_ok=True)
    try:
        with signals.trapped():
            outcomes = _all(plan, client, host, settings, staging)
            result = _place(plan, outcomes, settings)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(settings.cache_dir / "work" / RUN_ID, ignore_errors=True)
    return result


def _all(
    plan: Plan, client: IndexClient, host: BuildHost, settings: BuildSettings, staging: Path
) -> list[Outcome]:
    pool = ThreadPoolExecutor(max_workers=max(1, settings.jobs))
    try:
        futures = [pool.submit(_one, d, plan, client, host, settings, staging) for d in plan.distributions]
        return [f.result() for f in futures]
    except KeyboardInterrupt:
        if not signals.stopping():  # raised without a signal: stop the workers' containers too
            signals.stop_everything()
        raise
    finally:
        # Queued work is dropped; running work ends quickly once its container is gone.
        pool.shutdown(wait=True, cancel_futures=True)


def _one(
    dist: PlannedDist,
    plan: Plan,
    client: IndexClient,
    host: BuildHost,
    settings: BuildSettings,
    staging: Path,
) -> Outcome:
    signals.check()
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
        )
    settings.progress(dist.name, route, "done" if outcome.wheel else "failed")
    return outcome


def _fetch(dist: PlannedDist, client: IndexClient, staging: Path) -> Outcome:
    path = client.download(dist_file(dist), staging)
    return Outcome(name=dist.name, version=dist.version, wheel=path, origin="index")


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
    img_id = verdict_image_id(verdict)
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
        find_links = environment_wheels(
            requirements, plan.target, verdict, img_id, client, host, settings.cache_dir
        )
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
        timeout=settings.build_timeout,
    )
    logs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        wheel = ROUTES[verdict.route].build(job)
        log.info("%s %s: built in %.1f s", dist.name, dist.version, time.monotonic() - started)
        _store_cached(settings, key, wheel)
        staged = _copy(wheel, staging)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return replace(base, wheel=staged)


def _source(dist: PlannedDist, client: IndexClient, settings: BuildSettings) -> Path:
    if dist.file.url.startswith("file:") and not dist.file.sha256:
        from urllib.parse import unquote, urlparse

        return Path(unquote(urlparse(dist.file.url).path))
    sdists = settings.cache_dir / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    return client.download(dist_file(dist), sdists)


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
