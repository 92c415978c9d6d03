"""Read a plan back from `xbuild plan -o plan.json` or `--lock pylock.toml`.

Routes are re-checked against the host that carries the plan out: a plan made on a laptop may be
built in CI, where another engine (or none) is available.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from xbuild.errors import InputError, UsageError
from xbuild.plan.lock import read_pylock
from xbuild.plan.model import Action, Plan, PlannedDist, PlannedFile, RoutePlan, SourcePolicy
from xbuild.routes.base import BuildHost, RouteName
from xbuild.routes.registry import choose_route
from xbuild.target import Target, parse_target


def _target(data: Any, where: Path) -> Target:
    if not isinstance(data, dict) or not data.get("spec") or not data.get("python_version"):
        raise InputError(f"{where}: no target recorded (spec and python_version)")
    return parse_target(str(data["spec"]), python_version=str(data["python_version"]))


def _route(target: Target, host: BuildHost, image: str | None, route: RouteName | None) -> RoutePlan:
    v = choose_route(target, host, image=image, forced=route)
    return RoutePlan(
        route=str(v.route),
        image=v.image,
        possible=v.possible,
        reason=v.reason,
        alternatives=v.alternatives,
        missing_tool=v.missing_tool,
        image_facts=v.image_facts,
    )


def load_plan(
    *, plan_file: Path | None, lock: Path | None, host: BuildHost, image: str | None, route: RouteName | None
) -> Plan:
    if plan_file is not None and lock is not None:
        raise UsageError("--plan and --lock both given", hint="pass one of them")
    if plan_file is not None:
        return _from_json(plan_file, host, image, route)
    assert lock is not None
    return _from_lock(lock, host, image, route)


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
                    route=_route(target, host, image, route) if action is Action.BUILD else None,
                )
            )
        policy = SourcePolicy(data.get("source_policy", "prefer-binary"))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(
            f"cannot read plan {path}: {exc}", hint="write it with `xbuild plan -o plan.json`"
        ) from exc
    return Plan(target=target, distributions=tuple(dists), source_policy=policy)


def _from_lock(path: Path, host: BuildHost, image: str | None, route: RouteName | None) -> Plan:
    data = read_pylock(path)
    try:
        target = _target(data.get("tool", {}).get("xbuild", {}).get("target"), path)
        dists = [_lock_entry(p, target, host, image, route) for p in data["packages"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"cannot read lock {path}: {exc}") from exc
    return Plan(target=target, distributions=tuple(dists), source_policy=SourcePolicy.PREFER_BINARY)


def _lock_entry(
    p: dict[str, Any], target: Target, host: BuildHost, image: str | None, route: RouteName | None
) -> PlannedDist:
    wheels = p.get("wheels") or []
    if wheels:
        f, action = wheels[0], Action.WHEEL
    elif "sdist" in p:
        f, action = p["sdist"], Action.BUILD
    elif "directory" in p:
        f, action = {"name": p["name"], "url": Path(p["directory"]["path"]).resolve().as_uri()}, Action.BUILD
    else:
        raise ValueError(f"package {p.get('name')!r} has neither wheels, sdist nor directory")
    file = PlannedFile(
        filename=f.get("name", ""),
        url=f["url"],
        sha256=f.get("hashes", {}).get("sha256"),
        size=f.get("size"),
        index_url=p.get("index"),
    )
    reason = p.get("tool", {}).get("xbuild", {}).get("reason", "from the lock file")
    return PlannedDist(
        name=p["name"],
        version=p["version"],
        action=action,
        file=file,
        reason=reason,
        requested_by=("lock file",),
        route=_route(target, host, image, route) if action is Action.BUILD else None,
    )
