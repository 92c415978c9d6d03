"""`[tool.xbuild]` in pyproject.toml: project defaults that command-line flags override."""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from xbuild.errors import InputError

_TOP = {
    "targets",
    "python-version",
    "source-policy",
    "only-binary",
    "no-binary",
    "images",
    "engines",
    "bundle",
}
_BUNDLE = {"layout", "include", "strip", "max-size", "output", "compile"}


@dataclass(frozen=True, kw_only=True)
class BundleDefaults:
    layout: str | None = None
    include: tuple[str, ...] = ()
    strip: tuple[str, ...] = ()
    max_size: str | None = None
    output: str | None = None
    compile: bool = False  # byte-compile for the target's Python (`bundle --compile`)


@dataclass(frozen=True, kw_only=True)
class ProjectConfig:
    path: Path | None = None
    name: str | None = None  # [project] name: the wheel `build --project` must produce
    targets: tuple[str, ...] = ()
    python_version: str | None = None
    source_policy: str | None = None
    only_binary: tuple[str, ...] = ()
    no_binary: tuple[str, ...] = ()
    images: dict[str, str] = field(default_factory=dict)  # target name/spelling -> image
    engines: dict[str, str] = field(default_factory=dict)  # arch -> DOCKER_HOST-style URL
    bundle: BundleDefaults = BundleDefaults()


def _unknown(keys: set[str], valid: set[str], where: str) -> None:
    for key in sorted(keys - valid):
        close = difflib.get_close_matches(key, sorted(valid), n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"valid keys: {', '.join(sorted(valid))}"
        raise InputError(f"{where}: unknown key `{key}`", hint=hint)


def _strings(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: expected a string or a list of strings")
    return tuple(value)


def _string(value: Any, where: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InputError(
            f"{where}: expected a string, got {value!r}", hint='quote it, e.g. python-version = "3.12"'
        )
    return value


def _bool(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise InputError(f"{where}: expected true or false, got {value!r}", hint="e.g. compile = true")
    return value


def _table(value: Any, where: str) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise InputError(f"{where}: expected a table of strings")
    return {str(k): v for k, v in value.items()}


def load_config(project: Path | None) -> ProjectConfig:
    """Read [tool.xbuild] from project/pyproject.toml; an absent file or table means defaults."""
    if project is None:
        return ProjectConfig()
    path = project / "pyproject.toml" if project.is_dir() else project
    if not path.is_file():
        return ProjectConfig()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    raw = data.get("tool", {}).get("xbuild", {})
    if not isinstance(raw, dict):
        raise InputError(f"{path}: [tool.xbuild] must be a table")
    name = data.get("project", {}).get("name")
    return replace(parse_config(raw, path), name=name if isinstance(name, str) else None)


def parse_config(raw: dict[str, Any], path: Path) -> ProjectConfig:
    where = f"{path} [tool.xbuild]"
    _unknown(set(raw), _TOP, where)
    bundle_raw = raw.get("bundle", {})
    if not isinstance(bundle_raw, dict):
        raise InputError(f"{where}.bundle must be a table")
    _unknown(set(bundle_raw), _BUNDLE, f"{where}.bundle")
    bundle = BundleDefaults(
        layout=_string(bundle_raw.get("layout"), f"{where}.bundle.layout"),
        include=_strings(bundle_raw.get("include", []), f"{where}.bundle.include"),
        strip=_strings(bundle_raw.get("strip", []), f"{where}.bundle.strip"),
        max_size=_string(bundle_raw.get("max-size"), f"{where}.bundle.max-size"),
        output=_string(bundle_raw.get("output"), f"{where}.bundle.output"),
        compile=_bool(bundle_raw.get("compile", False), f"{where}.bundle.compile"),
    )
    return ProjectConfig(
        path=path,
        targets=_strings(raw.get("targets", []), f"{where}.targets"),
        python_version=_string(raw.get("python-version"), f"{where}.python-version"),
        source_policy=_string(raw.get("source-policy"), f"{where}.source-policy"),
        only_binary=_strings(raw.get("only-binary", []), f"{where}.only-binary"),
        no_binary=_strings(raw.get("no-binary", []), f"{where}.no-binary"),
        images=_table(raw.get("images", {}), f"{where}.images"),
        engines=_table(raw.get("engines", {}), f"{where}.engines"),
        bundle=bundle,
    )


def check_project_table(data: dict[str, Any], path: Path) -> None:
    """The types PEP 621 and PEP 735 give the dependency fields of a pyproject.toml, checked
    before any of them is read: `dependencies = [1, 2]` is a clear InputError, not a crash."""
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise InputError(f"{path}: [project] must be a table", hint=_PEP621_HINT)
    _requirement_list(project.get("dependencies", []), f"{path}: [project] dependencies")
    optional = project.get("optional-dependencies", {})
    if not isinstance(optional, dict):
        raise InputError(f"{path}: [project] optional-dependencies must be a table", hint=_PEP621_HINT)
    for extra, items in optional.items():
        _requirement_list(items, f"{path}: [project.optional-dependencies] {extra}")
    groups = data.get("dependency-groups", {})
    if not isinstance(groups, dict) or not all(isinstance(v, list) for v in groups.values()):
        raise InputError(f"{path}: [dependency-groups] must be a table of lists", hint=_PEP621_HINT)


_PEP621_HINT = 'write requirements as strings, e.g. dependencies = ["numpy>=2", "requests"]'


def _requirement_list(value: Any, where: str) -> None:
    if not isinstance(value, list):
        raise InputError(f"{where} must be a list of strings", hint=_PEP621_HINT)
    for item in value:
        if not isinstance(item, str):
            raise InputError(f"{where}: {item!r} is not a string", hint=_PEP621_HINT)
