"""The planner against a real loopback index: markers, tags and policies judged for the TARGET."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.errors import ExitCode, InputError, RefusedError
from xbuild.index import HttpCache, IndexClient
from xbuild.plan.inputs import Inputs, collect_inputs
from xbuild.plan.lock import pylock_document
from xbuild.plan.model import Action, Plan, SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, Target, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset({Arch.AARCH64}), pythons=frozenset({"3.11"}))
X86_312 = parse_target("x86_64-manylinux2014", python_version="3.12", environ={})


@pytest.fixture
def client(index_server: IndexServer, tmp_path: Path) -> Iterator[IndexClient]:
    with quick_client([index_server.index_url], cache=HttpCache(tmp_path / "cache")) as c:
        yield c


def plan(client: IndexClient, reqs: list[str], target: Target = X86_312,
         policy: SourcePolicy = SourcePolicy.PREFER_BINARY, inputs: Inputs | None = None) -> Plan:
    return make_plan(inputs or collect_inputs(reqs), target, client, host=HOST, policy=policy)


def by_name(p: Plan) -> dict[str, tuple[str, Action]]:
    return {d.name: (d.version, d.action) for d in p.distributions}


def numpy_like(dists: Path) -> None:
    make_wheel(dists, "numpy", "2.0.0", tags=("cp312-cp312-manylinux_2_17_x86_64",))
    make_wheel(dists, "numpy", "2.0.0", tags=("cp312-cp312-macosx_11_0_arm64",))
    make_sdist(dists, "numpy", "2.0.0")
    make_sdist(dists, "numpy", "2.5.5")


def test_prefer_binary_falls_back_to_an_older_wheel(index_server: IndexServer, client: IndexClient) -> None:
    numpy_like(index_server.dist_dir)
    p = plan(client, ["numpy"])
    assert by_name(p) == {"numpy": ("2.0.0", Action.WHEEL)}
    reason = p.distributions[0].reason
    assert "numpy 2.5.5 has no wheel for x86_64-manylinux2014 cp312; using 2.0.0 (wheel)" in reason
    assert "Pin numpy==2.5.5 or use --source-policy newest" in reason


def test_newest_plans_a_build_with_a_route(index_server: IndexServer, client: IndexClient) -> None:
    numpy_like(index_server.dist_dir)
    p = plan(client, ["numpy"], policy=SourcePolicy.NEWEST)
    dist = p.distributions[0]
    assert (dist.version, dist.action) == ("2.5.5", Action.BUILD)
    assert dist.route is not None and dist.route.route == "container" and dist.route.possible


def test_pin_forces_the_build(index_server: IndexServer, client: IndexClient) -> None:
    numpy_like(index_server.dist_dir)
    assert by_name(plan(client, ["numpy==2.5.5"])) == {"numpy": ("2.5.5", Action.BUILD)}


def test_never_refuses_when_no_version_has_a_wheel(index_server: IndexServer, client: IndexClient) -> None:
    make_sdist(index_server.dist_dir, "onlysrc", "1.0")
    with pytest.raises(RefusedError) as info:
        plan(client, ["onlysrc"], policy=SourcePolicy.NEVER)
    assert info.value.exit_code is ExitCode.REFUSED
    assert "onlysrc 1.0: no wheel for manylinux_2_17_x86_64 cp312; only an sdist" in info.value.message
    assert info.value.hint is not None and "--source-policy prefer-binary" in info.value.hint


def test_markers_are_evaluated_for_the_target_python(index_server: IndexServer, client: IndexClient) -> None:
    # pip#11664: asked for 3.9, pip on a 3.11 host drops `tomli; python_version < "3.11"`.
    make_wheel(index_server.dist_dir, "app", "1.0", requires_dist=['tomli; python_version < "3.11"'])
    make_wheel(index_server.dist_dir, "tomli", "2.0.1")
    py39 = parse_target("x86_64-manylinux2014", python_version="3.9", environ={})
    assert "tomli" in by_name(plan(client, ["app"], target=py39))
    assert "tomli" not in by_name(plan(client, ["app"], target=X86_312))


def test_platform_markers_follow_the_target(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "app", "1.0", requires_dist=[
        'winonly; sys_platform == "win32"', 'armonly; platform_machine == "aarch64"'])
    make_wheel(index_server.dist_dir, "winonly", "1.0")
    make_wheel(index_server.dist_dir, "armonly", "1.0")
    win = parse_target("x86_64-pc-windows-msvc", python_version="3.12", environ={})
    arm = parse_target("aws-lambda-python3.12-arm64", environ={})
    assert set(by_name(plan(client, ["app"], target=win))) == {"app", "winonly"}
    assert set(by_name(plan(client, ["app"], target=arm))) == {"app", "armonly"}


def test_best_tag_wins(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "fast", "1.0", tags=("cp312-abi3-manylinux_2_17_x86_64",))
    make_wheel(index_server.dist_dir, "fast", "1.0", tags=("cp312-cp312-manylinux_2_17_x86_64",))
    make_wheel(index_server.dist_dir, "fast", "1.0", tags=("py3-none-any",))
    assert "cp312-cp312" in plan(client, ["fast"]).distributions[0].file.filename


def test_linux_tag_is_not_taken_for_manylinux(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "hostbuilt", "1.0", tags=("cp312-cp312-linux_x86_64",))
    make_sdist(index_server.dist_dir, "hostbuilt", "1.0")
    assert by_name(plan(client, ["hostbuilt"])) == {"hostbuilt": ("1.0", Action.BUILD)}


def test_yanked_is_skipped_unless_pinned(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "y", "1.0")
    bad = make_wheel(index_server.dist_dir, "y", "2.0")
    index_server.config.yanked[bad.name] = "broken"
    assert by_name(plan(client, ["y"]))["y"][0] == "1.0"
    assert by_name(plan(client, ["y==2.0"]))["y"][0] == "2.0"


def test_requires_python_uses_the_target(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "rp", "1.0")
    make_wheel(index_server.dist_dir, "rp", "2.0", requires_python=">=3.10")
    py39 = parse_target("x86_64-manylinux2014", python_version="3.9", environ={})
    assert by_name(plan(client, ["rp"], target=py39))["rp"][0] == "1.0"
    assert by_name(plan(client, ["rp"]))["rp"][0] == "2.0"


def test_extras_pull_their_dependencies(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "web", "1.0", requires_dist=['fastjson; extra == "speed"'])
    make_wheel(index_server.dist_dir, "fastjson", "1.0")
    assert set(by_name(plan(client, ["web"]))) == {"web"}
    assert set(by_name(plan(client, ["web[speed]"]))) == {"web", "fastjson"}


def test_conflict_names_who_asked(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "a", "1.0", requires_dist=["c<2"])
    make_wheel(index_server.dist_dir, "b", "1.0", requires_dist=["c>=2"])
    make_wheel(index_server.dist_dir, "c", "1.0")
    make_wheel(index_server.dist_dir, "c", "2.0")
    with pytest.raises(RefusedError) as info:
        plan(client, ["a", "b"])
    assert "requested by a 1.0" in info.value.message and "requested by b 1.0" in info.value.message


def test_hash_mode_requires_every_pin(index_server: IndexServer, client: IndexClient, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "a", "1.0", requires_dist=["b"])
    make_wheel(index_server.dist_dir, "b", "1.0")
    reqs = tmp_path / "req.txt"
    reqs.write_text("a==1.0 --hash=sha256:" + "0" * 64 + "\n")
    with pytest.raises(RefusedError):  # the only pinned hash matches no file of a
        plan(client, [], inputs=collect_inputs([], [reqs]))


def test_unknown_project_names_the_index(index_server: IndexServer, client: IndexClient) -> None:
    with pytest.raises(RefusedError, match="nosuchproject") as info:
        plan(client, ["nosuchproject"])
    assert "was not found (HTTP 404) on index" in info.value.message
    assert info.value.hint is not None and "--extra-index-url" in info.value.hint


def test_impossible_route_is_reported(index_server: IndexServer, client: IndexClient) -> None:
    make_sdist(index_server.dist_dir, "native", "1.0")
    mac = parse_target("aarch64-apple-darwin", python_version="3.12", environ={})
    p = plan(client, ["native"], target=mac)
    assert not p.feasible
    route = p.distributions[0].route
    assert route is not None and not route.possible
    assert any("--source-policy never" in a for a in route.alternatives)


def test_json_and_pylock_shapes(index_server: IndexServer, client: IndexClient) -> None:
    numpy_like(index_server.dist_dir)
    p = plan(client, ["numpy"])
    data = p.to_json()
    assert set(data) >= {"target", "python", "distributions", "build_requirements"}
    assert set(data["distributions"][0]) >= {"name", "version", "action", "file", "route", "image", "reason",
                                             "requested_by"}
    lock = pylock_document(p)
    import tomli_w

    parsed = tomllib.loads(tomli_w.dumps(lock))
    assert parsed["lock-version"] == "1.0"
    wheel = parsed["packages"][0]["wheels"][0]
    assert wheel["hashes"]["sha256"] and wheel["name"].endswith(".whl")
