"""Tags and markers derived from a Target: compared with what packaging itself yields."""

from __future__ import annotations

import pytest
from packaging import tags as ptags
from packaging.markers import Marker

from xbuild.errors import UsageError
from xbuild.target import OS, Arch, Libc, Target, parse_target


def test_manylinux2014_tags_match_packaging_order() -> None:
    target = parse_target("x86_64-manylinux2014", python_version="3.12", environ={})
    plats = list(target.platform_tags)
    expected = [
        *ptags.cpython_tags((3, 12), ["cp312"], plats),
        *ptags.compatible_tags((3, 12), "cp312", plats),
    ]
    assert list(target.tags) == list(dict.fromkeys(expected))
    names = [str(t) for t in target.tags]
    assert names[0] == "cp312-cp312-manylinux_2_17_x86_64"
    assert "cp312-abi3-manylinux2014_x86_64" in names
    assert "cp32-abi3-manylinux1_x86_64" in names
    assert names[-1] != "py3-none-any" or "py3-none-any" in names
    assert "py3-none-any" in names


def test_manylinux_floor_and_legacy_aliases() -> None:
    aarch = parse_target("aarch64-manylinux_2_28", python_version="3.12", environ={})
    assert aarch.platform_tags[-1] == "manylinux2014_aarch64"
    assert "manylinux2010_aarch64" not in aarch.platform_tags
    x86 = parse_target("x86_64-manylinux_2_28", python_version="3.12", environ={})
    assert x86.platform_tags[-1] == "manylinux1_x86_64"
    idx = x86.platform_tags.index("manylinux_2_17_x86_64")
    assert x86.platform_tags[idx + 1] == "manylinux2014_x86_64"


def test_linux_tag_is_refused_for_manylinux_targets() -> None:
    target = parse_target("x86_64-manylinux_2_28", python_version="3.12", environ={})
    assert not target.is_compatible(frozenset(ptags.parse_tag("cp312-cp312-linux_x86_64")))
    plain = parse_target("linux_x86_64", python_version="3.12", environ={})
    assert plain.is_compatible(frozenset(ptags.parse_tag("cp312-cp312-linux_x86_64")))


def test_musllinux_goes_down_to_1_0() -> None:
    target = parse_target("musllinux_1_2_aarch64", python_version="3.12", environ={})
    assert target.platform_tags == (
        "musllinux_1_2_aarch64",
        "musllinux_1_1_aarch64",
        "musllinux_1_0_aarch64",
    )


def test_macos_accepts_universal2_and_older() -> None:
    target = parse_target("aarch64-apple-darwin", python_version="3.12", environ={})
    assert target.is_compatible(frozenset(ptags.parse_tag("cp312-cp312-macosx_11_0_universal2")))
    assert not target.is_compatible(frozenset(ptags.parse_tag("cp312-cp312-macosx_14_0_arm64")))
    assert not target.is_compatible(frozenset(ptags.parse_tag("cp312-cp312-macosx_10_9_x86_64")))


def test_tag_rank_prefers_the_best_tag() -> None:
    target = parse_target("aws-lambda-python3.12-arm64", environ={})
    best = target.tag_rank(frozenset(ptags.parse_tag("cp312-cp312-manylinux_2_34_aarch64")))
    older = target.tag_rank(frozenset(ptags.parse_tag("cp312-cp312-manylinux2014_aarch64")))
    assert best is not None and older is not None and best < older
    assert target.tag_rank(frozenset(ptags.parse_tag("cp311-cp311-manylinux2014_aarch64"))) is None


def test_marker_environment_uses_the_os_spelling() -> None:
    linux = parse_target("aarch64-manylinux_2_28", python_version="3.9", environ={}).marker_environment()
    assert (linux["platform_machine"], linux["sys_platform"], linux["platform_system"]) == (
        "aarch64",
        "linux",
        "Linux",
    )
    # X.Y stands for its newest patch release (data/pythons.toml), as Requires-Python sees it.
    assert linux["python_version"] == "3.9" and linux["python_full_version"] == "3.9.25"
    mac = parse_target("aarch64-apple-darwin", python_version="3.12", environ={}).marker_environment()
    assert (mac["platform_machine"], mac["sys_platform"]) == ("arm64", "darwin")
    win = parse_target("x86_64-pc-windows-msvc", python_version="3.12", environ={}).marker_environment()
    assert (win["platform_machine"], win["sys_platform"], win["os_name"]) == (
        "AMD64",
        "win32",
        "nt",
    )
    assert win["platform_release"] == "" and win["platform_version"] == ""


