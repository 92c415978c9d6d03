"""Where verified wheels go (a wheel directory) and where refused ones are kept (never with them).

Every file write of a run's outputs lives here: wheels are staged beside their destination,
then moved in together with os.replace, and the manifest is written atomically last.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from xbuild.host.cache import RUN_ID, run_scratch
from xbuild.util.atomic import write_text_atomic

MANIFEST = "xbuild-manifest.json"


class WheelDestination(Protocol):
    """Receives a run's verified wheels all at once."""

    @property
    def root(self) -> Path: ...

    def staging(self) -> contextlib.AbstractContextManager[Path]:
        """A scratch folder on the destination's file system, removed afterwards."""
        ...

    def place(self, wheels: Sequence[Path]) -> list[Path]:
        """Move staged wheels in; returns their final paths."""
        ...

    def record(self, document: Mapping[str, Any]) -> Path:
        """Write the run's manifest; returns its path (written or not)."""
        ...


@dataclass(frozen=True, kw_only=True)
class WheelDir:
    """A directory of wheels (`xbuild build -o DIR`, or the wheels a bundle is made from).

    `cache_dir` records the staging folder as this run's scratch, so a killed run's is swept.
    `manifest` False: the run's manifest is not written (a bundle writes its own).
    """

    root: Path
    cache_dir: Path
    manifest: bool = True

    @contextlib.contextmanager
    def staging(self) -> Iterator[Path]:
        self.root.mkdir(parents=True, exist_ok=True)
        folder = run_scratch(self.cache_dir).track(self.root / f".xbuild-staging-{RUN_ID}")
        folder.mkdir(exist_ok=True)
        try:
            yield folder
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def place(self, wheels: Sequence[Path]) -> list[Path]:
        placed = []
        for wheel in wheels:
            dest = self.root / wheel.name
            os.replace(wheel, dest)
            placed.append(dest)
        return placed

    def record(self, document: Mapping[str, Any]) -> Path:
        path = self.root / MANIFEST
        if self.manifest:
            write_text_atomic(path, json.dumps(document, indent=2) + "\n")
        return path


@dataclass(frozen=True, kw_only=True)
class Rejects:
    """Wheels that failed verification, with their findings: `<cache>/rejected/<run>/`."""

    root: Path

    @classmethod
    def in_cache(cls, cache_dir: Path) -> Rejects:
        return cls(root=cache_dir / "rejected" / RUN_ID)

    def keep(self, wheel: Path, findings: Sequence[Any]) -> Path:
        """Move `wheel` here and write its findings beside it; returns where it is kept."""
        self.root.mkdir(parents=True, exist_ok=True)
        kept = self.root / wheel.name
        shutil.move(str(wheel), kept)
        data = [f.to_json() if hasattr(f, "to_json") else f.__dict__ for f in findings]
        write_text_atomic(self.root / f"{wheel.name}.findings.json", json.dumps(data, indent=2, default=str))
        return kept
