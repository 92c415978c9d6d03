"""`binary-format`, `arch`, `libc`, `macos-version` and `purelib` on wheels built from fixture binaries."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary

from xbuild.binary import MachOInfo, MachOSlice
from xbuild.target import parse_target
from xbuild.verify import Check, Severity, verify_wheel
from xbuild.verify.binaries import Expectations, check_macos_version
from xbuild.verify.model import WheelReport
from xbuild.verify.platforms import decode

# (fixture, platform tag, extension filename, matching target): wheels that must pass.
GOOD = [
    (
        "x86_64-linux-gnu.so",
        "manylinux_2_17_x86_64",
        "_xb.cpython-312-x86_64-linux-gnu.so",
        "x86_64-manylinux_2_28",
    ),
    (
        "aarch64-linux-gnu.2.17.so",
        "manylinux2014_aarch64",
        "_xb.cpython-312-aarch64-linux-gnu.so",
        "aarch64-manylinux_2_17",
    ),
    (
        "s390x-linux-gnu.2.17.so",
        "manylinux_2_17_s390x",
        "_xb.cpython-312-s390x-linux-gnu.so",
        "manylinux_2_17_s390x",
    ),
    (
        "x86_64-linux-musl.so",
        "musllinux_1_2_x86_64",
        "_xb.cpython-312-x86_64-linux-musl.so",
        "x86_64-unknown-linux-musl",
    ),
    (
        "aarch64-linux-musl.so",
        "musllinux_1_1_aarch64",
        "_xb.cpython-312-aarch64-linux-gnu.so",
        "musllinux_1_2_aarch64",
    ),
    (
        "armv7l-linux-musleabihf.so",
        "musllinux_1_2_armv7l",
        "_xb.cpython-312-arm-linux-musleabihf.so",
        "musllinux_1_2_armv7l",
    ),
    ("aarch64-macos.11.0.so", "macosx_11_0_arm64", "_xb.cpython-312-darwin.so", "macosx_11_0_arm64"),
    ("x86_64-macos.10.13.so", "macosx_10_13_x86_64", "_xb.cpython-312-darwin.so", "macosx_10_13_x86_64"),
    ("universal2-macos.so", "macosx_10_13_universal2", "_xb.cpython-312-darwin.so", "macosx_12_0_x86_64"),
    ("universal2-macos.so", "macosx_10_13_universal2", "_xb.abi3.so", "macosx_11_0_arm64"),
    ("x86_64-windows-gnu.dll", "win_amd64", "_xb.cp312-win_amd64.pyd", "win_amd64"),
    ("aarch64-windows-gnu.dll", "win_arm64", "_xb.cp312-win_arm64.pyd", "win_arm64"),
    ("i686-windows-gnu.dll", "win32", "_xb.pyd", "win32"),
]


def ext_wheel(
    tmp_path: Path, fixture: str, platform: str, filename: str = "_xb.so", abi: str = "cp312"
) -> Path:
    files = {"demo/__init__.py": b"", f"demo/{filename}": binary(fixture)}
    return WheelSpec(tags=f"cp312-{abi}-{platform}", files=files).build(tmp_path)


def verify(path: Path, target: str | None = None) -> WheelReport:
    return verify_wheel(path, parse_target(target, python_version="3.12") if target else None)


def errors_of(report: WheelReport, check: Check) -> list[str]:
    return [f.message for f in report.errors if f.check is check]


@pytest.mark.parametrize(("fixture", "platform", "filename", "target"), GOOD)
def test_real_binaries_pass_without_target(
    tmp_path: Path, fixture: str, platform: str, filename: str, target: str
) -> None:
    report = verify(ext_wheel(tmp_path, fixture, platform, filename))
    assert report.ok, report.findings
    assert report.findings == ()


@pytest.mark.parametrize(("fixture", "platform", "filename", "target"), GOOD)
def test_real_binaries_pass_against_matching_target(
    tmp_path: Path, fixture: str, platform: str, filename: str, target: str
) -> None:
    report = verify(ext_wheel(tmp_path, fixture, platform, filename), target)
    assert report.ok, report.findings


# binary-format


@pytest.mark.parametrize(
    ("fixture", "platform", "filename", "words"),
    [
        ("aarch64-macos.11.0.so", "manylinux_2_17_x86_64", "_xb.cpython-312-darwin.so", "Mach-O (macOS)"),
        ("x86_64-linux-gnu.so", "win_amd64", "_xb.pyd", "ELF (Linux)"),
        ("x86_64-windows-gnu.dll", "macosx_11_0_arm64", "_xb.so", "PE (Windows)"),
        ("x86_64-linux-gnu.so", "macosx_11_0_x86_64", "_xb.so", "ELF (Linux)"),
    ],
)
def test_wrong_format_for_tag(tmp_path: Path, fixture: str, platform: str, filename: str, words: str) -> None:
    messages = errors_of(verify(ext_wheel(tmp_path, fixture, platform, filename)), Check.BINARY_FORMAT)
    assert len(messages) == 1 and words in messages[0] and "rebuild it" in messages[0]


def test_wrong_format_for_target_only(tmp_path: Path) -> None:
    # Consistent with its own tag, but the target is another OS: both `tags` and `binary-format` say so.
    report = verify(ext_wheel(tmp_path, "x86_64-linux-gnu.so", "manylinux_2_17_x86_64"), "win_amd64")
    assert errors_of(report, Check.TAGS)
    assert any("the target is Windows" in m for m in errors_of(report, Check.BINARY_FORMAT))


def test_binary_hidden_under_a_text_name_is_still_checked(tmp_path: Path) -> None:
    spec = WheelSpec(
        tags="cp312-cp312-manylinux_2_17_x86_64",
        files={"demo/__init__.py": b"", "demo/README.txt": binary("aarch64-macos.11.0.so")},
    )
    assert errors_of(verify(spec.build(tmp_path)), Check.BINARY_FORMAT)


@pytest.mark.parametrize(
    ("fixture", "words"),
    [
        ("hostile-truncated-phdrs.so", "truncated"),
        ("hostile-truncated-dynamic.so", "truncated"),
        ("hostile-fat-1000000.bin", "implausible"),
    ],
)
def test_malformed_binaries(tmp_path: Path, fixture: str, words: str) -> None:
    report = verify(ext_wheel(tmp_path, fixture, "manylinux_2_17_x86_64"))
    messages = errors_of(report, Check.BINARY_FORMAT)
    assert len(messages) == 1 and words in messages[0]


def test_java_class_and_random_data_are_not_binaries(tmp_path: Path) -> None:
    files = {
        "demo/__init__.py": b"",
        "demo/A.class": binary("not-binary-java.class"),
        "demo/blob.bin": binary("hostile-random.bin"),
    }
    report = verify(WheelSpec(files=files).build(tmp_path))
    assert report.ok, report.findings


@pytest.mark.parametrize(
    ("platform", "filename", "target", "words"),
    [
        ("manylinux_2_17_x86_64", "x.cpython-312-x86_64-linux-gnu.so", None, "not an ELF (Linux)"),
        ("manylinux_2_17_x86_64", "_x.abi3.so", None, "not an ELF (Linux)"),
        ("macosx_11_0_arm64", "libz [1].dylib", None, "not a Mach-O (macOS)"),
        ("win_amd64", "x.cp312-win_amd64.pyd", None, "not a PE (Windows)"),
        ("any", "vendored ü.so", "x86_64-manylinux_2_28", "not an ELF (Linux)"),
    ],
)
def test_extension_module_names_must_be_binaries(
    tmp_path: Path, platform: str, filename: str, target: str | None, words: str
) -> None:
    files = {"demo/__init__.py": b"", f"demo/{filename}": b"#!/bin/sh\necho not compiled\n"}
    report = verify(WheelSpec(tags=f"cp312-cp312-{platform}", files=files).build(tmp_path), target)
    [finding] = [f for f in report.errors if f.check is Check.BINARY_FORMAT]
    assert words in finding.message and finding.member == f"demo/{filename}"


def test_pure_wheel_without_target_has_no_format_to_hold_a_so_to(tmp_path: Path) -> None:
    files = {"demo/__init__.py": b"", "demo/data.so": b"text"}
    assert verify(WheelSpec(files=files).build(tmp_path)).ok


# arch


@pytest.mark.parametrize(
    ("fixture", "platform", "target", "words"),
    [
        ("aarch64-linux-gnu.2.17.so", "manylinux_2_17_x86_64", None, "built for aarch64"),
        ("x86_64-linux-gnu.so", "manylinux_2_17_aarch64", None, "built for x86_64"),
        ("s390x-linux-gnu.2.17.so", "manylinux_2_17_ppc64le", None, "built for s390x"),
        ("aarch64-windows-gnu.dll", "win_amd64", None, "built for aarch64"),
        ("i686-windows-gnu.dll", "win_amd64", None, "built for i686"),
        ("x86_64-macos.10.13.so", "macosx_11_0_arm64", None, "needs arm64"),
        ("aarch64-macos.11.0.so", "macosx_11_0_universal2", None, "needs x86_64 too"),
        ("x86_64-macos.10.13.so", "macosx_10_13_universal2", None, "needs arm64 too"),
        ("x86_64-macos.10.13.so", "macosx_10_13_x86_64", "macosx_11_0_arm64", "none for the target"),
    ],
)
def test_wrong_arch(tmp_path: Path, fixture: str, platform: str, target: str | None, words: str) -> None:
    messages = errors_of(verify(ext_wheel(tmp_path, fixture, platform), target), Check.ARCH)
    assert messages and any(words in m for m in messages), messages


def test_arch_of_universal2_binary_in_thin_wheel_passes(tmp_path: Path) -> None:
    assert verify(ext_wheel(tmp_path, "universal2-macos.so", "macosx_11_0_arm64"), "macosx_11_0_arm64").ok


# libc


@pytest.mark.parametrize(
    ("fixture", "platform", "target", "words"),
    [
        ("x86_64-linux-musl.so", "manylinux_2_17_x86_64", None, "links against musl"),
        ("x86_64-linux-gnu.so", "musllinux_1_2_x86_64", None, "links against glibc"),
        ("x86_64-linux-gnu.so", "linux_x86_64", "musllinux_1_2_x86_64", "the target"),
        ("x86_64-linux-gnu-program", "musllinux_1_2_x86_64", None, "links against glibc"),
    ],
)
def test_wrong_libc(tmp_path: Path, fixture: str, platform: str, target: str | None, words: str) -> None:
    report = verify(ext_wheel(tmp_path, fixture, platform), target)
    messages = errors_of(report, Check.LIBC)
    assert messages and any(words in m for m in messages), report.findings
    # A binary for the wrong libc is not also judged by the other libc's policy.
    assert not errors_of(report, Check.SYMBOL_VERSIONS) and not errors_of(report, Check.EXTERNAL_LIBS)


def test_static_binary_has_no_libc_opinion(tmp_path: Path) -> None:
    report = verify(ext_wheel(tmp_path, "x86_64-linux-musl-static", "manylinux_2_17_x86_64", "tool"))
    assert report.ok, report.findings


# macos-version


def test_binary_newer_than_its_tag(tmp_path: Path) -> None:
    messages = errors_of(
        verify(ext_wheel(tmp_path, "x86_64-macos.10.13.so", "macosx_10_9_x86_64")), Check.MACOS_VERSION
    )
    assert len(messages) == 1 and "10.13" in messages[0] and "MACOSX_DEPLOYMENT_TARGET=10.9" in messages[0]


def test_arm64_slice_of_universal2_may_need_11(tmp_path: Path) -> None:
    # arm64 macOS starts at 11.0, so macosx_10_13_universal2 only promises 11.0 for the arm64 slice.
    assert verify(ext_wheel(tmp_path, "universal2-macos.so", "macosx_10_13_universal2")).ok


def test_binary_newer_than_the_target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MACOSX_DEPLOYMENT_TARGET", "10.12")
    report = verify(ext_wheel(tmp_path, "x86_64-macos.10.13.so", "macosx_10_9_x86_64"), "x86_64-apple-darwin")
    messages = errors_of(report, Check.MACOS_VERSION)
    assert any("target is macOS 10.12" in m for m in messages), messages


def _slice(arch: str, minos: tuple[int, int, int] | None, platform: int = 1) -> MachOSlice:
    return MachOSlice(
        cputype=0,
        cpusubtype=0,
        arch=arch,
        filetype=6,
        load_dylibs=(),
        rpaths=(),
        install_name=None,
        platform=platform,
        min_os=minos,
        sdk=None,
    )


def test_check_macos_version_pure() -> None:
    info = MachOInfo(slices=(_slice("x86_64", (12, 3, 0)), _slice("arm64", (12, 3, 0))), is_fat=True)
    expect = Expectations((decode("macosx_12_0_universal2"),), None)
    found = check_macos_version("m.so", info, expect)
    assert len(found) == 2 and all("12.3" in f.message for f in found)
    assert check_macos_version("m.so", info, Expectations((decode("macosx_13_0_universal2"),), None)) == []
    ios = MachOInfo(slices=(_slice("arm64", (17, 0, 0), platform=2),), is_fat=False)
    assert check_macos_version("m.so", ios, expect) == []  # not a macOS deployment target


# purelib


@pytest.mark.parametrize(
    "fixture", ["x86_64-linux-gnu.so", "aarch64-macos.11.0.so", "x86_64-windows-gnu.dll"]
)
def test_binary_in_pure_wheel(tmp_path: Path, fixture: str) -> None:
    spec = WheelSpec(files={"demo/__init__.py": b"", "demo/helper.bin": binary(fixture)}, purelib=False)
    report = verify(spec.build(tmp_path))
    assert [f.check for f in report.errors] == [Check.PURELIB]


def test_platform_wheel_without_binaries_is_a_warning(tmp_path: Path) -> None:
    report = verify(WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64").build(tmp_path))
    assert report.ok
    assert [(f.check, f.severity) for f in report.findings] == [(Check.PURELIB, Severity.WARNING)]
