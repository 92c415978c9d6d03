"""The one sdist reader: a `.tar.gz` or `.zip` source distribution, read without trusting it.

Every place that looks inside an sdist (its PKG-INFO for the planner, its pyproject.toml for
static metadata and build requirements, its single top-level directory for a build, its files
for a native build) goes through `Sdist`, so the safety rules live once: one top-level
directory, no absolute or `..` member names, no links out of the tree, reads capped.
"""

from __future__ import annotations

import tarfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xbuild.errors import InputError, RefusedError
from xbuild.limits import DEFAULT_LIMITS

_ERRORS = (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, ValueError)


def top_level_member(names: Iterable[str], filename: str) -> str | None:
    """`<root>/<filename>`: the only place an sdist's PKG-INFO or pyproject.toml counts."""
    return next((n for n in names if n.count("/") == 1 and n.endswith("/" + filename)), None)


@dataclass(frozen=True)
class Sdist:
    path: Path

    @property
    def is_zip(self) -> bool:
        return self.path.name.endswith(".zip")

    def names(self) -> list[str]:
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.path) as zf:
                    return zf.namelist()
            with tarfile.open(self.path) as tf:
                return tf.getnames()
        except _ERRORS as exc:
            raise self._unreadable(exc) from exc

    def root(self) -> str:
        """The single top-level directory (where pyproject.toml or setup.py lives)."""
        names = self.names()
        roots = {n.split("/", 1)[0] for n in names if n and not n.startswith("/")}
        if len(roots) != 1 or any(n.startswith("/") or ".." in Path(n).parts for n in names):
            raise InputError(f"{self.path.name}: an sdist must hold exactly one top-level directory")
        return roots.pop()

    def read(self, name: str, limit: int = DEFAULT_LIMITS.max_metadata_bytes) -> bytes | None:
        """One member's bytes (None when absent), never more than `limit` (a bomb stops)."""
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.path) as zf:
                    if name not in zf.namelist():
                        return None
                    with zf.open(name) as stream:
                        data = stream.read(limit + 1)
            else:
                with tarfile.open(self.path) as tf:
                    try:
                        member = tf.extractfile(name)
                    except KeyError:
                        return None
                    if member is None:
                        return None
                    data = member.read(limit + 1)
        except _ERRORS as exc:
            raise self._unreadable(exc) from exc
        if len(data) > limit:
            raise RefusedError(
                f"{self.path.name}: {name} is larger than {limit:,} bytes",
                hint="no real distribution has metadata this large; do not use this file",
            )
        return data

    def top_level(self, filename: str) -> str | None:
        """`<root>/<filename>` when the sdist has it (PKG-INFO, pyproject.toml, setup.py)."""
        return top_level_member(self.names(), filename)

    def extract(self, dest: Path) -> Path:
        """Unpack with traversal protection (no absolute names, `..`, or links out); the root."""
        root = self.root()
        try:
            if self.is_zip:
                with zipfile.ZipFile(self.path) as zf:
                    zf.extractall(dest)
            else:
                with tarfile.open(self.path) as tf:
                    tf.extractall(dest, filter="data")
        except _ERRORS as exc:
            raise self._unreadable(exc) from exc
        return dest / root

    def _unreadable(self, exc: BaseException) -> InputError:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        return InputError(
            f"{self.path.name} is not a readable archive ({first})",
            hint="download it again, or check where it came from",
        )
