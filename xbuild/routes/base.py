"""Where a source build can run for a target, decided from data: the host's facts in, a Verdict out."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from xbuild.images import ImageFacts
from xbuild.target import OS, Arch, Libc


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
        """The arch's engine; of a pool (URLs separated by spaces), the first: the one asked."""
        urls = (dict(self.remote_engines).get(arch) or "").split()
        return urls[0] if urls else None

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


# Seconds a source build or metadata hook may take (--build-timeout): a build that never ends must
# not hold a CI job forever.
DEFAULT_BUILD_TIMEOUT = 1800.0
