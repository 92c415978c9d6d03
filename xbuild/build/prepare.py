"""Prepare metadata for sources whose PKG-INFO is not static (PEP 643), in the target's sandbox.

An sdist's build backend is code from the index: it runs where the sdist would be built, in the
target's container (or emulated container), without network, as an unprivileged user, with only
the sdist and the build requirements' wheels mounted read-only. Nothing of it runs on this host;
with no engine to run it in, planning stops with exit 3. Running there also yields the target's
metadata when a setup.py computes dependencies from the platform it runs on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from xbuild.build.buildenv import (
    build_environment,
    environment_requirements,
    read_pyproject,
    verdict_image_id,
)
from xbuild.build.in_container import prepare_metadata
from xbuild.build.job import BuildJob
from xbuild.build.keys import target_material
from xbuild.build.leftovers import claim_scratch
from xbuild.errors import EngineError, InputError
from xbuild.host.cache import RUN_ID
from xbuild.index import DistFile, IndexClient
from xbuild.index.cache import HttpCache
from xbuild.plan.candidates import Candidate
from xbuild.routes.base import DEFAULT_BUILD_TIMEOUT, BuildHost, RouteName, Verdict
from xbuild.routes.registry import CHECKS
from xbuild.target import Target
from xbuild.util import signals

log = logging.getLogger(__name__)
HostFacts = Callable[[], BuildHost]
# The routes that keep a backend off the host, in preference order.
SANDBOX_ROUTES = (RouteName.CONTAINER, RouteName.EMULATED)


def sandbox_verdict(
    target: Target, host: BuildHost, *, image: str | None = None, forced: RouteName | None = None
) -> Verdict:
    """Where an sdist's metadata hook runs: a container route, never the host (exit 3 if none)."""
    names = (forced,) if forced in SANDBOX_ROUTES else SANDBOX_ROUTES
    verdicts = [CHECKS[name](target, host, image) for name in names]
    chosen = next((v for v in verdicts if v.possible), None)
    if chosen is not None:
        return chosen
    reasons = "; ".join(f"{v.route}: {v.reason}" for v in verdicts)
    tips = dict.fromkeys(a for v in verdicts for a in v.alternatives if "source-policy" not in a)
    raise EngineError(
        f"{target.platform_label}: metadata of an sdist must be prepared by its build backend, "
        f"which xbuild runs only in a container, never on this host, and none can run: {reasons}",
        hint="; ".join((*tips, "or --source-policy never / --only-binary :all: to use wheels only")),
    )


# PEP 621 fields a backend must take as written unless the project lists them in `dynamic`.
_STATIC_FIELDS = ("version", "requires-python", "dependencies", "optional-dependencies")


def static_project_metadata(source: Path) -> bytes | None:
    """METADATA from a static `[project]` table (PEP 621), or None when a backend must decide.

    Every field the planner reads (Requires-Python, Requires-Dist, Provides-Extra) is one the
    backend may not change when it is not listed in `dynamic`, so no build code has to run.
    """
    data = read_pyproject(source)
    project = data.get("project") if data else None
    if not isinstance(project, dict):
        return None
    dynamic = project.get("dynamic", [])
    if not isinstance(dynamic, list) or any(f in dynamic for f in _STATIC_FIELDS):
        return None
    name, version = project.get("name"), project.get("version")
    requires = project.get("dependencies", [])
    optional = project.get("optional-dependencies", {})
    python = project.get("requires-python")
    if not (isinstance(name, str) and isinstance(version, str) and _strings(requires)):
        return None
    if not isinstance(optional, dict) or not all(_strings(v) for v in optional.values()):
        return None
    lines = ["Metadata-Version: 2.2", f"Name: {name}", f"Version: {version}"]
    if isinstance(python, str):
        lines.append(f"Requires-Python: {python}")
    lines += [f"Requires-Dist: {r}" for r in requires]
    for extra, reqs in optional.items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [_with_extra(r, extra) for r in reqs]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _with_extra(requirement: str, extra: str) -> str:
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        req = Requirement(requirement)
    except InvalidRequirement:
        return f"Requires-Dist: {requirement}"  # the provider reports it, with its origin
    marker = f'({req.marker}) and extra == "{extra}"' if req.marker else f'extra == "{extra}"'
    req.marker = None
    return f"Requires-Dist: {req}; {marker}"


