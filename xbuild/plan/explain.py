"""Why no set of versions fits: per package in the conflict, what the index has and why each
version was skipped, with the TIP for the cause that blocked it. Pure: data in, an error out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from packaging.version import Version

from xbuild.errors import RefusedError
from xbuild.index import DistFile
from xbuild.plan.candidates import Cause, Drop, versions_of, wheel_tags
from xbuild.plan.model import PrereleaseMode, SourcePolicy
from xbuild.target import OS, Arch, Target
from xbuild.target.tags import parse_platform_tag

_SHOWN_VERSIONS = 4
_SHOWN_PLATFORMS = 6
# The cause whose TIP is given when several block the conflict's packages: the first one found.
_TIP_ORDER = (
    Cause.NOT_FOUND,
    Cause.URL,
    Cause.NO_SDIST,
    Cause.NO_WHEEL,
    Cause.REQUIRES_PYTHON,
    Cause.PRERELEASE,
    Cause.YANKED,
)


@dataclass(frozen=True, kw_only=True)
class Conflict:
    """What the resolver and the provider know when resolution fails."""

    requests: tuple[tuple[str, str, str], ...]  # (name, requirement, who asked)
    dropped: Mapping[str, Sequence[Drop]]
    files: Mapping[str, Sequence[DistFile]]
    target: Target
    policy: SourcePolicy
    prerelease: PrereleaseMode


def conflict_error(conflict: Conflict) -> RefusedError:
    lines = [f"{req} (requested by {who})" for _, req, who in conflict.requests]
    names = sorted({name for name, _, _ in conflict.requests})
    causes: set[Cause] = set()
    builds_off = False  # an sdist was there, but the source policy or --only-binary ruled it out
    for name in names:
        drops = conflict.dropped.get(name, ())
        causes.update(d.cause for d in drops)
        builds_off |= any(d.cause is Cause.NO_WHEEL and not all(f.is_wheel for f in d.files) for d in drops)
        lines.extend(_package_lines(name, drops, conflict))
    message = f"no set of versions fits {conflict.target.platform_label}:\n  " + "\n  ".join(
        dict.fromkeys(lines)
    )
    return RefusedError(message, hint=_tip(causes, names, conflict, builds_off))


def _package_lines(name: str, drops: Sequence[Drop], conflict: Conflict) -> list[str]:
    if any(d.cause in (Cause.NOT_FOUND, Cause.URL) for d in drops):
        return [f"{name}: {d.detail}" for d in drops]
    versions = versions_of(conflict.files.get(name, ()))
    if not versions:
        return []
    shown = ", ".join(str(v) for v in versions[:_SHOWN_VERSIONS])
    more = f" and {len(versions) - _SHOWN_VERSIONS} older" if len(versions) > _SHOWN_VERSIONS else ""
    count = f"{len(versions)} version{'s' if len(versions) > 1 else ''}"
    lines = [f"{name}: the index has {count} ({shown}{more})"]
    groups: dict[tuple[Cause, str, bool], list[Drop]] = {}
    for drop in drops:
        has_wheels = any(f.is_wheel for f in drop.files)
        groups.setdefault((drop.cause, drop.detail, has_wheels), []).append(drop)
    # Newest first, so the versions a user would want lead; one line per cause.
    ordered = sorted(groups.values(), key=lambda g: max(_versions(g)), reverse=True)
    for group in ordered:
        versions_skipped = sorted(dict.fromkeys(_versions(group)), reverse=True)
        listed = ", ".join(str(v) for v in versions_skipped[:_SHOWN_VERSIONS])
        hidden = len(versions_skipped) - _SHOWN_VERSIONS
        extra = f" (+{hidden} more)" if hidden > 0 else ""
        newest = max(group, key=lambda d: d.version or Version("0"))
        lines.append(f"{name} {listed}{extra}: {_cause_text(newest, conflict, len(versions_skipped) > 1)}")
    return lines


def _versions(group: Sequence[Drop]) -> list[Version]:
    return [d.version or Version("0") for d in group]


def _cause_text(drop: Drop, conflict: Conflict, several: bool) -> str:
    target = conflict.target
    if drop.cause is Cause.NO_WHEEL:
        which = f"{drop.version} has" if several else "it has"
        wheels = _wheels_for(drop.files, which, target.platform_tags[0])
        return f"no wheel for {target.platform_label}; {wheels}" + (
            ", and --source-policy never / --only-binary allows no build"
            if any(not f.is_wheel for f in drop.files)
            else ""
        )
    if drop.cause is Cause.REQUIRES_PYTHON:
        return f"requires Python {drop.detail}, the target has {target.python_full}"
    if drop.cause is Cause.YANKED:
        return f"yanked ({drop.detail or 'no reason given'})"
    if drop.cause is Cause.PRERELEASE:
        return f"a pre-release, not allowed under --prerelease {conflict.prerelease}"
    if drop.cause is Cause.NO_SDIST:
        return "no sdist to build under --no-binary"
    return drop.detail or str(drop.cause)


def _os(platform: str) -> OS | None:
    return parse_platform_tag(platform).os


def _same_arch(platform: str, near: str) -> bool:
    ours, theirs = parse_platform_tag(platform).arch, parse_platform_tag(near).arch
    return (
        bool(ours) and Arch.from_alias(ours) is not None and Arch.from_alias(ours) == Arch.from_alias(theirs)
    )


def _wheels_for(files: Sequence[DistFile], which: str, near: str) -> str:
    """The platforms (and Python tags) a version does have wheels for, to choose a target by."""
    platforms: set[str] = set()
    pythons: set[str] = set()
    for file in files:
        for tag in wheel_tags(file):
            platforms.add(tag.platform)
            pythons.add(tag.interpreter)
    if not platforms:
        return f"{which} only an sdist"
    # The target's OS first, then its arch: the nearest miss is the one to know about.
    names = sorted(platforms, key=lambda p: (_os(p) != _os(near), not _same_arch(p, near), p))
    shown = ", ".join(names[:_SHOWN_PLATFORMS])
    more = f" and {len(names) - _SHOWN_PLATFORMS} more" if len(names) > _SHOWN_PLATFORMS else ""
    return f"{which} wheels for {shown}{more} ({', '.join(sorted(pythons))})"


def _tip(causes: set[Cause], names: list[str], conflict: Conflict, builds_off: bool) -> str:
    first = next((c for c in _TIP_ORDER if c in causes), None)
    who = ", ".join(names)
    if first is Cause.NOT_FOUND:
        return "check the spelling, or add the index that hosts it with --extra-index-url"
    if first is Cause.URL:
        return "require one direct reference per package"
    if first is Cause.NO_SDIST:
        return f"drop --no-binary for {who} so its wheels can be used"
    if first is Cause.NO_WHEEL:
        if conflict.policy is SourcePolicy.NEVER:
            return "--source-policy prefer-binary (the default) builds from source when no wheel fits"
        if builds_off:
            return f"drop --only-binary for {who} to build it from its sdist, or choose a target with wheels"
        return "choose a target those wheels exist for, or add an index or --find-links with a wheel for it"
    if first is Cause.REQUIRES_PYTHON:
        return (
            f"choose a --python-version those versions support (the target has {conflict.target.python_full})"
        )
    if first is Cause.PRERELEASE:
        return "allow pre-releases with --prerelease allow (pip's --pre), or name one, e.g. `pkg>=2.0b1`"
    if first is Cause.YANKED:
        return "pin the yanked version exactly (`pkg==X`) to take it anyway"
    return "relax the conflicting requirements, or check the target's Python version"
