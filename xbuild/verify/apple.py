"""The Apple platform of every Mach-O, and the per-binary checks of iOS wheels.

iOS binaries are Mach-O like macOS ones, so the format check alone cannot tell them apart: a
slice names its platform in LC_BUILD_VERSION (device, simulator or macOS). Loaded only when a
wheel holds a Mach-O binary (checks.py), so verifying Linux wheels never imports the Mach-O parser.
"""

from __future__ import annotations

from dataclasses import dataclass

from xbuild.binary.macho import MachOInfo, MachOPlatform, MachOSlice
from xbuild.target import OS
from xbuild.verify.binaries import Expectations
from xbuild.verify.linkage import Installed, reachable_macho
from xbuild.verify.model import Check, Finding, error
from xbuild.verify.platforms import PlatformClaim, canonical_arch, target_arch

# Apple has no arm64 simulator before iOS 14, so clang gives an arm64 simulator slice a minimum
# of 14.0 whatever the deployment target: cibuildwheel's ios_13_0 simulator wheels carry 14.0.
_ARM64_SIMULATOR_FLOOR = (14, 0)
# A zippered macOS library also names Mac Catalyst, possibly first; both load into macOS Python.
_MACOS_PLATFORMS = frozenset({MachOPlatform.MACOS, MachOPlatform.MACCATALYST})
_APPLE_SYSTEM = ("/usr/lib/", "/System/Library/")
# iOS extension modules link the interpreter's framework, which the app embeds beside them.
_PYTHON_FRAMEWORK = "@rpath/Python.framework/Python"
_PLATFORM_LABEL = {
    MachOPlatform.MACOS: "macOS",
    MachOPlatform.IOS: "iOS devices",
    MachOPlatform.IOSSIMULATOR: "the iOS simulator",
    MachOPlatform.MACCATALYST: "Mac Catalyst",
}


@dataclass(frozen=True)
class _AppleNeed:
    platforms: frozenset[int]
    label: str  # "iOS devices"
    reason: str  # "the tag ios_13_0_arm64_iphoneos"
    os: OS


def check_apple_platform(member: str, info: MachOInfo, expect: Expectations) -> list[Finding]:
    """`binary-format`: every slice's LC_BUILD_VERSION platform is the one tags and target name."""
    findings: list[Finding] = []
    for piece in info.slices:
        platform = piece.platform
        if platform is None:
            continue  # no version command: an old or hand-made file, nothing to compare
        for need in dict.fromkeys(_apple_needs(expect)):
            if platform not in need.platforms:
                findings.append(_wrong_platform(member, piece, platform, need, expect))
    return findings


def _apple_needs(expect: Expectations) -> list[_AppleNeed]:
    needs = [_need(c.os, c.ios_simulator, f"the tag {c.tag}") for c in expect.claims if c.os is not None]
    target = expect.target
    if target is not None:
        needs.append(_need(target.os, target.ios_simulator, f"the target ({target.platform_label})"))
    return [n for n in needs if n is not None]


def _need(os_: OS, simulator: bool, reason: str) -> _AppleNeed | None:
    if os_ is OS.MACOS:
        return _AppleNeed(frozenset(_MACOS_PLATFORMS), "macOS", reason, os_)
    if os_ is OS.IOS:
        platform = MachOPlatform.IOSSIMULATOR if simulator else MachOPlatform.IOS
        return _AppleNeed(frozenset({platform}), _PLATFORM_LABEL[platform], reason, os_)
    return None


def _wrong_platform(
    member: str, piece: MachOSlice, platform: int, need: _AppleNeed, expect: Expectations
) -> Finding:
    have = _platform_label(platform)
    sdk = ""
    if need.os is OS.IOS:
        simulator = MachOPlatform.IOSSIMULATOR in need.platforms
        sdk = f", against the {'iPhoneSimulator' if simulator else 'iPhoneOS'} SDK"
    return error(
        Check.BINARY_FORMAT,
        member,
        f"{piece.arch} slice is built for {have} (LC_BUILD_VERSION platform {platform}) but "
        f"{need.reason} needs {need.label}: the loader refuses it there; {expect.hint(need.os)}{sdk}",
    )