def test_json_is_stable() -> None:
    data = parse_target("aws-lambda-python3.12-arm64", environ={}).to_json()
    assert set(data) == {
        "name",
        "spec",
        "description",
        "os",
        "arch",
        "libc",
        "libc_version",
        "implementation",
        "python_version",
        "python_full_version",
        "python_version_source",
        "free_threaded",
        "abi",
        "macos_min",
        "ios_min",
        "ios_simulator",
        "android_api",
        "pyodide_abi",
        "emscripten",
        "accept_linux_tag",
        "image",
        "platform_tags",
    }


def _packaging_order(python: tuple[int, int], abi: str, plats: list[str]) -> list[ptags.Tag]:
    ordered = [*ptags.cpython_tags(python, [abi], plats), *ptags.compatible_tags(python, abi, plats)]
    return list(dict.fromkeys(ordered))


def test_ios_tags_are_packagings() -> None:
    target = parse_target("arm64-apple-ios-simulator", python_version="3.13", environ={})
    plats = list(ptags.ios_platforms((13, 0), "arm64_iphonesimulator"))
    assert list(target.platform_tags) == plats
    assert list(target.tags) == _packaging_order((3, 13), "cp313", plats)
    assert plats[-1] == "ios_12_0_arm64_iphonesimulator"


def test_android_tags_are_packagings() -> None:
    target = parse_target("aarch64-linux-android", python_version="3.14", environ={})
    plats = list(ptags.android_platforms(24, "arm64_v8a"))
    assert list(target.platform_tags) == plats == [f"android_{n}_arm64_v8a" for n in range(24, 15, -1)]
    assert list(target.tags) == _packaging_order((3, 14), "cp314", plats)


def test_pyodide_tags_generated_as_packaging_would() -> None:
    target = parse_target("wasm32-pyodide2024", environ={})
    plats = ["pyemscripten_2024_0_wasm32", "pyodide_2024_0_wasm32", "emscripten_3_1_58_wasm32"]
    assert list(target.platform_tags) == plats
    assert list(target.tags) == _packaging_order((3, 12), "cp312", plats)
    assert not target.is_compatible(frozenset(ptags.parse_tag("cp312-cp312-pyodide_2025_0_wasm32")))


def test_free_threaded_tags_drop_abi3() -> None:
    ft = parse_target("x86_64-manylinux_2_28", python_version="3.14t", environ={})
    names = [str(t) for t in ft.tags]
    assert names[0] == "cp314-cp314t-manylinux_2_28_x86_64"
    assert not any("-abi3-" in n for n in names)
    assert "cp314-abi3t-manylinux_2_28_x86_64" in names  # packaging's stable ABI for free-threading
    assert list(ft.tags) == _packaging_order((3, 14), "cp314t", list(ft.platform_tags))


def test_free_threaded_and_gil_wheels_refuse_each_other() -> None:
    ft = parse_target("aarch64-manylinux_2_28", python_version="3.14t", environ={})
    gil = parse_target("aarch64-manylinux_2_28", python_version="3.14", environ={})
    t_wheel = frozenset(ptags.parse_tag("cp314-cp314t-manylinux_2_17_aarch64.manylinux2014_aarch64"))
    gil_wheel = frozenset(ptags.parse_tag("cp314-cp314-manylinux_2_17_aarch64"))
    abi3_wheel = frozenset(ptags.parse_tag("cp39-abi3-manylinux_2_17_aarch64"))
    pure = frozenset(ptags.parse_tag("py3-none-any"))
    assert (ft.is_compatible(t_wheel), ft.is_compatible(gil_wheel), ft.is_compatible(abi3_wheel)) == (
        True,
        False,
        False,
    )
    assert (gil.is_compatible(t_wheel), gil.is_compatible(gil_wheel), gil.is_compatible(abi3_wheel)) == (
        False,
        True,
        True,
    )
    assert ft.is_compatible(pure) and gil.is_compatible(pure)


