"""What verification produces: findings as data, one report per wheel, and the read limits."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from xbuild.limits import Limits as Limits  # noqa: PLC0414  (re-exported; its home is xbuild.limits)


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
    IOS_VERSION = "ios-version"
    ANDROID_API = "android-api"
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
