"""The per-binary checks of Android wheels (Apple's are in apple.py).

Android binaries are ELF, so the format check alone cannot tell them from Linux builds: an
Android library links bionic (`libc.so`, LIBC symbol versions) and records the API level it was
built for in the NDK's `.note.android.ident`.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import cache

from xbuild.binary import ElfInfo
from xbuild.target import OS
from xbuild.verify.binaries import ANDROID_LINKER, Expectations
from xbuild.verify.data import read_data
from xbuild.verify.model import Check, Finding, error

_LIBPYTHON = re.compile(r"^libpython(\d)\.(\d+)[a-z]*\.so$")
# Evidence of another C library: glibc's or musl's loader and libc, or glibc's symbol versions.
_FOREIGN_LIBC = re.compile(r"^(libc\.so\.6|ld-linux[\w.-]*\.so\.\d+|ld64\.so\.[12]|ld-musl-\w+\.so\.1)$")
_GNU_VERSIONS = ("GLIBC_", "GLIBCXX_", "CXXABI_", "GCC_")


# --- Android -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AndroidSystem:
    """The NDK's stable system libraries and bionic's symbol versions, with their first API level."""

    libs: dict[str, int]
    versions: dict[str, int]


@cache
def android_system() -> AndroidSystem:
    libs: dict[str, int] = {}
    versions: dict[str, int] = {}
    for line in read_data("android-system-libs.txt").splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] in ("lib", "version"):
            (libs if fields[0] == "lib" else versions)[fields[1]] = int(fields[2])
    return AndroidSystem(libs, versions)


def check_android(
    member: str,
    info: ElfInfo,
    expect: Expectations,
    shipped: Collection[str],
    pythons: Collection[tuple[int, int]],
) -> list[Finding]:
    """`libc`, `external-libs` and `android-api` for an ELF in an Android wheel."""
    foreign = _foreign_libc(member, info, expect)
    if foreign:
        return [foreign]  # a glibc or musl build: its libraries and API levels say nothing more
    return [*_android_libs(member, info, expect, shipped, pythons), *_android_api(member, info, expect)]


def _foreign_libc(member: str, info: ElfInfo, expect: Expectations) -> Finding | None:
    gnu = sorted(
        {v for need in info.version_requirements for v in need.versions if v.startswith(_GNU_VERSIONS)}
    )
    loaders = [n for n in info.needed if _FOREIGN_LIBC.match(n)]
    interpreter = info.interpreter
    if interpreter is not None and not interpreter.startswith(ANDROID_LINKER):
        loaders.append(interpreter)
    if not gnu and not loaders:
        return None
    musl = not gnu and all("musl" in n for n in loaders)
    evidence = ", ".join([*loaders, *gnu[:3]])
    return error(
        Check.LIBC,
        member,
        f"links against {'musl' if musl else 'glibc'} ({evidence}) but Android's C library is bionic: "
        f"it fails to load on Android; {expect.hint(OS.ANDROID)}",
    )


def _android_libs(
    member: str,
    info: ElfInfo,
    expect: Expectations,
    shipped: Collection[str],
    pythons: Collection[tuple[int, int]],
) -> list[Finding]:
    system = android_system()
    findings: list[Finding] = []
    for soname in info.needed:
        if soname in shipped or soname in system.libs:
            continue
        python = _LIBPYTHON.match(soname)
        if python is not None:
            findings += _libpython(member, soname, (int(python.group(1)), int(python.group(2))), pythons)
            continue
        findings.append(_unshipped(member, soname, expect))
    return findings


def _libpython(
    member: str, soname: str, version: tuple[int, int], pythons: Collection[tuple[int, int]]
) -> list[Finding]:
    # Android's CPython is a shared libpython that extension modules link, as on Windows.
    if not pythons or version in pythons:
        return []
    wanted = ", ".join(f"{v[0]}.{v[1]}" for v in sorted(pythons))
    return [
        error(
            Check.EXTERNAL_LIBS,
            member,
            f"links {soname} (Python {version[0]}.{version[1]}) but the wheel is for Python {wanted}: "
            "the import fails; rebuild with the matching interpreter",
        )
    ]


def _unshipped(member: str, soname: str, expect: Expectations) -> Finding:
    why = (
        "the NDK's C++ runtime, which each app bundles itself: ship it in the wheel or link "
        "libc++ statically (-static-libstdc++)"
        if soname == "libc++_shared.so"
        else f"neither one of the NDK's stable system libraries nor shipped in the wheel: "
        f"{expect.hint(OS.ANDROID)}, with the library vendored"
    )
    return error(Check.EXTERNAL_LIBS, member, f"needs {soname}, which is {why}")


def _android_api(member: str, info: ElfInfo, expect: Expectations) -> list[Finding]:
    promises = [(c.android_api, f"the tag {c.tag}") for c in expect.claims if c.android_api is not None]
    target = expect.target
    if target is not None and target.os is OS.ANDROID and target.android_api is not None:
        promises.append((target.android_api, f"the target ({target.platform_label})"))
    needs = _api_needs(info)
    if not promises or not needs:
        return []
    need, source = max(needs)
    findings: list[Finding] = []
    for promised, reason in dict.fromkeys(promises):
        if need > promised:
            findings.append(
                error(
                    Check.ANDROID_API,
                    member,
                    f"needs Android API level {need} ({source}) but {reason} promises {promised}: "
                    f"it fails to load on older devices; build with the NDK for API {promised} "
                    f"(ANDROID_API_LEVEL={promised}) or tag the wheel android_{need}",
                )
            )
    return findings


def _api_needs(info: ElfInfo) -> list[tuple[int, str]]:
    """The API levels the binary needs, with what says so: the NDK's note, bionic symbol versions
    and system libraries (the highest of each kind)."""
    system = android_system()
    needs: list[tuple[int, str]] = []
    if info.android_api is not None:
        needs.append((info.android_api, "its .note.android.ident, the NDK's record of what it was built for"))
    versions = [
        (system.versions[v], v)
        for need in info.version_requirements
        for v in need.versions
        if v in system.versions
    ]
    if versions:
        level, name = max(versions)
        needs.append((level, f"the bionic symbol version {name}"))
    libs = [(system.libs[n], n) for n in info.needed if n in system.libs]
    if libs:
        level, name = max(libs)
        needs.append((level, f"{name}, a system library since API {level}"))
    return needs
