"""Every spelling `--python-platform` accepts, and clear refusals for the rest."""

from __future__ import annotations

import pytest
from packaging import tags as ptags

from xbuild.errors import ExitCode, UsageError
from xbuild.target import OS, Arch, Libc, Target, parse_target

UV_SPELLINGS = [
    "linux",
    "windows",
    "macos",
    "x86_64-unknown-linux-gnu",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
    "aarch64-pc-windows-msvc",
    "i686-pc-windows-msvc",
    "x86_64-manylinux2014",
    "aarch64-manylinux2014",
    "x86_64-manylinux_2_17",
    "aarch64-manylinux_2_17",
    "riscv64-unknown-linux",
    *[f"{arch}-manylinux_2_{n}" for arch in ("x86_64", "aarch64") for n in range(28, 41)],
]


@pytest.mark.parametrize("spec", UV_SPELLINGS)
def test_every_uv_spelling_parses(spec: str) -> None:
    target = parse_target(spec, python_version="3.12", environ={})
    assert target.spec == spec
    assert target.tags


def test_manylinux_beyond_2_40_is_accepted() -> None:
    target = parse_target("aarch64-manylinux_2_45", python_version="3.13", environ={})
    assert target.libc_version == (2, 45)
    assert target.platform_tags[0] == "manylinux_2_45_aarch64"


@pytest.mark.parametrize(
    ("spec", "os_", "arch", "libc", "version"),
    [
        ("x86_64-unknown-linux-gnu", OS.LINUX, Arch.X86_64, Libc.GLIBC, (2, 28)),
        ("aarch64-unknown-linux-musl", OS.LINUX, Arch.AARCH64, Libc.MUSL, (1, 2)),
        ("riscv64-unknown-linux", OS.LINUX, Arch.RISCV64, Libc.GLIBC, (2, 31)),
        ("manylinux2014_x86_64", OS.LINUX, Arch.X86_64, Libc.GLIBC, (2, 17)),
        ("manylinux_2_28_aarch64", OS.LINUX, Arch.AARCH64, Libc.GLIBC, (2, 28)),
        ("musllinux_1_2_x86_64", OS.LINUX, Arch.X86_64, Libc.MUSL, (1, 2)),
        ("linux_x86_64", OS.LINUX, Arch.X86_64, Libc.GLIBC, None),
        ("win_amd64", OS.WINDOWS, Arch.X86_64, Libc.NONE, None),
        ("macosx_11_0_arm64", OS.MACOS, Arch.AARCH64, Libc.NONE, None),
    ],
)
def test_defaults_and_wheel_tags(
    spec: str, os_: OS, arch: Arch, libc: Libc, version: tuple[int, int] | None
) -> None:
    target = parse_target(spec, python_version="3.12", environ={})
    assert (target.os, target.arch, target.libc, target.libc_version) == (os_, arch, libc, version)


def test_macos_default_and_deployment_target() -> None:
    assert parse_target("macos", python_version="3.12", environ={}).macos_min == (13, 0)
    env = {"MACOSX_DEPLOYMENT_TARGET": "11.0"}
    assert parse_target("x86_64-apple-darwin", python_version="3.12", environ=env).macos_min == (
        11,
        0,
    )
    assert parse_target("macosx_12_0_arm64", python_version="3.12", environ={}).macos_min == (12, 0)


def test_named_lambda_target_carries_its_python() -> None:
    target = parse_target("aws-lambda-python3.12-arm64", environ={})
    assert (target.arch, target.libc_version, target.python_version) == (
        Arch.AARCH64,
        (2, 34),
        (3, 12),
    )
    assert target.python_version_source == "target"
    assert target.image is not None and "python3.12" in target.image


def test_lambda_al2_runtimes_are_glibc_2_26() -> None:
    for py in ("3.9", "3.10", "3.11"):
        for arch in ("x86_64", "arm64"):
            assert parse_target(f"aws-lambda-python{py}-{arch}", environ={}).libc_version == (2, 26)


def test_python_version_flag_overrides_named_target() -> None:
    target = parse_target("aws-lambda-python3.12-arm64", python_version="3.13.1", environ={})
    assert target.python_version == (3, 13)
    assert target.python_full_version == "3.13.1"


def test_default_python_is_the_running_one_and_says_so() -> None:
    target = parse_target("linux", environ={}, default_python=(3, 11, 7))
    assert target.python_version_source == "host"
    assert target.python_full_version == "3.11.7"


