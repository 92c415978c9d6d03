"""Refusals that name the cause: per package, what the index has, why each version was skipped,
and the TIP for that cause. Each case is a real resolution against the loopback index."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from support.clients import quick_client
from support.index_server import IndexServer
from support.packages import make_sdist, make_wheel

from xbuild.errors import ExitCode, RefusedError
from xbuild.index import IndexClient
from xbuild.plan.inputs import Inputs, collect_inputs
from xbuild.plan.model import SourcePolicy
from xbuild.plan.planner import make_plan
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Libc, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset(), pythons=frozenset())
LAMBDA = parse_target("aws-lambda-python3.12-x86_64", environ={})


@pytest.fixture
def client(index_server: IndexServer) -> Iterator[IndexClient]:
    with quick_client([index_server.index_url], cache=None) as c:
        yield c


def refusal(
    client: IndexClient, inputs: Inputs, policy: SourcePolicy = SourcePolicy.PREFER_BINARY
) -> RefusedError:
    with pytest.raises(RefusedError) as info:
        make_plan(inputs, LAMBDA, client, host=HOST, policy=policy)
    assert info.value.exit_code is ExitCode.REFUSED
    assert info.value.hint is not None
    return info.value


def test_no_wheel_for_the_target_names_the_platforms_that_have_one(
    index_server: IndexServer, client: IndexClient
) -> None:
    tag_sets = ("cp312-cp312-win_amd64", "cp312-cp312-macosx_11_0_arm64", "cp313-cp313-manylinux_2_17_x86_64")
    for tags in tag_sets:
        make_wheel(index_server.dist_dir, "native-ext", "3.1", tags=(tags,))
    error = refusal(client, collect_inputs(["native-ext[fast]>=3"]))
    assert "native-ext[fast]>=3 (requested by command line)" in error.message
    assert "native-ext: the index has 1 version (3.1)" in error.message
    assert (
        "native-ext 3.1: no wheel for manylinux_2_34_x86_64 cp312; it has wheels for "
        "manylinux_2_17_x86_64, win_amd64, macosx_11_0_arm64 (cp312, cp313)"
    ) in error.message
    assert error.hint is not None and "choose a target those wheels exist for" in error.hint


def test_source_policy_never_says_builds_are_off(index_server: IndexServer, client: IndexClient) -> None:
    make_sdist(index_server.dist_dir, "src-only", "1.0")
    make_wheel(index_server.dist_dir, "src-only", "1.0", tags=("cp312-cp312-win_amd64",))
    error = refusal(client, collect_inputs(["src-only"]), SourcePolicy.NEVER)
    assert "src-only 1.0: no wheel for manylinux_2_34_x86_64 cp312; it has wheels for win_amd64 (cp312), " \
           "and --source-policy never / --only-binary allows no build" in error.message
    assert error.hint is not None and "--source-policy prefer-binary" in error.hint


def test_requires_python_is_named_with_the_target_patch(
    index_server: IndexServer, client: IndexClient
) -> None:
    for version in ("2.0", "2.1", "2.2", "2.3", "2.4"):
        make_wheel(index_server.dist_dir, "modern", version, requires_python=">=3.13")
    make_wheel(index_server.dist_dir, "modern", "1.0", tags=("cp312-cp312-win_amd64",))
    error = refusal(client, collect_inputs(["modern"]))
    assert "modern: the index has 6 versions (2.4, 2.3, 2.2, 2.1 and 2 older)" in error.message
    skipped = "modern 2.4, 2.3, 2.2, 2.1 (+1 more): requires Python >=3.13, the target has 3.12.16"
    assert skipped in error.message
    assert "modern 1.0: no wheel for" in error.message
    # The first cause in TIP order wins: a missing wheel is the one to act on here.
    assert error.hint is not None and "choose a target" in error.hint
    make_wheel(index_server.dist_dir, "newer", "1.0", requires_python=">=3.13")
    assert "--python-version" in (refusal(client, collect_inputs(["newer"])).hint or "")


def test_no_binary_without_an_sdist(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "wheel-only", "1.0")
    inputs = replace(collect_inputs(["wheel-only"]), no_binary=frozenset({"wheel-only"}))
    error = refusal(client, inputs)
    assert "wheel-only 1.0: no sdist to build under --no-binary" in error.message
    assert error.hint == "drop --no-binary for wheel-only so its wheels can be used"


def test_a_plain_conflict_keeps_its_general_tip(index_server: IndexServer, client: IndexClient) -> None:
    make_wheel(index_server.dist_dir, "a", "1.0", requires_dist=["c<2"])
    make_wheel(index_server.dist_dir, "c", "2.0")
    error = refusal(client, collect_inputs(["a", "c>=2"]))
    assert "c<2 (requested by a 1.0)" in error.message and "c>=2 (requested by command line)" in error.message
    assert error.hint is not None and error.hint.startswith("relax the conflicting requirements")


def test_only_binary_names_the_flag_in_the_tip(index_server: IndexServer, client: IndexClient) -> None:
    make_sdist(index_server.dist_dir, "src-only", "1.0")
    inputs = replace(collect_inputs(["src-only"]), only_binary=frozenset({"src-only"}))
    error = refusal(client, inputs)
    assert "src-only 1.0: no wheel for manylinux_2_34_x86_64 cp312; it has only an sdist" in error.message
    assert error.hint is not None and error.hint.startswith("drop --only-binary for src-only to build it")
