"""Find the Python interpreters installed on this machine and probe each one."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from xbuild.errors import XbuildError
from xbuild.host.interpreter import InterpreterFacts
from xbuild.host.probe import probe_interpreter

log = logging.getLogger("xbuild.host")

NAMES = ("python3", *(f"python3.{minor}" for minor in range(8, 15)))
# Fixed places besides PATH; `~` is the home directory, `*` a glob.
PLACES = (
    "/usr/bin",
    "/usr/local/bin",
    "~/.pyenv/versions/*/bin",
    "/opt/python/*/bin",
    "~/.local/share/uv/python/*/bin",
    "/opt/homebrew/bin",
    "/Library/Frameworks/Python.framework/Versions/*/bin",
)
_SHIM_DIRS = frozenset({"shims"})  # pyenv, asdf and mise shims re-dispatch to versions found anyway


@dataclass(frozen=True, kw_only=True)
class SkippedInterpreter:
    path: Path
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"path": str(self.path), "reason": self.reason}


@dataclass(frozen=True, kw_only=True)
class Discovery:
    interpreters: tuple[InterpreterFacts, ...]
    skipped: tuple[SkippedInterpreter, ...]


Probe = Callable[[Path], InterpreterFacts]


def search_dirs(environ: Mapping[str, str], home: Path, places: Sequence[str] = PLACES) -> list[Path]:
    """PATH entries first, then the fixed places, without duplicates."""
    dirs = [Path(p) for p in environ.get("PATH", "").split(os.pathsep) if p]
    for place in places:
        expanded = str(home) + place[1:] if place.startswith("~") else place
        if "*" in expanded:
            dirs.extend(sorted(Path("/").glob(expanded.lstrip("/"))))
        else:
            dirs.append(Path(expanded))
    return list(dict.fromkeys(dirs))


def candidates(dirs: Iterable[Path], names: Sequence[str] = NAMES) -> list[Path]:
    """Existing files named like an interpreter, in search order."""
    return [d / name for d in dirs for name in names if (d / name).is_file()]


def select(paths: Iterable[Path]) -> tuple[list[Path], list[SkippedInterpreter]]:
    """Drop shims and second names of one interpreter (a venv counts apart from its base binary)."""
    kept: list[Path] = []
    skipped: list[SkippedInterpreter] = []
    seen: dict[tuple[str, str], Path] = {}
    for path in paths:
        if path.parent.name in _SHIM_DIRS:
            skipped.append(
                SkippedInterpreter(
                    path=path,
                    reason="version-manager shim: the versions it dispatches to are probed directly",
                )
            )
            continue
        key = (str(path.resolve()), str(_venv_root(path) or ""))
        if key in seen:
            skipped.append(SkippedInterpreter(path=path, reason=f"same interpreter as {seen[key]}"))
            continue
        seen[key] = path
        kept.append(path)
    return kept, skipped


def discover_interpreters(
    *,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    places: Sequence[str] = PLACES,
    first: Sequence[Path] = (),
    probe: Probe = probe_interpreter,
) -> Discovery:
    """Probe `first`, then every interpreter on PATH and in the usual places; failures become skip reasons."""
    env = os.environ if environ is None else environ
    found, skipped = select([*first, *candidates(search_dirs(env, home or Path.home(), places))])
    for item in skipped:
        log.debug("skipped interpreter %s: %s", item.path, item.reason)
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = list(pool.map(lambda p: _try(probe, p), found))
    accepted: list[InterpreterFacts] = []
    for path, outcome in zip(found, outcomes, strict=True):
        if isinstance(outcome, str):
            log.debug("skipped interpreter %s: %s", path, outcome)
            skipped.append(SkippedInterpreter(path=path, reason=outcome))
        else:
            log.debug("accepted interpreter %s: %s; %s", path, outcome.label, outcome.environment_reason)
            accepted.append(outcome)
    return Discovery(interpreters=tuple(accepted), skipped=tuple(skipped))


def _try(probe: Probe, path: Path) -> InterpreterFacts | str:
    try:
        return probe(path)
    except XbuildError as exc:
        # The report already names the path; keep the reason short.
        return exc.message.splitlines()[0].removeprefix(f"interpreter {path}: ")


def _venv_root(path: Path) -> Path | None:
    for directory in (path.parent, path.parent.parent):
        if (directory / "pyvenv.cfg").is_file():
            return directory
    return None
