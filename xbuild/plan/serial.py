"""Read a plan back from `xbuild plan -o plan.json`, or make one from a lock file (any producer).

Routes are re-checked against the host that carries the plan out: a plan made on a laptop may be
built in CI, where another engine (or none) is available.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xbuild.errors import InputError, UsageError
from xbuild.plan.locked import plan_lock_file, route_plan
from xbuild.plan.lockfile import UV_LOCK
from xbuild.plan.model import Action, Plan, PlannedDist, PlannedFile, SourcePolicy
from xbuild.plan.pylock import read_pylock
from xbuild.routes.base import BuildHost, RouteName
from xbuild.target import Target, parse_target


def _target(data: Any, where: Path) -> Target:
    if not isinstance(data, dict) or not data.get("spec") or not data.get("python_version"):
        raise InputError(f"{where}: no target recorded (spec and python_version)")
    return parse_target(str(data["spec"]), python_version=str(data["python_version"]))


def load_plan(
    *,
    plan_file: Path | None,
    lock: Path | None,
    host: BuildHost,
    image: str | None,
    route: RouteName | None,
    target: Target | None = None,
    policy: SourcePolicy | None = None,
    only_binary: frozenset[str] = frozenset(),
    no_binary: frozenset[str] = frozenset(),
    extras: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> Plan:
    """A plan written by `xbuild plan -o`, or one made from any lock file (pylock.toml, uv.lock).

    A lock from another tool records no target: `target` (from -p) is then required. xbuild's
    own locks record theirs, used when `target` is None.
    """
    if plan_file is not None and lock is not None:
        raise UsageError("--plan and --lock both given", hint="pass one of them")
    if plan_file is not None:
        plan = _from_json(plan_file, host, image, route)
        if target is not None and target.platform_tags != plan.target.platform_tags:
            raise UsageError(
                f"{plan_file} was planned for {plan.target.platform_label}, not {target.platform_label}",
                hint="plan again for this target, or leave out -p to use the plan's own target",
            )
        return plan
    assert lock is not None
    return _from_lock(
        lock,
        host,
        image,
        route,
        target=target,
        policy=policy,
        only_binary=only_binary,
        no_binary=no_binary,
        extras=extras,
        groups=groups,
    )


def plan_target(path: Path) -> Target:
    """The target a JSON plan (`xbuild plan -o`) was made for."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(f"cannot read plan {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: not an xbuild plan")
    return _target(data.get("target"), path)


def _from_json(path: Path, host: BuildHost, image: str | None, route: RouteName | None) -> Plan:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        target = _target(data["target"], path)
        dists = []
        for d in data["distributions"]:
            action = Action(d["action"])
            f = d["file"]
            dists.append(
                PlannedDist(
                    name=d["name"],
                    version=d["version"],
                    action=action,
                    reason=d["reason"],
                    file=PlannedFile(
                        filename=f["filename"], url=f["url"], sha256=f.get("sha256"), size=f.get("size")
                    ),
                    requested_by=tuple(d.get("requested_by", ())),
                    route=route_plan(target, host, image, route) if action is Action.BUILD else None,
                )
            )
        policy = SourcePolicy(data.get("source_policy", "prefer-binary"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"cannot read plan {path}: {exc}", hint="write it with `xbuild plan -o plan.json`"
        ) from exc
    return Plan(target=target, distributions=tuple(dists), source_policy=policy)


def _from_lock(
    path: Path,
    host: BuildHost,
    image: str | None,
    route: RouteName | None,
    *,
    target: Target | None,
    policy: SourcePolicy | None,
    only_binary: frozenset[str],
    no_binary: frozenset[str],
    extras: tuple[str, ...],
    groups: tuple[str, ...],
) -> Plan:
    return plan_lock_file(
        path,
        target or _recorded_target(path),
        host=host,
        policy=policy,
        only_binary=only_binary,
        no_binary=no_binary,
        extras=extras,
        groups=groups,
        image=image,
        route=route,
    )


def _recorded_target(path: Path) -> Target:
    """xbuild's own locks say which target they were planned for; other producers' do not."""
    lock = read_pylock(path) if path.name != UV_LOCK else None
    if lock is None or not lock.target_spec or not lock.target_python:
        raise UsageError(
            f"{path.name} records no target",
            hint="pass the target with -p/--python-platform, e.g. -p aws-lambda-python3.12-arm64",
        )
    return parse_target(lock.target_spec, python_version=lock.target_python)
