"""Run every check over what the archive pass read: a pure function of data and the target."""

from __future__ import annotations

import posixpath
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, cast

from xbuild.binary import BinaryFormat, BinaryInfo, ElfInfo
from xbuild.target import OS, Libc, Target
from xbuild.target.tags import Family
from xbuild.verify import abi3, binaries, elfload, linkage, suffix, wasm
from xbuild.verify.contents import Archive, Member
from xbuild.verify.layout import WheelDirs, check_paths, find_layout, installed_path
from xbuild.verify.metadata import WheelName, check_tags, check_wheel_metadata
from xbuild.verify.model import Check, Finding, Severity
from xbuild.verify.platforms import PlatformClaim, decode
from xbuild.verify.policy import Policy, load_policies
from xbuild.verify.record import check_record

if TYPE_CHECKING:
    from xbuild.binary.macho import MachOInfo
    from xbuild.binary.pe import PeInfo
    from xbuild.binary.wasm import WasmInfo

_ORDER = {check: i for i, check in enumerate(Check)}
# Names the loader or the import system would load as a binary, whatever the target's EXT_SUFFIX
# (which always ends in one of these).
_EXTENSION = re.compile(r"\.(so|pyd|dylib)$", re.IGNORECASE)


@dataclass(frozen=True)
class Context:
    """Everything a per-binary check needs, computed once per wheel (or installed tree)."""

    expect: binaries.Expectations
    layout: WheelDirs
    installed: linkage.Installed
    shipped: frozenset[str]  # basenames of every file, as the ELF loader matches DT_NEEDED
    unreachable: frozenset[tuple[str, str]]  # (installed path, soname): see elfload
    interpreters: suffix.Interpreters
    pure: bool  # every platform tag is `any`
    target: Target | None


def evaluate(name: WheelName | None, archive: Archive, target: Target | None) -> list[Finding]:
    """All findings for one wheel, errors first, in check order."""
    findings = list(archive.findings)
    if name is not None and target is not None:
        findings += check_tags(name, target)
    if archive.readable:
        findings += _contents(name, archive, target)
    return sort_findings(findings)


def _contents(name: WheelName | None, archive: Archive, target: Target | None) -> list[Finding]:
    members = archive.members
    layout = find_layout(
        (m.name for m in members), name.project if name else None, str(name.version) if name else None
    )
    ctx = _context(name, layout, members, target)
    findings = check_paths(members, layout)
    in_root = any(m.binary is not None and _in_root(m.name, layout) for m in members)
    findings += check_wheel_metadata(name, layout, archive.texts, in_root)
    if layout.dist_info is not None:
        findings += check_record(layout.dist_info, archive.texts.get(f"{layout.dist_info}/RECORD"), members)
    for member in members:
        findings += check_member(member, ctx)
    if name is not None and not ctx.pure and ctx.expect.claims and not any(m.binary for m in members):
        findings.append(binaries.no_binaries(name.tag_strings))
    return findings


def _context(
    name: WheelName | None, layout: WheelDirs, members: tuple[Member, ...], target: Target | None
) -> Context:
    claims = _claims(name)
    paths = [p for m in members if not m.is_dir and (p := installed_path(m.name, layout)) is not None]
    shipped = frozenset(posixpath.basename(p) for p in paths)
    elves = {
        where: m.info
        for m in members
        if isinstance(m.info, ElfInfo) and (where := installed_path(m.name, layout)) is not None
    }
    unreachable = {(u.needer, u.soname) for u in elfload.unreachable_vendored(elves, shipped)}
    return Context(
        expect=binaries.Expectations(claims, target),
        layout=layout,
        installed=linkage.Installed.of(paths),
        shipped=shipped,
        unreachable=frozenset(unreachable),
        interpreters=suffix.Interpreters.of(name.tags if name else ()),
        pure=name is not None and all(t.platform == "any" for t in name.tags),
        target=target,
    )


