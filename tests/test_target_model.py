"""Tags and markers derived from a Target: compared with what packaging itself yields."""

from __future__ import annotations

from packaging import tags as ptags

from xbuild.target import parse_target


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
        "abi",
        "macos_min",
        "accept_linux_tag",
        "image",
        "platform_tags",
    }
