"""One resolved options model: flags -> [tool.xbuild] -> environment -> defaults, computed once.

As in cibuildwheel's `options.py`: the CLI collects raw `Flags` (None means "not given"), and
`resolve_options` turns them into one frozen `Options` that every command reads. The project's
config is read once here, the target is resolved once here, and nothing below re-reads either.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xbuild.config import ProjectConfig, load_config
from xbuild.errors import UsageError
from xbuild.index.urls import index_urls_from_env
from xbuild.plan.model import PrereleaseMode, SourcePolicy
from xbuild.routes.base import RouteName
from xbuild.target import Arch, Target

PYPI = "https://pypi.org/simple"

PRERELEASE_MODES = tuple(m.value for m in PrereleaseMode)


@dataclass(frozen=True, kw_only=True)
class Flags:
    """What the command line said, untouched. Empty tuples and None mean "not given"."""

    requirements: tuple[str, ...] = ()
    requirement_files: tuple[Path, ...] = ()
    constraint_files: tuple[Path, ...] = ()
    project: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    python_platform: str | None = None
    python_version: str | None = None
    python: Path | None = None
    source_policy: str | None = None
    prerelease: str | None = None
    pre: bool = False
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    offline: bool = False
    image: str | None = None
    route: str | None = None


@dataclass(frozen=True, kw_only=True)
class Options:
    """Everything a plan, build or bundle needs, each value decided once with its precedence."""

    target: Target
    requirements: tuple[str, ...] = ()
    requirement_files: tuple[Path, ...] = ()
    constraint_files: tuple[Path, ...] = ()
    project: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    source_policy: SourcePolicy = SourcePolicy.PREFER_BINARY
    prerelease: PrereleaseMode = PrereleaseMode.IF_NECESSARY_OR_EXPLICIT
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    index_url: str | None = None  # None: the requirement files' -i, then the environment, then PyPI
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    offline: bool = False
    image: str | None = None
    route: RouteName | None = None
    no_deps: bool = False  # pip's --no-deps: only what was asked for
    engines: tuple[tuple[Arch, str], ...] = ()  # arch -> DOCKER_HOST-style URL
    config: ProjectConfig = field(default_factory=ProjectConfig)
    environ: Mapping[str, str] = field(default_factory=dict)

    def index_urls(
        self, file_index: str | None, file_extras: tuple[str, ...], no_index: bool
    ) -> tuple[str, ...]:
        """Flags win over requirement-file options, which win over UV_/PIP_ environment variables."""
        if self.no_index or no_index:
            return ()
        env_index, env_extras = index_urls_from_env(dict(self.environ))
        primary = self.index_url or file_index or env_index or PYPI
        extras = (*self.extra_index_urls, *file_extras, *env_extras)
        return tuple(dict.fromkeys((primary, *extras)))


TargetResolver = Callable[[str | None, str | None, Path | None], Target | None]


def resolve_options(
    flags: Flags,
    resolve_target: TargetResolver,
    environ: Mapping[str, str] | None = None,
    config: ProjectConfig | None = None,
    fallback_target: Callable[[], Target] | None = None,
) -> Options:
    """Flags -> [tool.xbuild] -> environment -> defaults. The target resolver is the CLI's (it may
    probe an interpreter), so it is passed in and called exactly once."""
    env = dict(os.environ if environ is None else environ)
    config = load_config(flags.project) if config is None else config
    platform = flags.python_platform or (config.targets[0] if len(config.targets) == 1 else None)
    python_version = flags.python_version or (config.python_version if flags.python is None else None)
    target = resolve_target(platform, python_version, flags.python)
    if target is None and fallback_target is not None:
        target = fallback_target()  # e.g. the target a JSON plan was made for
    if target is None:
        raise UsageError(
            "no target given",
            hint="pass --python-platform TARGET (see `xbuild targets`), "
            "e.g. --python-platform aws-lambda-python3.12-arm64",
        )
    return Options(
        target=target,
        requirements=flags.requirements,
        requirement_files=flags.requirement_files,
        constraint_files=flags.constraint_files,
        project=flags.project,
        extras=flags.extras,
        groups=flags.groups,
        source_policy=parse_policy(flags.source_policy or config.source_policy or "prefer-binary"),
        prerelease=parse_prerelease(flags.prerelease, pre=flags.pre),
        only_binary=(*flags.only_binary, *config.only_binary),
        no_binary=(*flags.no_binary, *config.no_binary),
        index_url=flags.index_url,
        extra_index_urls=flags.extra_index_urls,
        find_links=flags.find_links,
        no_index=flags.no_index,
        offline=flags.offline,
        image=flags.image or _configured_image(config, platform, target),
        route=parse_route(flags.route),
        engines=engines(config, env),
        config=config,
        environ=env,
    )


def _configured_image(config: ProjectConfig, platform: str | None, target: Target) -> str | None:
    for key in (platform, target.name, target.spec):
        if key and key in config.images:
            return config.images[key]
    return None


def parse_policy(text: str) -> SourcePolicy:
    try:
        return SourcePolicy(text)
    except ValueError:
        raise UsageError(
            f"unknown source policy {text!r}", hint="use prefer-binary, newest or never"
        ) from None


def parse_route(text: str | None) -> RouteName | None:
    if text in (None, "auto"):
        return None
    try:
        return RouteName(text)
    except ValueError:
        raise UsageError(f"unknown route {text!r}", hint="use auto, native, container or emulated") from None


def parse_prerelease(text: str | None, *, pre: bool) -> PrereleaseMode:
    """uv's names; pip's `--pre` means ALLOW. The default is uv's: pre-releases only where a
    specifier names one, or where nothing else satisfies."""
    if text is not None and pre:
        raise UsageError("--pre and --prerelease both given", hint="pass only one (--pre means allow)")
    if pre:
        return PrereleaseMode.ALLOW
    if text is None:
        return PrereleaseMode.IF_NECESSARY_OR_EXPLICIT
    try:
        return PrereleaseMode(text)
    except ValueError:
        raise UsageError(
            f"unknown pre-release mode {text!r}", hint="use " + ", ".join(PRERELEASE_MODES)
        ) from None


def engines(config: ProjectConfig, environ: Mapping[str, str]) -> tuple[tuple[Arch, str], ...]:
    """Per-arch engines: `XBUILD_ENGINE_<ARCH>` wins over `[tool.xbuild.engines]`."""
    found: dict[Arch, str] = {}
    for arch in Arch:
        url = environ.get(f"XBUILD_ENGINE_{str(arch).upper()}")
        if url:
            found[arch] = url
    for name, url in config.engines.items():
        try:
            found.setdefault(Arch(name), url)
        except ValueError:
            raise UsageError(
                f"{config.path} [tool.xbuild.engines]: unknown arch {name!r}",
                hint="use " + ", ".join(a.value for a in Arch),
            ) from None
    return tuple(found.items())