def tree_context(
    members: tuple[Member, ...], target: Target | None, *, library_dirs: tuple[str, ...] = ()
) -> Context:
    """The context of an installed tree: every file where it lies, no tags until `for_tags`.

    A library in one of `library_dirs` (on LD_LIBRARY_PATH where the tree is deployed) is found
    by the loader whatever RPATH its needer has.
    """
    ctx = _context(None, WheelDirs(None, None, ()), members, target)
    names = {m.name for m in members}
    on_path = {p for p in ctx.unreachable if any(d + p[1] in names for d in library_dirs)}
    return replace(ctx, unreachable=ctx.unreachable - on_path)


def for_tags(ctx: Context, name: WheelName | None) -> Context:
    """The same tree, with the tags of the distribution that installed a file (its WHEEL)."""
    return replace(
        ctx,
        expect=binaries.Expectations(_claims(name), ctx.target),
        interpreters=suffix.Interpreters.of(name.tags if name else ()),
        pure=name is not None and all(t.platform == "any" for t in name.tags),
    )


def sort_findings(findings: list[Finding]) -> list[Finding]:
    """Errors first, in check order; a finding seen twice (a member read twice) once."""
    unique = dict.fromkeys(findings)
    return sorted(unique, key=lambda f: (f.severity is not Severity.ERROR, _ORDER[f.check], f.member))


def _claims(name: WheelName | None) -> tuple[PlatformClaim, ...]:
    if name is None:
        return ()
    decoded = (decode(p) for p in sorted({t.platform for t in name.tags}))
    return tuple(c for c in decoded if c.os is not None)


def _in_root(member: str, layout: WheelDirs) -> bool:
    return layout.data_dir is None or not member.startswith(layout.data_dir + "/")


def check_member(member: Member, ctx: Context) -> list[Finding]:
    """Every per-binary check of one member; a file named as an extension module must be one."""
    if member.binary is None:
        return _implausible(member) or _not_a_binary(member, ctx)
    if wasm.is_data(member.name, member.binary):
        return []
    if ctx.pure:
        return binaries.check_pure(member.name, member.binary)
    if member.info is None:
        if _java_class(member):
            return []
        return binaries.check_unparsed(member.name, member.binary, member.parse_error or "unreadable")
    formats = binaries.check_format(member.name, member.binary, ctx.expect)
    if formats:
        return formats  # arch, libc and links mean nothing for a binary of the wrong OS
    findings = binaries.check_arch(member.name, member.info, ctx.expect)
    findings += list(_by_format(member, member.info, ctx))
    if suffix.is_extension_name(member.name):
        findings += suffix.check_suffix(
            member.name, suffix.SuffixContext(ctx.expect.claims, ctx.interpreters, ctx.target)
        )
    return findings


def _implausible(member: Member) -> list[Finding]:
    """A magic that sniff() rejected on second look: a hostile header, unless it is a Java class
    file (same magic as fat Mach-O) or a plain DOS stub that nothing would load as a module."""
    if member.claimed is BinaryFormat.MACHO and not member.name.endswith(".class"):
        return binaries.check_unparsed(
            member.name, member.claimed, "a fat header with an implausible slice count"
        )
    if member.claimed is BinaryFormat.PE and member.name.lower().endswith((".pyd", ".dll", ".exe")):
        return binaries.check_unparsed(
            member.name, member.claimed, "no PE signature where the DOS header points"
        )
    return []


def _not_a_binary(member: Member, ctx: Context) -> list[Finding]:
    """`binary-format`: a file the target's loader would be asked to load (.so, .pyd, .dylib)
    that is no binary at all: an import fails with "invalid ELF header" or the like."""
    regular = stat.S_IFMT(member.mode) in (0, stat.S_IFREG)
    if not member.read or not regular or not _EXTENSION.search(member.name):
        return []
    oses = [c.os for c in ctx.expect.claims if c.os is not None]
    os_ = ctx.target.os if ctx.target is not None else next(iter(oses), None)
    if os_ is None:
        return []  # a pure wheel checked without a target: no format to hold it to
    return binaries.check_not_binary(member.name, member.size, os_)


