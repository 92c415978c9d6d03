"""The one registry of routes, and the rule that picks one for a target."""

from __future__ import annotations

from collections.abc import Callable

from xbuild.routes.base import BuildHost, RouteName, Verdict
from xbuild.routes.checks import check_container, check_cross_sdk, check_emulated, check_native
from xbuild.target import Target
from xbuild.target.defaults import load_defaults

Check = Callable[[Target, BuildHost, str | None], Verdict]

# Order is preference: a matching host needs no engine, a same-arch container beats emulation.
CHECKS: dict[RouteName, Check] = {
    RouteName.NATIVE: check_native,
    RouteName.CONTAINER: check_container,
    RouteName.EMULATED: check_emulated,
}


def choose_route(
    target: Target, host: BuildHost, *, image: str | None = None, forced: RouteName | None = None
) -> Verdict:
    """The first possible route in preference order; if none is, the most telling refusal."""
    cross = check_cross_sdk(target, load_defaults().builder(target.os))
    if cross is not None:
        return cross
    if forced is not None:
        return CHECKS[forced](target, host, image)
    verdicts = [check(target, host, image) for check in CHECKS.values()]
    for verdict in verdicts:
        if verdict.possible:
            return verdict
    return _explain(verdicts)


def _explain(verdicts: list[Verdict]) -> Verdict:
    # The container/emulated verdict that names an image says most about what to fix.
    relevant = (
        [v for v in verdicts if v.route is not RouteName.NATIVE and v.image] or verdicts[1:] or verdicts
    )
    best = relevant[-1] if relevant[-1].alternatives else relevant[0]
    reasons = "; ".join(f"{v.route}: {v.reason}" for v in verdicts)
    alternatives = tuple(dict.fromkeys(a for v in verdicts for a in v.alternatives))
    return Verdict(
        route=best.route,
        possible=False,
        reason=reasons,
        image=best.image,
        alternatives=alternatives,
        missing_tool=best.missing_tool,
        image_facts=best.image_facts,
    )
