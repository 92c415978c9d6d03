"""Options -> Plan, shared by `plan`, `build` and `bundle` (glue only: every rule lives in the library)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from xbuild.errors import UsageError
from xbuild.host.cacheroot import default_cache_dir
from xbuild.index import IndexClient
from xbuild.index.cache import HttpCache
from xbuild.options import Options
from xbuild.plan.candidates import Candidate
from xbuild.plan.inputs import Inputs, binary_names, collect_inputs
from xbuild.plan.locked import find_lock, plan_lock_file
from xbuild.plan.model import Plan, PrereleaseMode
from xbuild.plan.planner import make_plan
from xbuild.plan.provider import MetadataPreparer
from xbuild.plan.serial import load_plan
from xbuild.routes.base import BuildHost
from xbuild.target import Target

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
    return replace(inputs, only_binary=frozenset(only), no_binary=frozenset(none))


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
    # `name @ file:///...`: a path text would read brackets in a directory name as extras.
    wanted = f"{options.config.name} @ {project.as_uri()}" if options.config.name else str(project)
    return replace(
        options,
        requirements=(*options.requirements, wanted),
        project=None,  # its [tool.xbuild] is already in options.config
        no_deps=with_deps is not True,
    )


def build_host(options: Options, target: Target | None = None) -> BuildHost:
    """This host, with the per-arch engines the options chose and the facts of the image to use
    for `target` (the plan's, which a --plan file or lock may set; else the options')."""
    # Imported here, as below: probing the host and the engine is for plans that build, and
    # their modules are a large share of a cached run's start-up.
    from xbuild.host.facts import detect_build_host
    from xbuild.host.images import with_image_facts

    chosen = target or options.target
    return with_image_facts(detect_build_host(options.engines), chosen, options.image)


def _preparer(options: Options, client: IndexClient, cache_dir: Path) -> MetadataPreparer:
    """The sandboxed metadata preparer, made when the first sdist without static metadata needs it."""
    made: list[MetadataPreparer] = []

    def prepare(candidate: Candidate) -> bytes:
        if not made:
            from xbuild.build.prepare import ContainerMetadataPreparer

            made.append(
                ContainerMetadataPreparer(
                    client,
                    target=options.target,
                    host=lambda: build_host(options),
                    cache_dir=cache_dir,
                    image=options.image,
                    route=options.route,
                    cache=HttpCache(cache_dir),
                    offline=options.offline,
                    timeout=options.build_timeout,
                )
            )
        return made[0](candidate)

    return prepare


def _plan_with(options: Options, inputs: Inputs, client: IndexClient, urls: tuple[str, ...]) -> Plan:
    preparer = _preparer(options, client, default_cache_dir(dict(options.environ)))
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
    if inputs.pre and options.prerelease is PrereleaseMode.IF_NECESSARY_OR_EXPLICIT:
        return PrereleaseMode.ALLOW
    return options.prerelease


def _lock(options: Options) -> Path | None:
    """A lock given with -r (pylock.toml, pylock.*.toml, uv.lock): the whole answer, no resolution."""
    return find_lock(
        options.requirement_files,
        requirements=options.requirements,
        constraint_files=options.constraint_files,
        project=options.project,
    )


def _plan_lock(options: Options, lock: Path) -> Plan:
    return plan_lock_file(
        lock,
        options.target,
        host=lambda: build_host(options),
        policy=options.source_policy,
        only_binary=_binary(options.only_binary),
        no_binary=_binary(options.no_binary),
        extras=options.extras,
        groups=options.groups,
        image=options.image,
        route=options.route,
    )


def _binary(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset().union(*(binary_names(v) for v in values))


def plan_from_options(options: Options) -> Plan:
    lock = _lock(options)
    if lock is not None:
        return _plan_lock(options, lock)
    inputs = gather_inputs(options)
    client, urls = open_client(options, inputs)
    with client:
        return _plan_with(options, inputs, client, urls)


def plan_for_build(
    options: Options, *, plan_file: Path | None, lock: Path | None
) -> tuple[Plan, IndexClient]:
    """The plan to carry out (made now, or read from `--plan`/`--lock`) and the open client that
    planned it, so that the build reuses its connections and page cache; the caller closes it."""
    if plan_file is not None:
        plan = load_plan(
            plan_file=plan_file,
            lock=None,
            host=build_host(options),
            image=options.image,
            route=options.route,
            target=options.target,
        )
        return plan, open_client(options, Inputs())[0]
    lock = lock or _lock(options)
    if lock is not None:
        return _plan_lock(options, lock), open_client(options, Inputs())[0]
    inputs = gather_inputs(options)
    client, urls = open_client(options, inputs)
    try:
        return _plan_with(options, inputs, client, urls), client
    except BaseException:
        client.close()
        raise
