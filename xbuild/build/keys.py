"""Cache keys of build outputs: everything that changes the result is in the key, nothing else is.

A field left out of a key can poison the cache (a py3.12 resolution served to a py3.9 build);
a field put in needlessly only costs a miss (editing a target's description rebuilt everything).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from xbuild.index.hashing import sha256_file
from xbuild.target import Target

# Target fields that name or describe a target without changing what is built for it. The image
# is keyed by its ID, never by its name. Anything not listed here is part of the key.
_LABELS = ("name", "spec", "description", "python_version_source", "image")


def target_material(target: Target) -> dict[str, Any]:
    """What of a target changes a build's result: its platform, Python (full version) and ABI."""
    return {k: v for k, v in target.to_json().items() if k not in _LABELS}


def _digest(material: object, length: int) -> str:
    text = json.dumps(material, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def environment_key(image_id: str, python: str, target: Target, requirements: tuple[str, ...]) -> str:
    """Key of a build environment's wheel set: the image, the Python it runs, the requirements.

    `python` is the full version the requirements were resolved for (the environment's own);
    the target's Python is keyed as well, since it chooses the interpreter on a multi-Python image.
    """
    return _digest(["buildenv-2", image_id, python, target.python_full, sorted(requirements)], 24)


def build_key(
    source_digest: str, target: Target, image_id: str, requirements: tuple[str, ...], source_date_epoch: int
) -> str:
    """Key of one built wheel: the source's bytes, the target, the build environment, the clock."""
    material = ["built-2", source_digest, target_material(target), image_id, sorted(requirements)]
    return _digest([*material, source_date_epoch], 32)


def source_digest(source: Path) -> str:
    """sha256 of an sdist, or of a project directory's files (paths and bytes, .git left out)."""
    return tree_digest(source) if source.is_dir() else sha256_file(source)


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and ".git" not in p.parts):
        h.update(str(path.relative_to(root)).encode())
        h.update(b"\0")
        h.update(path.read_bytes())
    return h.hexdigest()
