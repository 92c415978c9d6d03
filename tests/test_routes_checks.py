"""Route choice is a pure function of (target, host, image)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from xbuild.images import ImageFacts, ImagePython
from xbuild.routes.base import BuildHost, RouteName
from xbuild.routes.registry import choose_route
from xbuild.target import OS, Arch, Libc, Target, parse_target

HOST = BuildHost(os=OS.LINUX, arch=Arch.X86_64, libc=Libc.GLIBC, libc_version=(2, 36), engine="28.0",
                 emulated_arches=frozenset({Arch.AARCH64}), pythons=frozenset({"3.11"}))


def t(spec: str, py: str = "3.9") -> Target:
    return parse_target(spec, python_version=py, environ={})


def test_same_arch_linux_goes_to_a_container_with_the_matching_image() -> None:
    v = choose_route(t("debian-bullseye-x86_64"), HOST)
    assert (v.route, v.possible, v.image) == (RouteName.CONTAINER, True, "xbuild-build:bullseye-amd64")


def test_default_image_from_data_for_a_bare_manylinux_target() -> None:
    v = choose_route(t("x86_64-manylinux_2_31"), HOST)
    assert v.possible and v.image == "xbuild-build:bullseye-amd64"
    v = choose_route(t("x86_64-manylinux2014", "3.12"), HOST)
    assert v.image == "quay.io/pypa/manylinux2014_x86_64"


def test_foreign_arch_is_emulated() -> None:
    v = choose_route(t("aarch64-manylinux_2_31"), HOST)
    assert (v.route, v.possible) == (RouteName.EMULATED, True)


def test_foreign_arch_without_binfmt_is_refused_with_steps() -> None:
    v = choose_route(t("aarch64-manylinux_2_31"), replace(HOST, emulated_arches=frozenset()))
    assert not v.possible
    assert any("qemu-user-static" in a for a in v.alternatives)


def test_remote_engine_serves_a_foreign_arch_natively() -> None:
    host = replace(HOST, emulated_arches=frozenset(), remote_engines=((Arch.AARCH64, "ssh://arm"),))
    v = choose_route(t("aarch64-manylinux_2_31"), host)
    assert (v.route, v.possible, v.engine_url) == (RouteName.CONTAINER, True, "ssh://arm")


def test_macos_target_has_no_route_on_linux() -> None:
    v = choose_route(t("aarch64-apple-darwin", "3.12"), HOST)
    assert not v.possible
    assert "macos" in v.reason
    assert any("--source-policy never" in a for a in v.alternatives)


def test_native_needs_an_old_enough_glibc() -> None:
    old_host = replace(HOST, libc_version=(2, 28), pythons=frozenset({"3.9"}))
    assert choose_route(t("x86_64-manylinux_2_31"), old_host).route is RouteName.NATIVE
    assert choose_route(t("x86_64-manylinux_2_31"), HOST).route is RouteName.CONTAINER


def test_no_engine_is_explained() -> None:
    v = choose_route(t("debian-bullseye-x86_64"), replace(HOST, engine=None))
    assert not v.possible and "no Docker engine" in v.reason


def test_wrong_image_for_the_target_is_refused() -> None:
    v = choose_route(t("x86_64-manylinux_2_31"), HOST, image="xbuild-build:bookworm-amd64",
                     forced=RouteName.CONTAINER)
    assert not v.possible and "does not fit" in v.reason


# --- image facts: what the image was found to be decides, before any build -----------------

BULLSEYE = ImageFacts(
    image="xbuild-build:bullseye-amd64",
    image_id="sha256:" + "a" * 64,
    arch=Arch.X86_64,
    machine="x86_64",
    libc=Libc.GLIBC,
    libc_version=(2, 31),
    pythons=(ImagePython(version="3.9", path="/usr/bin/python3.9"),),
    compiler="/usr/bin/cc",
)
HOSTILE = "registry.example:5000/team [ci]/it's-ünïcode:tag"


def with_facts(*facts: ImageFacts) -> BuildHost:
    return replace(HOST, image_facts=facts)


def test_inspected_image_that_fits_is_used_and_its_facts_travel() -> None:
    v = choose_route(t("x86_64-manylinux_2_31"), with_facts(BULLSEYE), image=BULLSEYE.image)
    assert (v.route, v.possible, v.image) == (RouteName.CONTAINER, True, BULLSEYE.image)
    assert not v.missing_tool
    assert v.image_facts == BULLSEYE
    assert "/usr/bin/python3.9" in v.reason


def test_missing_image_is_a_missing_tool_with_a_pull_tip() -> None:
    missing = ImageFacts(image=HOSTILE, image_id=None)
    v = choose_route(t("x86_64-manylinux_2_31"), with_facts(missing), image=HOSTILE)
    assert not v.possible and v.missing_tool
    assert f"image {HOSTILE} is not on the engine" in v.reason
    assert f"`docker pull {HOSTILE}`" in v.alternatives


def test_missing_local_image_points_at_the_setup_script() -> None:
    missing = ImageFacts(image="xbuild-build:bullseye-amd64", image_id=None)
    v = choose_route(t("x86_64-manylinux_2_31"), with_facts(missing))
    assert not v.possible and v.missing_tool
    assert any("scripts/setup-engine.sh" in a for a in v.alternatives)


def test_wrong_arch_image_is_refused_from_uname() -> None:
    arm = replace(BULLSEYE, image=HOSTILE, arch=Arch.AARCH64, machine="aarch64")
    v = choose_route(t("x86_64-manylinux_2_31"), with_facts(arm), image=HOSTILE)
    assert not v.possible and not v.missing_tool
    assert "runs aarch64 (`uname -m` inside), the target is x86_64" in v.reason


def test_glibc_image_for_a_musllinux_target_is_refused() -> None:
    v = choose_route(t("musllinux_1_2_x86_64"), with_facts(BULLSEYE), image=BULLSEYE.image)
    assert not v.possible and not v.missing_tool
    assert "has glibc, musllinux_1_2_x86_64 needs musl" in v.reason


def test_image_with_a_newer_glibc_than_the_policy_is_refused() -> None:
    bookworm = replace(BULLSEYE, image="xbuild-build:bookworm-amd64", libc_version=(2, 36))
    v = choose_route(t("x86_64-manylinux_2_31"), with_facts(bookworm), image=bookworm.image)
    assert not v.possible and "glibc 2.36, newer than the 2.31 of manylinux_2_31_x86_64" in v.reason
    assert "--image xbuild-build:bullseye-amd64" in v.alternatives
    # A linux_* target only needs "some Linux": the newer glibc is fine there.
    assert choose_route(t("linux_x86_64"), with_facts(bookworm), image=bookworm.image).possible


def test_image_without_the_targets_python_is_refused() -> None:
    v = choose_route(t("x86_64-manylinux_2_31", "3.12"), with_facts(BULLSEYE), image=BULLSEYE.image)
    assert not v.possible and not v.missing_tool
    assert "has no Python 3.12 (found: 3.9 (/usr/bin/python3.9))" in v.reason


def test_free_threaded_python_does_not_serve_the_gil_target() -> None:
    ft = replace(BULLSEYE, pythons=(ImagePython(version="3.13", path="/opt/python/cp313-cp313t/bin/python",
                                                free_threaded=True),))
    v = choose_route(t("x86_64-manylinux_2_31", "3.13"), with_facts(ft), image=ft.image)
    assert not v.possible and "has no Python 3.13" in v.reason


def test_image_that_cannot_be_inspected_is_an_engine_problem() -> None:
    broken = ImageFacts(image=HOSTILE, image_id="sha256:" + "b" * 64, error="no answer within 60 s")
    v = choose_route(t("x86_64-manylinux_2_31"), with_facts(broken), image=HOSTILE)
    assert not v.possible and v.missing_tool and "could not be inspected: no answer within 60 s" in v.reason


def test_emulated_route_checks_the_image_facts_too() -> None:
    arm = replace(BULLSEYE, image="xbuild-build:bullseye-arm64", arch=Arch.AARCH64, machine="aarch64")
    v = choose_route(t("aarch64-manylinux_2_31"), with_facts(arm))
    assert (v.route, v.possible, v.image_facts) == (RouteName.EMULATED, True, arm)
    amd = replace(BULLSEYE, image="xbuild-build:bullseye-arm64")  # an amd64 image under an arm64 name
    v = choose_route(t("aarch64-manylinux_2_31"), with_facts(amd))
    assert not v.possible and "runs x86_64" in v.reason and not v.missing_tool
    gone = ImageFacts(image="xbuild-build:bullseye-arm64", image_id=None)
    v = choose_route(t("aarch64-manylinux_2_31"), with_facts(gone))
    assert not v.possible and v.missing_tool and v.route is RouteName.EMULATED


def test_facts_outrank_the_images_toml_entry() -> None:
    # images.toml says bookworm is glibc 2.36; if the image says otherwise, the image is right.
    relabelled = replace(BULLSEYE, image="xbuild-build:bookworm-amd64")
    v = choose_route(t("x86_64-manylinux_2_31"), with_facts(relabelled), image=relabelled.image,
                     forced=RouteName.CONTAINER)
    assert v.possible


def test_missing_engine_and_emulator_are_missing_tools() -> None:
    assert choose_route(t("debian-bullseye-x86_64"), replace(HOST, engine=None)).missing_tool
    v = choose_route(t("aarch64-manylinux_2_31"), replace(HOST, emulated_arches=frozenset()))
    assert not v.possible and v.missing_tool


@pytest.mark.parametrize(
    ("spec", "py", "builder"),
    [
        ("arm64-apple-ios", "3.13", "Xcode"),
        ("aarch64-linux-android", "3.13", "NDK"),
        ("wasm32-pyodide2024", "3.12", "pyodide"),
    ],
)
def test_sdk_families_are_refused_up_front_with_what_builds_them(spec: str, py: str, builder: str) -> None:
    for forced in (None, RouteName.CONTAINER, RouteName.NATIVE):
        v = choose_route(t(spec, py), HOST, forced=forced)
        assert not v.possible and "SDK" in v.reason
        assert any(builder in a for a in v.alternatives)
        assert any("--python PATH" in a for a in v.alternatives)
