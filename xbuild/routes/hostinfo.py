"""BuildHost from the host facts: the one adapter between `xbuild doctor`'s facts and the routes."""

from __future__ import annotations

import os
from functools import cache

from xbuild.routes.base import BuildHost
from xbuild.target import Arch


def remote_engines(environ: dict[str, str] | None = None) -> tuple[tuple[Arch, str], ...]:
    """`XBUILD_ENGINE_AARCH64=ssh://builder`: send that arch's builds to a native engine."""
    env = os.environ if environ is None else environ
    found = []
    for arch in Arch:
        url = env.get(f"XBUILD_ENGINE_{str(arch).upper()}")
        if url:
            found.append((arch, url))
    return tuple(found)


@cache
def detect_build_host() -> BuildHost:
    from xbuild.host.facts import gather

    facts = gather()
    return facts.build_host(remote_engines())
