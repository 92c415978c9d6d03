"""Options shared by several commands, and the one place that turns them into a Target."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer

from xbuild.errors import UsageError
from xbuild.target import Target, parse_target

log = logging.getLogger(__name__)

PythonPlatform = typer.Option(
    None,
    "--python-platform",
    "-p",
    metavar="TARGET",
    help="Target platform: a named target (xbuild targets), a uv triple, a wheel platform tag, or `host`.",
)
PythonVersion = typer.Option(
    None,
    "--python-version",
    metavar="X.Y[.Z]",
    help="Target Python: X.Y (its newest patch release), X.Y.Z, or X.Yt (free-threaded).",
)
PythonInterp = typer.Option(
    None,
    "--python",
    metavar="INTERP",
    help="Take the target from a real interpreter (probed, or read from its header).",
)


def resolve_target(platform: str | None, python_version: str | None, python: Path | None) -> Target | None:
    """Build the Target from CLI flags; None when no target flag was given."""
    if python is not None:
        if platform is not None:
            raise UsageError("--python and --python-platform both name a target", hint="pass only one")
        from xbuild.host.probe import target_from_interpreter

        return target_from_interpreter(python, python_version=python_version)
    if platform is None:
        if python_version is not None:
            raise UsageError(
                "--python-version needs a platform", hint="add --python-platform TARGET (or `host`)"
            )
        return None
    current = sys.version_info
    target = parse_target(
        platform,
        python_version=python_version,
        host=_host_target,
        default_python=(current.major, current.minor, current.micro),
    )
    if target.python_version_source == "host":
        log.warning(
            "no --python-version given: targeting Python %s, the interpreter running xbuild",
            target.python,
        )
    return target


def _host_target() -> Target:
    from xbuild.host.facts import host_target

    return host_target()
