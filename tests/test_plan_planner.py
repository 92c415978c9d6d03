"""The planner against a real loopback index: markers, tags and policies judged for the TARGET."""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.errors import EngineError, ExitCode, RefusedError
from xbuild.index import HttpCache, IndexClient
from xbuild.plan.inputs import Inputs, collect_inputs, parse_requirement
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
    assert "onlysrc 1.0: no wheel for manylinux_2_17_x86_64 cp312; it has only an sdist" in info.value.message
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


# --- root markers ---------------------------------------------------------------------------------

LAMBDA_ARM = parse_target("aws-lambda-python3.12-arm64", environ={})


def test_root_markers_are_evaluated_for_the_target(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "requests", "2.0")
    make_wheel(index_server.dist_dir, "pywin32", "306", tags=("cp312-cp312-win_amd64",))
    reqs = ['pywin32; sys_platform == "win32"', "requests ; platform_machine == 'aarch64'"]
    p = plan(client, reqs, target=LAMBDA_ARM)
    assert set(by_name(p)) == {"requests"}
    (skip,) = p.skipped
    assert skip.requirement == 'pywin32; sys_platform == "win32"'
    assert 'marker `sys_platform == "win32"` is false for manylinux_2_34_aarch64 cp312' in skip.reason
    assert "(Python 3.12.16); from command line" in skip.reason
    assert p.to_json()["skipped"] == [{"requirement": skip.requirement, "reason": skip.reason}]
    win = parse_target("x86_64-pc-windows-msvc", python_version="3.12", environ={})
    assert by_name(plan(client, reqs[:1], target=win)) == {"pywin32": ("306", Action.WHEEL)}


def test_root_markers_see_the_requested_extras(index_server: IndexServer, tmp_path: Path) -> None:
    make_wheel(index_server.dist_dir, "uvloop", "0.21")
    project = tmp_path / "proj ü [x]"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "app"\nversion = "1"\n'
        '[project.optional-dependencies]\nfast = [\'uvloop; extra == "fast"\']\n',
        encoding="utf-8",
    )
    inputs = collect_inputs(project=project, extras=["fast"])
    with quick_client([index_server.index_url], cache=None) as c:
        assert set(by_name(make_plan(inputs, X86_312, c, host=HOST, extras=["fast"]))) == {"uvloop"}
        skipped = make_plan(inputs, X86_312, c, host=HOST).skipped
    assert [s.requirement for s in skipped] == ['uvloop; extra == "fast"']


def test_constraints_with_false_markers_do_not_apply(
    index_server: IndexServer, client: IndexClient, tmp_path: Path
) -> None:
    make_wheel(index_server.dist_dir, "six", "1.0")
    make_wheel(index_server.dist_dir, "six", "2.0")
    constraint = parse_requirement('six<2; sys_platform == "win32"', "constraints [ü].txt:1", tmp_path)
    p = plan(client, [], inputs=replace(collect_inputs(["six"]), constraints=(constraint,)))
    assert by_name(p) == {"six": ("2.0", Action.WHEEL)}


# --- missing projects -----------------------------------------------------------------------------


def test_a_missing_dependency_makes_the_resolver_backtrack(
    index_server: IndexServer, client: IndexClient
) -> None:
    make_wheel(index_server.dist_dir, "app", "2.0", requires_dist=["ghost-dependency>=1"])
    make_wheel(index_server.dist_dir, "app", "1.0")
    assert by_name(plan(client, ["app"])) == {"app": ("1.0", Action.WHEEL)}


def test_a_missing_dependency_with_no_way_out_is_refused(
    index_server: IndexServer, client: IndexClient
) -> None:
    make_wheel(index_server.dist_dir, "app", "1.0", requires_dist=["ghost-dependency"])
    with pytest.raises(RefusedError) as info:
        plan(client, ["app"])
    assert "ghost-dependency (requested by app 1.0)" in info.value.message
    assert "ghost-dependency: project 'ghost-dependency' was not found (HTTP 404)" in info.value.message


def test_network_failures_stay_engine_errors(index_server: IndexServer, client: IndexClient) -> None:
    index_server.fail(index_server.page_path("flaky"), "status", times=10, status=503)
    with pytest.raises(EngineError) as info:
        plan(client, ["flaky"])
    assert info.value.exit_code is ExitCode.ENGINE


