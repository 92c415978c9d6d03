"""Containers a run leaves behind: removed by their run's label, by the run or by the next one.

Apart from `build.container` (which starts containers) so that every run that claims its scratch
space (`claim_scratch`) also removes what killed runs left, whether or not it builds anything
itself: a run that only downloads wheels imports no container machinery, yet sweeps.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from xbuild.errors import EngineError
from xbuild.host.cache import RUN_ID, on_sweep, run_scratch
from xbuild.host.engine import LABEL_RUN, docker_client

log = logging.getLogger(__name__)


def claim_scratch(cache_dir: Path) -> None:
    """Hold this run's scratch under `cache_dir`, sweeping dead runs and their containers."""
    on_sweep("containers", sweep_dead_run)
    run_scratch(cache_dir).claim()


def remove_container(handle: Any) -> None:
    from docker.errors import DockerException  # the SDK is loaded only where containers exist

    try:
        handle.remove(force=True)
    except (DockerException, OSError) as exc:  # already gone (killed) is fine; anything else is logged
        log.debug("removing container %s: %s", handle.short_id, exc)


def cleanup_run(run_id: str = RUN_ID, engine_url: str | None = None) -> int:
    """Remove every container this run started (by label); returns how many were removed."""
    client = docker_client(engine_url)
    try:
        found = client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={run_id}"})
        for handle in found:
            remove_container(handle)
        return len(found)
    finally:
        client.close()


def sweep_dead_run(run_id: str, engines: tuple[str, ...]) -> None:
    """A killed run could not remove its containers: the next run does, by the dead run's label,
    on the default engine and on every other engine the dead run recorded."""
    for url in (None, *engines):
        try:
            removed = cleanup_run(run_id, url)
        except EngineError:
            continue  # that engine does not answer now: nothing to remove there from here
        if removed:
            log.info(
                "removed %d container(s) left by interrupted run %s on %s",
                removed,
                run_id,
                url or "the engine",
            )
