"""The route contract: where a source build can run for a target, decided from data."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from xbuild.images import ImageFacts
from xbuild.target import OS, Arch, Libc, Target


class RouteName(StrEnum):
    NATIVE = "native"
    CONTAINER = "container"
    EMULATED = "emulated"


@dataclass(frozen=True, kw_only=True)
class BuildHost:
    """What this machine can build with: the facts routes need, and nothing read behind their back."""

    os: OS
    arch: Arch
    libc: Libc
    libc_version: tuple[int, int] | None
    engine: str | None = None  # engine version when a Docker-compatible engine answers
    emulated_arches: frozenset[Arch] = frozenset()  # runnable in containers via binfmt (F flag)
    images: frozenset[str] = frozenset()  # image references present on the engine
    remote_engines: tuple[tuple[Arch, str], ...] = ()  # arch -> DOCKER_HOST-style URL
    pythons: frozenset[str] = frozenset()  # "X.Y" of interpreters usable for native builds
    # What the images a plan may use really are (xbuild.host.images); an image absent here was
    # not inspected, and only its images.toml entry (if any) is checked.
    image_facts: tuple[ImageFacts, ...] = ()

    def remote_engine(self, arch: Arch) -> str | None:
        return dict(self.remote_engines).get(arch)

    def facts_of(self, image: str) -> ImageFacts | None:
        return next((f for f in self.image_facts if f.image == image), None)


@dataclass(frozen=True, kw_only=True)
class Verdict:
    route: RouteName
    possible: bool
    reason: str
    image: str | None = None
    engine_url: str | None = None
    alternatives: tuple[str, ...] = field(default=())
    # The refusal is a missing engine, image or tool (exit 3), not a mismatch with the target (exit 1).
    missing_tool: bool = False
    image_facts: ImageFacts | None = None  # what the chosen image was found to be, when inspected


@dataclass(frozen=True, kw_only=True)
class BuildJob:
    """One source build: what to build, for which target, where, and where its log goes."""

    name: str
    version: str
    source: Path  # sdist archive or project directory
    target: Target
    verdict: Verdict
    find_links: Path | None  # build requirements, mounted read-only; None = host isolation
    requirements: tuple[str, ...] = ()  # what to install from find_links before building
    out_dir: Path
    log_path: Path
    source_date_epoch: int = 315532800  # 1980-01-01, the earliest a zip timestamp can hold
    timeout: float | None = None  # seconds for the whole build; exceeding it is an EngineError


class Route(Protocol):
    name: RouteName

    def check(self, target: Target, host: BuildHost, image: str | None) -> Verdict:
        """Can this route build for the target on this host, and with which image?"""
        ...

    def build(self, job: BuildJob) -> Path:
        """Build one wheel and return its path in job.out_dir (not yet verified)."""
        ...