def test_free_threaded_markers_equal_the_gil_builds() -> None:
    """PEP 508 has no free-threading marker: a requirement cannot tell the two builds apart."""
    ft = parse_target("x86_64-manylinux_2_28", python_version="3.14t", environ={})
    gil = parse_target("x86_64-manylinux_2_28", python_version="3.14", environ={})
    assert ft.marker_environment() == gil.marker_environment()
    assert ft.to_json()["free_threaded"] is True and ft.to_json()["abi"] == "cp314t"


@pytest.mark.parametrize(
    ("spec", "python", "machine", "sys_platform", "system"),
    [
        ("arm64-apple-ios", "3.13", "arm64", "ios", "iOS"),
        ("x86_64-apple-ios-simulator", "3.13", "x86_64", "ios", "iOS"),
        ("aarch64-linux-android", "3.13", "aarch64", "android", "Android"),
        ("x86_64-linux-android", "3.13", "x86_64", "android", "Android"),
        ("wasm32-pyodide2025", None, "wasm32", "emscripten", "Emscripten"),
        ("armv7-unknown-linux-gnueabihf", "3.12", "armv7l", "linux", "Linux"),
        ("powerpc64le-unknown-linux-gnu", "3.12", "ppc64le", "linux", "Linux"),
    ],
)
def test_marker_environment_as_those_pythons_report_it(
    spec: str, python: str | None, machine: str, sys_platform: str, system: str
) -> None:
    env = parse_target(spec, python_version=python, environ={}).marker_environment()
    assert (env["platform_machine"], env["sys_platform"], env["platform_system"], env["os_name"]) == (
        machine,
        sys_platform,
        system,
        "posix",
    )
    marker = Marker(f'sys_platform == "{sys_platform}" and platform_system == "{system}"')
    assert marker.evaluate(dict(env))


def test_pyodide_reports_its_emscripten_as_release() -> None:
    env = parse_target("wasm32-pyodide2024", environ={}).marker_environment()
    assert (env["platform_release"], env["platform_version"], env["python_version"]) == (
        "3.1.58",
        "#1",
        "3.12",
    )
    assert not Marker('platform_system == "Linux"').evaluate(dict(env))


def test_json_names_the_new_platform_facts() -> None:
    ios = parse_target("arm64-apple-ios-simulator", python_version="3.13", environ={}).to_json()
    assert (ios["os"], ios["ios_min"], ios["ios_simulator"], ios["android_api"]) == (
        "ios",
        "13.0",
        True,
        None,
    )
    web = parse_target("wasm32-pyodide2025", environ={}).to_json()
    assert (web["arch"], web["pyodide_abi"], web["emscripten"], web["ios_simulator"]) == (
        "wasm32",
        "2025.0",
        "4.0.9",
        None,
    )


def test_wasm_has_no_container_platform() -> None:
    with pytest.raises(UsageError, match="no container platform"):
        _ = parse_target("wasm32-pyodide2024", environ={}).docker_platform
    assert (
        parse_target("s390x-unknown-linux-gnu", python_version="3.12", environ={}).docker_platform
        == "linux/s390x"
    )


def test_hand_built_mobile_target_without_its_minimum_is_a_usage_error() -> None:
    bare = Target(os=OS.ANDROID, arch=Arch.AARCH64, libc=Libc.NONE, python_version=(3, 13))
    with pytest.raises(UsageError, match="Android API level"):
        _ = bare.platform_tags


def test_every_os_has_markers_and_a_label() -> None:
    assert {os_.label for os_ in OS} == {"Linux", "macOS", "Windows", "iOS", "Android", "Pyodide"}
    assert all(os_.sys_platform and os_.platform_system for os_ in OS)
    assert all(arch.names.triple for arch in Arch)
