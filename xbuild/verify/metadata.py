"""The `filename`, `tags` and `wheel-metadata` checks: what the wheel says about itself."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from email.parser import HeaderParser

from packaging.tags import Tag, parse_tag
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from xbuild.target import Target
from xbuild.verify.hints import build_command, gil_mismatch
from xbuild.verify.layout import WheelDirs
from xbuild.verify.model import Check, Finding, error, warning


@dataclass(frozen=True)
class WheelName:
    """What the filename claims: the only source of tags that installers read."""

    project: str
    version: Version
    tags: frozenset[Tag]

    @property
    def tag_strings(self) -> tuple[str, ...]:
        return tuple(sorted(str(t) for t in self.tags))


def parse_filename(filename: str) -> WheelName | Finding:
    try:
        project, version, _build, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        return error(
            Check.FILENAME,
            "",
            f"{exc}; a wheel is named "
            "{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl: keep the name the "
            "build backend gave it",
        )
    return WheelName(str(project), version, tags)


def check_tags(name: WheelName, target: Target) -> list[Finding]:
    """Tag compatibility itself is decided by the target (the one home of that rule)."""
    if target.is_compatible(name.tags):
        return []
    return [
        error(
            Check.TAGS,
            "",
            f"none of the wheel's tags ({', '.join(name.tag_strings)}) is "
            f"installable on the target {target.platform_label}{gil_mismatch(name.tags, target)}; pip "
            f"would refuse it there: build for the target, e.g. `{build_command(target)}`",
        )
    ]


def check_wheel_metadata(
    name: WheelName | None, layout: WheelDirs, texts: Mapping[str, bytes], binaries_in_root: bool
) -> list[Finding]:
    if layout.dist_info is None:
        expected = f"{name.project}-{name.version}.dist-info/" if name else "<name>-<version>.dist-info/"
        return [
            error(
                Check.WHEEL_METADATA,
                "",
                f"no {expected} directory: this is not a wheel "
                "(or its metadata belongs to another name or version); rebuild it",
            )
        ]
    findings = _wheel_file(name, layout.dist_info, texts.get(f"{layout.dist_info}/WHEEL"), binaries_in_root)
    findings += _metadata_file(name, layout.dist_info, texts.get(f"{layout.dist_info}/METADATA"))
    return findings


def _headers(data: bytes) -> Message | str:
    try:
        return HeaderParser().parsestr(data.decode("utf-8"))
    except UnicodeDecodeError:
        return "is not UTF-8"


def _wheel_file(
    name: WheelName | None, dist_info: str, data: bytes | None, binaries_in_root: bool
) -> list[Finding]:
    member = f"{dist_info}/WHEEL"
    if data is None:
        return [
            error(
                Check.WHEEL_METADATA,
                member,
                "is missing; installers need it to know the wheel format version and tags: rebuild the wheel",
            )
        ]
    headers = _headers(data)
    if isinstance(headers, str):
        return [error(Check.WHEEL_METADATA, member, f"{headers}; rebuild the wheel")]
    findings = _wheel_version(member, headers.get("Wheel-Version"))
    if name is not None:
        findings += _tag_lines(member, headers.get_all("Tag") or [], name)
    findings += _purelib(member, headers.get("Root-Is-Purelib"), name, binaries_in_root)
    return findings


def _wheel_version(member: str, value: str | None) -> list[Finding]:
    if value is None:
        return [error(Check.WHEEL_METADATA, member, "has no Wheel-Version; rebuild the wheel")]
    major = value.strip().split(".")[0]
    if major != "1":
        return [
            error(
                Check.WHEEL_METADATA,
                member,
                f"declares Wheel-Version {value.strip()}; installers only accept 1.x",
            )
        ]
    return []


def _tag_lines(member: str, lines: list[str], name: WheelName) -> list[Finding]:
    findings: list[Finding] = []
    declared: set[Tag] = set()
    for line in lines:
        try:
            expanded = parse_tag(line.strip())
        except ValueError:
            findings.append(error(Check.WHEEL_METADATA, member, f"has a malformed Tag line {line.strip()!r}"))
            continue
        if len(expanded) > 1:
            # The spec asks for expanded tags; some backends (older maturin) write compressed ones
            # and installers never read them, so this alone does not refuse the wheel.
            findings.append(
                warning(
                    Check.WHEEL_METADATA,
                    member,
                    f"Tag line {line.strip()!r} is a compressed tag set; write one Tag line per tag",
                )
            )
        declared |= expanded
    missing = sorted(str(t) for t in name.tags - declared)
    extra = sorted(str(t) for t in declared - name.tags)
    if missing or extra:
        detail = "; ".join(
            part
            for part in (
                f"in the filename only: {', '.join(missing)}" if missing else "",
                f"in WHEEL only: {', '.join(extra)}" if extra else "",
            )
            if part
        )
        findings.append(
            error(
                Check.WHEEL_METADATA,
                member,
                f"Tag lines disagree with the filename "
                f"({detail}): the wheel was renamed after it was built; rebuild it, or "
                "retag it with `wheel tags` which updates both",
            )
        )
    return findings


def _purelib(member: str, value: str | None, name: WheelName | None, binaries_in_root: bool) -> list[Finding]:
    if value is None:
        return [error(Check.WHEEL_METADATA, member, "has no Root-Is-Purelib; rebuild the wheel")]
    flag = value.strip().lower()
    if flag not in ("true", "false"):
        return [
            error(Check.WHEEL_METADATA, member, f"Root-Is-Purelib is {value.strip()!r}, not true or false")
        ]
    if flag == "true" and binaries_in_root:
        return [
            error(
                Check.WHEEL_METADATA,
                member,
                "says Root-Is-Purelib: true but the wheel root "
                "holds compiled binaries, which belong in platlib (a separate directory on "
                "some systems, e.g. lib64): set Root-Is-Purelib: false, as build backends do "
                "for wheels with extension modules",
            )
        ]
    pure_tags = name is not None and all(t.platform == "any" for t in name.tags)
    if flag == "false" and pure_tags and not binaries_in_root:
        return [
            warning(
                Check.WHEEL_METADATA,
                member,
                "says Root-Is-Purelib: false for a pure "
                "Python wheel; harmless, but `true` is what installers expect",
            )
        ]
    return []


def _metadata_file(name: WheelName | None, dist_info: str, data: bytes | None) -> list[Finding]:
    member = f"{dist_info}/METADATA"
    if data is None:
        return [error(Check.WHEEL_METADATA, member, "is missing; rebuild the wheel")]
    headers = _headers(data)
    if isinstance(headers, str):
        return [error(Check.WHEEL_METADATA, member, f"{headers}; rebuild the wheel")]
    findings: list[Finding] = []
    if headers.get("Metadata-Version") is None:
        findings.append(error(Check.WHEEL_METADATA, member, "has no Metadata-Version"))
    meta_name, meta_version = headers.get("Name"), headers.get("Version")
    if meta_name is None or meta_version is None:
        return [*findings, error(Check.WHEEL_METADATA, member, "lacks Name or Version")]
    if name is None:
        return findings
    if canonicalize_name(meta_name.strip()) != canonicalize_name(name.project):
        findings.append(
            error(
                Check.WHEEL_METADATA,
                member,
                f"names the project {meta_name.strip()!r} "
                f"but the filename says {name.project!r}; the wheel was renamed: rebuild it",
            )
        )
    if not _version_equal(meta_version.strip(), name.version):
        findings.append(
            error(
                Check.WHEEL_METADATA,
                member,
                f"has Version {meta_version.strip()} but the filename says {name.version}; rebuild the wheel",
            )
        )
    return findings


def _version_equal(text: str, version: Version) -> bool:
    try:
        return Version(text) == version
    except InvalidVersion:
        return False