def _platform_label(platform: int) -> str:
    try:
        known = MachOPlatform(platform)
    except ValueError:
        return f"Apple platform {platform}"
    return _PLATFORM_LABEL.get(known, known.name)


def check_ios(
    member: str, where: str | None, info: MachOInfo, expect: Expectations, installed: Installed
) -> list[Finding]:
    """`arch`, `ios-version` and `external-libs` for a Mach-O in an iOS wheel."""
    return [
        *_ios_arch(member, info, expect),
        *_ios_version(member, info, expect),
        *_ios_libs(member, where, info, installed),
    ]


def _ios_claims(expect: Expectations) -> list[PlatformClaim]:
    return [c for c in expect.claims if c.os is OS.IOS]


def _ios_arch(member: str, info: MachOInfo, expect: Expectations) -> list[Finding]:
    have = {canonical_arch(s.arch) for s in info.slices}
    wanted = [(a, f"the tag {c.tag}") for c in _ios_claims(expect) for a in sorted(c.archs)]
    if expect.target is not None and expect.target.os is OS.IOS:
        wanted.append((target_arch(expect.target), "the target"))
    label = "+".join(sorted(s.arch for s in info.slices)) or "no"
    return [
        error(
            Check.ARCH,
            member,
            f"has {label} slices but {reason} needs {arch}: built for the wrong CPU; {expect.hint(OS.IOS)}",
        )
        for arch, reason in dict.fromkeys(wanted)
        if arch not in have
    ]


def _ios_version(member: str, info: MachOInfo, expect: Expectations) -> list[Finding]:
    promises = [(c.ios_version, c.ios_simulator, c.archs, f"the tag {c.tag}") for c in _ios_claims(expect)]
    target = expect.target
    if target is not None and target.os is OS.IOS and target.ios_min is not None:
        promises.append(
            (target.ios_min, target.ios_simulator, frozenset({target_arch(target)}), "the target")
        )
    findings: list[Finding] = []
    for piece in info.slices:
        if piece.platform not in (MachOPlatform.IOS, MachOPlatform.IOSSIMULATOR) or piece.min_os is None:
            continue
        need, arch = piece.min_os[:2], canonical_arch(piece.arch)
        for version, simulator, archs, reason in promises:
            if version is None or arch not in archs:
                continue
            floor = _ARM64_SIMULATOR_FLOOR if simulator and arch == "aarch64" else (0, 0)
            promised = max(version, floor)
            if need > promised:
                findings.append(_too_new(member, piece.arch, need, promised, reason))
    return findings


def _too_new(
    member: str, arch: str, need: tuple[int, ...], promised: tuple[int, int], reason: str
) -> Finding:
    return error(
        Check.IOS_VERSION,
        member,
        f"{arch} slice needs iOS {need[0]}.{need[1]} but {reason} promises it runs on "
        f"{promised[0]}.{promised[1]}: it would fail to load there; rebuild with "
        f"IPHONEOS_DEPLOYMENT_TARGET={promised[0]}.{promised[1]} or tag the wheel ios_{need[0]}_{need[1]}",
    )


def _ios_libs(member: str, where: str | None, info: MachOInfo, installed: Installed) -> list[Finding]:
    findings: list[Finding] = []
    for piece in info.slices:
        for dylib in piece.load_dylibs:
            if (
                dylib.startswith(_APPLE_SYSTEM)
                or dylib in (_PYTHON_FRAMEWORK, piece.install_name)
                or reachable_macho(dylib, where, piece.rpaths, installed)
            ):
                continue
            findings.append(
                error(
                    Check.EXTERNAL_LIBS,
                    member,
                    f"loads {dylib}, which is neither an iOS system library, the Python framework "
                    "nor inside the wheel: the import fails on the device; ship it in the wheel "
                    "or link it statically",
                )
            )
    return list(dict.fromkeys(findings))
