"""Every spelling `--python-platform` accepts, and clear refusals for the rest."""

from __future__ import annotations

import pytest

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
