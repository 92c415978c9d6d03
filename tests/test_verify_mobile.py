"""iOS and Android wheels: real cibuildwheel binaries pass, crafted wrong ones are refused.

The iOS and Android fixtures are markupsafe's extension modules from PyPI (see the fixtures'
README); variants are made by patching single fields in place (platform, minimum, API level).
"""

from __future__ import annotations

import struct
from dataclasses import replace
from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary, patch_bytes

from xbuild.binary import MachOPlatform, VersionNeed, parse_elf
from xbuild.target import parse_target
from xbuild.target.tags import Family
from xbuild.verify import Check, verify_wheel
from xbuild.verify.binaries import Expectations
from xbuild.verify.mobile import android_system, check_android
from xbuild.verify.model import WheelReport
from xbuild.verify.platforms import decode

IOS = "arm64-iphoneos13-markupsafe.so"
ANDROID = "aarch64-linux-android24-markupsafe.so"
# Hostile text in the package directory: spaces, brackets, quotes and non-ASCII letters.
PKG = "märkup 'safe' [x]"
_LC_BUILD_VERSION = 0x32


def wheel(tmp_path: Path, data: bytes, platform: str, ext: str, python: str = "cp313") -> Path:
    files = {f"{PKG}/__init__.py": b"", f"{PKG}/{ext}": data}
    return WheelSpec(name="markupsafe", tags=f"{python}-{python}-{platform}", files=files).build(tmp_path)


def verify(path: Path, target: str | None = None, python: str = "3.13") -> WheelReport:
    return verify_wheel(path, parse_target(target, python_version=python) if target else None)


def errors(report: WheelReport, check: Check | None = None) -> list[str]:
    return [f"{f.check}: {f.message}" for f in report.errors if check is None or f.check is check]


def build_version_at(data: bytes) -> int:
    """Offset of the thin 64-bit Mach-O's LC_BUILD_VERSION command."""
    ncmds = struct.unpack_from("<I", data, 16)[0]
    at = 32
    for _ in range(ncmds):
        cmd, size = struct.unpack_from("<II", data, at)
        if cmd == _LC_BUILD_VERSION:
            return at
        at += size
    raise AssertionError("no LC_BUILD_VERSION")


def apple(platform: int = MachOPlatform.IOS, minimum: tuple[int, int] = (13, 0)) -> bytes:
    data = bytearray(binary(IOS))
    at = build_version_at(bytes(data))
    struct.pack_into("<II", data, at + 8, platform, (minimum[0] << 16) | (minimum[1] << 8))
    return bytes(data)


def android(api: int = 24) -> bytes:
    data = binary(ANDROID)
    note = data.index(b"Android\0") + 8
    return data[:note] + struct.pack("<I", api) + data[note + 4 :]


# --- iOS ---------------------------------------------------------------------------------------

IOS_EXT = "_speedups.cpython-313-iphoneos.so"
SIM_EXT = "_speedups.cpython-313-iphonesimulator.so"


@pytest.mark.parametrize(
    "target", [None, "arm64-apple-ios", "ios_13_0_arm64_iphoneos", "ios_17_0_arm64_iphoneos"]
)
def test_real_ios_device_module_passes(tmp_path: Path, target: str | None) -> None:
    report = verify(wheel(tmp_path, binary(IOS), "ios_13_0_arm64_iphoneos", IOS_EXT), target)
    assert errors(report) == []
    assert report.ok


def test_simulator_module_passes_with_the_arm64_simulator_floor(tmp_path: Path) -> None:
    # clang raises an arm64 simulator slice's minimum to 14.0, under an ios_13_0 tag.
    data = apple(MachOPlatform.IOSSIMULATOR, (14, 0))
    report = verify(
        wheel(tmp_path, data, "ios_13_0_arm64_iphonesimulator", SIM_EXT), "arm64-apple-ios-simulator"
    )
    assert errors(report) == []


def test_macos_module_in_an_ios_wheel_is_refused(tmp_path: Path) -> None:
    path = wheel(tmp_path, binary("aarch64-macos.11.0.so"), "ios_13_0_arm64_iphoneos", IOS_EXT)
    for target in (None, "arm64-apple-ios"):
        found = errors(verify(path, target), Check.BINARY_FORMAT)
        assert found, target
        assert "built for macOS (LC_BUILD_VERSION platform 1)" in found[0]
        assert "needs iOS devices" in found[0]
        assert "iPhoneOS SDK" in found[0] and "cibuildwheel --platform ios" in found[0]


