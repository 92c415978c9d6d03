"""Build images as data (`images/images.toml`): which image serves which target."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xbuild.errors import InputError
from xbuild.target import Arch, Libc, Target


@dataclass(frozen=True, kw_only=True)
class ImageSpec:
    name: str
    local: bool  # built here by scripts/setup-engine.sh, versus pulled from a registry
    arch: Arch
    platform: str  # docker platform, e.g. linux/arm64
    libc: Libc
    libc_version: tuple[int, int]
    policy: str
    python: str  # "X.Y", or "multi" for manylinux-style images with /opt/python/*

    def serves_python(self, target: Target) -> bool:
        return self.python in ("multi", target.python)


def images_file() -> Path:
    override = os.environ.get("XBUILD_IMAGES_FILE")
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / "data" / "images" / "images.toml"


@cache
def load_images(path: Path | None = None) -> tuple[ImageSpec, ...]:
    source = path or images_file()
    try:
        data = tomllib.loads(source.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read image definitions {source}: {exc}") from exc
    return tuple(_spec(source, item) for item in data.get("image", []))


def _spec(source: Path, item: dict[str, object]) -> ImageSpec:
    try:
        major, minor = str(item["libc_version"]).split(".")
        return ImageSpec(
            name=str(item["name"]),
            local=bool(item.get("local", False)),
            arch=Arch(str(item["arch"])),
            platform=str(item["platform"]),
            libc=Libc(str(item["libc"])),
            libc_version=(int(major), int(minor)),
            policy=str(item["policy"]),
            python=str(item["python"]),
        )
    except (KeyError, ValueError) as exc:
        raise InputError(f"{source}: bad [[image]] entry {item.get('name')!r}: {exc}") from exc


def find_image(name: str) -> ImageSpec | None:
    return next((i for i in load_images() if i.name == name), None)


def default_image(target: Target, present: frozenset[str] = frozenset()) -> ImageSpec | None:
    """The image whose libc floor is highest without exceeding the target's, for its arch and Python.

    Images already present on the engine win over ones that would have to be pulled.
    """
    if target.libc_version is None:
        return None
    fits = [
        i
        for i in load_images()
        if i.arch is target.arch
        and i.libc is target.libc
        and i.libc_version <= target.libc_version
        and i.serves_python(target)
    ]
    if not fits:
        return None
    return max(fits, key=lambda i: (i.name in present, i.libc_version, i.local))
