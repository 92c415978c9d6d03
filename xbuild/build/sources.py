"""Where a distribution's wheel comes from: the index, or (`build.routed`) the build cache or a
build through a route.

Each source puts one wheel into a staging folder, not yet verified; orchestrate verifies it and a
destination places it. A built wheel enters the build cache only after its build succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from packaging.utils import canonicalize_name

from xbuild.build.outcome import Origin, Outcome
from xbuild.index import DistFile, IndexClient
from xbuild.plan.model import Action, PlannedDist


class WheelSource(Protocol):
    def obtain(self, dist: PlannedDist, staging: Path) -> Outcome:
        """Put dist's wheel in `staging` (unverified); raise XbuildError when it cannot."""
        ...


@dataclass(frozen=True, kw_only=True)
class Sources:
    """One source per kind of plan decision."""

    index: WheelSource
    build: WheelSource

    def for_dist(self, dist: PlannedDist) -> WheelSource:
        return self.index if dist.action is Action.WHEEL else self.build


@dataclass(frozen=True, kw_only=True)
class IndexSource:
    """A wheel the plan chose from an index: downloaded with its hashes checked."""

    client: IndexClient

    def obtain(self, dist: PlannedDist, staging: Path) -> Outcome:
        path = self.client.download(dist_file(dist), staging)
        return Outcome(name=dist.name, version=dist.version, wheel=path, origin=Origin.INDEX)


def dist_file(dist: PlannedDist) -> DistFile:
    hashes = (("sha256", dist.file.sha256),) if dist.file.sha256 else ()
    return DistFile(
        project=canonicalize_name(dist.name),
        filename=dist.file.filename,
        url=dist.file.url,
        hashes=hashes,
        size=dist.file.size,
        index_url=dist.file.index_url or "",
    )
