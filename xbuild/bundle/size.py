"""Size budgets (AWS Lambda's by default) and the report that says what to cut."""

from __future__ import annotations

import math
from pathlib import Path

from xbuild.errors import RefusedError, UsageError
from xbuild.limits import Limits as Limits  # noqa: PLC0414  (re-exported; its home is xbuild.limits)

LAMBDA_ZIPPED = 50 * 1024 * 1024  # direct upload limit
LAMBDA_UNZIPPED = 262_144_000  # function plus layers, unzipped


def parse_size(text: str) -> int:
    """'50M' -> 52428800; a positive, finite byte count or UsageError."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    value = text.strip().lower().removesuffix("b").removesuffix("i")
    scale = units.get(value[-1:], 1)
    number = value[:-1] if scale != 1 else value
    try:
        size = float(number) * scale if scale != 1 else int(number)
    except ValueError:
        size = math.nan
    if not math.isfinite(size) or size <= 0 or size > 1 << 60:
        raise UsageError(f"invalid size {text!r}", hint="use bytes or a suffix: 50M, 250MB, 1G")
    return int(size)


def tree_size(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


def largest(sizes: dict[str, int], n: int = 10) -> list[tuple[str, int]]:
    return sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0]))[:n]


def check_limits(*, zipped: int | None, unzipped: int, limits: Limits, per_package: dict[str, int]) -> None:
    problems = []
    if limits.unzipped is not None and unzipped > limits.unzipped:
        problems.append(f"unzipped size {unzipped:,} bytes exceeds {limits.unzipped:,}")
    if limits.zipped is not None and zipped is not None and zipped > limits.zipped:
        problems.append(f"zipped size {zipped:,} bytes exceeds {limits.zipped:,}")
    if not problems:
        return
    top = "\n  ".join(f"{name}: {size / 1e6:.1f} MB" for name, size in largest(per_package))
    raise RefusedError(
        "bundle too large: " + "; ".join(problems) + f"\nlargest packages:\n  {top}",
        hint="move big dependencies to a layer (--layout lambda-layer), use a container "
        "image, or drop files with --strip tests,pycache,dist-info",
    )
