"""Build images as data (`images/images.toml`): which image serves which target."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True, kw_only=True)
class ImagePython:
    """One interpreter found inside an image, as it answered when run there."""

    version: str  # "X.Y"
    path: str  # where it is inside the image
    implementation: str = "cpython"
    free_threaded: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "version": self.version,
            "path": self.path,
            "implementation": self.implementation,
            "free_threaded": self.free_threaded,
        }


@dataclass(frozen=True, kw_only=True)
class ImageFacts:
    """What an image really is, learnt by running it once (cached per image ID by xbuild.host.images).

    `image_id` None means the engine does not have the image; `error` says why a present image
    could not be inspected. The route checks refuse on either before any build starts.
    """

    image: str  # the reference as asked for
    image_id: str | None
    arch: Arch | None = None  # from `uname -m` inside
    machine: str | None = None  # `uname -m` as printed
    libc: Libc | None = None
    libc_version: tuple[int, int] | None = None
    pythons: tuple[ImagePython, ...] = ()
    compiler: str | None = None  # path of cc or gcc, None when the image has neither
    error: str | None = None

    @property
    def present(self) -> bool:
        return self.image_id is not None

    def python_for(self, version: str, implementation: str = "cpython") -> str | None:
        """The path of a GIL-enabled interpreter of `version` ("X.Y"), or None."""
        return next(
            (
                p.path
                for p in self.pythons
                if p.version == version and p.implementation == implementation and not p.free_threaded
            ),
            None,
        )

    def to_json(self) -> dict[str, object]:
        return {
            "image": self.image,
            "image_id": self.image_id,
            "present": self.present,
            "arch": None if self.arch is None else str(self.arch),
            "machine": self.machine,
            "libc": None if self.libc is None else str(self.libc),
            "libc_version": None if self.libc_version is None else ".".join(map(str, self.libc_version)),
            "pythons": [p.to_json() for p in self.pythons],
            "compiler": self.compiler,
            "error": self.error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ImageFacts:
        """Read back what `to_json` wrote; ValueError when it does not fit."""
        if not isinstance(data, Mapping):
            raise ValueError(f"not image facts: a JSON {type(data).__name__}")
        try:
            version = data.get("libc_version")
            major, minor = str(version).split(".") if version else (None, None)
            return cls(
                image=str(data["image"]),
                image_id=None if data.get("image_id") is None else str(data["image_id"]),
                arch=None if data.get("arch") is None else Arch(str(data["arch"])),
                machine=None if data.get("machine") is None else str(data["machine"]),
                libc=None if data.get("libc") is None else Libc(str(data["libc"])),
                libc_version=None if major is None or minor is None else (int(major), int(minor)),
                pythons=tuple(
                    ImagePython(
                        version=str(p["version"]),
                        path=str(p["path"]),
                        implementation=str(p.get("implementation", "cpython")),
                        free_threaded=bool(p.get("free_threaded", False)),
                    )
                    for p in data.get("pythons") or ()
                ),
                compiler=None if data.get("compiler") is None else str(data["compiler"]),
                error=None if data.get("error") is None else str(data["error"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not image facts: {exc}") from exc
