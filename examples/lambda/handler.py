"""An AWS Lambda handler with one compiled dependency (markupsafe's C speedups) and one pure one (idna)."""

from __future__ import annotations

import json
from typing import Any

import idna
import markupsafe
from markupsafe import _speedups  # the compiled extension: fails to import if built for the wrong platform


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    name = str(event.get("name", "<world>"))
    body = {
        "greeting": str(markupsafe.escape(f"hello {name}")),
        "domain": idna.encode("bücher.example").decode("ascii"),
        "compiled": _speedups.__file__,
    }
    return {"statusCode": 200, "body": json.dumps(body)}
