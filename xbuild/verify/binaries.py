"""The per-binary checks that need no policy data: `binary-format`, `arch`, `libc`, `macos-version`.

Each function takes one binary (found by its magic bytes, never by its name), what the wheel's
platform tags claim, and the target; it returns findings and never raises.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from xbuild.binary import BinaryFormat, BinaryInfo, ElfInfo
from xbuild.target import OS, Arch, Libc, Target
from xbuild.target.defaults import load_defaults
from xbuild.target.tags import Family
from xbuild.verify.hints import build_command, build_for_tag
from xbuild.verify.model import Check, Finding, error, warning
from xbuild.verify.platforms import PlatformClaim, canonical_arch, target_arch

if TYPE_CHECKING:
    from xbuild.binary.macho import MachOInfo
    from xbuild.binary.pe import PeInfo
    from xbuild.binary.wasm import WasmInfo

# The OSes whose loader takes each format (Android's is ELF, iOS's Mach-O, Pyodide's wasm).
FORMAT_OS: dict[BinaryFormat, tuple[OS, ...]] = {
    BinaryFormat.ELF: (OS.LINUX, OS.ANDROID),
    BinaryFormat.MACHO: (OS.MACOS, OS.IOS),
    BinaryFormat.PE: (OS.WINDOWS,),
    BinaryFormat.WASM: (OS.EMSCRIPTEN,),
}
_FORMAT_LABEL = {
    BinaryFormat.ELF: "an ELF (Linux)",
    BinaryFormat.MACHO: "a Mach-O (macOS)",
    BinaryFormat.PE: "a PE (Windows)",
    BinaryFormat.WASM: "a WebAssembly (Pyodide)",
}
_WHERE = {OS.LINUX: "in a Linux container", OS.MACOS: "on macOS", OS.WINDOWS: "on Windows"}
# glibc's libc.so is a linker script, never a DT_NEEDED; musl toolchains (zig, musl-gcc) name it.
_MUSL_MARKERS = re.compile(r"^(ld-musl-[\w]+\.so\.1|libc\.musl-[\w]+\.so\.1|libc\.so)$")
_GLIBC_MARKERS = re.compile(r"^(ld-linux[\w.-]*\.so\.\d+|ld64\.so\.[12]|libc\.so\.6)$")
# Android's loader, named by PT_INTERP of NDK executables.
ANDROID_LINKER = "/system/bin/linker"
# Apple never shipped an arm64 macOS before 11.0, so arm64 slices of a macosx_10_9 wheel need 11.0.
_ARM64_FLOOR = (11, 0)


@dataclass(frozen=True)
class Expectations:
    """What the binaries of one wheel must satisfy: its platform claims and, optionally, the target."""

    claims: tuple[PlatformClaim, ...]  # platform tags naming an OS (not `any`, not unknown)
    target: Target | None

    def hint(self, os_: OS) -> str:
        """A command that builds for the right platform, for the end of a message."""
        builder = load_defaults().builder(os_)
        if builder is not None:
            return f"rebuild it with {builder}"  # no xbuild route builds for iOS, Android, Pyodide
        tag = next((c.tag for c in self.claims if c.os is os_), None)
        if self.target is not None and self.target.os is os_:
            command: str | None = build_command(self.target)
        else:
            command = build_for_tag(tag) if tag else None
        example = f", e.g. `{command}`" if command else ""
        return f"rebuild it {_WHERE[os_]}{example}"


def check_format(member: str, kind: BinaryFormat, expect: Expectations) -> list[Finding]:
    """`binary-format`: a binary must be the executable format of every OS the wheel claims."""
    findings: list[Finding] = []
    wanted = [(c.os, f"the wheel is tagged {c.tag}") for c in expect.claims if c.os is not None]
    if expect.target is not None:
        wanted.append((expect.target.os, f"the target is {expect.target.os.label}"))
    seen: set[OS] = set()
    for os_, reason in wanted:
        if os_ in FORMAT_OS[kind] or os_ in seen:
            continue
        seen.add(os_)
        findings.append(
            error(
                Check.BINARY_FORMAT,
                member,
                f"is {_FORMAT_LABEL[kind]} binary but "
                f"{reason}, which needs {os_.label} binaries: built on the wrong "
                f"platform; {expect.hint(os_)}",
            )
        )
    return findings


def check_not_binary(member: str, size: int, os_: OS) -> list[Finding]:
    kind = next(k for k, oses in FORMAT_OS.items() if os_ in oses)
    return [
        error(
            Check.BINARY_FORMAT,
            member,
            f"is named as an extension module or shared library but is not {_FORMAT_LABEL[kind]} "
            f"binary (nor any binary: {size} bytes of other data): loading it fails; ship the "
            "compiled file, not a placeholder, script or text",
        )
    ]


def check_unparsed(member: str, kind: BinaryFormat, problem: str) -> list[Finding]:
    return [
        error(
            Check.BINARY_FORMAT,
            member,
            f"starts like {_FORMAT_LABEL[kind]} binary but its "
            f"headers are malformed ({problem}): a truncated or corrupted file; rebuild the wheel",
        )
    ]


def check_arch(member: str, info: BinaryInfo, expect: Expectations) -> list[Finding]:
    """`arch`: ELF machine/class/byte order, every Mach-O slice and PE Machine fit tags and target."""
    if info.FORMAT is BinaryFormat.MACHO:
        return _macho_arch(member, cast("MachOInfo", info), expect)
    return _one_arch(member, cast("ElfInfo | PeInfo | WasmInfo", info), expect)


def _one_arch(member: str, info: ElfInfo | PeInfo | WasmInfo, expect: Expectations) -> list[Finding]:
    have = canonical_arch(info.arch)
    findings: list[Finding] = []
    for arch, reason, os_ in _wanted_archs(expect, _info_os(info)):
        if have != arch:
            findings.append(
                error(
                    Check.ARCH,
                    member,
                    f"is built for {info.arch} but {reason} "
                    f"needs {arch}: cross-compiled for the wrong CPU; "
                    f"{expect.hint(os_)}",
                )
            )
    if isinstance(info, ElfInfo) and not findings:
        findings += _elf_layout(member, info, have)
    return findings


def _info_os(info: BinaryInfo) -> tuple[OS, ...]:
    return (OS.MACOS,) if info.FORMAT is BinaryFormat.MACHO else FORMAT_OS[info.FORMAT]


def _wanted_archs(expect: Expectations, oses: tuple[OS, ...]) -> list[tuple[str, str, OS]]:
    wanted = [
        (arch, f"the tag {c.tag}", c.os) for c in expect.claims if c.os in oses for arch in sorted(c.archs)
    ]
    if expect.target is not None and expect.target.os in oses:
        wanted.append((target_arch(expect.target), "the target", expect.target.os))
    return list(dict.fromkeys(wanted))


def _elf_layout(member: str, info: ElfInfo, arch: str) -> list[Finding]:
    """The ELF class and byte order the arch's wheels need (Arch.names.elf)."""
    known = Arch.from_alias(arch, variants=False)
    ident = known.names.elf if known is not None else None
    if ident is None or (ident.bits, ident.endian) == (info.elf_class, info.endian):
        return []
    layout = (ident.bits, ident.endian)
    return [
        error(
            Check.ARCH,
            member,
            f"is a {info.elf_class}-bit {info.endian}-endian ELF, but "
            f"{arch} wheels need {layout[0]}-bit {layout[1]}-endian (an x32 or big-endian "
            "build of the right CPU is still the wrong ABI); rebuild for the standard ABI",
        )
    ]


