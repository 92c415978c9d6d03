"""Prepare metadata for sources whose PKG-INFO is not static (PEP 643), on the host, safely.

Only the PEP 517 `prepare_metadata_for_build_wheel` hook runs, in an isolated environment;
nothing compiled is produced or kept, so the host never leaks into the target's binaries.
"""

from __future__ import annotations

import logging
import subprocess
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from xbuild.errors import EngineError, InputError
from xbuild.index import DistFile
from xbuild.index.cache import HttpCache
from xbuild.plan.candidates import Candidate

log = logging.getLogger(__name__)
Downloader = Callable[[DistFile, Path], Path]


def extract_sdist(archive: Path, dest: Path) -> Path:
    """Unpack an sdist with traversal protection; return the project root inside dest."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.startswith("/") or ".." in Path(name).parts:
                    raise InputError(f"{archive.name}: member {name!r} escapes the archive")
            zf.extractall(dest)
    else:
        try:
            with tarfile.open(archive) as tf:
                tf.extractall(dest, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise InputError(f"{archive.name}: unreadable sdist: {exc}") from exc
    roots = [p for p in dest.iterdir() if p.is_dir()]
    if len(roots) != 1:
        raise InputError(f"{archive.name}: expected one top-level directory, found {len(roots)}")
    return roots[0]


class HostMetadataPreparer:
    """Prepared metadata is cached by the sdist's sha256: the same archive always yields it."""

    def __init__(
        self,
        download: Downloader,
        work_dir: Path | None = None,
        *,
        cache: HttpCache | None = None,
        offline: bool = False,
    ) -> None:
        self.download = download
        self.work_dir = work_dir
        self.cache = cache
        self.offline = offline

    def __call__(self, candidate: Candidate) -> bytes:
        sha = candidate.file.sha256 if candidate.file is not None and candidate.local_path is None else None
        key = f"prepared-{sha}" if sha else None
        cached = self.cache.load_metadata(key) if self.cache and key else None
        if cached is not None:
            return cached
        if self.offline:
            raise InputError(
                f"{candidate.name} {candidate.version}: its metadata must be prepared by its "
                "build backend, which needs the network",
                hint="run once without --offline to cache it",
            )
        data = self._prepare(candidate)
        if self.cache and key:
            self.cache.store_metadata(key, data)
        return data

    def _prepare(self, candidate: Candidate) -> bytes:
        with tempfile.TemporaryDirectory(prefix="xbuild-meta-", dir=self.work_dir) as tmp:
            root = Path(tmp)
            if candidate.local_path is not None and candidate.local_path.is_dir():
                source = candidate.local_path
            else:
                archive = candidate.local_path or self.download(_file(candidate), root)
                source = extract_sdist(archive, root / "src")
            return _prepare(source, candidate)


def _file(candidate: Candidate) -> DistFile:
    if candidate.file is None:
        raise InputError(f"{candidate.name}: nothing to prepare metadata from")
    return candidate.file


def _prepare(source: Path, candidate: Candidate) -> bytes:
    from build import BuildBackendException, BuildException, ProjectBuilder
    from build.env import DefaultIsolatedEnv
    from pyproject_hooks import quiet_subprocess_runner

    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            DefaultIsolatedEnv() as env,
            tempfile.TemporaryDirectory(prefix="xbuild-md-") as out,
        ):
            warnings.simplefilter("always")  # backend warnings are the project's, not the user's: log them
            builder = ProjectBuilder.from_isolated_env(env, source, runner=quiet_subprocess_runner)
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("wheel"))
            dist_info = Path(builder.metadata_path(out))
            for warning in caught:
                log.debug("%s %s backend: %s", candidate.name, candidate.version, warning.message)
            return (dist_info / "METADATA").read_bytes()
    except (BuildException, BuildBackendException, OSError, subprocess.CalledProcessError) as exc:
        raise EngineError(
            f"{candidate.name} {candidate.version}: preparing metadata failed: {exc}",
            hint="run with -v for the backend output",
        ) from exc
