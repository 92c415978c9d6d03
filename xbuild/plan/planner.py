"""Resolve inputs for a target and turn the result into a Plan (pure, given a Finder and a host)."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from functools import cache
from typing import Any

from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver

from xbuild.errors import RefusedError
from xbuild.index.urls import redact_url
from xbuild.plan.candidate_cache import CandidateStore, JudgedProjects
from xbuild.plan.candidates import Candidate, Drop
from xbuild.plan.explain import Conflict, conflict_error
from xbuild.plan.inputs import Inputs, UserRequirement
from xbuild.plan.model import (
    Action,
    Plan,
    PlannedDist,
    PlannedFile,
    PrereleaseMode,
    RoutePlan,
    Skipped,
    SourcePolicy,
)
from xbuild.plan.provider import Finder, MetadataPreparer, Req, TargetProvider, marker_holds, to_req
from xbuild.routes.base import BuildHost, RouteName
from xbuild.routes.registry import choose_route
from xbuild.target import Target
from xbuild.util.text import plural

log = logging.getLogger(__name__)


def make_plan(
    inputs: Inputs,
    target: Target,
    finder: Finder,
    *,
    host: BuildHost | Callable[[], BuildHost],
    policy: SourcePolicy = SourcePolicy.PREFER_BINARY,
    image: str | None = None,
    route: RouteName | None = None,
    prepare: MetadataPreparer | None = None,
    index_urls: tuple[str, ...] = (),
    prerelease: PrereleaseMode = PrereleaseMode.IF_NECESSARY_OR_EXPLICIT,
    extras: Iterable[str] = (),
    no_deps: bool = False,
) -> Plan:
    """Resolve for the target; `extras` are the project extras asked for (markers see them)."""
    # Host facts cost an engine round-trip and interpreter probes: only gather them for builds.
    host_facts = cache(host) if callable(host) else (lambda: host)
    log.info("%s", python_note(target))
    inputs, skipped = for_target(inputs, target, tuple(extras))

    def provider_for(judged: JudgedProjects | None) -> TargetProvider:
        return TargetProvider(
            target=target,
            finder=finder,
            inputs=inputs,
            policy=policy,
            prepare=prepare,
            prerelease=prerelease,
            no_deps=no_deps,
            judged=judged,
        )

    roots = [to_req(r.requirement, r.origin) for r in inputs.requirements]
    root = finder.cache_root
    store = CandidateStore(root / "candidates") if root is not None else None
    with JudgedProjects(finder, target, prerelease=str(prerelease), store=store) as judged:
        provider = provider_for(judged)
        judged.lookahead = provider.lookahead
        try:
            result = _resolve(provider, roots)
        except ResolutionImpossible:
            # Judged files make the same walk but drop the reasons a failure is explained by:
            # walk again over whole pages (the same failure, every reason kept).
            provider = provider_for(None)
            result = _resolve(provider, roots)
    dists = [
        _planned(
            candidate,
            target,
            host_facts,
            policy,
            provider,
            _requested_by(result.criteria, ident),
            image,
            route,
        )
        for ident, candidate in sorted(result.mapping.items())
        if not candidate.extras
    ]
    for d in dists:
        _log_decision(d, provider.state.dropped.get(d.name, ()))
    notes = [*provider.state.warnings, *_yanked_pins(result.mapping.values())]
    return Plan(
        target=target,
        distributions=tuple(dists),
        source_policy=policy,
        index_urls=tuple(redact_url(u) for u in index_urls),
        notes=tuple(notes),
        skipped=skipped,
        prerelease=prerelease,
    )


def _log_decision(dist: PlannedDist, dropped: Sequence[Drop]) -> None:
    """`-v`: why each distribution is what it is, and what was passed over on the way."""
    log.info("%s %s: %s", dist.name, dist.version, dist.reason)
    if dist.route is not None:
        where = f" in {dist.route.image}" if dist.route.image else ""
        log.info("%s %s: route %s%s: %s", dist.name, dist.version, dist.route.route, where, dist.route.reason)
    causes = Counter(str(d.cause) for d in dropped if d.version is not None)
    if causes:
        summary = ", ".join(f"{n} {cause}" for cause, n in causes.most_common())
        log.info("%s: passed over %s (%s)", dist.name, plural(sum(causes.values()), "version"), summary)


def _resolve(provider: TargetProvider, roots: list[Req]) -> Any:
    """resolvelib's result, or RefusedError saying why there is none (ResolutionImpossible
    itself when the provider read judged files, which lack the reasons: see make_plan)."""
    provider.prefetch([r.name for r in roots])  # in their order: see JudgedProjects.prefetch
    resolver: Resolver[Req, Candidate, str] = Resolver(provider, BaseReporter())
    try:
        return resolver.resolve(roots, max_rounds=5000)
    except ResolutionImpossible as exc:
        if provider.judged is not None:
            raise
        raise _conflict(exc, provider, provider.target) from None
    except ResolutionTooDeep as exc:
        raise RefusedError(
            f"resolution did not finish after {exc.round_count} rounds",
            hint="add constraints (-c) to narrow the versions",
        ) from None


def python_note(target: Target) -> str:
    """Which patch release Requires-Python and markers are judged against, and why."""
    if target.python_full_version is not None:
        return f"target Python {target.python_full} ({target.python_version_source})"
    return (
        f"target Python {target.python_full}: the newest {target.python} patch release "
        f"(pass --python-version {target.python}.N for another)"
    )


def for_target(inputs: Inputs, target: Target, extras: tuple[str, ...]) -> tuple[Inputs, tuple[Skipped, ...]]:
    """The user's requirements and constraints whose markers hold for the target, and the rest."""
    environment = target.marker_environment()
    kept: list[UserRequirement] = []
    skipped: list[Skipped] = []
    for r in inputs.requirements:
        marker = r.requirement.marker
        if marker_holds(marker, environment, extras):
            kept.append(r)
            continue
        why = f"marker `{marker}` is false for {target.platform_label} (Python {target.python_full})"
        skipped.append(Skipped(requirement=str(r.requirement), reason=f"{why}; from {r.origin}"))
        log.info("skipping %s: %s", r.requirement, why)
    constraints = tuple(
        c for c in inputs.constraints if marker_holds(c.requirement.marker, environment, extras)
    )
    return replace(inputs, requirements=tuple(kept), constraints=constraints), tuple(skipped)


