"""Where the CLI writes: results to stdout, logs and errors to stderr (so --json never mixes with logs)."""

from __future__ import annotations

import json
import logging
from typing import Any

from rich.console import Console
from rich.logging import RichHandler

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, sort_keys=False) + "\n"


def print_json(data: Any) -> None:
    # Plain write: rich would re-wrap or colour the JSON, and consumers parse it.
    out.file.write(dumps(data))
    out.file.flush()


def setup_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose >= 1 else logging.WARNING
    handler = RichHandler(console=err, show_time=False, show_path=verbose >= 2, markup=False)
    logging.basicConfig(level=level, handlers=[handler], format="%(message)s", force=True)
