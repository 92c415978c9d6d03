"""What became of each distribution of a run, and of the run as a whole."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from xbuild.errors import ExitCode


class Origin(StrEnum):
    INDEX = "index"  # downloaded as a wheel
    BUILT = "built"  # built from source through a route
    CACHE = "cache"  # a wheel built from the same inputs by an earlier run


@dataclass(frozen=True, kw_only=True)
class Outcome:
    name: str
    version: str
    wheel: Path | None  # staged (then placed) wheel, None when refused or failed
    origin: Origin
    route: str | None = None
    image: str | None = None
    image_id: str | None = None
    engine: str | None = None  # the engine that built it: a DOCKER_HOST-style URL, "default" or "host"
    log_path: Path | None = None
    error: str | None = None
    findings: tuple[Any, ...] = ()
    exit_code: ExitCode = ExitCode.OK  # of the failure: REFUSED (verification) or ENGINE (build)


@dataclass(frozen=True, kw_only=True)
class BuildResult:
    out_dir: Path
    manifest: Path
    outcomes: tuple[Outcome, ...]

    @property
    def ok(self) -> bool:
        return all(o.wheel is not None for o in self.outcomes)

    @property
    def exit_code(self) -> ExitCode:
        """The most serious failure's exit code: 3 when a build failed or timed out, else 1."""
        failed = [o.exit_code for o in self.outcomes if o.wheel is None]
        return max(failed, default=ExitCode.OK)