def _yanked_pins(candidates: Iterable[Candidate]) -> list[str]:
    """PEP 592: a yanked file is taken only for an exact pin, and the user is told why it was yanked."""
    notes: list[str] = []
    for c in candidates:
        if c.extras or c.file is None or c.file.yanked is None:
            continue
        why = c.file.yanked or "no reason given"
        note = f"{c.name} {c.version} is yanked ({why}); taken because it is pinned exactly"
        log.warning("%s", note)
        notes.append(note)
    return notes


def _requested_by(criteria: Mapping[str, Any], identifier: str) -> tuple[str, ...]:
    names: list[str] = []
    for ident, criterion in criteria.items():
        if ident.split("[")[0] != identifier.split("[", maxsplit=1)[0]:
            continue
        for info in criterion.information:
            parent = info.parent
            names.append(f"{parent.name} {parent.version}" if parent is not None else info.requirement.origin)
    return tuple(dict.fromkeys(names))


def _planned(
    candidate: Candidate,
    target: Target,
    host: Callable[[], BuildHost],
    policy: SourcePolicy,
    provider: TargetProvider,
    requested_by: tuple[str, ...],
    image: str | None,
    route: RouteName | None,
) -> PlannedDist:
    key = (candidate.name, str(candidate.version))
    source = provider.state.metadata_source.get(key, "index")
    route_plan = None
    if candidate.action is Action.BUILD:
        route_plan = RoutePlan.of(choose_route(target, host(), image=image, forced=route))
    return PlannedDist(
        name=candidate.name,
        version=str(candidate.version),
        action=candidate.action,
        file=_file(candidate),
        reason=reason(candidate, target, policy, provider),
        requested_by=requested_by,
        route=route_plan,
        metadata_source=source,
    )


def _file(candidate: Candidate) -> PlannedFile:
    if candidate.file is None:
        path = candidate.local_path
        return PlannedFile(filename=path.name if path else "", url=path.as_uri() if path else "", sha256=None)
    f = candidate.file
    return PlannedFile(
        filename=f.filename,
        url=redact_url(f.url),
        sha256=f.sha256,
        size=f.size,
        index_url=redact_url(f.index_url),
    )


def reason(candidate: Candidate, target: Target, policy: SourcePolicy, provider: TargetProvider) -> str:
    """One sentence a user can act on."""
    where = f"{target.spec or target.platform_tags[0]} {target.abi}"
    if candidate.local_path is not None:
        return "local project: built from source"
    if candidate.direct_url is not None or (candidate.file is not None and not candidate.file.index_url):
        assert candidate.file is not None
        source = redact_url(candidate.file.url)
        if candidate.action is Action.WHEEL:
            return f"direct reference: the wheel at {source}"
        return f"direct reference: built from the sdist at {source}"
    if candidate.action is Action.WHEEL:
        assert candidate.file is not None
        tag = candidate.file.filename.removesuffix(".whl").split("-", 2)[-1]
        if candidate.skipped_newer is not None:
            return (
                f"{candidate.name} {candidate.skipped_newer} has no wheel for {where}; using "
                f"{candidate.version} (wheel). Pin {candidate.name}=={candidate.skipped_newer} "
                "or use --source-policy newest to build it."
            )
        return f"wheel {tag} fits {where}"
    if provider._binary_flag(candidate.name, provider.no_binary):
        return "--no-binary: built from the sdist"
    if policy is SourcePolicy.NEWEST:
        return f"no wheel of {candidate.version} fits {where}; --source-policy newest: build the sdist"
    return f"no allowed version has a wheel for {where}: build the sdist"


def _conflict(exc: ResolutionImpossible[Any, Any], provider: TargetProvider, target: Target) -> RefusedError:
    """Plain words from resolvelib's structured causes: who asked for what, and what was dropped."""
    requests = []
    for info in exc.causes:
        req = info.requirement
        who = f"{info.parent.name} {info.parent.version}" if info.parent is not None else req.origin
        requests.append((str(req.name), str(req), who))
    return conflict_error(
        Conflict(
            requests=tuple(requests),
            dropped=provider.state.dropped,
            files=provider.state.files,
            target=target,
            policy=provider.policy,
            prerelease=provider.prerelease,
        )
    )
