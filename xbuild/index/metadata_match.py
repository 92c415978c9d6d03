"""Compare two core metadata documents on the fields a plan depends on. Pure functions."""

from __future__ import annotations

from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


def metadata_differences(planned: bytes, actual: bytes) -> list[str]:
    """One line per field among name, version, Requires-Dist and Requires-Python on which the
    planned metadata and the wheel's differ; spelling and order do not count."""
    want, have = parse_email(planned)[0], parse_email(actual)[0]
    found = []
    name = (canonicalize_name(want.get("name", "")), canonicalize_name(have.get("name", "")))
    if name[0] != name[1]:
        found.append(f"Name: the index says {name[0]}, the wheel says {name[1]}")
    if _version(want.get("version", "")) != _version(have.get("version", "")):
        found.append(f"Version: the index says {want.get('version')}, the wheel says {have.get('version')}")
    planned_reqs = {_requirement(r) for r in want.get("requires_dist", [])}
    wheel_reqs = {_requirement(r) for r in have.get("requires_dist", [])}
    if planned_reqs != wheel_reqs:
        added, dropped = sorted(planned_reqs - wheel_reqs), sorted(wheel_reqs - planned_reqs)
        parts = [f"only the index lists {added}"] if added else []
        parts += [f"only the wheel lists {dropped}"] if dropped else []
        found.append("Requires-Dist: " + ", ".join(parts))
    python = (_specifier(want.get("requires_python", "")), _specifier(have.get("requires_python", "")))
    if python[0] != python[1]:
        found.append(f"Requires-Python: the index says '{python[0]}', the wheel says '{python[1]}'")
    return found


def _version(text: str) -> Version | str:
    try:
        return Version(text)
    except InvalidVersion:
        return text


def _requirement(text: str) -> str:
    try:
        return str(Requirement(text))
    except InvalidRequirement:
        return " ".join(text.split())


def _specifier(text: str) -> SpecifierSet | str:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return text
