"""The plan: one decision per distribution, with its reason. Pure data, serialisable to JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from xbuild.images import ImageFacts
from xbuild.routes.base import Verdict
from xbuild.target import Target

SCHEMA_VERSION = 1


class Action(StrEnum):
    WHEEL = "wheel"  # download this wheel
    BUILD = "build"  # build this sdist (or local project) through `route`


class SourcePolicy(StrEnum):
    PREFER_BINARY = "prefer-binary"
    NEWEST = "newest"
    NEVER = "never"


class PrereleaseMode(StrEnum):
    """When pre-releases are candidates, by uv's names (pip's `--pre` is ALLOW)."""

    DISALLOW = "disallow"
    ALLOW = "allow"
    IF_NECESSARY = "if-necessary"  # only when no final release fits
    EXPLICIT = "explicit"  # only for packages whose user requirement names a pre-release
    IF_NECESSARY_OR_EXPLICIT = "if-necessary-or-explicit"  # uv's default


@dataclass(frozen=True, kw_only=True)
class Skipped:
    """A user requirement left out of the plan, with the reason (e.g. its marker is false)."""

    requirement: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"requirement": self.requirement, "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class PlannedFile:
    filename: str
    url: str  # credentials are redacted before a URL lands here
    sha256: str | None
    size: int | None = None
    index_url: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "filename": self.filename,
            "sha256": self.sha256,
            "size": self.size,
        }


@dataclass(frozen=True, kw_only=True)
class RoutePlan:
    route: str  # a name from the route registry
    image: str | None
    possible: bool  # can this host carry it out right now?
    reason: str
    alternatives: tuple[str, ...] = ()
    missing_tool: bool = False  # refused for a missing engine, image or tool (exit 3), not a mismatch
    image_facts: ImageFacts | None = None  # what the image was found to be (xbuild.host.images)

    @classmethod
    def of(cls, verdict: Verdict) -> RoutePlan:
        """The plan's record of a route decision (the one conversion from a Verdict)."""
        return cls(
            route=str(verdict.route),
            image=verdict.image,
            possible=verdict.possible,
            reason=verdict.reason,
            alternatives=verdict.alternatives,
            missing_tool=verdict.missing_tool,
            image_facts=verdict.image_facts,
        )


@dataclass(frozen=True, kw_only=True)
class PlannedDist:
    name: str
    version: str
    action: Action
    file: PlannedFile
    reason: str
    requested_by: tuple[str, ...]
    route: RoutePlan | None = None
    metadata_source: str = "index"  # index | pkg-info | prepared-in-container | wheel

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "action": str(self.action),
            "file": self.file.to_json(),
            "route": self.route.route if self.route else None,
            "image": self.route.image if self.route else None,
            "possible": self.route.possible if self.route else True,
            "reason": self.reason,
            "route_reason": self.route.reason if self.route else None,
            "alternatives": list(self.route.alternatives) if self.route else [],
            "missing_tool": self.route.missing_tool if self.route else False,
            "image_facts": self._image_facts(),
            "requested_by": list(self.requested_by),
            "metadata_source": self.metadata_source,
        }

    def _image_facts(self) -> dict[str, object] | None:
        facts = self.route.image_facts if self.route else None
        return None if facts is None else facts.to_json()


@dataclass(frozen=True, kw_only=True)
class Plan:
    target: Target
    distributions: tuple[PlannedDist, ...]
    source_policy: SourcePolicy
    index_urls: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())
    skipped: tuple[Skipped, ...] = ()
    prerelease: PrereleaseMode = PrereleaseMode.IF_NECESSARY_OR_EXPLICIT

    @property
    def builds(self) -> tuple[PlannedDist, ...]:
        return tuple(d for d in self.distributions if d.action is Action.BUILD)

    @property
    def feasible(self) -> bool:
        return all(d.route is None or d.route.possible for d in self.distributions)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "ok": self.feasible,
            "target": self.target.to_json(),
            "python": self.target.python,
            "python_full_version": self.target.python_full,
            "prerelease": str(self.prerelease),
            "source_policy": str(self.source_policy),
            "index_urls": list(self.index_urls),
            "distributions": [d.to_json() for d in self.distributions],
            "build_requirements": {d.name: [] for d in self.builds},
            "notes": list(self.notes),
            "skipped": [s.to_json() for s in self.skipped],
        }
