"""The `ext-suffix` check: extension module filenames an interpreter on the target will import.

CPython imports `mod.<EXT_SUFFIX>`, `mod.abi3.so` and `mod.so` on POSIX, and `mod.cpXY-<plat>.pyd`
and `mod.pyd` on Windows. A suffix names its own Python version and platform, and both must agree
with the wheel's tags and with the target.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection
from dataclasses import dataclass

from packaging.tags import Tag

from xbuild.target import OS, Libc, Target
from xbuild.target.tags import parse_platform_tag
from xbuild.verify.model import Check, Finding, error
from xbuild.verify.platforms import PlatformClaim, canonical_arch, target_arch

_CPYTHON_SO = re.compile(r"^[^.]+\.cpython-(\d)(\d+)([a-z]*)-([\w-]+)\.so$")
_ABI3_SO = re.compile(r"^[^.]+\.abi3\.so$")
_WIN_PYD = re.compile(r"^[^.]+\.cp(\d)(\d+)(t?)-(win32|win_amd64|win_arm64)\.pyd$")
_PLAIN = re.compile(r"^[^.]+\.(so|pyd)$")
_TRIPLET = re.compile(r"^(\w+)-linux-(gnu|musl)\w*$")
# CPython's PLATFORM_TRIPLET spells CPUs the Debian multiarch way, which Arch knows; big-endian
# ppc64 is outside Arch, and its tags spell it ppc64.
_TRIPLET_OUTSIDE_ARCH = {"powerpc64": "ppc64"}


@dataclass(frozen=True)
class Interpreters:
    """The CPython versions and ABIs the wheel's tags name."""

    versions: frozenset[tuple[int, int]]  # from cpXY interpreter tags
    abi3: bool
    free_threaded: bool  # an abi tag such as cp313t

    @classmethod
    def of(cls, tags: Collection[Tag]) -> Interpreters:
        versions = {
            (int(t.interpreter[2]), int(t.interpreter[3:]))
            for t in tags
            if re.fullmatch(r"cp\d\d+", t.interpreter)
        }
        return cls(
            frozenset(versions),
            any(t.abi == "abi3" for t in tags),
            any(re.fullmatch(r"cp\d+t", t.abi) is not None for t in tags),
        )


@dataclass(frozen=True)
class SuffixContext:
    claims: tuple[PlatformClaim, ...]
    interpreters: Interpreters
    target: Target | None


def is_extension_name(member: str) -> bool:
    base = posixpath.basename(member)
    return bool(_CPYTHON_SO.match(base) or _ABI3_SO.match(base) or _WIN_PYD.match(base) or _PLAIN.match(base))


def check_suffix(member: str, ctx: SuffixContext) -> list[Finding]:
    base = posixpath.basename(member)
    if m := _CPYTHON_SO.match(base):
        version = (int(m.group(1)), int(m.group(2)))
        return [*_platform(member, m.group(4), ctx), *_version(member, version, m.group(3), ctx)]
    if m := _WIN_PYD.match(base):
        version = (int(m.group(1)), int(m.group(2)))
        return [*_windows(member, m.group(4), ctx), *_version(member, version, m.group(3), ctx)]
    if base.endswith(".pyd"):
        return _need_os(member, OS.WINDOWS, ctx, ".pyd is the Windows extension suffix")
    if base.endswith(".so") and _oses(ctx) == {OS.WINDOWS}:
        return [
            error(
                Check.EXT_SUFFIX,
                member,
                "is named .so in a Windows wheel; Python on Windows "
                "only imports .pyd extension modules: rebuild on Windows",
            )
        ]
    return []


def _oses(ctx: SuffixContext) -> set[OS]:
    oses = {c.os for c in ctx.claims if c.os is not None}
    return oses | ({ctx.target.os} if ctx.target is not None else set())


def _need_os(member: str, os_: OS, ctx: SuffixContext, why: str) -> list[Finding]:
    wrong = sorted(str(o) for o in _oses(ctx) if o is not os_)
    if not wrong:
        return []
    return [
        error(
            Check.EXT_SUFFIX,
            member,
            f"{why}, but the wheel is for {', '.join(wrong)}: no "
            f"interpreter there will import it; rebuild the extension for that platform",
        )
    ]


def _platform(member: str, platform: str, ctx: SuffixContext) -> list[Finding]:
    if platform == "darwin":
        return _need_os(member, OS.MACOS, ctx, "has a macOS suffix (-darwin.so)")
    if (mobile_or_web := suffix_platform(platform)) is not None:
        return _mobile_or_web(member, platform, mobile_or_web, ctx)
    triplet = _TRIPLET.match(platform)
    if triplet is None:
        return []  # a platform CPython has no EXT_SUFFIX for
    findings = _need_os(member, OS.LINUX, ctx, f"has a Linux suffix (-{platform}.so)")
    if findings:
        return findings
    cpu = triplet.group(1)
    arch = _TRIPLET_OUTSIDE_ARCH.get(cpu) or canonical_arch(cpu)
    findings += _arch(member, arch, f"-{platform}.so", ctx)
    if triplet.group(2) == "musl":
        findings += _musl_on_glibc(member, platform, ctx)
    return findings


