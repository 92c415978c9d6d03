"""What verification produces: findings as data, one report per wheel, and the read limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class Check(StrEnum):
    """The name of each check; part of the JSON contract, so values never change."""

    ZIP = "zip"
    FILENAME = "filename"
    TAGS = "tags"
    WHEEL_METADATA = "wheel-metadata"
    RECORD = "record"
    PATH = "path"
    BINARY_FORMAT = "binary-format"
    ARCH = "arch"
    LIBC = "libc"
    SYMBOL_VERSIONS = "symbol-versions"
    BLACKLISTED_SYMBOLS = "blacklisted-symbols"
    EXTERNAL_LIBS = "external-libs"
    MACOS_VERSION = "macos-version"
    EXT_SUFFIX = "ext-suffix"
    PURELIB = "purelib"
    ABI3 = "abi3"


class Severity(StrEnum):
    ERROR = "error"  # the wheel is refused
    WARNING = "warning"  # worth a look; the wheel still passes


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem: which check saw it, how bad it is, where (a member name or "") and what to do."""

    check: Check
    severity: Severity
    member: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {
            "check": str(self.check),
            "severity": str(self.severity),
            "member": self.member,
            "message": self.message,
        }


def error(check: Check, member: str, message: str) -> Finding:
    return Finding(check, Severity.ERROR, member, message)


def warning(check: Check, member: str, message: str) -> Finding:
    return Finding(check, Severity.WARNING, member, message)


class Kind(StrEnum):
    """What a path was verified as; part of the JSON contract."""

    WHEEL = "wheel"
    INSTALLED = "installed"  # a Lambda function or layer zip, or a `pip install --target` tree


@dataclass(frozen=True, kw_only=True)
class WheelReport:
    """The verdict on one wheel or installed tree. For a wheel, `name`, `version` and `tags` are
    empty when the filename is invalid; an installed tree has none, and lists `distributions`."""

    path: Path
    ok: bool
    findings: tuple[Finding, ...]
    name: str = ""
    version: str = ""
    tags: tuple[str, ...] = ()
    kind: Kind = Kind.WHEEL
    distributions: tuple[str, ...] = ()  # "name version" of each installed distribution

    @property
    def errors(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity is Severity.WARNING)

    def to_json(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "name": self.name,
            "version": self.version,
            "tags": list(self.tags),
            "kind": str(self.kind),
            "distributions": list(self.distributions),
            "findings": [f.to_json() for f in self.findings],
        }


_MiB = 1 << 20
_GiB = 1 << 30


@dataclass(frozen=True, kw_only=True)
class Limits:
    """Caps on what one wheel may make verify read; exceeding one is a `zip` finding, not a crash.

    Defaults leave room for the largest real wheels (CUDA libraries of 1-2 GiB) while keeping a
    hostile archive from exhausting memory or time.
    """

    max_members: int = 200_000
    max_member_bytes: int = 4 * _GiB
    max_total_bytes: int = 16 * _GiB
    # A binary is held in memory while its headers are parsed.
    max_binary_bytes: int = 2 * _GiB
    # WHEEL, METADATA and RECORD are parsed as text.
    max_metadata_bytes: int = 64 * _MiB
    # Uncompressed bytes per byte of archive. Deflate cannot exceed ~1032:1 and real wheels stay
    # well under 50:1, so a higher claim is a zip bomb (including overlapping-entry bombs).
    max_expansion: int = 250
    # Below this many uncompressed bytes the expansion ratio is not enforced.
    expansion_floor: int = 64 * _MiB
    # Decompression step: bounds memory per read (zipfile never trusts file_size for this) while
    # keeping most members to a single zlib call.
    chunk_bytes: int = 16 * _MiB
