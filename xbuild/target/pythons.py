"""Which patch release `X.Y` stands for: the newest one, read from `data/pythons.toml`."""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path

_TABLE = Path(__file__).resolve().parent.parent / "data" / "pythons.toml"


@cache
def _newest_patches() -> dict[tuple[int, int], str]:
    data = tomllib.loads(_TABLE.read_text(encoding="utf-8"))
    table: dict[str, str] = data["newest-patch"]
    return {(int(k.split(".")[0]), int(k.split(".")[1])): v for k, v in table.items()}


def newest_patch(version: tuple[int, int]) -> str:
    """`3.9` -> `3.9.25`; a minor version the table does not know yet is taken as `X.Y.0`."""
    return _newest_patches().get(version, f"{version[0]}.{version[1]}.0")