def _macho_arch(member: str, info: MachOInfo, expect: Expectations) -> list[Finding]:
    have = {canonical_arch(s.arch) for s in info.slices}
    label = "+".join(sorted(s.arch for s in info.slices)) or "no"
    findings: list[Finding] = []
    for claim in expect.claims:
        missing = sorted(claim.archs - have) if claim.os is OS.MACOS else []
        if missing:
            findings.append(
                error(
                    Check.ARCH,
                    member,
                    f"has {label} slices but the tag {claim.tag} "
                    f"needs {', '.join(_mac_name(a) for a in missing)} too: build each "
                    'architecture and merge them (`lipo`, or ARCHFLAGS="-arch arm64 '
                    '-arch x86_64"), or tag the wheel for the slices it has',
                )
            )
    if expect.target is not None and expect.target.os is OS.MACOS and target_arch(expect.target) not in have:
        findings.append(
            error(
                Check.ARCH,
                member,
                f"has {label} slices, none for the target's "
                f"{_mac_name(target_arch(expect.target))}; {expect.hint(OS.MACOS)}",
            )
        )
    return findings


def _mac_name(arch: str) -> str:
    known = Arch.from_alias(arch, variants=False)
    return (known.names.macho_name if known is not None else None) or arch


def elf_libc(info: ElfInfo) -> Libc | None:
    """The C library an ELF links against, from PT_INTERP and DT_NEEDED; None when it names none."""
    names = [*info.needed, *([info.interpreter.rsplit("/", 1)[-1]] if info.interpreter else [])]
    if any(_MUSL_MARKERS.match(n) for n in names):
        return Libc.MUSL
    if any(_GLIBC_MARKERS.match(n) for n in names):
        return Libc.GLIBC
    if any(v.startswith("GLIBC_") for need in info.version_requirements for v in need.versions):
        return Libc.GLIBC
    return None


