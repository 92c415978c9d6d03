"""What binaries load from outside themselves: `symbol-versions`, `blacklisted-symbols` and
`external-libs`.

manylinux and musllinux rules come from auditwheel's policy data (xbuild.verify.policy); the Windows
system DLL list is a data file generated from delvewheel's (see data/generate.py).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from xbuild.binary import ElfInfo
from xbuild.binary.elf import strong_imports
from xbuild.target import Arch, Libc, Target
from xbuild.target.tags import Family
from xbuild.verify.data import read_data
from xbuild.verify.hints import build_for_tag
from xbuild.verify.model import Check, Finding, error, warning
from xbuild.verify.platforms import PlatformClaim
from xbuild.verify.policy import Policy, PolicySet, is_loader

if TYPE_CHECKING:
    from xbuild.binary.macho import MachOInfo
    from xbuild.binary.pe import PeInfo

_PYTHON_DLL = re.compile(r"^python(\d)(\d+)?(t)?(_d)?\.dll$")
_API_SET = re.compile(r"^(api|ext)-ms-win-.*\.dll$")
# Shipped with every CPython for Windows since 3.5 (vcruntime140_1 for x64 and arm64 since 3.8);
# CPython itself needs the Universal CRT, so ucrtbase.dll is present wherever it runs.
_CPYTHON_RUNTIME = frozenset({"vcruntime140.dll", "vcruntime140_1.dll", "ucrtbase.dll"})
# The Visual C++ redistributable: present on most machines, but not guaranteed.
_VC_REDIST = re.compile(r"^(msvcp\d.*|concrt\d.*|vcomp\d.*|vccorlib\d.*|vcruntime\d.*)\.dll$")
_LIBPYTHON = re.compile(r"^libpython\d\.\d+[a-z]*\.so")
_MAC_SYSTEM = ("/usr/lib/", "/System/")


@dataclass(frozen=True)
class GlibcRule:
    """A glibc level a binary must fit: a tag's or the target's, with auditwheel's policy for it."""

    label: str  # "the tag manylinux_2_17_x86_64" or "the target (...)"
    version: tuple[int, int]
    policy: Policy | None


def glibc_rules(
    claims: Collection[PlatformClaim], target: Target | None, arch: str, policies: PolicySet
) -> list[GlibcRule]:
    """The lowest manylinux tag (the strictest claim) and the target's glibc, deduplicated."""
    rules: list[GlibcRule] = []
    tagged = [c for c in claims if c.family is Family.MANYLINUX and c.libc_version is not None]
    if tagged:
        lowest = min(tagged, key=lambda c: c.libc_version or (0, 0))
        assert lowest.libc_version is not None
        policy = policies.for_tag(lowest.tag) or policies.nearest(Libc.GLIBC, lowest.libc_version, arch)
        rules.append(GlibcRule(f"the tag {lowest.tag}", lowest.libc_version, policy))
    wanted = target.libc_version if target is not None and target.libc is Libc.GLIBC else None
    if target is not None and wanted is not None and (not rules or wanted < rules[0].version):
        policy = policies.nearest(Libc.GLIBC, wanted, arch)
        rules.append(GlibcRule(f"the target ({target.platform_label})", wanted, policy))
    return rules


def check_symbol_versions(member: str, info: ElfInfo, rules: list[GlibcRule]) -> list[Finding]:
    """`symbol-versions`: GLIBC_/GLIBCXX_/CXXABI_/GCC_ requirements fit each glibc rule."""
    findings: list[Finding] = []
    for rule in rules:
        too_new = sorted(
            {
                v
                for need in info.version_requirements
                if not is_loader(need.file)
                for v in need.versions
                if not _allowed(v, rule)
            },
            key=_version_key,
        )
        if too_new:
            findings.append(
                error(
                    Check.SYMBOL_VERSIONS,
                    member,
                    f"needs {', '.join(too_new)}, newer "
                    f"than {rule.label} allows (glibc {rule.version[0]}.{rule.version[1]}): "
                    "it would fail to load there; build in an older manylinux image "
                    f"(e.g. `{build_for_tag(f'manylinux_2_{rule.version[1]}_{info.arch}')}`) or tag the "
                    "wheel for "
                    "the glibc it needs",
                )
            )
    return findings


def check_blacklisted_symbols(
    member: str, info: ElfInfo, policies: Collection[Policy], shipped: Collection[str]
) -> list[Finding]:
    """`blacklisted-symbols`: no strong import of a symbol a policy's system library may not export.

    auditwheel's semantics: the library is a DT_NEEDED of this binary and the symbol an undefined
    one not bound STB_WEAK (the loader leaves a missing weak symbol null, so code can test for
    it). A library the wheel ships itself is the one that answers, so the system's does not count.
    """
    findings: list[Finding] = []
    for policy in policies:
        for soname in info.needed:
            banned = policy.blacklisted_symbols(soname)
            if not banned or soname in shipped:
                continue
            # "*" in a blacklist bans the whole library, as in auditwheel.
            if used := sorted(strong_imports(info, banned - {"*"}) | (banned & {"*"})):
                findings.append(_blacklisted(member, soname, used, policy))
    return findings