class ContainerMetadataPreparer:
    """Satisfies plan.provider.MetadataPreparer: METADATA of a candidate from its backend, sandboxed.

    Prepared metadata is cached by the sdist's sha256 and the sandbox it ran in: the same archive
    in the same environment always yields it.
    """

    def __init__(
        self,
        client: IndexClient,
        *,
        target: Target,
        host: HostFacts,
        cache_dir: Path,
        image: str | None = None,
        route: RouteName | None = None,
        cache: HttpCache | None = None,
        offline: bool = False,
        timeout: float | None = DEFAULT_BUILD_TIMEOUT,
    ) -> None:
        self.client = client
        self.target = target
        self.host = host
        self.cache_dir = cache_dir
        self.image = image
        self.route = route
        self.cache = cache
        self.offline = offline
        self.timeout = timeout

    def __call__(self, candidate: Candidate) -> bytes:
        claim_scratch(self.cache_dir)
        work = self.cache_dir / "work" / RUN_ID
        work.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="metadata-", dir=work))
        try:
            with signals.trapped():
                source = candidate.local_path or self.client.download(_file(candidate), folder)
                static = static_project_metadata(source)
                return static if static is not None else self._prepared(candidate, source, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _prepared(self, candidate: Candidate, source: Path, folder: Path) -> bytes:
        verdict = sandbox_verdict(self.target, self.host(), image=self.image, forced=self.route)
        key = self._key(candidate, verdict)
        cached = self.cache.load_metadata(key) if self.cache and key else None
        if cached is not None:
            return cached
        if self.offline:
            raise InputError(
                f"{candidate.name} {candidate.version}: its metadata must be prepared by its "
                "build backend, which needs the network",
                hint="run once without --offline to cache it",
            )
        data = self._run(candidate, verdict, source, folder)
        if self.cache and key:
            self.cache.store_metadata(key, data)
        return data

    def _key(self, candidate: Candidate, verdict: Verdict) -> str | None:
        file = candidate.file
        if file is None or file.sha256 is None or candidate.local_path is not None:
            return None  # a local project changes under our feet: prepare it every time
        material = json.dumps(
            [file.sha256, verdict.image, target_material(self.target)], sort_keys=True, default=str
        )
        return "prepared-" + hashlib.sha256(material.encode()).hexdigest()

    def _run(self, candidate: Candidate, verdict: Verdict, source: Path, folder: Path) -> bytes:
        what = f"{candidate.name} {candidate.version}"
        requirements = environment_requirements(source, repair=False)
        img_id = verdict_image_id(verdict)
        logs = self.cache_dir / "logs" / RUN_ID
        logs.mkdir(parents=True, exist_ok=True)
        log.info("%s: preparing metadata in %s (%s route, no network)", what, verdict.image, verdict.route)
        env = build_environment(
            requirements, self.target, verdict, img_id, self.client, self.host(), self.cache_dir
        )
        with env as wheels:
            job = BuildJob(
                name=candidate.name,
                version=str(candidate.version),
                source=source,
                target=self.target,
                verdict=verdict,
                find_links=wheels,
                requirements=requirements,
                out_dir=folder / "out",
                log_path=logs / f"{candidate.name}-{candidate.version}-metadata.log",
                timeout=self.timeout,
            )
            return prepare_metadata(job)


def _file(candidate: Candidate) -> DistFile:
    if candidate.file is None:
        raise InputError(f"{candidate.name}: nothing to prepare metadata from")
    return candidate.file