def test_macos_module_refused_against_an_ios_target_whatever_the_tag(tmp_path: Path) -> None:
    path = wheel(
        tmp_path, binary("aarch64-macos.11.0.so"), "macosx_11_0_arm64", "_speedups.cpython-313-darwin.so"
    )
    report = verify(path, "arm64-apple-ios")
    assert {str(f.check) for f in report.errors} >= {"tags", "binary-format"}


def test_device_module_in_a_simulator_wheel_is_refused_and_the_reverse(tmp_path: Path) -> None:
    device = verify(wheel(tmp_path / "d", binary(IOS), "ios_13_0_arm64_iphonesimulator", SIM_EXT))
    assert "needs the iOS simulator" in errors(device, Check.BINARY_FORMAT)[0]
    sim = apple(MachOPlatform.IOSSIMULATOR, (14, 0))
    simulator = verify(wheel(tmp_path / "s", sim, "ios_13_0_arm64_iphoneos", IOS_EXT), "arm64-apple-ios")
    found = errors(simulator, Check.BINARY_FORMAT)
    assert len(found) == 2  # the tag's and the target's
    assert all("built for the iOS simulator (LC_BUILD_VERSION platform 7)" in m for m in found)


def test_ios_module_in_a_macos_wheel_is_refused(tmp_path: Path) -> None:
    path = wheel(tmp_path, binary(IOS), "macosx_11_0_arm64", "_speedups.cpython-313-darwin.so")
    found = errors(verify(path, "macosx_11_0_arm64"), Check.BINARY_FORMAT)
    assert found and "built for iOS devices" in found[0] and "needs macOS" in found[0]


def test_ios_minimum_above_the_tag_is_refused(tmp_path: Path) -> None:
    path = wheel(tmp_path, apple(MachOPlatform.IOS, (15, 2)), "ios_13_0_arm64_iphoneos", IOS_EXT)
    found = errors(verify(path, "arm64-apple-ios"), Check.IOS_VERSION)
    assert len(found) == 2
    assert "needs iOS 15.2 but the tag ios_13_0_arm64_iphoneos promises it runs on 13.0" in found[0]
    assert "IPHONEOS_DEPLOYMENT_TARGET=13.0" in found[0]
    # A tag that promises 16.0 takes it.
    later = wheel(tmp_path / "later", apple(MachOPlatform.IOS, (15, 2)), "ios_16_0_arm64_iphoneos", IOS_EXT)
    assert errors(verify(later)) == []


def test_simulator_minimum_above_the_arm64_floor_is_refused(tmp_path: Path) -> None:
    data = apple(MachOPlatform.IOSSIMULATOR, (15, 0))
    found = errors(
        verify(wheel(tmp_path, data, "ios_13_0_arm64_iphonesimulator", SIM_EXT)), Check.IOS_VERSION
    )
    assert found == [
        "ios-version: arm64 slice needs iOS 15.0 but the tag ios_13_0_arm64_iphonesimulator promises it "
        "runs on 14.0: it would fail to load there; rebuild with IPHONEOS_DEPLOYMENT_TARGET=14.0 or tag "
        "the wheel ios_15_0"
    ]


def test_arm64_module_in_an_x86_64_simulator_wheel_is_refused(tmp_path: Path) -> None:
    data = apple(MachOPlatform.IOSSIMULATOR, (14, 0))
    path = wheel(tmp_path, data, "ios_13_0_x86_64_iphonesimulator", SIM_EXT)
    found = errors(verify(path, "x86_64-apple-ios-simulator"), Check.ARCH)
    assert found == [
        "arch: has arm64 slices but the tag ios_13_0_x86_64_iphonesimulator needs x86_64: built for the "
        "wrong CPU; rebuild it with cibuildwheel --platform ios on a macOS runner with Xcode (device and "
        "simulator SDKs)",
        "arch: has arm64 slices but the target needs x86_64: built for the wrong CPU; rebuild it with "
        "cibuildwheel --platform ios on a macOS runner with Xcode (device and simulator SDKs)",
    ]


