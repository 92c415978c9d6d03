"""Metadata preparation: an sdist's build backend runs in the target's container, never here."""

from __future__ import annotations

import hashlib
from email.parser import BytesParser
from pathlib import Path

import pytest
from hostile_sdists import SECRET, make_hostile_sdist
from packaging.utils import canonicalize_name
from packaging.version import Version

from xbuild.build.container import LABEL_RUN, RUN_ID
from xbuild.errors import EngineError, ExitCode, InputError
from xbuild.index import DistFile, IndexClient
from xbuild.index.cache import HttpCache
from xbuild.plan.candidates import Candidate
from xbuild.plan.inputs import Inputs, parse_requirement
from xbuild.plan.model import Action
from xbuild.plan.planner import make_plan
from xbuild.plan.prepare import ContainerMetadataPreparer, sandbox_verdict, static_project_metadata
from xbuild.routes.base import BuildHost, RouteName
from xbuild.target import OS, Arch, Libc, parse_target

PYPI = "https://pypi.org/simple"
TARGET = parse_target("debian-bullseye-x86_64", python_version="3.9")


def _host(*, engine: str | None) -> BuildHost:
    """A host that matches TARGET exactly, so the native route would be possible."""
    return BuildHost(
        os=OS.LINUX,
        arch=Arch.X86_64,
        libc=Libc.GLIBC,
        libc_version=(2, 31),
        engine=engine,
        pythons=frozenset({"3.9"}),
    )


def test_never_the_host_even_when_native_would_build() -> None:
    for forced in (None, RouteName.NATIVE, RouteName.CONTAINER):
        verdict = sandbox_verdict(TARGET, _host(engine="27.0"), forced=forced)
        assert verdict.route is RouteName.CONTAINER
        assert verdict.possible and verdict.image


def test_no_engine_refuses_with_exit_3_and_a_tip() -> None:
    with pytest.raises(EngineError) as info:
        sandbox_verdict(TARGET, _host(engine=None))
    assert info.value.exit_code is ExitCode.ENGINE
    assert "never on this host" in info.value.message
    assert info.value.hint and "Docker" in info.value.hint


def _candidate(tmp_path: Path) -> Candidate:
    """A dynamic-metadata sdist on disk: only its build backend can say what it requires."""
    sdist = make_hostile_sdist(tmp_path / "links", name="dyn", marker=tmp_path / "m", static=False)
    file = DistFile(
        project=canonicalize_name("dyn"),
        filename=sdist.name,
        url=sdist.as_uri(),
        hashes=(("sha256", hashlib.sha256(sdist.read_bytes()).hexdigest()),),
        index_url="",
    )
    return Candidate(name=canonicalize_name("dyn"), version=Version("1.0"), action=Action.BUILD, file=file)


def _preparer(tmp_path: Path, *, offline: bool) -> ContainerMetadataPreparer:
    cache = HttpCache(tmp_path / "cache")
    client = IndexClient((), (), cache=cache, offline=offline)
    return ContainerMetadataPreparer(
        client,
        target=TARGET,
        host=lambda: _host(engine="27.0"),
        cache_dir=tmp_path / "cache",
        cache=cache,
        offline=offline,
    )


def test_offline_without_cached_metadata_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="needs the network"):
        _preparer(tmp_path, offline=True)(_candidate(tmp_path))


def test_cached_metadata_needs_no_container(tmp_path: Path) -> None:
    preparer = _preparer(tmp_path, offline=True)
    candidate = _candidate(tmp_path)
    verdict = sandbox_verdict(TARGET, _host(engine="27.0"))
    key = preparer._key(candidate, verdict)
    assert key is not None
    assert preparer.cache is not None
    preparer.cache.store_metadata(key, b"Metadata-Version: 2.1\nName: dyn\nVersion: 1.0\n")
    assert b"Name: dyn" in preparer(candidate)
    assert not any((tmp_path / "cache" / "work").glob("*/*"))


def test_no_engine_refuses_before_running_anything(tmp_path: Path) -> None:
    marker = tmp_path / "m"
    preparer = _preparer(tmp_path, offline=False)
    preparer.host = lambda: _host(engine=None)
    with pytest.raises(EngineError) as info:
        preparer(_candidate(tmp_path))
    assert info.value.exit_code is ExitCode.ENGINE
    assert not marker.exists()


