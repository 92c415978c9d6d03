"""The resolution flags, declared once and shared by `plan`, `build` and `bundle`.

`@resolution_flags` appends these parameters to a command's signature (typer reads the signature)
and hands the command one `Flags` value, so the three commands cannot drift apart again.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer

from xbuild.cli.options import PythonInterp, PythonPlatform, PythonVersion, resolve_target
from xbuild.options import PRERELEASE_MODES, Flags, Options, resolve_options
from xbuild.plan.serial import plan_target

F = TypeVar("F", bound=Callable[..., Any])

# (parameter name, type, typer option). The order is the order `--help` shows.
_SPEC: tuple[tuple[str, Any, Any], ...] = (
    (
        "requirements",
        list[str] | None,
        typer.Argument(
            None,
            metavar="REQ",
            help="PEP 508 requirements, local project directories, sdists or wheels.",
            show_default=False,
        ),
    ),
    (
        "requirement",
        list[Path],
        typer.Option(
            [],
            "-r",
            "--requirement",
            metavar="FILE",
            help="Requirements file (pip format, as uv/pip-tools/poetry export it), pylock.toml or uv.lock.",
        ),
    ),
    (
        "constraint",
        list[Path],
        typer.Option(
            [], "-c", "--constraint", metavar="FILE", help="Constraints file: limits versions, adds nothing."
        ),
    ),
    (
        "project",
        Path | None,
        typer.Option(
            None,
            "--project",
            metavar="DIR",
            help="Project directory: its [tool.xbuild] and dependencies (`build` makes its own wheel).",
        ),
    ),
    (
        "extra",
        list[str],
        typer.Option(
            [], "--extra", metavar="EXTRA", help="Include this optional-dependency extra of the project."
        ),
    ),
    (
        "group",
        list[str],
        typer.Option(
            [], "--group", metavar="GROUP", help="Include this dependency group (PEP 735, uv.lock groups)."
        ),
    ),
    ("python_platform", str | None, PythonPlatform),
    ("python_version", str | None, PythonVersion),
    ("python", Path | None, PythonInterp),
    (
        "source_policy",
        str | None,
        typer.Option(
            None,
            "--source-policy",
            metavar="POLICY",
            help="prefer-binary (default: an older wheel over a build), newest (build the newest) or never.",
        ),
    ),
    (
        "prerelease",
        str | None,
        typer.Option(
            None,
            "--prerelease",
            metavar="MODE",
            help="Pre-releases: " + " | ".join(PRERELEASE_MODES) + " (default if-necessary-or-explicit).",
        ),
    ),
    ("pre", bool, typer.Option(False, "--pre", help="Allow pre-releases (pip's flag; --prerelease allow).")),
    (
        "only_binary",
        list[str],
        typer.Option(
            [],
            "--only-binary",
            metavar="PACKAGE[,...]",
            help="Never build these from source (:all: for every package).",
        ),
    ),
    (
        "no_binary",
        list[str],
        typer.Option(
            [],
            "--no-binary",
            metavar="PACKAGE[,...]",
            help="Always build these from source (:all: for every package).",
        ),
    ),
    (
        "index_url",
        str | None,
        typer.Option(
            None, "--index-url", "-i", metavar="URL", help="Package index (PEP 503/691); default PyPI."
        ),
    ),
    (
        "extra_index_url",
        list[str],
        typer.Option([], "--extra-index-url", metavar="URL", help="Another index to search as well."),
    ),
    (
        "find_links",
        list[str],
        typer.Option(
            [], "--find-links", "-f", metavar="DIR|URL", help="A directory or page of wheels and sdists."
        ),
    ),
    ("no_index", bool, typer.Option(False, "--no-index", help="Ignore every index; use --find-links only.")),
    ("offline", bool, typer.Option(False, "--offline", help="Use only cached pages and files; no network.")),
    (
        "image",
        str | None,
        typer.Option(
            None, "--image", metavar="IMAGE", help="Build image for source builds (overrides the target's)."
        ),
    ),
    (
        "build_timeout",
        float | None,
        typer.Option(
            None,
            "--build-timeout",
            metavar="SECONDS",
            help="Stop a source build or metadata hook after SECONDS (default 1800; 0: no limit); exit 3.",
        ),
    ),
    (
        "route",
        str | None,
        typer.Option(
            None,
            "--route",
            metavar="ROUTE",
            help="Where source builds run: auto (default), native, container or emulated.",
        ),
    ),
)


def resolution_flags(command: F) -> F:
    """Give `command` the shared flags; it receives them as one keyword argument `flags: Flags`."""
    own = inspect.signature(command, eval_str=True)
    kept = [p for p in own.parameters.values() if p.name != "flags"]
    # Arguments first: typer lists positional arguments in signature order.
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option, annotation=kind)
        for name, kind, option in _SPEC
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        shared = {name: kwargs.pop(name) for name, _, _ in _SPEC}
        return command(*args, flags=_flags(shared), **kwargs)

    params = [*extra[:1], *(p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in kept), *extra[1:]]
    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper  # type: ignore[return-value]


# CLI parameter names that differ from the Flags field they fill (typer names a parameter after
# its flag: `-r/--requirement` fills requirement_files).
_FIELD = {
    "requirement": "requirement_files",
    "constraint": "constraint_files",
    "extra": "extras",
    "group": "groups",
    "extra_index_url": "extra_index_urls",
}


def _flags(shared: dict[str, Any]) -> Flags:
    """Lists become tuples (Flags is frozen); a missing positional list is ()."""
    values: dict[str, Any] = {}
    for name, value in shared.items():
        field = _FIELD.get(name, name)
        values[field] = tuple(value or ()) if isinstance(value, list) or field == "requirements" else value
    return Flags(**values)


def options_from(flags: Flags, plan_file: Path | None = None) -> Options:
    """The one call that resolves flags into options (config read once, target resolved once).
    With `--plan FILE` and no target flag, the plan's own target is used."""
    fallback = (lambda: plan_target(plan_file)) if plan_file is not None else None
    return resolve_options(flags, resolve_target, fallback_target=fallback)