def _mobile_or_web(member: str, platform: str, named: SuffixPlatform, ctx: SuffixContext) -> list[Finding]:
    label = named.os.label
    article = "an" if label[0].lower() in "aeiou" else "a"
    findings = _need_os(member, named.os, ctx, f"has {article} {label} suffix (-{platform}.so)")
    if not findings and named.arch is not None:
        findings += _arch(member, named.arch, f"-{platform}.so", ctx)
    if not findings and named.simulator is not None:
        findings += check_sdk_suffix(member, named.simulator, ctx.claims, ctx.target)
    return findings


def _musl_on_glibc(member: str, platform: str, ctx: SuffixContext) -> list[Finding]:
    # glibc interpreters never import -linux-musl; musl ones before 3.13 often named themselves
    # -linux-gnu, so a -linux-gnu suffix in a musllinux wheel is not refused.
    glibc = [c.tag for c in ctx.claims if c.libc is Libc.GLIBC]
    if ctx.target is not None and ctx.target.libc is Libc.GLIBC:
        glibc.append(ctx.target.platform_label)
    if not glibc:
        return []
    return [
        error(
            Check.EXT_SUFFIX,
            member,
            f"has a musl suffix (-{platform}.so) but {glibc[0]} "
            "is glibc, whose interpreter will not import it: build it in a manylinux container",
        )
    ]


def _arch(member: str, arch: str, suffix: str, ctx: SuffixContext) -> list[Finding]:
    wanted = {a for c in ctx.claims if c.os is not None for a in c.archs}
    if ctx.target is not None:
        wanted.add(target_arch(ctx.target))
    if not wanted or canonical_arch(arch) in wanted:
        return []
    return [
        error(
            Check.EXT_SUFFIX,
            member,
            f"names {arch} in its suffix ({suffix}) but the wheel is "
            f"for {', '.join(sorted(wanted))}: built by an interpreter for another CPU",
        )
    ]


def _windows(member: str, platform: str, ctx: SuffixContext) -> list[Finding]:
    findings = _need_os(member, OS.WINDOWS, ctx, f"has a Windows suffix (-{platform}.pyd)")
    return findings or _arch(member, parse_platform_tag(platform).arch, f"-{platform}.pyd", ctx)


def _version(member: str, version: tuple[int, int], flags: str, ctx: SuffixContext) -> list[Finding]:
    label = f"{version[0]}.{version[1]}"
    interp = ctx.interpreters
    findings: list[Finding] = []
    if interp.abi3:
        findings.append(
            error(
                Check.EXT_SUFFIX,
                member,
                f"is built for CPython {label} only, but the "
                "wheel is tagged abi3 (any later version): build it with "
                "Py_LIMITED_API so it is named .abi3.so, or drop the abi3 tag",
            )
        )
    elif interp.versions and version not in interp.versions:
        wanted = ", ".join(f"{v[0]}.{v[1]}" for v in sorted(interp.versions))
        findings.append(
            error(
                Check.EXT_SUFFIX,
                member,
                f"is built for CPython {label} but the wheel "
                f"is tagged for {wanted}: it will not import; rebuild with the matching "
                "interpreter",
            )
        )
    target = ctx.target
    if target is not None and target.python_version != version:
        findings.append(
            error(
                Check.EXT_SUFFIX,
                member,
                f"is built for CPython {label} but the target "
                f"runs Python {target.python}: it will not import there",
            )
        )
    if ("t" in flags) != interp.free_threaded and interp.versions:
        kind = "free-threaded" if "t" in flags else "default (GIL)"
        findings.append(
            error(
                Check.EXT_SUFFIX,
                member,
                f"is built for the {kind} CPython build, "
                "which the wheel's ABI tag does not name: it will not import",
            )
        )
    return findings


# CPython's EXT_SUFFIX platform part on iOS (SDK name), Android (NDK triple) and Emscripten.
_SUFFIX = re.compile(r"^(?:(iphoneos|iphonesimulator)|(\w+)-linux-android(?:eabi)?|wasm32-emscripten)$")


@dataclass(frozen=True)
class SuffixPlatform:
    """What a `.cpython-313-<platform>.so` suffix names beyond desktop platforms."""

    os: OS
    arch: str | None = None  # Android's triple names the CPU; iOS's SDK name does not
    simulator: bool | None = None  # iOS only


def suffix_platform(platform: str) -> SuffixPlatform | None:
    match = _SUFFIX.match(platform)
    if match is None:
        return None
    sdk, android = match.group(1), match.group(2)
    if sdk is not None:
        return SuffixPlatform(os=OS.IOS, simulator=sdk == "iphonesimulator")
    if android is not None:
        return SuffixPlatform(os=OS.ANDROID, arch=canonical_arch(android))
    return SuffixPlatform(os=OS.EMSCRIPTEN, arch="wasm32")


def check_sdk_suffix(
    member: str, simulator: bool, claims: Collection[PlatformClaim], target: Target | None
) -> list[Finding]:
    """`ext-suffix`: a device module (-iphoneos.so) in a simulator wheel, or the reverse."""
    other = [c.tag for c in claims if c.os is OS.IOS and c.ios_simulator is not simulator]
    if target is not None and target.os is OS.IOS and target.ios_simulator is not simulator:
        other.append(f"the target {target.platform_label}")
    have = "iphonesimulator" if simulator else "iphoneos"
    return [
        error(
            Check.EXT_SUFFIX,
            member,
            f"has an iOS {'simulator' if simulator else 'device'} suffix (-{have}.so) but {where} is for "
            f"the {'device' if simulator else 'simulator'}: the interpreter there will not import it",
        )
        for where in other
    ]
