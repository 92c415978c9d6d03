"""What one source build is, and the contract of whatever carries it out (native or in a container)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from xbuild.routes.base import Verdict
from xbuild.target import Target


@dataclass(frozen=True, kw_only=True)
class BuildJob:
    """One source build: what to build, for which target, where, and where its log goes."""

    name: str
    version: str
    source: Path  # sdist archive or project directory
    target: Target
    verdict: Verdict  # the route that decided where it runs (routes/ decides, build/ does)
    find_links: Path | None  # build requirements, mounted read-only; None = host isolation
    requirements: tuple[str, ...] = ()  # what to install from find_links before building
    out_dir: Path
    log_path: Path
    source_date_epoch: int = 315532800  # 1980-01-01, the earliest a zip timestamp can hold
    timeout: float | None = None  # seconds for the whole build; exceeding it is an EngineError


class Builder(Protocol):
    def __call__(self, job: BuildJob) -> Path:
        """Build one wheel and return its path in job.out_dir (not yet verified)."""
        ...