def _blacklisted(member: str, soname: str, used: list[str], policy: Policy) -> Finding:
    what = "any symbol" if used == ["*"] else ", ".join(used)
    return error(
        Check.BLACKLISTED_SYMBOLS,
        member,
        f"imports {what} from {soname}, which {policy.tag} does not allow (auditwheel's symbol "
        f"blacklist): the {soname} of many systems it covers does not export them, so the import "
        f'fails with "undefined symbol"; build in the {policy.tag} image (e.g. '
        f"`{build_for_tag(policy.tag)}`), reference them weakly, or link that library statically",
    )


def _allowed(requirement: str, rule: GlibcRule) -> bool:
    if rule.policy is not None and rule.policy.allows_version(requirement):
        return True
    # auditwheel lists only some glibc releases; a GLIBC_x.y at or below the rule's own version
    # is within it by definition (PEP 600), even where the nearest listed policy is older.
    prefix, _, number = requirement.partition("_")
    if prefix == "GLIBC":
        key = _numeric(number)
        return key is not None and key <= rule.version
    return rule.policy is None


def _numeric(text: str) -> tuple[int, ...] | None:
    parts = text.split(".")
    return tuple(int(p) for p in parts) if all(p.isdigit() for p in parts) else None


def _version_key(requirement: str) -> tuple[str, tuple[int, ...]]:
    prefix, _, number = requirement.partition("_")
    return prefix, _numeric(number) or ()


@dataclass(frozen=True)
class Installed:
    """The wheel's files as they land under site-packages, to resolve $ORIGIN/@loader_path links."""

    paths: frozenset[str]
    by_basename: Mapping[str, tuple[str, ...]]  # lower-cased basename -> installed paths

    @classmethod
    def of(cls, paths: Collection[str]) -> Installed:
        index: dict[str, list[str]] = {}
        for path in paths:
            index.setdefault(posixpath.basename(path).lower(), []).append(path)
        return cls(frozenset(paths), {k: tuple(v) for k, v in index.items()})


def check_elf_libs(
    member: str,
    where: str | None,
    info: ElfInfo,
    policies: list[Policy],
    shipped: Collection[str],
    unreachable: Collection[tuple[str, str]],
) -> list[Finding]:
    """`external-libs` for ELF: each DT_NEEDED is on every policy's allow-list, or shipped in the
    wheel (`shipped`: basenames) and found by the loader (`unreachable`: see elfload)."""
    findings: list[Finding] = []
    for soname in info.needed:
        if is_loader(soname):
            continue
        if soname in shipped:
            if (where, soname) in unreachable:
                findings.append(_unreachable(member, soname))
            continue
        refusing = [p for p in policies if not p.allows_library(soname)]
        if refusing:
            findings.append(_unvendored(member, soname, refusing))
    findings += _absolute_rpaths(member, info)
    return findings


def _unreachable(member: str, soname: str) -> Finding:
    return error(
        Check.EXTERNAL_LIBS,
        member,
        f"needs {soname}, which the wheel ships, but the loader will not find it: no RPATH or "
        "RUNPATH ($ORIGIN/...) of this binary, nor DT_RPATH of a binary that loads it, leads there; "
        "set them with `auditwheel repair` (which `xbuild build` runs)",
    )


def _unvendored(member: str, soname: str, refusing: list[Policy]) -> Finding:
    tags = ", ".join(p.tag for p in refusing)
    if _LIBPYTHON.match(soname):
        return error(
            Check.EXTERNAL_LIBS,
            member,
            f"links {soname}: extension modules must not link "
            "libpython (manylinux interpreters are static, so it is absent there); rebuild "
            "without -lpython",
        )
    return error(
        Check.EXTERNAL_LIBS,
        member,
        f"needs {soname}, which is neither on the {tags} "
        "allow-list nor vendored in the wheel: it will be missing on most systems; vendor "
        "it with `auditwheel repair` (which `xbuild build` runs)",
    )


def _inside(path: str, installed: Installed) -> bool:
    normal = posixpath.normpath(path)
    return not normal.startswith("../") and normal in installed.paths


def _absolute_rpaths(member: str, info: ElfInfo) -> list[Finding]:
    absolute = [p for raw in (*info.rpath, *info.runpath) for p in raw.split(":") if p.startswith("/")]
    if not absolute:
        return []
    return [
        warning(
            Check.EXTERNAL_LIBS,
            member,
            f"searches absolute library paths ({', '.join(absolute)}) "
            "from the build machine; they mean nothing on the target and can load the "
            "wrong library: use $ORIGIN-relative RUNPATH entries",
        )
    ]


