"""`--format text|json` with `--json` kept as its alias, for the commands whose output is text or JSON."""

from __future__ import annotations

from enum import StrEnum

import typer


class Format(StrEnum):
    TEXT = "text"
    JSON = "json"


FormatOption = typer.Option(
    Format.TEXT, "--format", help="text, or json (a stable schema: docs/json.md).", show_default=False
)
JsonAlias = typer.Option(False, "--json", help="Same as --format json (kept for scripts).")


def wants_json(fmt: Format, json_alias: bool) -> bool:
    return json_alias or fmt is Format.JSON
