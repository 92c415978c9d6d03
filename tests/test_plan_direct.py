"""Direct references are planned as the file they name, never replaced by the index's release."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.errors import RefusedError
from xbuild.index import IndexClient
from xbuild.plan.inputs import collect_inputs
from xbuild.plan.model import Action, Plan, PlannedDist, SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset(), pythons=frozenset())
TARGET = parse_target("x86_64-manylinux_2_28", python_version="3.12", environ={})


@pytest.fixture
def client(index_server: IndexServer) -> Iterator[IndexClient]:
    with quick_client([index_server.index_url], cache=None) as c:
        yield c


def plan(client: IndexClient, reqs: list[str], cwd: Path | None = None,
         policy: SourcePolicy = SourcePolicy.PREFER_BINARY) -> Plan:
    return make_plan(collect_inputs(reqs, cwd=cwd), TARGET, client, host=HOST, policy=policy)


def only(p: Plan, name: str) -> PlannedDist:
    return next(d for d in p.distributions if d.name == name)


def test_a_wheel_url_is_that_wheel_not_the_index_release(
    index_server: IndexServer, client: IndexClient
) -> None:
    old = make_wheel(index_server.dist_dir, "pinned-lib", "1.0", requires_dist=["dep"])
    make_wheel(index_server.dist_dir, "pinned-lib", "2.0")
    make_wheel(index_server.dist_dir, "dep", "1.0")
    digest = hashlib.sha256(old.read_bytes()).hexdigest()
    url = f"{index_server.base_url}/files/{old.name}"
    p = plan(client, [f"pinned-lib @ {url}#sha256={digest}"])
    dist = only(p, "pinned-lib")
    assert (dist.version, dist.action, dist.file.url, dist.file.sha256) == ("1.0", Action.WHEEL, url, digest)
    assert dist.reason == f"direct reference: the wheel at {url}"
    assert only(p, "dep").version == "1.0"  # its metadata came from the URL's wheel


def test_a_conflicting_specifier_is_refused_not_substituted(
    index_server: IndexServer, client: IndexClient
) -> None:
    old = make_wheel(index_server.dist_dir, "pinned-lib", "1.0")
    make_wheel(index_server.dist_dir, "pinned-lib", "2.0")
    make_wheel(index_server.dist_dir, "app", "1.0", requires_dist=["pinned-lib>=2"])
    with pytest.raises(RefusedError, match=r"pinned-lib>=2 \(requested by app 1\.0\)"):
        plan(client, [f"pinned-lib @ {index_server.base_url}/files/{old.name}", "app"])


def test_an_sdist_url_is_built_from_that_url(index_server: IndexServer, client: IndexClient) -> None:
    sdist = make_sdist(index_server.dist_dir, "from-src", "0.5")
    make_wheel(index_server.dist_dir, "from-src", "9.0")
    url = f"{index_server.base_url}/files/{sdist.name}"
    dist = only(plan(client, [f"from-src @ {url}"]), "from-src")
    assert (dist.version, dist.action, dist.file.url) == ("0.5", Action.BUILD, url)
    assert dist.route is not None and dist.reason == f"direct reference: built from the sdist at {url}"
    with pytest.raises(RefusedError, match="is an sdist, and only wheels are allowed"):
        plan(client, [f"from-src @ {url}"], policy=SourcePolicy.NEVER)


def test_vcs_references_are_refused_with_a_tip(client: IndexClient) -> None:
    with pytest.raises(RefusedError) as info:
        plan(client, ["tool @ git+https://example.invalid/o/tool.git@v1.0"])
    assert "a VCS reference names no file xbuild can plan" in info.value.message
    assert info.value.hint is not None and "build tool into a wheel or sdist" in info.value.hint


def test_an_archive_without_a_version_is_refused(client: IndexClient) -> None:
    with pytest.raises(RefusedError, match="neither a wheel nor an sdist"):
        plan(client, ["tool @ https://example.invalid/o/tool/archive/main.zip"])


def test_a_wheel_url_for_another_platform_is_refused(index_server: IndexServer, client: IndexClient) -> None:
    win = make_wheel(index_server.dist_dir, "winlib", "1.0", tags=("cp312-cp312-win_amd64",))
    with pytest.raises(RefusedError) as info:
        plan(client, [f"winlib @ {index_server.base_url}/files/{win.name}"])
    assert "is a wheel for cp312-cp312-win_amd64" in info.value.message
    assert info.value.hint is not None and "manylinux_2_28_x86_64 cp312" in info.value.hint


def test_a_local_wheel_is_a_wheel(index_server: IndexServer, client: IndexClient, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "local-lib", "7.0")
    where = tmp_path / "wheels with spaces ü [x]"
    wheel = make_wheel(where, "local-lib", "1.0")
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    for requirement in (f"./{where.name}/{wheel.name}", f"local-lib @ {wheel.as_uri()}"):
        dist = only(plan(client, [requirement], cwd=tmp_path), "local-lib")
        assert (dist.version, dist.action, dist.file.sha256) == ("1.0", Action.WHEEL, digest)
        assert dist.file.url == wheel.as_uri() and dist.file.filename == wheel.name


def test_a_local_sdist_takes_its_version_from_its_name(
    index_server: IndexServer, client: IndexClient, tmp_path: Path
) -> None:
    sdist = make_sdist(tmp_path / "src", "local-src", "2.5")
    shutil.copy(sdist, tmp_path / sdist.name)
    dist = only(plan(client, [f"./{sdist.name}"], cwd=tmp_path), "local-src")
    assert (dist.version, dist.action) == ("2.5", Action.BUILD)
