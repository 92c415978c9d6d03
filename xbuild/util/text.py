"""Words for counts, shared by the library's messages and the CLI's."""

from __future__ import annotations


def plural(count: int, word: str, many: str | None = None) -> str:
    """`1 wheel`, `2 wheels`, `0 entries` (pass `many` for irregular plurals)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"
