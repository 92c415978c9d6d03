"""Local sources: file:// indexes (simple-index directory trees) and find-links directories."""

from __future__ import annotations

import logging
from pathlib import Path

from packaging.utils import NormalizedName, canonicalize_name

from ..errors import InputError
from .hashing import sha256_file
from .models import DistFile, from_row, project_of, row_of
from .pages import PageFormatError, parse_html_page

logger = logging.getLogger(__name__)


def local_index_files(root: Path, project: NormalizedName, index_url: str) -> tuple[DistFile, ...] | None:
    """A project under a file:// index: <root>/<name>/index.html, or a bare directory of files.

    None plays the part of HTTP 404.
    """
    if not root.is_dir():
        raise InputError(f"index directory {root} does not exist")
    directory = _project_dir(root, project)
    if directory is None:
        return None
    page = directory / "index.html"
    if not page.is_file():
        return directory_files(directory, project, index_url)
    try:
        text = page.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PageFormatError("unreadable HTML", str(exc)) from exc
    return parse_html_page(text, page_url=page.as_uri(), index_url=index_url, project=project)


def _project_dir(root: Path, project: NormalizedName) -> Path | None:
    """<root>/<project>, accepting directories whose names normalize to the project."""
    if (root / project).is_dir():
        return root / project
    matches = (p for p in sorted(root.iterdir()) if canonicalize_name(p.name) == project)
    return next((p for p in matches if p.is_dir()), None)


def directory_files(directory: Path, project: NormalizedName | None, index_url: str) -> tuple[DistFile, ...]:
    """Wheels and sdists in a directory (of `project` only, unless None), hashed on the spot
    so downloads and the metadata cache can verify and key them like remote files."""
    if not directory.is_dir():
        raise InputError(f"find-links directory {directory} does not exist")
    files = []
    for path in sorted(p for p in directory.iterdir() if p.is_file()):
        wanted = project_of(path.name)
        if wanted is None:
            logger.debug("ignoring %s: not a wheel or sdist filename", path)
        if wanted is None or (project is not None and wanted != project):
            continue
        row = row_of(
            filename=path.name,
            url=path.as_uri(),
            project=wanted,
            hashes=(("sha256", sha256_file(path)),),
            size=path.stat().st_size,
        )
        if row is not None:
            files.append(from_row(row, index_url))
    return tuple(files)
