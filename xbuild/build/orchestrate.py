"""Carry out a plan: for each distribution, source -> verify -> place (as pypa/installer's install).

A source (the index, the build cache, a route's build) puts each wheel into the destination's
staging folder; each is verified against the target; then the destination receives them all, or
none when one failed (unless keep_going). A refused wheel is kept in the cache's `rejected/`
folder with its findings, never in the destination.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import xbuild.verify as verify_api
from xbuild.build.destinations import MANIFEST, Rejects, WheelDestination, WheelDir
from xbuild.build.leftovers import claim_scratch
from xbuild.build.outcome import BuildResult, Origin, Outcome
from xbuild.build.sources import IndexSource, Sources, WheelSource
from xbuild.errors import EngineError, ExitCode, RefusedError, XbuildError
from xbuild.host.cache import RUN_ID
from xbuild.index import IndexClient
from xbuild.index.hashing import sha256_file
from xbuild.plan.model import Action, Plan, PlannedDist
from xbuild.routes.base import DEFAULT_BUILD_TIMEOUT, BuildHost
from xbuild.target import Target
from xbuild.util import signals

log = logging.getLogger(__name__)

__all__ = ["BuildResult", "BuildSettings", "Outcome", "carry_out", "orchestrate"]

Progress = Callable[[str, str, str], None]  # (package, route, state)


def _quiet(name: str, route: str, state: str) -> None:
    return None


@dataclass(frozen=True, kw_only=True)
class BuildSettings:
    out_dir: Path
    cache_dir: Path
    jobs: int = 1
    keep_going: bool = False
    source_date_epoch: int = 315532800
    build_timeout: float | None = DEFAULT_BUILD_TIMEOUT  # None: no limit
    progress: Progress = field(default=_quiet)
    manifest: bool = True  # False: a bundle's wheel folder, which gets the bundle's manifest instead


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """How orchestrate runs, whatever the sources and destination."""

    jobs: int = 1
    keep_going: bool = False
    progress: Progress = field(default=_quiet)


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


def carry_out(
    plan: Plan, client: IndexClient, host: BuildHost | Callable[[], BuildHost], settings: BuildSettings
) -> BuildResult:
    """Fetch or build every distribution, verify each, then place them all (or none) in out_dir.

    The first SIGINT/SIGTERM stops every container and subprocess of the run, removes this run's
    scratch data and raises `Interrupted`; scratch left by killed runs is swept before starting.
    """
    refuse_impossible(plan)
    claim_scratch(settings.cache_dir)  # and remove what killed runs left, containers included
    builds = any(d.action is not Action.WHEEL for d in plan.distributions)
    sources = Sources(
        index=IndexSource(client=client),
        build=_route_source(plan, client, host, settings) if builds else _NoBuilds(),
    )
    destination = WheelDir(root=settings.out_dir, cache_dir=settings.cache_dir, manifest=settings.manifest)
    run = RunSettings(jobs=settings.jobs, keep_going=settings.keep_going, progress=settings.progress)
    try:
        with signals.trapped():
            return orchestrate(plan, sources, destination, Rejects.in_cache(settings.cache_dir), run)
    finally:
        shutil.rmtree(settings.cache_dir / "work" / RUN_ID, ignore_errors=True)


def _route_source(
    plan: Plan, client: IndexClient, host: BuildHost | Callable[[], BuildHost], settings: BuildSettings
) -> WheelSource:
    # Imported here: the build machinery (engine client, build environments, builders) is a third
    # of a cached run's start-up, and a plan that only downloads wheels never needs it.
    from xbuild.build.routed import RouteSource

    return RouteSource(
        target=plan.target,
        client=client,
        # Host facts cost interpreter probes and an engine round-trip: asked for on the first build.
        host=cache(host) if callable(host) else (lambda: host),
        cache_dir=settings.cache_dir,
        source_date_epoch=settings.source_date_epoch,
        timeout=settings.build_timeout,
    )


class _NoBuilds:
    """The build source of a plan with nothing to build."""

    def obtain(self, dist: PlannedDist, staging: Path) -> Outcome:
        raise AssertionError(f"{dist.name}: the plan was checked to hold only wheels")


def orchestrate(
    plan: Plan, sources: Sources, destination: WheelDestination, rejects: Rejects, run: RunSettings
) -> BuildResult:
    """For each distribution: source -> verify; then the destination gets every wheel, or none."""
    with destination.staging() as staging:
        outcomes = _all(plan, sources, rejects, run, staging)
        return _place(plan, outcomes, destination, keep_going=run.keep_going)


def _all(plan: Plan, sources: Sources, rejects: Rejects, run: RunSettings, staging: Path) -> list[Outcome]:
    pool = ThreadPoolExecutor(max_workers=max(1, run.jobs))
    try:
        futures = [
            pool.submit(_one, d, plan.target, sources, rejects, run, staging) for d in plan.distributions
        ]
        return [f.result() for f in futures]
    except (KeyboardInterrupt, signals.Interrupted):
        if not signals.stopping():  # raised without a signal: stop the workers' containers too
            signals.stop_everything()
        raise
    finally:
        # Queued work is dropped; running work ends quickly once its container is gone.
        pool.shutdown(wait=True, cancel_futures=True)


def _one(
    dist: PlannedDist, target: Target, sources: Sources, rejects: Rejects, run: RunSettings, staging: Path
) -> Outcome:
    signals.check()
    route = dist.route.route if dist.route else "download"
    run.progress(dist.name, route, "running")
    try:
        outcome = _verified(sources.for_dist(dist).obtain(dist, staging), target, rejects)
    except XbuildError as exc:
        tip = f"\n  TIP {exc.hint}" if exc.hint else ""
        outcome = Outcome(
            name=dist.name,
            version=dist.version,
            wheel=None,
            origin=Origin.INDEX if dist.action is Action.WHEEL else Origin.BUILT,
            route=route,
            error=exc.message + tip,
            exit_code=exc.exit_code,
        )
    run.progress(dist.name, route, "done" if outcome.wheel else "failed")
    return outcome


def _verified(outcome: Outcome, target: Target, rejects: Rejects) -> Outcome:
    if outcome.wheel is None:
        return outcome
    report = verify_api.verify_wheel(outcome.wheel, target)
    if report.ok:
        return outcome
    kept = rejects.keep(outcome.wheel, report.findings)
    errors = [f for f in report.findings if str(f.severity) == "error"]
    summary = "; ".join(f"{f.check}: {f.member}: {f.message}" for f in errors[:5])
    return replace(
        outcome,
        wheel=None,
        findings=tuple(report.findings),
        exit_code=ExitCode.REFUSED,
        error=f"{kept.name} does not fit {target.platform_label}: {summary}\n  kept in {kept}",
    )


# placing ------------------------------------------------------------------------------------------


def _place(
    plan: Plan, outcomes: list[Outcome], destination: WheelDestination, *, keep_going: bool
) -> BuildResult:
    failed = [o for o in outcomes if o.wheel is None]
    ready = [o for o in outcomes if o.wheel is not None]
    if failed and not keep_going:
        ready = []  # all or nothing: a refused run ships nothing
    placed = destination.place([o.wheel for o in ready if o.wheel is not None])
    final = [replace(o, wheel=path) for o, path in zip(ready, placed, strict=True)]
    manifest = destination.root / MANIFEST
    result = BuildResult(out_dir=destination.root, manifest=manifest, outcomes=(*final, *failed))
    if final or not failed:
        result = replace(result, manifest=destination.record(manifest_document(plan, result)))
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
                "origin": str(o.origin),
                "route": o.route,
                "image": o.image,
                "image_id": o.image_id,
                "engine": o.engine,
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