# --- yanked files ---------------------------------------------------------------------------------

YANK_REASON = 'broken "wheel" [CVE ü]'


def test_an_exact_pin_takes_a_yanked_file_and_says_why_it_was_yanked(
    index_server: IndexServer, client: IndexClient, caplog: pytest.LogCaptureFixture
) -> None:
    make_wheel(index_server.dist_dir, "y", "1.0")
    bad = make_wheel(index_server.dist_dir, "y", "2.0")
    index_server.config.yanked[bad.name] = YANK_REASON
    with caplog.at_level(logging.WARNING, logger="xbuild"):
        p = plan(client, ["y===2.0"])
    assert by_name(p) == {"y": ("2.0", Action.WHEEL)}
    note = f"y 2.0 is yanked ({YANK_REASON}); taken because it is pinned exactly"
    assert p.notes == (note,) and note in caplog.messages
    assert plan(client, ["y>=1"]).notes == ()


def test_only_yanked_versions_are_explained(index_server: IndexServer, client: IndexClient) -> None:
    bad = make_wheel(index_server.dist_dir, "y", "2.0")
    index_server.config.yanked[bad.name] = YANK_REASON
    with pytest.raises(RefusedError) as info:
        plan(client, ["y>=2"])
    assert f"y 2.0: yanked ({YANK_REASON})" in info.value.message
    assert info.value.hint is not None and "pin the yanked version exactly" in info.value.hint


# --- the patch-version rule -----------------------------------------------------------------------


def test_x_y_is_the_newest_patch_for_requires_python(
    index_server: IndexServer, client: IndexClient, caplog: pytest.LogCaptureFixture
) -> None:
    # cryptography 45+ says `!=3.9.0,!=3.9.1,>=3.7`: 3.9 must not be read as 3.9.0.
    make_wheel(index_server.dist_dir, "crypto", "43.0")
    make_wheel(index_server.dist_dir, "crypto", "47.0", requires_python="!=3.9.0,!=3.9.1,>=3.8")
    py39 = parse_target("x86_64-manylinux2014", python_version="3.9", environ={})
    with caplog.at_level(logging.INFO, logger="xbuild"):
        p = plan(client, ["crypto"], target=py39)
    assert by_name(p) == {"crypto": ("47.0", Action.WHEEL)}
    assert any("target Python 3.9.25: the newest 3.9 patch release" in m for m in caplog.messages)
    assert p.to_json()["python_full_version"] == "3.9.25"
    py391 = parse_target("x86_64-manylinux2014", python_version="3.9.1", environ={})
    assert by_name(plan(client, ["crypto"], target=py391)) == {"crypto": ("43.0", Action.WHEEL)}


# --- extras ---------------------------------------------------------------------------------------


def test_an_undefined_extra_gets_a_warning(
    index_server: IndexServer, client: IndexClient, caplog: pytest.LogCaptureFixture
) -> None:
    make_wheel(index_server.dist_dir, "web", "1.0", requires_dist=['fastjson; extra == "speed"'])
    make_wheel(index_server.dist_dir, "fastjson", "1.0")
    with caplog.at_level(logging.WARNING, logger="xbuild"):
        p = plan(client, ["web[speed,nosuch]"])
    assert set(by_name(p)) == {"web", "fastjson"}
    assert "web 1.0 does not provide the extra 'nosuch'" in p.notes
    assert "web 1.0 does not provide the extra 'nosuch'" in caplog.messages


def test_yanked_reasons_come_from_html_pages_too(index_server: IndexServer, client: IndexClient) -> None:
    index_server.config.page_format = "html"  # PEP 503 data-yanked, not PEP 691's "yanked"
    make_wheel(index_server.dist_dir, "y", "1.0")
    bad = make_wheel(index_server.dist_dir, "y", "2.0")
    index_server.config.yanked[bad.name] = YANK_REASON
    assert by_name(plan(client, ["y"]))["y"][0] == "1.0"
    note = f"y 2.0 is yanked ({YANK_REASON}); taken because it is pinned exactly"
    assert plan(client, ["y==2.0"]).notes == (note,)
