"""The `xbuild build` command a finding suggests, spelled the way the user named the target."""

from __future__ import annotations

from collections.abc import Collection

from packaging.tags import Tag

from xbuild.target import Target


def build_command(target: Target) -> str:
    if target.python_version_source == "interpreter":
        return f"xbuild build --python {target.spec}"
    spec = target.name or target.spec or target.platform_tags[0]
    python = "" if target.name else f" --python-version {target.python}{'t' if target.free_threaded else ''}"
    return f"xbuild build --python-platform {spec}{python}"


def build_for_tag(platform_tag: str) -> str:
    return f"xbuild build --python-platform {platform_tag}"


def gil_mismatch(tags: Collection[Tag], target: Target) -> str:
    """Why a wheel for the target's own Python version still does not fit: its ABI is the other
    build (free-threaded `cp314t` against a GIL target, or the reverse), else ""."""
    same = sorted(
        (t for t in tags if t.interpreter == target.python_tag and t.abi.startswith(target.python_tag)),
        key=str,
    )
    if not same or any(t.abi == target.abi for t in same):
        return ""
    if target.free_threaded:
        return f" (the wheel is for the default GIL build, {same[0].abi}; the target is free-threaded)"
    return f" (the wheel is for the free-threaded build, {same[0].abi}; the target runs the GIL build)"
