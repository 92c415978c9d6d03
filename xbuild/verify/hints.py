"""The `xbuild build` command a finding suggests, spelled the way the user named the target."""

from __future__ import annotations

from xbuild.target import Target


def build_command(target: Target) -> str:
    if target.python_version_source == "interpreter":
        return f"xbuild build --python {target.spec}"
    spec = target.name or target.spec or target.platform_tags[0]
    python = "" if target.name else f" --python-version {target.python}"
    return f"xbuild build --python-platform {spec}{python}"


def build_for_tag(platform_tag: str) -> str:
    return f"xbuild build --python-platform {platform_tag}"