def test_host_uses_the_given_probe() -> None:
    fake = Target(
        os=OS.LINUX,
        arch=Arch.X86_64,
        libc=Libc.GLIBC,
        libc_version=(2, 36),
        python_version=(3, 11),
        python_version_source="host",
        accept_linux_tag=True,
    )
    assert parse_target("host", environ={}, host=lambda: fake).libc_version == (2, 36)


@pytest.mark.parametrize("spec", ["x86_64-manylinux_2_28x", "aarch64-linux", "", "manylinux_2_28_sparc"])
def test_unknown_is_a_usage_error_with_suggestions(spec: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_target(spec, python_version="3.12", environ={})
    assert info.value.exit_code is ExitCode.USAGE
    assert info.value.hint


def test_close_spellings_are_suggested() -> None:
    with pytest.raises(UsageError, match="did you mean: x86_64-manylinux_2_28"):
        parse_target("x86_64-manylinux_2_28x", python_version="3.12", environ={})


@pytest.mark.parametrize("version", ["2.7", "3", "three", "3.12.1.1"])
def test_bad_python_version(version: str) -> None:
    with pytest.raises(UsageError, match="--python-version"):
        parse_target("linux", python_version=version, environ={})


def test_manylinux_below_floor_is_refused() -> None:
    with pytest.raises(UsageError, match="below 2_17"):
        parse_target("aarch64-manylinux_2_12", python_version="3.12", environ={})


# Spellings beyond desktop Linux/macOS/Windows: (spelling, os, arch, first platform tag)
NEW_SPELLINGS = [
    ("aarch64-linux-android", OS.ANDROID, Arch.AARCH64, "android_24_arm64_v8a"),
    ("x86_64-linux-android", OS.ANDROID, Arch.X86_64, "android_24_x86_64"),
    ("armv7-linux-androideabi", OS.ANDROID, Arch.ARMV7L, "android_24_armeabi_v7a"),
    ("i686-linux-android", OS.ANDROID, Arch.I686, "android_24_x86"),
    ("android_21_x86", OS.ANDROID, Arch.I686, "android_21_x86"),
    ("wasm32-pyodide2024", OS.EMSCRIPTEN, Arch.WASM32, "pyemscripten_2024_0_wasm32"),
    ("wasm32-pyodide2025", OS.EMSCRIPTEN, Arch.WASM32, "pyemscripten_2025_0_wasm32"),
    ("arm64-apple-ios", OS.IOS, Arch.AARCH64, "ios_13_0_arm64_iphoneos"),
    ("arm64-apple-ios-simulator", OS.IOS, Arch.AARCH64, "ios_13_0_arm64_iphonesimulator"),
    ("x86_64-apple-ios-simulator", OS.IOS, Arch.X86_64, "ios_13_0_x86_64_iphonesimulator"),
    ("i686-unknown-linux-gnu", OS.LINUX, Arch.I686, "manylinux_2_28_i686"),
    ("armv7-unknown-linux-gnueabihf", OS.LINUX, Arch.ARMV7L, "manylinux_2_31_armv7l"),
    ("powerpc64le-unknown-linux-gnu", OS.LINUX, Arch.PPC64LE, "manylinux_2_28_ppc64le"),
    ("s390x-unknown-linux-gnu", OS.LINUX, Arch.S390X, "manylinux_2_28_s390x"),
    ("ios_13_0_arm64_iphoneos", OS.IOS, Arch.AARCH64, "ios_13_0_arm64_iphoneos"),
    ("ios_13_0_arm64_iphonesimulator", OS.IOS, Arch.AARCH64, "ios_13_0_arm64_iphonesimulator"),
    ("android_24_arm64_v8a", OS.ANDROID, Arch.AARCH64, "android_24_arm64_v8a"),
    ("android_24_x86_64", OS.ANDROID, Arch.X86_64, "android_24_x86_64"),
    ("pyodide_2024_0_wasm32", OS.EMSCRIPTEN, Arch.WASM32, "pyemscripten_2024_0_wasm32"),
    ("emscripten_3_1_58_wasm32", OS.EMSCRIPTEN, Arch.WASM32, "pyemscripten_2024_0_wasm32"),
    ("pyemscripten_2025_0_wasm32", OS.EMSCRIPTEN, Arch.WASM32, "pyemscripten_2025_0_wasm32"),
]


@pytest.mark.parametrize(("spec", "os_", "arch", "first"), NEW_SPELLINGS, ids=[s[0] for s in NEW_SPELLINGS])
def test_new_platform_spellings(spec: str, os_: OS, arch: Arch, first: str) -> None:
    python = (
        "3.12"
        if spec in ("wasm32-pyodide2024", "pyodide_2024_0_wasm32", "emscripten_3_1_58_wasm32")
        else None
    )
    python = "3.13" if python is None and os_ is OS.EMSCRIPTEN else python or "3.13"
    target = parse_target(spec, python_version=python, environ={})
    assert (target.os, target.arch, target.platform_tags[0], target.spec) == (os_, arch, first, spec)
    assert target.libc is (Libc.GLIBC if os_ is OS.LINUX else Libc.NONE)
    assert target.tags[0] == ptags.Tag(target.python_tag, target.abi, first)


def test_uv_defaults_come_from_the_data_file() -> None:
    ios = parse_target("arm64-apple-ios", python_version="3.13", environ={})
    android = parse_target("aarch64-linux-android", python_version="3.13", environ={})
    assert (ios.ios_min, ios.ios_simulator, android.android_api) == ((13, 0), False, 24)
    assert parse_target("arm64-apple-ios-simulator", python_version="3.13", environ={}).ios_simulator


def test_deployment_target_and_api_level_from_the_environment() -> None:
    env = {"IPHONEOS_DEPLOYMENT_TARGET": "15.4", "ANDROID_API_LEVEL": "30"}
    assert parse_target("arm64-apple-ios", python_version="3.13", environ=env).ios_min == (15, 4)
    android = parse_target("x86_64-linux-android", python_version="3.13", environ=env)
    assert android.platform_tags[:2] == ("android_30_x86_64", "android_29_x86_64")
    # the wheel-tag spelling carries its own version; the environment does not move it
    assert parse_target("android_24_x86_64", python_version="3.13", environ=env).android_api == 24


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"IPHONEOS_DEPLOYMENT_TARGET": "13.0 [beta]"}, "IPHONEOS_DEPLOYMENT_TARGET"),
        ({"IPHONEOS_DEPLOYMENT_TARGET": "11.0"}, "older than any CPython"),
        ({"ANDROID_API_LEVEL": "twenty-four"}, "ANDROID_API_LEVEL"),
        ({"ANDROID_API_LEVEL": "14"}, "below 16"),
    ],
)
def test_bad_mobile_environment_is_a_usage_error(env: dict[str, str], match: str) -> None:
    spec = "arm64-apple-ios" if "IPHONEOS_DEPLOYMENT_TARGET" in env else "aarch64-linux-android"
    with pytest.raises(UsageError, match=match) as info:
        parse_target(spec, python_version="3.13", environ=env)
    assert info.value.exit_code is ExitCode.USAGE and info.value.hint