def test_ios_module_loading_a_library_from_outside_the_wheel_is_refused(tmp_path: Path) -> None:
    old = b"/usr/lib/libSystem.B.dylib"
    new = b"@rpath/libffi-ios.8.dylib\0"  # same length: the load command keeps its size
    path = wheel(tmp_path, patch_bytes(binary(IOS), old, new), "ios_13_0_arm64_iphoneos", IOS_EXT)
    found = errors(verify(path, "arm64-apple-ios"), Check.EXTERNAL_LIBS)
    assert found == [
        "external-libs: loads @rpath/libffi-ios.8.dylib, which is neither an iOS system library, the "
        "Python framework nor inside the wheel: the import fails on the device; ship it in the wheel or "
        "link it statically"
    ]


# --- Android -----------------------------------------------------------------------------------

ANDROID_EXT = "_speedups.cpython-313-aarch64-linux-android.so"


@pytest.mark.parametrize(
    "target", [None, "aarch64-linux-android", "android_24_arm64_v8a", "android_30_arm64_v8a"]
)
def test_real_android_module_passes(tmp_path: Path, target: str | None) -> None:
    report = verify(wheel(tmp_path, binary(ANDROID), "android_24_arm64_v8a", ANDROID_EXT), target)
    assert errors(report) == []
    assert report.ok


def test_the_ndk_note_gives_the_api_level() -> None:
    assert parse_elf(binary(ANDROID)).android_api == 24
    assert parse_elf(android(31)).android_api == 31
    assert parse_elf(binary("aarch64-linux-gnu.2.17.so")).android_api is None


@pytest.mark.parametrize(
    ("fixture", "platform"),
    [("aarch64-linux-gnu.2.17.so", "android_24_arm64_v8a"), ("x86_64-linux-gnu.so", "android_24_x86_64")],
)
def test_glibc_module_in_an_android_wheel_is_refused(tmp_path: Path, fixture: str, platform: str) -> None:
    arch = "aarch64" if "arm64" in platform else "x86_64"
    path = wheel(tmp_path, binary(fixture), platform, f"_xb.cpython-313-{arch}-linux-android.so")
    for target in (None, f"{arch}-linux-android"):
        found = errors(verify(path, target), Check.LIBC)
        assert len(found) == 1, target
        assert "links against glibc (libc.so.6" in found[0] and "GLIBC_2." in found[0]
        assert "Android's C library is bionic" in found[0]


def test_android_module_for_the_wrong_abi_is_refused(tmp_path: Path) -> None:
    path = wheel(
        tmp_path, binary(ANDROID), "android_24_x86_64", "_speedups.cpython-313-x86_64-linux-android.so"
    )
    found = errors(verify(path, "x86_64-linux-android"), Check.ARCH)
    assert len(found) == 2
    assert found[0].startswith("arch: is built for aarch64 but the tag android_24_x86_64 needs x86_64")
    assert "cibuildwheel --platform android" in found[0]


def test_api_level_above_the_tag_is_refused(tmp_path: Path) -> None:
    path = wheel(tmp_path, android(28), "android_24_arm64_v8a", ANDROID_EXT)
    found = errors(verify(path, "aarch64-linux-android"), Check.ANDROID_API)
    assert len(found) == 2
    assert found[0].startswith(
        "android-api: needs Android API level 28 (its .note.android.ident, the NDK's record of what it "
        "was built for) but the tag android_24_arm64_v8a promises 24"
    )
    assert errors(verify(wheel(tmp_path / "28", android(28), "android_28_arm64_v8a", ANDROID_EXT))) == []


def test_unshipped_library_and_the_cxx_runtime_are_refused(tmp_path: Path) -> None:
    data = patch_bytes(binary(ANDROID), b"libdl.so\0", b"libxz.so\0")
    found = errors(
        verify(wheel(tmp_path / "xz", data, "android_24_arm64_v8a", ANDROID_EXT)), Check.EXTERNAL_LIBS
    )
    assert len(found) == 1
    assert "needs libxz.so, which is neither one of the NDK's stable system libraries nor shipped" in found[0]
    cxx = patch_bytes(binary(ANDROID), b"libpython3.13.so", b"libc++_shared.so")
    found = errors(
        verify(wheel(tmp_path / "cxx", cxx, "android_24_arm64_v8a", ANDROID_EXT)), Check.EXTERNAL_LIBS
    )
    assert len(found) == 1 and "the NDK's C++ runtime, which each app bundles itself" in found[0]


def test_libpython_of_another_version_is_refused(tmp_path: Path) -> None:
    path = wheel(tmp_path, binary(ANDROID), "android_24_arm64_v8a", "_speedups.so", python="cp312")
    found = errors(verify(path), Check.EXTERNAL_LIBS)
    assert found == [
        "external-libs: links libpython3.13.so (Python 3.13) but the wheel is for Python 3.12: the import "
        "fails; rebuild with the matching interpreter"
    ]