def _java_class(member: Member) -> bool:
    # Java class files share the fat Mach-O magic (0xCAFEBABE); one that fails to parse as
    # Mach-O and is named .class is a class file, not a broken binary.
    return member.binary is BinaryFormat.MACHO and member.name.endswith(".class")


def _by_format(member: Member, info: BinaryInfo, ctx: Context) -> Iterator[Finding]:
    where = installed_path(member.name, ctx.layout)
    if isinstance(info, ElfInfo):
        yield from _elf(member.name, where, info, ctx)
    elif info.FORMAT is BinaryFormat.MACHO:
        yield from _macho(member.name, where, cast("MachOInfo", info), ctx)
    elif info.FORMAT is BinaryFormat.WASM:
        yield from wasm.check_wasm(member.name, cast("WasmInfo", info), ctx.shipped)
    else:
        yield from linkage.check_pe_libs(
            member.name,
            cast("PeInfo", info),
            ctx.installed,
            ctx.interpreters.versions,
            is_abi3=ctx.interpreters.abi3,
        )


def _macho(member: str, where: str | None, info: MachOInfo, ctx: Context) -> Iterator[Finding]:
    # Imported here: the Apple checks (and the Mach-O parser they need) load only for a wheel
    # that holds a Mach-O; apple imports nothing of this module, so this hides no cycle.
    from xbuild.verify import apple

    yield from apple.check_apple_platform(member, info, ctx.expect)
    yield from binaries.check_macos_version(member, info, ctx.expect)
    if binaries.concerns(ctx.expect, OS.IOS):
        yield from apple.check_ios(member, where, info, ctx.expect, ctx.installed)
    else:
        yield from linkage.check_macho_libs(member, where, info, ctx.installed)


def _elf(member: str, where: str | None, info: ElfInfo, ctx: Context) -> Iterator[Finding]:
    if binaries.concerns(ctx.expect, OS.ANDROID):
        # Imported here: the Android checks and data load only for an Android wheel or target;
        # mobile imports nothing of this module, so this hides no cycle.
        from xbuild.verify import mobile

        pythons = ctx.interpreters.versions | ({ctx.target.python_version} if ctx.target else set())
        yield from mobile.check_android(member, info, ctx.expect, ctx.shipped, pythons)
    wrong_libc = binaries.check_libc(member, info, ctx.expect)
    if binaries.concerns(ctx.expect, OS.LINUX):
        wrong_libc = binaries.check_bionic_on_linux(member, info) or wrong_libc
    if wrong_libc:
        yield from wrong_libc  # symbol versions and allow-lists of the other libc say nothing more
        return
    policies = load_policies()
    rules = linkage.glibc_rules(ctx.expect.claims, ctx.target, info.arch, policies)
    if binaries.elf_libc(info) is not Libc.MUSL:
        yield from linkage.check_symbol_versions(member, info, rules)
    allow = [r.policy for r in rules if r.policy is not None] + _musl_policies(ctx, info.arch)
    yield from linkage.check_blacklisted_symbols(member, info, allow, ctx.shipped)
    yield from linkage.check_elf_libs(member, where, info, allow, ctx.shipped, ctx.unreachable)
    if ctx.interpreters.abi3:
        floor = min(ctx.interpreters.versions, default=None)
        yield from abi3.check_abi3(member, info, floor)


def _musl_policies(ctx: Context, arch: str) -> list[Policy]:
    policies = load_policies()
    found = [policies.for_tag(c.tag) for c in ctx.expect.claims if c.family is Family.MUSLLINUX]
    target = ctx.target
    if target is not None and target.libc is Libc.MUSL and target.libc_version is not None:
        found.append(policies.nearest(Libc.MUSL, target.libc_version, arch))
    return [p for p in found if p is not None]
