"""Wheels made from source: through the route the plan chose, or from the build cache.

Kept apart from `build.sources` because it pulls the build machinery (engine client, build
environments, native and container builders): a run whose plan builds nothing never imports it.
"""

from __future__ import annotations

import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from xbuild.build.buildenv import build_environment, environment_requirements, verdict_image_id
from xbuild.build.in_container import build_in_container, repair_platform
from xbuild.build.job import Builder, BuildJob
from xbuild.build.keys import build_key, source_digest
from xbuild.build.native import build_native
from xbuild.build.outcome import Origin, Outcome
from xbuild.build.sources import dist_file
from xbuild.host.cache import RUN_ID
from xbuild.index import IndexClient
from xbuild.plan.model import PlannedDist
from xbuild.routes.base import DEFAULT_BUILD_TIMEOUT, BuildHost, RouteName, Verdict
from xbuild.target import Target
from xbuild.util.atomic import publish_dir

log = logging.getLogger(__name__)

# What carries out each route's decision (routes/ decides where; these do it).
BUILDERS: Mapping[RouteName, Builder] = {
    RouteName.NATIVE: build_native,
    RouteName.CONTAINER: build_in_container,
    RouteName.EMULATED: build_in_container,  # the same build; the engine runs the image under qemu
}


@dataclass(frozen=True, kw_only=True)
class BuildCache:
    """Built wheels under `<cache>/built/<key>/`: one folder per key, published by one rename."""

    root: Path

    @classmethod
    def in_cache(cls, cache_dir: Path) -> BuildCache:
        return cls(root=cache_dir / "built")

    def get(self, key: str) -> Path | None:
        folder = self.root / key
        wheels = sorted(folder.glob("*.whl")) if folder.is_dir() else []
        return wheels[0] if len(wheels) == 1 else None

    def put(self, key: str, wheel: Path) -> None:
        # `.<key>.<run>` is this run's scratch: a killed run's is swept by host.cache.
        tmp = self.root / f".{key}.{RUN_ID}"
        tmp.mkdir(parents=True, exist_ok=True)
        shutil.copy2(wheel, tmp / wheel.name)
        publish_dir(tmp, self.root / key)


@dataclass(kw_only=True)
class EnginePool:
    """Engines of one arch (a whitespace-separated list in XBUILD_ENGINE_<ARCH>); a build goes to
    the engine with the fewest builds running, so `-j N` spreads builds over all of them."""

    urls: tuple[str | None, ...]
    _busy: dict[str | None, int] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def of(cls, url: str | None) -> EnginePool:
        return cls(urls=engine_urls(url))

    def acquire(self) -> str | None:
        with self._guard:
            url = min(self.urls, key=lambda u: self._busy.get(u, 0))
            self._busy[url] = self._busy.get(url, 0) + 1
            return url

    def release(self, url: str | None) -> None:
        with self._guard:
            self._busy[url] = self._busy.get(url, 1) - 1


def engine_urls(url: str | None) -> tuple[str | None, ...]:
    """The engines an engine setting names: None (DOCKER_HOST's), or one or more URLs."""
    return tuple(url.split()) if url and url.split() else (None,)