def test_bionic_symbol_versions_and_system_libraries_set_an_api_floor() -> None:
    info = parse_elf(binary(ANDROID))
    expect = Expectations((decode("android_24_arm64_v8a"),), None)
    newer = replace(info, version_requirements=(VersionNeed(file="libc.so", versions=("LIBC", "LIBC_P")),))
    [found] = check_android("m.so", newer, expect, (), ())
    assert (
        found.check is Check.ANDROID_API
        and "API level 28 (the bionic symbol version LIBC_P)" in found.message
    )
    audio = replace(info, android_api=None, needed=(*info.needed, "libaaudio.so"))
    [found] = check_android("m.so", audio, expect, (), ())
    assert "API level 26 (libaaudio.so, a system library since API 26)" in found.message
    assert check_android("m.so", audio, Expectations((decode("android_26_arm64_v8a"),), None), (), ()) == []


def test_system_library_table_reads_the_data_file() -> None:
    system = android_system()
    assert {"libc.so", "libm.so", "libdl.so", "liblog.so", "libandroid.so", "libz.so"} <= set(system.libs)
    assert "libc++_shared.so" not in system.libs
    assert system.versions["LIBC_N"] == 24


@pytest.mark.parametrize(
    ("tag", "family", "archs"),
    [
        ("ios_13_0_arm64_iphoneos", Family.IOS, {"aarch64"}),
        ("ios_12_0_x86_64_iphonesimulator", Family.IOS, {"x86_64"}),
        ("android_21_armeabi_v7a", Family.ANDROID, {"armv7l"}),
        ("android_24_x86", Family.ANDROID, {"i686"}),
        ("ios_13_0_x86_64_iphoneos", Family.IOS, {"x86_64"}),  # no device runs it; the tag still says so
    ],
)
def test_mobile_tags_decode_through_the_target_parser(tag: str, family: Family, archs: set[str]) -> None:
    claim = decode(tag)
    assert (claim.family, set(claim.archs)) == (family, archs)


# --- extension suffixes --------------------------------------------------------------------------


def test_device_suffix_in_a_simulator_wheel_is_refused(tmp_path: Path) -> None:
    data = apple(MachOPlatform.IOSSIMULATOR, (14, 0))
    path = wheel(tmp_path, data, "ios_13_0_arm64_iphonesimulator", IOS_EXT)
    found = errors(verify(path, "arm64-apple-ios-simulator"), Check.EXT_SUFFIX)
    assert found == [
        "ext-suffix: has an iOS device suffix (-iphoneos.so) but ios_13_0_arm64_iphonesimulator is for the "
        "simulator: the interpreter there will not import it",
        "ext-suffix: has an iOS device suffix (-iphoneos.so) but the target ios_13_0_arm64_iphonesimulator "
        "cp313 is for the simulator: the interpreter there will not import it",
    ]


def test_android_suffix_for_another_abi_or_platform_is_refused(tmp_path: Path) -> None:
    other_abi = wheel(
        tmp_path / "abi", binary(ANDROID), "android_24_arm64_v8a", "_s.cpython-313-x86_64-linux-android.so"
    )
    [found] = errors(verify(other_abi), Check.EXT_SUFFIX)
    assert "names x86_64 in its suffix (-x86_64-linux-android.so) but the wheel is for aarch64" in found
    linux = wheel(
        tmp_path / "linux", binary("aarch64-linux-gnu.2.17.so"), "manylinux_2_17_aarch64", ANDROID_EXT
    )
    [found] = errors(verify(linux), Check.EXT_SUFFIX)
    assert found.startswith(
        "ext-suffix: has an Android suffix (-aarch64-linux-android.so), but the wheel is for linux"
    )


@pytest.mark.parametrize(
    ("platform", "target"),
    [("musllinux_1_2_aarch64", None), ("manylinux_2_17_aarch64", "aarch64-manylinux_2_28")],
)
def test_android_module_in_a_linux_wheel_is_refused(
    tmp_path: Path, platform: str, target: str | None
) -> None:
    path = wheel(tmp_path, binary(ANDROID), platform, "_speedups.cpython-313-aarch64-linux-gnu.so")
    found = errors(verify(path, target), Check.LIBC)
    assert len(found) == 1 and "links against bionic, Android's C library" in found[0]
