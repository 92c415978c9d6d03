"""Write a PEP 751 `pylock.toml` for one target; `pylock.py` reads it back (as any producer's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tomli_w

from xbuild.plan.model import Action, Plan
from xbuild.util.atomic import write_text_atomic


def environment_marker(plan: Plan) -> str:
    env = plan.target.marker_environment()
    return (
        f'sys_platform == "{env["sys_platform"]}" and platform_machine == "{env["platform_machine"]}" '
        f'and python_version == "{env["python_version"]}"'
    )


def pylock_document(plan: Plan) -> dict[str, Any]:
    packages: list[dict[str, Any]] = []
    for d in plan.distributions:
        entry: dict[str, Any] = {"name": d.name, "version": d.version}
        if d.file.index_url:
            entry["index"] = d.file.index_url
        file_entry: dict[str, Any] = {"name": d.file.filename, "url": d.file.url}
        if d.file.size is not None:
            file_entry["size"] = d.file.size
        file_entry["hashes"] = {"sha256": d.file.sha256} if d.file.sha256 else {}
        if d.action is Action.WHEEL:
            entry["wheels"] = [file_entry]
        elif d.file.url.startswith("file:") and not d.file.sha256:
            entry["directory"] = {"path": d.file.url.removeprefix("file://")}
        else:
            entry["sdist"] = file_entry
        entry["tool"] = {
            "xbuild": {
                "action": str(d.action),
                "reason": d.reason,
                "route": d.route.route if d.route else "",
            }
        }
        packages.append(entry)
    return {
        "lock-version": "1.0",
        "environments": [environment_marker(plan)],
        "requires-python": f"=={plan.target.python}.*",
        "created-by": "xbuild",
        "packages": packages,
        "tool": {
            "xbuild": {
                "target": _clean(plan.target.to_json()),
                "source-policy": str(plan.source_policy),
            }
        },
    }


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """TOML has no null: drop None values."""
    return {k: v for k, v in data.items() if v is not None}


def write_pylock(plan: Plan, path: Path) -> None:
    write_text_atomic(path, tomli_w.dumps(pylock_document(plan)))
