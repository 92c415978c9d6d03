"""Route choice is a pure function of (target, host, image)."""

from __future__ import annotations

from dataclasses import replace

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
