"""Resolve inputs for a target and turn the result into a Plan (pure, given a Finder and a host)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from resolvelib import BaseReporter, ResolutionImpossible, ResolutionTooDeep, Resolver

from xbuild.errors import RefusedError
from xbuild.index.urls import redact_url
from xbuild.plan.candidates import Candidate
from xbuild.plan.inputs import Inputs
from xbuild.plan.model import Action, Plan, PlannedDist, PlannedFile, RoutePlan, SourcePolicy
from xbuild.plan.provider import Finder, MetadataPreparer, Req, TargetProvider, to_req
from xbuild.routes.base import BuildHost, RouteName
from xbuild.routes.registry import choose_route
from xbuild.target import Target

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
    no_deps: bool = False,
) -> Plan:
    # Host facts cost an engine round-trip and interpreter probes: only gather them for builds.
    host_facts = cache(host) if callable(host) else (lambda: host)
    provider = TargetProvider(
        target=target, finder=finder, inputs=inputs, policy=policy, prepare=prepare, no_deps=no_deps
    )
    roots = [to_req(r.requirement, r.origin) for r in inputs.requirements]
    finder.prefetch({r.name for r in roots})
    resolver: Resolver[Req, Candidate, str] = Resolver(provider, BaseReporter())
    try:
        result = resolver.resolve(roots, max_rounds=5000)
    except ResolutionImpossible as exc:
        raise _conflict(exc, provider, target) from None
    except ResolutionTooDeep as exc:
        raise RefusedError(
            f"resolution did not finish after {exc.round_count} rounds",
            hint="add constraints (-c) to narrow the versions",
        ) from None
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
    return Plan(
        target=target,
        distributions=tuple(dists),
        source_policy=policy,
        index_urls=tuple(redact_url(u) for u in index_urls),
    )


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
        verdict = choose_route(target, host(), image=image, forced=route)
        route_plan = RoutePlan(
            route=str(verdict.route),
            image=verdict.image,
            possible=verdict.possible,
            reason=verdict.reason,
            alternatives=verdict.alternatives,
        )
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
    lines: list[str] = []
    names: set[str] = set()
    for info in exc.causes:
        req = info.requirement
        names.add(req.name)
        who = f"{info.parent.name} {info.parent.version}" if info.parent is not None else req.origin
        lines.append(f"{req} (requested by {who})")
    for name in sorted(names):
        for why in provider.state.dropped.get(name, [])[:5]:
            lines.append(f"{name}: {why}")
    message = f"no set of versions fits {target.platform_label}:\n  " + "\n  ".join(dict.fromkeys(lines))
    hint = (
        "--source-policy prefer-binary (the default) builds from source when no wheel fits"
        if provider.policy is SourcePolicy.NEVER
        else "relax the conflicting requirements, or check the target's Python version"
    )
    return RefusedError(message, hint=hint)
