"""The one registry of routes, and the rule that picks one for a target."""

from __future__ import annotations

from xbuild.routes.base import BuildHost, Route, RouteName, Verdict
from xbuild.routes.container import ContainerRoute, EmulatedRoute
from xbuild.routes.native import NativeRoute
from xbuild.target import Target

# Order is preference: a matching host needs no engine, a same-arch container beats emulation.
ROUTES: dict[RouteName, Route] = {
    RouteName.NATIVE: NativeRoute(),
    RouteName.CONTAINER: ContainerRoute(),
    RouteName.EMULATED: EmulatedRoute(),
}


def choose_route(
    target: Target, host: BuildHost, *, image: str | None = None, forced: RouteName | None = None
) -> Verdict:
    """The first possible route in preference order; if none is, the most telling refusal."""
    if forced is not None:
        return ROUTES[forced].check(target, host, image)
    verdicts = [route.check(target, host, image) for route in ROUTES.values()]
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