@dataclass(frozen=True, kw_only=True)
class RouteSource:
    """A source build through the route the plan chose, served from the build cache when the same
    inputs (source bytes, target, image ID, build requirements, SOURCE_DATE_EPOCH) built before."""

    target: Target
    client: IndexClient
    host: Callable[[], BuildHost]  # asked for only when something is built (probes, engine)
    cache_dir: Path
    source_date_epoch: int = 315532800
    timeout: float | None = DEFAULT_BUILD_TIMEOUT
    builders: Mapping[RouteName, Builder] = field(default_factory=lambda: BUILDERS)
    pools: dict[str | None, EnginePool] = field(default_factory=dict)

    def obtain(self, dist: PlannedDist, staging: Path) -> Outcome:
        verdict = self._verdict(dist)
        pool = self.pools.setdefault(verdict.engine_url, EnginePool.of(verdict.engine_url))
        engine = pool.acquire()
        try:
            return self._obtain(dist, replace(verdict, engine_url=engine), staging)
        finally:
            pool.release(engine)
            shutil.rmtree(self._work(dist), ignore_errors=True)

    def _obtain(self, dist: PlannedDist, verdict: Verdict, staging: Path) -> Outcome:
        source = self._source(dist)
        # The image's ID on the engine that builds: an engine holding another image under the
        # same name gets another key, never the wheels the first one built.
        img_id = verdict_image_id(verdict)
        requirements = environment_requirements(source, repair=repair_platform(self.target) is not None)
        key = build_key(source_digest(source), self.target, img_id, requirements, self.source_date_epoch)
        cache = BuildCache.in_cache(self.cache_dir)
        base = Outcome(
            name=dist.name,
            version=dist.version,
            wheel=None,
            origin=Origin.BUILT,
            route=str(verdict.route),
            image=verdict.image,
            image_id=img_id,
            engine="host" if verdict.route is RouteName.NATIVE else verdict.engine_url or "default",
            log_path=self.cache_dir / "logs" / RUN_ID / f"{dist.name}-{dist.version}.log",
        )
        cached = cache.get(key)
        if cached is not None:
            log.info("%s %s: served from the build cache", dist.name, dist.version)
            return replace(base, wheel=_copy(cached, staging), origin=Origin.CACHE, engine=None)
        wheel = self._build(dist, verdict, source, requirements, img_id, base)
        cache.put(key, wheel)
        return replace(base, wheel=_copy(wheel, staging))

    def _verdict(self, dist: PlannedDist) -> Verdict:
        assert dist.route is not None
        return Verdict(
            route=RouteName(dist.route.route),
            possible=dist.route.possible,
            reason=dist.route.reason,
            image=dist.route.image,
            # The arch's whole pool: obtain() picks one engine of it per build.
            engine_url=dict(self.host().remote_engines).get(self.target.arch),
        )

    def _build(
        self,
        dist: PlannedDist,
        verdict: Verdict,
        source: Path,
        requirements: tuple[str, ...],
        img_id: str,
        base: Outcome,
    ) -> Path:
        assert base.log_path is not None
        base.log_path.parent.mkdir(parents=True, exist_ok=True)
        job = BuildJob(
            name=dist.name,
            version=dist.version,
            source=source,
            target=self.target,
            verdict=verdict,
            find_links=None,
            requirements=requirements,
            out_dir=self._work(dist),
            log_path=base.log_path,
            source_date_epoch=self.source_date_epoch,
            timeout=self.timeout,
        )
        started = time.monotonic()
        builder = self.builders[verdict.route]
        if verdict.route is RouteName.NATIVE:
            wheel = builder(job)
        else:
            env = build_environment(
                requirements, self.target, verdict, img_id, self.client, self.host(), self.cache_dir
            )
            with env as links:  # the wheel set enters the cache only if this build succeeds
                wheel = builder(replace(job, find_links=links))
        log.info("%s %s: built in %.1f s", dist.name, dist.version, time.monotonic() - started)
        return wheel

    def _work(self, dist: PlannedDist) -> Path:
        return self.cache_dir / "work" / RUN_ID / f"{dist.name}-{dist.version}"

    def _source(self, dist: PlannedDist) -> Path:
        if dist.file.url.startswith("file:") and not dist.file.sha256:
            return Path(unquote(urlparse(dist.file.url).path))  # a local project, used in place
        sdists = self.cache_dir / "sdists"
        sdists.mkdir(parents=True, exist_ok=True)
        return self.client.download(dist_file(dist), sdists)


def _copy(wheel: Path, staging: Path) -> Path:
    dest = staging / wheel.name
    shutil.copy2(wheel, dest)
    return dest
