"""Image facts as data: JSON round trip and the interpreter a target's Python maps to."""

from __future__ import annotations

import pytest

from xbuild.images import ImageFacts, ImagePython
from xbuild.target import Arch, Libc

FACTS = ImageFacts(
    image="ghcr.io/team [x]/'ünï':3.12",
    image_id="sha256:" + "f" * 64,
    arch=Arch.AARCH64,
    machine="aarch64",
    libc=Libc.MUSL,
    libc_version=(1, 2),
    pythons=(
        ImagePython(version="3.13", path="/opt/python/cp313-cp313t/bin/python", free_threaded=True),
        ImagePython(version="3.13", path="/opt/python/cp313-cp313/bin/python"),
    ),
    compiler="/usr/bin/gcc",
)


def test_json_round_trip() -> None:
    data = FACTS.to_json()
    assert data["present"] is True and data["libc_version"] == "1.2" and data["arch"] == "aarch64"
    assert ImageFacts.from_json(data) == FACTS
    missing = ImageFacts(image="x", image_id=None)
    assert missing.to_json()["present"] is False and ImageFacts.from_json(missing.to_json()) == missing


def test_python_for_skips_free_threaded_builds() -> None:
    assert FACTS.python_for("3.13") == "/opt/python/cp313-cp313/bin/python"
    assert FACTS.python_for("3.12") is None


def test_from_json_refuses_what_is_not_facts() -> None:
    with pytest.raises(ValueError, match="not image facts"):
        ImageFacts.from_json({"image_id": "x"})
    with pytest.raises(ValueError, match="not image facts: a JSON list"):
        ImageFacts.from_json([1, 2])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not image facts"):
        ImageFacts.from_json({"image": "x", "image_id": "y", "libc_version": "two"})
