"""Options -> Plan, shared by `plan`, `build` and `bundle` (glue only: every rule lives in the library)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from xbuild.errors import UsageError
from xbuild.host.facts import detect_build_host
from xbuild.index import IndexClient
from xbuild.index.cache import HttpCache, default_cache_dir
from xbuild.options import Options
from xbuild.plan.inputs import Inputs, binary_names, collect_inputs
from xbuild.plan.model import Plan, PrereleaseMode
from xbuild.plan.planner import make_plan
from xbuild.plan.prepare import HostMetadataPreparer
from xbuild.plan.serial import load_plan
from xbuild.routes.base import BuildHost

log = logging.getLogger(__name__)


def gather_inputs(options: Options) -> Inputs:
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


def open_client(options: Options, inputs: Inputs) -> tuple[IndexClient, tuple[str, ...]]:
    urls = options.index_urls(inputs.index_url, inputs.extra_index_urls, inputs.no_index)
    links = (*options.find_links, *inputs.find_links)
    cache = HttpCache(default_cache_dir(dict(options.environ)))
    return IndexClient(urls, links, cache=cache, offline=options.offline), urls


def project_build(options: Options, with_deps: bool | None) -> Options:
    """`build --project DIR` builds the project's own wheel, as cibuildwheel does; its
    dependencies come too only with --with-deps. Plain requirements keep their dependencies
    unless --no-deps."""
    if options.project is None:
        return replace(options, no_deps=with_deps is False)
    project = options.project.resolve()
    if not (project / "pyproject.toml").is_file() and not (project / "setup.py").is_file():
        raise UsageError(
            f"{options.project} is not a project directory (no pyproject.toml or setup.py)",
            hint="point --project at the directory holding pyproject.toml",
        )
    return replace(
        options,
        requirements=(*options.requirements, str(project)),
        project=None,  # its [tool.xbuild] is already in options.config
        no_deps=with_deps is not True,
    )


def build_host(options: Options) -> BuildHost:
    """This host, with the per-arch engines the options chose."""
    return detect_build_host(options.engines)


def _plan_with(options: Options, inputs: Inputs, client: IndexClient, urls: tuple[str, ...]) -> Plan:
    preparer = HostMetadataPreparer(
        client.download, cache=HttpCache(default_cache_dir(dict(options.environ))), offline=options.offline
    )
    return make_plan(
        inputs,
        options.target,
        client,
        host=lambda: build_host(options),
        policy=options.source_policy,
        image=options.image,
        route=options.route,
        prepare=preparer,
        index_urls=urls,
        no_deps=options.no_deps,
        prerelease=_prerelease(options, inputs),
        extras=options.extras,
    )


def _prerelease(options: Options, inputs: Inputs) -> PrereleaseMode:
    """`--pre` inside a requirements file counts like the flag, unless a mode was chosen."""
    pre_in_file = getattr(inputs, "pre", False)
    if pre_in_file and options.prerelease is PrereleaseMode.IF_NECESSARY_OR_EXPLICIT:
        return PrereleaseMode.ALLOW
    return options.prerelease


def plan_from_options(options: Options) -> Plan:
    inputs = gather_inputs(options)
    client, urls = open_client(options, inputs)
    with client:
        return _plan_with(options, inputs, client, urls)


def plan_for_build(
    options: Options, *, plan_file: Path | None, lock: Path | None
) -> tuple[Plan, IndexClient]:
    """The plan to carry out (made now, or read from `--plan`/`--lock`) and the open client that
    planned it, so that the build reuses its connections and page cache; the caller closes it."""
    if plan_file is not None or lock is not None:
        plan = load_plan(
            plan_file=plan_file,
            lock=lock,
            host=build_host(options),
            image=options.image,
            route=options.route,
        )
        return plan, open_client(options, Inputs())[0]
    inputs = gather_inputs(options)
    client, urls = open_client(options, inputs)
    try:
        return _plan_with(options, inputs, client, urls), client
    except BaseException:
        client.close()
        raise