def check_macho_libs(member: str, where: str | None, info: MachOInfo, installed: Installed) -> list[Finding]:
    """`external-libs` for Mach-O: every non-system dylib resolves inside the wheel."""
    findings: list[Finding] = []
    reported: set[str] = set()
    for piece in info.slices:
        for dylib in piece.load_dylibs:
            if dylib in reported or dylib.startswith(_MAC_SYSTEM) or dylib == piece.install_name:
                continue
            if not reachable_macho(dylib, where, piece.rpaths, installed):
                reported.add(dylib)
                findings.append(
                    error(
                        Check.EXTERNAL_LIBS,
                        member,
                        f"loads {dylib}, which is not a "
                        "macOS system library and does not resolve inside the wheel: it "
                        "will be missing on other Macs; vendor it with `delocate-wheel` "
                        "(which `xbuild build` runs)",
                    )
                )
    return findings


def reachable_macho(dylib: str, where: str | None, rpaths: tuple[str, ...], installed: Installed) -> bool:
    if where is None:
        return False
    loader = posixpath.dirname(where)
    if dylib.startswith("@loader_path/"):
        return _inside(posixpath.join(loader, dylib.removeprefix("@loader_path/")), installed)
    if not dylib.startswith("@rpath/"):
        return False  # absolute or @executable_path: outside the wheel either way
    rest = dylib.removeprefix("@rpath/")
    bases = (_loader_relative(r, loader) for r in rpaths)
    return any(_inside(posixpath.join(b, rest), installed) for b in bases if b is not None)


def _loader_relative(rpath: str, loader: str) -> str | None:
    if rpath == "@loader_path":
        return loader
    if rpath.startswith("@loader_path/"):
        return posixpath.join(loader, rpath.removeprefix("@loader_path/"))
    return None


def check_pe_libs(
    member: str,
    info: PeInfo,
    installed: Installed,
    python_versions: Collection[tuple[int, int]],
    *,
    is_abi3: bool,
) -> list[Finding]:
    """`external-libs` (and `abi3`) for PE: system DLLs, the right pythonXY.dll, or vendored DLLs."""
    findings: list[Finding] = []
    for dll in dict.fromkeys(name.lower() for name in (*info.imports, *info.delay_imports)):
        python = _PYTHON_DLL.match(dll)
        if python is not None:
            findings += _python_dll(member, dll, python, python_versions, is_abi3)
        elif (
            _API_SET.match(dll)
            or dll in _CPYTHON_RUNTIME
            or dll in windows_system_dlls(info.arch)
            or dll in installed.by_basename
        ):
            continue
        elif _VC_REDIST.match(dll):
            findings.append(
                warning(
                    Check.EXTERNAL_LIBS,
                    member,
                    f"imports {dll} from the Visual C++ "
                    "redistributable, which not every Windows machine has: vendor it "
                    "with `delvewheel repair`",
                )
            )
        else:
            findings.append(
                error(
                    Check.EXTERNAL_LIBS,
                    member,
                    f"imports {dll}, which is neither a "
                    "Windows system DLL nor vendored in the wheel: the import will fail "
                    'with "DLL load failed"; vendor it with `delvewheel repair`',
                )
            )
    return findings


def _python_dll(
    member: str, dll: str, match: re.Match[str], versions: Collection[tuple[int, int]], is_abi3: bool
) -> list[Finding]:
    if match.group(2) is None:
        return []  # python3.dll: the stable ABI, fine for every version
    version = (int(match.group(1)), int(match.group(2)))
    if is_abi3:
        return [
            error(
                Check.ABI3,
                member,
                f"imports {dll} in an abi3 wheel, so it only loads on "
                f"Python {version[0]}.{version[1]}: build with Py_LIMITED_API so it imports "
                "python3.dll",
            )
        ]
    if versions and version not in versions:
        wanted = ", ".join(f"{v[0]}.{v[1]}" for v in sorted(versions))
        return [
            error(
                Check.EXTERNAL_LIBS,
                member,
                f"imports {dll} (Python {version[0]}.{version[1]}) "
                f"but the wheel is for Python {wanted}: rebuild with the matching interpreter",
            )
        ]
    return []


@cache
def windows_system_dlls(arch: str) -> frozenset[str]:
    """DLLs every supported Windows install has, per architecture (data/windows-system-dlls.txt)."""
    text = read_data("windows-system-dlls.txt")
    known = Arch.from_alias(arch, variants=False)
    wanted = known.names.msvc if known is not None else None
    names: set[str] = set()
    for line in text.splitlines():
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if wanted is None or wanted in fields[1:]:
            names.add(fields[0].lower())
    return frozenset(names)
