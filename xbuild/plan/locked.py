"""A lock file's packages as a Plan for one target: the locked versions as they are, no resolution.

Each package's marker (and the lock's requires-python and environments) is judged for the target,
each file is picked from the package's wheels in the target's tag order, and a package with only
an sdist is built under the source policy, like any source build the resolver plans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from xbuild.errors import InputError, RefusedError, UsageError
from xbuild.index.urls import redact_url
from xbuild.plan.lockfile import UV_LOCK, Lock, LockedFile, LockedPackage, is_lock_file
from xbuild.plan.model import Action, Plan, PlannedDist, PlannedFile, RoutePlan, Skipped, SourcePolicy
from xbuild.plan.provider import TargetProvider
from xbuild.plan.pylock import read_pylock
from xbuild.plan.uvlock import read_uv_lock
from xbuild.routes.base import BuildHost, RouteName
from xbuild.routes.registry import choose_route
from xbuild.target import Target

__all__ = ["find_lock", "is_lock_file", "plan_from_lock", "plan_lock_file", "read_lock", "route_plan"]


def find_lock(
    requirement_files: Iterable[Path],
    *,
    requirements: Iterable[str] = (),
    constraint_files: Iterable[Path] = (),
    project: Path | None = None,
) -> Path | None:
    """The lock among `-r` files (PEP 751 names, `uv.lock`), if any; it must be the only input.

    A lock is the whole answer, as uv takes it: nothing can be added to or resolved around it.
    """
    files = list(requirement_files)
    locks = [f for f in files if is_lock_file(f)]
    if not locks:
        return None
    others = [str(f) for f in files if f not in locks] + list(requirements)
    others += [f"-c {c}" for c in constraint_files] + ([f"--project {project}"] if project else [])
    if len(locks) > 1 or others:
        raise UsageError(
            f"{locks[0].name} is a lock: it cannot be combined with "
            + ", ".join(map(str, [*locks[1:], *others])),
            hint="plan a lock on its own (-r pylock.toml or -r uv.lock), or drop it and list requirements",
        )
    return locks[0]


def plan_lock_file(
    path: Path,
    target: Target,
    *,
    host: BuildHost | Callable[[], BuildHost],
    policy: SourcePolicy | None = None,
    only_binary: frozenset[str] = frozenset(),
    no_binary: frozenset[str] = frozenset(),
    extras: Iterable[str] = (),
    groups: Iterable[str] = (),
    image: str | None = None,
    route: RouteName | None = None,
) -> Plan:
    """read_lock + plan_from_lock: what `-r pylock.toml` / `-r uv.lock` plans. With no `policy`,
    the one the lock records (xbuild's own locks do), else prefer-binary."""
    extras, groups = tuple(extras), tuple(groups)
    lock = read_lock(path, target, extras=extras, groups=groups)
    if policy is None:
        recorded = lock.source_policy
        policy = SourcePolicy(recorded) if recorded in set(SourcePolicy) else SourcePolicy.PREFER_BINARY
    return plan_from_lock(
        lock,
        target,
        host=host,
        policy=policy,
        only_binary=only_binary,
        no_binary=no_binary,
        extras=extras,
        groups=groups,
        image=image,
        route=route,
    )


def read_lock(path: Path, target: Target, *, extras: Iterable[str] = (), groups: Iterable[str] = ()) -> Lock:
    """`uv.lock` is walked for the target on reading; a pylock is read whole."""
    if path.name == UV_LOCK:
        return read_uv_lock(path, target.marker_environment(), extras=extras, groups=groups)
    return read_pylock(path)


def route_plan(target: Target, host: BuildHost, image: str | None, route: RouteName | None) -> RoutePlan:
    return RoutePlan.of(choose_route(target, host, image=image, forced=route))


@dataclass(frozen=True, kw_only=True)
class _Choice:
    action: Action
    file: PlannedFile
    reason: str


def plan_from_lock(
    lock: Lock,
    target: Target,
    *,
    host: BuildHost | Callable[[], BuildHost],
    policy: SourcePolicy = SourcePolicy.PREFER_BINARY,
    only_binary: frozenset[str] = frozenset(),
    no_binary: frozenset[str] = frozenset(),
    extras: Iterable[str] = (),
    groups: Iterable[str] = (),
    image: str | None = None,
    route: RouteName | None = None,
) -> Plan:
    """The Plan the resolver would give, with every version taken from the lock."""
    # Host facts cost an engine round-trip: gather them only when something is built.
    host_facts: Callable[[], BuildHost] = cache(host) if callable(host) else (lambda: host)
    _check_lock_fits(lock, target)
    wanted, skipped = _for_target(lock, target, frozenset(extras), frozenset(groups or lock.default_groups))
    dists: list[PlannedDist] = []
    refusals: list[str] = []
    for package in wanted:
        choice = _choose(package, target, policy, only_binary, no_binary)
        if isinstance(choice, str):
            refusals.append(choice)
            continue
        dists.append(
            PlannedDist(
                name=package.name,
                version=package.version or "",
                action=choice.action,
                file=choice.file,
                reason=choice.reason,
                requested_by=package.requested_by or (f"{lock.path.name}",),
                route=(
                    route_plan(target, host_facts(), image, route) if choice.action is Action.BUILD else None
                ),
                metadata_source="lock",
            )
        )
    if refusals:
        raise RefusedError(
            f"{lock.path.name} cannot be installed on {target.platform_label}:\n  " + "\n  ".join(refusals),
            hint=_refusal_hint(policy),
        )
    return Plan(
        target=target,
        distributions=tuple(sorted(dists, key=lambda d: d.name)),
        source_policy=policy,
        index_urls=tuple(dict.fromkeys(redact_url(p.index) for p in wanted if p.index)),
        skipped=tuple(skipped),
    )


def _refusal_hint(policy: SourcePolicy) -> str:
    if policy is SourcePolicy.NEVER:
        return "--source-policy prefer-binary builds a package from its sdist when no wheel fits"
    return "lock for this platform too (uv: add it to tool.uv.environments or required-environments)"


def _check_lock_fits(lock: Lock, target: Target) -> None:
    env = target.marker_environment()
    python = env["python_full_version"]
    if lock.requires_python is not None and not lock.requires_python.contains(python, prereleases=True):
        raise RefusedError(
            f"{lock.path.name} requires Python {lock.requires_python}; the target has {python}",
            hint="pick a target with a Python the lock supports (--python-version)",
        )
    if lock.environments and not any(m.evaluate(env) for m in lock.environments):
        raise RefusedError(
            f"{lock.path.name} was locked for {' or '.join(map(str, lock.environments))}, "
            f"not for {target.platform_label}",
            hint="lock again with this platform among the environments",
        )


def _for_target(
    lock: Lock, target: Target, extras: frozenset[str], groups: frozenset[str]
) -> tuple[list[LockedPackage], list[Skipped]]:
    """The packages whose marker holds for the target, and those left out with the reason."""
    env: dict[str, Any] = {**target.marker_environment(), "extras": extras, "dependency_groups": groups}
    python = env["python_full_version"]
    wanted: dict[str, LockedPackage] = {}
    skipped: list[Skipped] = []
    for p in lock.packages:
        if p.marker is not None and not p.marker.evaluate(env, "lock_file"):
            why = f"marker `{p.marker}` is false for {target.platform_label} (Python {python})"
            where = f"; from {lock.path.name}"
            skipped.append(Skipped(requirement=f"{p.name}=={p.version}", reason=why + where))
            continue
        if p.requires_python is not None and not p.requires_python.contains(python, prereleases=True):
            raise RefusedError(
                f"{lock.path.name}: {p.name} {p.version} requires Python {p.requires_python}; "
                f"the target has {python}",
                hint="pick a target with a Python the lock supports (--python-version)",
            )
        if p.name in wanted:
            raise InputError(
                f"{lock.path.name}: {p.name} is locked twice for {target.platform_label} "
                f"({wanted[p.name].version} and {p.version})",
                hint="a lock must list one version of a package per environment",
            )
        wanted[p.name] = p
    return list(wanted.values()), skipped


def _choose(
    p: LockedPackage,
    target: Target,
    policy: SourcePolicy,
    only_binary: frozenset[str],
    no_binary: frozenset[str],
) -> _Choice | str:
    """The file this target installs, or why none can be."""
    where = f"{target.spec or target.platform_tags[0]} {target.abi}"
    if p.vcs is not None:
        return f"{p.name}: locked from VCS ({redact_url(p.vcs)}); build a wheel or an sdist first"
    build_only = TargetProvider._binary_flag(p.name, no_binary)
    wheel = None if build_only else _best_wheel(p.wheels, target)
    if wheel is not None:
        tag = wheel.filename.removesuffix(".whl").split("-", 2)[-1]
        reason = _reason(p, f"wheel {tag} fits {where}")
        return _Choice(action=Action.WHEEL, file=_planned(wheel, p), reason=reason)
    if p.directory is not None:
        url = p.directory.as_uri()
        file = PlannedFile(filename=p.directory.name, url=url, sha256=None)
        return _Choice(action=Action.BUILD, file=file, reason="local project: built from source")
    no_source = policy is SourcePolicy.NEVER or TargetProvider._binary_flag(p.name, only_binary)
    if p.sdist is not None and no_source:
        return f"{p.name} {p.version}: no wheel fits {where}, source builds are off ({_platforms(p.wheels)})"
    if p.sdist is not None:
        why = "--no-binary: built from the sdist" if build_only else f"no locked wheel fits {where}: build it"
        return _Choice(action=Action.BUILD, file=_planned(p.sdist, p), reason=_reason(p, why))
    return f"{p.name} {p.version}: no wheel fits {where} and the lock has no sdist ({_platforms(p.wheels)})"


def _reason(p: LockedPackage, default: str) -> str:
    return p.reason or f"locked {p.version}: {default}"


def _best_wheel(wheels: tuple[LockedFile, ...], target: Target) -> LockedFile | None:
    best: tuple[int, LockedFile] | None = None
    for wheel in wheels:
        tags = _tags(wheel.filename)
        rank = target.tag_rank(tags) if tags else None
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, wheel)
    return best[1] if best else None


def _tags(filename: str) -> frozenset[Any]:
    try:
        return parse_wheel_filename(filename)[3]
    except InvalidWheelFilename:
        return frozenset()


def _platforms(wheels: tuple[LockedFile, ...]) -> str:
    """`cp311-manylinux_2_17_x86_64, ...`: the Python and the platform, what a user would change."""
    if not wheels:
        return "no wheels at all"
    found = sorted({f"{t.interpreter}-{t.platform}" for w in wheels for t in _tags(w.filename)})
    shown = ", ".join(found[:12]) + (f" and {len(found) - 12} more" if len(found) > 12 else "")
    return f"wheels exist for {shown}"


def _planned(file: LockedFile, p: LockedPackage) -> PlannedFile:
    if file.sha256 is None and not file.url.startswith("file:"):
        # Downloads are checked against sha256: a remote file without one cannot be trusted.
        raise RefusedError(
            f"{p.name} {p.version}: the lock gives no sha256 for {file.filename}",
            hint="regenerate the lock with sha256 hashes",
        )
    return PlannedFile(
        filename=file.filename,
        url=redact_url(file.url),
        sha256=file.sha256,
        size=file.size,
        index_url=redact_url(p.index) if p.index else None,
    )
