"""Options -> Plan, shared by `plan`, `build` and `bundle` (glue only: every rule lives in the library)."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

from xbuild.cli.options import resolve_target
from xbuild.config import load_config
from xbuild.errors import UsageError
from xbuild.index import IndexClient
from xbuild.index.cache import HttpCache, default_cache_dir
from xbuild.index.urls import index_urls_from_env
from xbuild.plan.inputs import Inputs, binary_names, collect_inputs
from xbuild.plan.model import Plan, SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.plan.prepare import HostMetadataPreparer
from xbuild.routes.base import BuildHost, RouteName
from xbuild.routes.hostinfo import detect_build_host
from xbuild.target import Arch, Target

log = logging.getLogger(__name__)
PYPI = "https://pypi.org/simple"


@dataclass(frozen=True, kw_only=True)
class PlanOptions:
    requirements: tuple[str, ...] = ()
    requirement_files: tuple[Path, ...] = ()
    constraint_files: tuple[Path, ...] = ()
    project: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    python_platform: str | None = None
    python_version: str | None = None
    python: Path | None = None
    source_policy: str | None = None  # None: [tool.xbuild] source-policy, else prefer-binary
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    offline: bool = False
    image: str | None = None
    route: str | None = None


def require_target(options: PlanOptions) -> Target:
    target = resolve_target(options.python_platform, options.python_version, options.python)
    if target is None:
        raise UsageError(
            "no target given",
            hint="pass --python-platform TARGET (see `xbuild targets`), "
            "e.g. --python-platform aws-lambda-python3.12-arm64",
        )
    return target


def parse_policy(text: str) -> SourcePolicy:
    try:
        return SourcePolicy(text)
    except ValueError:
        raise UsageError(
            f"unknown --source-policy {text!r}", hint="use prefer-binary, newest or never"
        ) from None


def parse_route(text: str | None) -> RouteName | None:
    if text in (None, "auto"):
        return None
    try:
        return RouteName(text)
    except ValueError:
        raise UsageError(
            f"unknown --route {text!r}", hint="use auto, native, container or emulated"
        ) from None


def index_urls(options: PlanOptions, inputs: Inputs) -> tuple[str, ...]:
    """CLI flags win over requirement-file options, which win over UV_/PIP_ environment variables."""
    env_index, env_extras = index_urls_from_env(os.environ)
    if inputs.no_index:
        return ()
    primary = options.index_url or inputs.index_url or env_index or PYPI
    extras = (*options.extra_index_urls, *inputs.extra_index_urls, *env_extras)
    return tuple(dict.fromkeys((primary, *extras)))


def gather_inputs(options: PlanOptions) -> Inputs:
    if not (options.requirements or options.requirement_files or options.project):
        raise UsageError("nothing to plan", hint="pass requirements, -r FILE or --project DIR")
    inputs = collect_inputs(
        options.requirements,
        options.requirement_files,
        options.constraint_files,
        project=options.project,
        extras=options.extras,
        groups=options.groups,
    )
    only = set(inputs.only_binary).union(*(binary_names(v) for v in options.only_binary))
    none = set(inputs.no_binary).union(*(binary_names(v) for v in options.no_binary))
    return Inputs(
        requirements=inputs.requirements,
        constraints=inputs.constraints,
        index_url=inputs.index_url,
        extra_index_urls=inputs.extra_index_urls,
        find_links=inputs.find_links,
        no_index=inputs.no_index,
        only_binary=frozenset(only),
        no_binary=frozenset(none),
    )


def open_client(options: PlanOptions, inputs: Inputs) -> tuple[IndexClient, tuple[str, ...]]:
    urls = index_urls(options, inputs)
    links = (*options.find_links, *inputs.find_links)
    cache = HttpCache(default_cache_dir(os.environ))
    return IndexClient(urls, links, cache=cache, offline=options.offline), urls


def with_project_config(options: PlanOptions) -> PlanOptions:
    """Fill what the command line left open from [tool.xbuild]; flags always win."""
    config = load_config(options.project)
    platform = options.python_platform or (config.targets[0] if len(config.targets) == 1 else None)
    return replace(
        options,
        python_platform=platform,
        python_version=options.python_version or config.python_version,
        source_policy=options.source_policy or config.source_policy,
        only_binary=(*options.only_binary, *config.only_binary),
        no_binary=(*options.no_binary, *config.no_binary),
        image=options.image or (config.images.get(platform) if platform else None),
    )


def build_host(options: PlanOptions) -> BuildHost:
    """This host, with per-arch engines from [tool.xbuild.engines] under XBUILD_ENGINE_<ARCH>."""
    host = detect_build_host()
    engines = dict(host.remote_engines)
    for arch, url in load_config(options.project).engines.items():
        try:
            engines.setdefault(Arch(arch), url)
        except ValueError:
            raise UsageError(
                f"[tool.xbuild.engines]: unknown arch {arch!r}",
                hint="use " + ", ".join(a.value for a in Arch),
            ) from None
    return replace(host, remote_engines=tuple(engines.items()))


def _plan_with(options: PlanOptions, inputs: Inputs, client: IndexClient, urls: tuple[str, ...]) -> Plan:
    preparer = HostMetadataPreparer(
        client.download, cache=HttpCache(default_cache_dir(os.environ)), offline=options.offline
    )
    return make_plan(
        inputs,
        require_target(options),
        client,
        host=lambda: build_host(options),
        policy=parse_policy(options.source_policy or "prefer-binary"),
        image=options.image,
        route=parse_route(options.route),
        prepare=preparer,
        index_urls=urls,
    )


def plan_from_options(options: PlanOptions) -> Plan:
    options = with_project_config(options)
    require_target(options)  # a missing target is reported before any input is read
    inputs = gather_inputs(options)
    client, urls = open_client(options, inputs)
    with client:
        return _plan_with(options, inputs, client, urls)


def plan_for_build(
    options: PlanOptions, *, plan_file: Path | None, lock: Path | None
) -> tuple[Plan, IndexClient]:
    """The plan to carry out (made now, or read from `--plan`/`--lock`) and the open client that
    planned it, so that the build reuses its connections and page cache; the caller closes it."""
    options = with_project_config(options)
    if plan_file is not None or lock is not None:
        from xbuild.plan.serial import load_plan

        plan = load_plan(
            plan_file=plan_file,
            lock=lock,
            host=build_host(options),
            image=options.image,
            route=parse_route(options.route),
        )
        inputs = Inputs(index_url=options.index_url, extra_index_urls=options.extra_index_urls)
        return plan, open_client(options, inputs)[0]
    inputs = gather_inputs(options)
    client, urls = open_client(options, inputs)
    try:
        return _plan_with(options, inputs, client, urls), client
    except BaseException:
        client.close()
        raise


def running_python() -> tuple[int, int, int]:
    return sys.version_info[0], sys.version_info[1], sys.version_info[2]
