"""Prepare metadata for sources whose PKG-INFO is not static (PEP 643), on the host, safely.

Only the PEP 517 `prepare_metadata_for_build_wheel` hook runs, in an isolated environment;
nothing compiled is produced or kept, so the host never leaks into the target's binaries.
"""

from __future__ import annotations

import logging
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

from xbuild.errors import EngineError, InputError
from xbuild.index import DistFile
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
    def __init__(self, download: Downloader, work_dir: Path | None = None) -> None:
        self.download = download
        self.work_dir = work_dir

    def __call__(self, candidate: Candidate) -> bytes:
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

    try:
        with (
            warnings.catch_warnings(record=True) as caught,
            DefaultIsolatedEnv() as env,
            tempfile.TemporaryDirectory(prefix="xbuild-md-") as out,
        ):
            warnings.simplefilter("always")  # backend warnings are the project's, not the user's: log them
            builder = ProjectBuilder.from_isolated_env(env, source)
            env.install(builder.build_system_requires)
            env.install(builder.get_requires_for_build("wheel"))
            dist_info = Path(builder.metadata_path(out))
            for warning in caught:
                log.debug("%s %s backend: %s", candidate.name, candidate.version, warning.message)
            return (dist_info / "METADATA").read_bytes()
    except (BuildException, BuildBackendException, OSError) as exc:
        raise EngineError(
            f"{candidate.name} {candidate.version}: preparing metadata failed: {exc}",
            hint="run with -v for the backend output",
        ) from exc