def test_pyodide_names_its_python() -> None:
    target = parse_target("wasm32-pyodide2024", environ={})
    assert (target.python_version, target.python_version_source) == ((3, 12), "target")
    assert parse_target("wasm32-pyodide2025", environ={}, default_python=(3, 11, 7)).python == "3.13"
    assert (
        parse_target("wasm32-pyodide2024", python_version="3.12.7", environ={}).python_full_version
        == "3.12.7"
    )


def test_pyodide_refuses_another_python_and_names_the_right_abi() -> None:
    with pytest.raises(UsageError, match=r"runs Python 3\.12, not 3\.13") as info:
        parse_target("wasm32-pyodide2024", python_version="3.13", environ={})
    assert info.value.hint == "use wasm32-pyodide2025 for Python 3.13"
    with pytest.raises(UsageError, match="no free-threaded"):
        parse_target("wasm32-pyodide2025", python_version="3.13t", environ={})


@pytest.mark.parametrize(
    ("spec", "match"),
    [
        ("ios_13_0_x86_64_iphoneos", "no iOS device runs x86_64"),
        ("pyodide_2019_0_wasm32", "unknown Pyodide ABI"),
        ("wasm32-pyodide1999", "unknown Pyodide ABI"),
        ("emscripten_9_9_9_wasm32", "unknown Pyodide ABI"),
        ("android_12_arm64_v8a", "below 16"),
    ],
)
def test_impossible_mobile_and_web_spellings(spec: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        parse_target(spec, python_version="3.12", environ={})


@pytest.mark.parametrize(
    "spec",
    [
        "arm64-apple-ios [simulator]",
        "wasm32-pyodide2024'; rm -rf /",
        "android_24_arm64_v8a\u00a0[x]",
        "aarch64-linux-android\u200b",
        "ïos_13_0_arm64_iphoneos",
        "android_24_mips",
    ],
)
def test_hostile_spellings_are_usage_errors(spec: str) -> None:
    with pytest.raises(UsageError, match="unknown target") as info:
        parse_target(spec, python_version="3.13", environ={})
    assert info.value.hint


def test_close_mobile_spellings_are_suggested() -> None:
    with pytest.raises(UsageError, match="did you mean: arm64-apple-ios"):
        parse_target("arm64-apple-iso", python_version="3.13", environ={})


def test_free_threaded_python_version() -> None:
    target = parse_target("x86_64-manylinux_2_28", python_version="3.14t", environ={})
    assert (target.free_threaded, target.abi, target.python_tag, target.python) == (
        True,
        "cp314t",
        "cp314",
        "3.14",
    )
    assert (
        parse_target("x86_64-manylinux_2_28", python_version="3.14.1t", environ={}).python_full_version
        == "3.14.1"
    )
    assert not parse_target("x86_64-manylinux_2_28", python_version="3.14", environ={}).free_threaded


@pytest.mark.parametrize(("version", "match"), [("3.12t", "starts at 3.13"), ("3.14tt", "--python-version")])
def test_free_threaded_refusals(version: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        parse_target("linux", python_version=version, environ={})


def test_named_free_threaded_target_and_flag_override() -> None:
    target = parse_target("free-threaded-3.14-x86_64", environ={})
    assert (target.abi, target.python_version_source, target.libc_version) == ("cp314t", "target", (2, 28))
    assert parse_target("free-threaded-3.14-x86_64", python_version="3.14", environ={}).abi == "cp314"


def test_named_pyodide_targets() -> None:
    assert parse_target("pyodide-0.27", environ={}).platform_tags[1] == "pyodide_2024_0_wasm32"
    assert parse_target("pyodide-0.28", environ={}).python == "3.13"


@pytest.mark.parametrize(
    ("alias", "arch"),
    [
        ("amd64", Arch.X86_64),
        ("arm64", Arch.AARCH64),
        ("ARM64", Arch.AARCH64),
        ("arm64_v8a", Arch.AARCH64),
        ("armhf", Arch.ARMV7L),
        ("armv7", Arch.ARMV7L),
        ("armeabi_v7a", Arch.ARMV7L),
        ("powerpc64le", Arch.PPC64LE),
        ("ppc64el", Arch.PPC64LE),
        ("i386", Arch.I686),
        ("x86", Arch.I686),
        ("win_amd64", Arch.X86_64),
        ("wasm32", Arch.WASM32),
    ],
)
def test_one_arch_enum_knows_every_alias(alias: str, arch: Arch) -> None:
    assert Arch.from_alias(alias) is arch


def test_unknown_alias_is_none() -> None:
    assert Arch.from_alias("sparc64 [big-endian]") is None


def test_x_y_means_the_newest_patch_release() -> None:
    """`--python-version 3.9` is 3.9.25, not 3.9.0: `!=3.9.0,!=3.9.1` must not hold it back."""
    target = parse_target("x86_64-manylinux2014", python_version="3.9", environ={})
    assert target.python_full_version is None and target.python_full == "3.9.25"
    assert target.marker_environment()["python_full_version"] == "3.9.25"
    assert target.to_json()["python_full_version"] == "3.9.25"
    assert parse_target("linux", python_version="3.12", environ={}).python_full == "3.12.16"


def test_x_y_z_is_exact_and_unknown_minors_are_dot_zero() -> None:
    assert parse_target("linux", python_version="3.9.1", environ={}).python_full == "3.9.1"
    assert parse_target("linux", python_version="3.16", environ={}).python_full == "3.16.0"


def test_named_targets_carry_their_runtime_patch() -> None:
    assert parse_target("debian-bullseye-x86_64", environ={}).python_full == "3.9.2"
    assert parse_target("debian-bookworm-x86_64", environ={}).python_full == "3.11.2"
    # Lambda patches its runtimes continuously: X.Y, the newest patch.
    assert parse_target("aws-lambda-python3.12-arm64", environ={}).python_full == "3.12.16"


@pytest.mark.parametrize(
    ("spec", "env"),
    [
        ("ios_99999999_0_arm64_iphoneos", {}),
        ("ios_13_99999999_arm64_iphonesimulator", {}),
        ("android_999999999_arm64_v8a", {}),
        ("arm64-apple-ios", {"IPHONEOS_DEPLOYMENT_TARGET": "99999999.0"}),
        ("x86_64-linux-android", {"ANDROID_API_LEVEL": "99999999999"}),
    ],
)
def test_absurd_mobile_versions_are_refused_before_listing_tags(spec: str, env: dict[str, str]) -> None:
    with pytest.raises(UsageError, match="out of range"):
        parse_target(spec, python_version="3.13", environ=env)