def check_libc(member: str, info: ElfInfo, expect: Expectations) -> list[Finding]:
    """`libc`: glibc binaries in manylinux wheels and for glibc targets, musl for musllinux."""
    have = elf_libc(info)
    if have is None:
        return []
    wanted = [(c.libc, f"the tag {c.tag}", build_for_tag(c.tag)) for c in expect.claims if c.libc is not None]
    target = expect.target
    if target is not None and target.os is OS.LINUX and target.libc in (Libc.GLIBC, Libc.MUSL):
        wanted.append((target.libc, f"the target ({target.platform_label})", build_command(target)))
    findings: list[Finding] = []
    for libc, reason, command in dict.fromkeys(wanted):
        if libc is not have:
            findings.append(
                error(
                    Check.LIBC,
                    member,
                    f"links against {_libc_label(have)} but "
                    f"{reason} needs {_libc_label(libc)}: it would fail to load there; "
                    f"build it in a {'musllinux' if libc is Libc.MUSL else 'manylinux'} "
                    f"container, e.g. `{command}`",
                )
            )
    return findings


def concerns(expect: Expectations, os_: OS) -> bool:
    """The wheel's tags or the target name this OS."""
    return any(c.os is os_ for c in expect.claims) or (expect.target is not None and expect.target.os is os_)


def is_bionic(info: ElfInfo) -> bool:
    """Built with the NDK: its note, bionic's LIBC symbol versions, or Android's loader."""
    return (
        info.android_api is not None
        or any(n.file == "libc.so" and "LIBC" in n.versions for n in info.version_requirements)
        or (info.interpreter or "").startswith(ANDROID_LINKER)
    )


def check_bionic_on_linux(member: str, info: ElfInfo) -> list[Finding]:
    """`libc`: an Android (bionic) build in a Linux wheel; bionic's `libc.so` reads as musl's."""
    if not is_bionic(info):
        return []
    return [
        error(
            Check.LIBC,
            member,
            "links against bionic, Android's C library (an NDK build), but the wheel or target is "
            "Linux: it fails to load there; build it in a manylinux or musllinux container",
        )
    ]


def _libc_label(libc: Libc) -> str:
    return "musl" if libc is Libc.MUSL else "glibc"


def check_macos_version(member: str, info: MachOInfo, expect: Expectations) -> list[Finding]:
    """`macos-version`: no slice may need a newer macOS than its tag or the target promises."""
    findings: list[Finding] = []
    for piece in info.slices:
        minos = piece.min_macos
        if minos is None:
            continue
        need = (minos[0], minos[1])
        arch = canonical_arch(piece.arch)
        findings += _versus_tags(member, piece.arch, arch, need, expect.claims)
        target = expect.target
        if (
            target is not None
            and target.os is OS.MACOS
            and target.macos_min is not None
            and arch == target_arch(target)
            and need > target.macos_min
        ):
            findings.append(
                error(
                    Check.MACOS_VERSION,
                    member,
                    f"{piece.arch} slice needs macOS "
                    f"{_dotted(need)} but the target is macOS {_dotted(target.macos_min)}: "
                    f"rebuild with MACOSX_DEPLOYMENT_TARGET={_dotted(target.macos_min)}",
                )
            )
    return findings


def _versus_tags(
    member: str, label: str, arch: str, need: tuple[int, int], claims: Sequence[PlatformClaim]
) -> list[Finding]:
    findings = []
    for claim in claims:
        if claim.family is not Family.MACOS or claim.macos_version is None or arch not in claim.archs:
            continue
        promised = max(claim.macos_version, _ARM64_FLOOR) if arch == "aarch64" else claim.macos_version
        if need > promised:
            findings.append(
                error(
                    Check.MACOS_VERSION,
                    member,
                    f"{label} slice needs macOS "
                    f"{_dotted(need)} but the tag {claim.tag} promises it runs on "
                    f"{_dotted(promised)}: it would fail to load there; rebuild with "
                    f"MACOSX_DEPLOYMENT_TARGET={_dotted(promised)} or tag the wheel "
                    f"macosx_{need[0]}_{need[1]}",
                )
            )
    return findings


def _dotted(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


def check_pure(member: str, kind: BinaryFormat) -> list[Finding]:
    """`purelib`: a wheel whose platform is `any` installs everywhere, so it may hold no binary."""
    return [
        error(
            Check.PURELIB,
            member,
            f"is {_FORMAT_LABEL[kind]} binary in a wheel tagged for "
            "any platform: it would be installed everywhere but only runs on one; build "
            "platform wheels (the build backend tags them when extension modules are built) "
            "or drop the binary from the wheel",
        )
    ]


def no_binaries(tags: Sequence[str]) -> Finding:
    return warning(
        Check.PURELIB,
        "",
        f"is tagged for a platform ({', '.join(tags)}) but holds no "
        "compiled binary: if it is pure Python, tag it py3-none-any so it installs everywhere",
    )
