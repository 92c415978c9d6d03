"""What a wheel's platform tag claims about the binaries inside: OS, architectures, libc, versions.

Tags are decoded by `xbuild.target.tags` and names resolved by `Arch`; this only says what verify
holds binaries to. Whether a tag runs on a target is not decided here: that is
`Target.is_compatible`, the one home of tag compatibility.
"""

from __future__ import annotations

from dataclasses import dataclass

from xbuild.target import OS, Arch, Libc, Target
from xbuild.target.tags import Family, PlatformTag, parse_platform_tag

# The platforms whose binaries verify checks: every family that names an OS.
_CHECKED = frozenset(f for f in Family if f.os is not None)


@dataclass(frozen=True)
class PlatformClaim:
    tag: str
    family: Family
    os: OS | None  # None: no binary check for this tag
    archs: frozenset[str]  # canonical names (see canonical_arch); every binary must hold all
    libc: Libc | None = None
    libc_version: tuple[int, int] | None = None
    macos_version: tuple[int, int] | None = None
    ios_version: tuple[int, int] | None = None
    ios_simulator: bool = False
    android_api: int | None = None


def canonical_arch(name: str) -> str:
    """One spelling per architecture across ELF, Mach-O, PE and tags (arm64 -> aarch64): the Arch,
    or the name itself for a CPU outside it. Sub-architectures (arm64e) stay apart: their
    binaries do not load where the plain arch is promised."""
    arch = Arch.from_alias(name, variants=False)
    return name.lower() if arch is None else str(arch)


def target_arch(target: Target) -> str:
    return str(target.arch)


def decode(tag: str) -> PlatformClaim:
    """What one platform tag claims; unknown spellings claim nothing rather than raise."""
    parsed = parse_platform_tag(tag)
    if parsed.family not in _CHECKED:
        return PlatformClaim(tag, parsed.family, None, frozenset())
    names = parsed.mac_archs if parsed.family is Family.MACOS else (parsed.arch,)
    version = _pair(parsed)
    return PlatformClaim(
        tag,
        parsed.family,
        parsed.os,
        frozenset(canonical_arch(a) for a in names),
        libc=parsed.family.libc,
        libc_version=version if parsed.family.libc is not None else None,
        macos_version=version if parsed.family is Family.MACOS else None,
        ios_version=version if parsed.family is Family.IOS else None,
        ios_simulator=parsed.simulator,
        android_api=parsed.version[0] if parsed.family is Family.ANDROID and parsed.version else None,
    )


def _pair(tag: PlatformTag) -> tuple[int, int] | None:
    return (tag.version[0], tag.version[1]) if len(tag.version) == 2 else None