PYPROJECT = """\
[project]
name = "static-proj"
version = "2.0"
requires-python = ">=3.9"
dependencies = ["dep [x] >= 1 ; python_version >= '3.8'"]
optional-dependencies = {fast = ["speed ; os_name == 'posix'", "plain"]}
"""


def test_static_pyproject_needs_no_backend_and_no_engine(tmp_path: Path) -> None:
    from packaging.metadata import Metadata

    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    data = static_project_metadata(tmp_path)
    assert data is not None
    meta = Metadata.from_email(data)
    assert str(meta.requires_python) == ">=3.9"
    assert [str(r) for r in meta.requires_dist or []] == [
        'dep[x]>=1; python_version >= "3.8"',
        'speed; os_name == "posix" and extra == "fast"',
        'plain; extra == "fast"',
    ]
    # Through the preparer: a local project with static metadata plans on a host with no engine.
    candidate = Candidate(
        name=canonicalize_name("static-proj"),
        version=Version("2.0"),
        action=Action.BUILD,
        file=None,
        local_path=tmp_path,
    )
    cache = HttpCache(tmp_path / "cache")
    preparer = ContainerMetadataPreparer(
        IndexClient((), (), cache=cache, offline=True),
        target=TARGET,
        host=lambda: _host(engine=None),
        cache_dir=tmp_path / "cache",
    )
    assert preparer(candidate) == data


def test_dynamic_fields_need_the_backend(tmp_path: Path) -> None:
    for table in (
        PYPROJECT.replace('version = "2.0"', 'dynamic = ["dependencies"]\nversion = "2.0"'),
        '[project]\nname = "p"\ndynamic = ["version"]\n',
        '[build-system]\nrequires = ["setuptools"]\n',
    ):
        (tmp_path / "pyproject.toml").write_text(table, encoding="utf-8")
        assert static_project_metadata(tmp_path) is None


def _summary(metadata: bytes) -> str:
    return str(BytesParser().parsebytes(metadata)["Summary"])


def _our_containers() -> list[object]:
    import docker

    client = docker.from_env()
    try:
        return list(client.containers.list(all=True, filters={"label": f"{LABEL_RUN}={RUN_ID}"}))
    finally:
        client.close()


@pytest.mark.container
@pytest.mark.network
def test_hostile_sdist_metadata_runs_sandboxed(amd64_image: str, tmp_path: Path) -> None:
    """Planning a dynamic-metadata sdist runs its setup.py in the container: no host write, no
    network, no sibling secret, an unprivileged uid, the target's machine."""
    links = tmp_path / "links [dir] 'q'"
    marker = tmp_path / "ran-on-host"
    make_hostile_sdist(links, name="xbuild-test-hostile-meta", marker=marker, static=False)
    cache_dir = tmp_path / "cache"
    cache = HttpCache(cache_dir)
    seen: list[bytes] = []
    from xbuild.host.facts import detect_build_host

    with IndexClient((PYPI,), (str(links),), cache=cache) as client:
        preparer = ContainerMetadataPreparer(
            client, target=TARGET, host=detect_build_host, cache_dir=cache_dir, cache=cache
        )

        def recording(candidate: Candidate) -> bytes:
            data = preparer(candidate)
            seen.append(data)
            return data

        inputs = Inputs(requirements=(parse_requirement("xbuild-test-hostile-meta==1.0", "test", tmp_path),))
        plan = make_plan(inputs, TARGET, client, host=detect_build_host, prepare=recording)
    assert [d.name for d in plan.distributions] == ["xbuild-test-hostile-meta"]
    assert len(seen) == 1
    summary = _summary(seen[0])
    assert "net=no" in summary
    assert "secret=none" in summary and SECRET not in summary
    assert "wrote=no" in summary
    assert "uid=65534" in summary
    assert "machine=x86_64" in summary
    assert not marker.exists()
    assert _our_containers() == []
    assert not (cache_dir / "work" / RUN_ID).exists() or not any((cache_dir / "work" / RUN_ID).iterdir())
    assert plan.distributions[0].metadata_source not in ("index", "pkg-info")
