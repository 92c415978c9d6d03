"""Generate real, valid fixture distributions (wheels and sdists) into a directory.

Output is byte-for-byte deterministic for the same arguments (fixed timestamps and owners), so
hashes in tests are stable.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import tarfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import Version

FileContents = Mapping[str, str | bytes]

_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_DEFAULT_BACKEND = ("setuptools>=68", "setuptools.build_meta")


def dist_name(name: str) -> str:
    """The filename form of a project name: normalized, with underscores (PEP 491/625)."""
    return canonicalize_name(name).replace("-", "_")


def wheel_filename(name: str, version: str, tags: Sequence[str] = ("py3-none-any",)) -> str:
    """Compressed tag set: the dotted union of each tag part, e.g. cp311-cp311-a.b."""
    parts = [tag.split("-") for tag in tags]
    columns = (".".join(dict.fromkeys(part[i] for part in parts)) for i in range(3))
    return f"{dist_name(name)}-{Version(version)}-{'-'.join(columns)}.whl"


def sdist_filename(name: str, version: str) -> str:
    return f"{dist_name(name)}-{Version(version)}.tar.gz"


def core_metadata(
    name: str,
    version: str,
    *,
    metadata_version: str = "2.1",
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    dynamic: Iterable[str] = (),
    summary: str = "A fixture distribution",
) -> bytes:
    """METADATA / PKG-INFO text in the email header format."""
    lines = [f"Metadata-Version: {metadata_version}", f"Name: {name}", f"Version: {version}"]
    lines += [f"Dynamic: {field}" for field in dynamic]
    lines.append(f"Summary: {summary}")
    if requires_python is not None:
        lines.append(f"Requires-Python: {requires_python}")
    lines += [f"Requires-Dist: {requirement}" for requirement in requires_dist]
    return ("\n".join(lines) + "\n\n").encode()


def make_wheel(
    directory: Path,
    name: str,
    version: str,
    *,
    tags: Sequence[str] = ("py3-none-any",),
    requires_dist: Iterable[str] = (),
    requires_python: str | None = None,
    files: FileContents | None = None,
    root_is_purelib: bool | None = None,
) -> Path:
    """A valid wheel: the given files (default: an empty package), WHEEL, METADATA and a
    RECORD with sha256 digests. Returns its path inside `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    info = f"{dist_name(name)}-{Version(version)}.dist-info"
    if root_is_purelib is None:
        root_is_purelib = all(tag.endswith("-none-any") for tag in tags)
    members = {path: _as_bytes(data) for path, data in _default_files(name, files).items()}
    members[f"{info}/METADATA"] = core_metadata(
        name, version, requires_dist=requires_dist, requires_python=requires_python
    )
    members[f"{info}/WHEEL"] = _wheel_file(tags, root_is_purelib)
    members[f"{info}/RECORD"] = _record(members, f"{info}/RECORD")
    path = directory / wheel_filename(name, version, tags)
    path.write_bytes(_zip_bytes(members))
    return path


def make_sdist(
    directory: Path,
    name: str,
    version: str,
    *,
    requires_dist: Iterable[str] = (),
    metadata_version: str = "2.2",
    dynamic: Iterable[str] = (),
    requires_python: str | None = None,
    setup_py: str | None = None,
    pyproject_toml: str | None = None,
    files: FileContents | None = None,
) -> Path:
    """A valid .tar.gz sdist with PKG-INFO, pyproject.toml (setuptools backend unless given)
    and the given source files under one top-level directory."""
    directory.mkdir(parents=True, exist_ok=True)
    requires_dist = tuple(requires_dist)
    top = f"{dist_name(name)}-{Version(version)}"
    members = {path: _as_bytes(data) for path, data in _default_files(name, files).items()}
    members["PKG-INFO"] = core_metadata(
        name,
        version,
        metadata_version=metadata_version,
        requires_dist=requires_dist,
        requires_python=requires_python,
        dynamic=dynamic,
    )
    members["pyproject.toml"] = (
        pyproject_toml or _pyproject(name, version, requires_dist, requires_python)
    ).encode()
    if setup_py is not None:
        members["setup.py"] = setup_py.encode()
    path = directory / sdist_filename(name, version)
    path.write_bytes(_tar_gz_bytes({f"{top}/{p}": data for p, data in members.items()}))
    return path


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode() if isinstance(data, str) else data


def _default_files(name: str, files: FileContents | None) -> FileContents:
    return files if files is not None else {f"{dist_name(name)}/__init__.py": ""}


def _wheel_file(tags: Sequence[str], purelib: bool) -> bytes:
    lines = ["Wheel-Version: 1.0", "Generator: xbuild-tests", f"Root-Is-Purelib: {purelib}"]
    lines += [f"Tag: {tag}" for tag in tags]
    return ("\n".join(lines) + "\n").encode()


def _record(members: Mapping[str, bytes], record_path: str) -> bytes:
    rows = []
    for path, data in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{path},sha256={digest},{len(data)}")
    rows.append(f"{record_path},,")
    return ("\n".join(rows) + "\n").encode()


def _pyproject(name: str, version: str, requires_dist: Sequence[str], requires_python: str | None) -> str:
    requires, backend = _DEFAULT_BACKEND
    dependencies = ", ".join(f'"{r}"' for r in requires_dist)
    lines = [
        "[build-system]",
        f'requires = ["{requires}"]',
        f'build-backend = "{backend}"',
        "",
        "[project]",
        f'name = "{name}"',
        f'version = "{version}"',
        f"dependencies = [{dependencies}]",
    ]
    if requires_python is not None:
        lines.append(f'requires-python = "{requires_python}"')
    return "\n".join(lines) + "\n"


def _zip_bytes(members: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in members.items():
            info = zipfile.ZipInfo(path, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def _tar_gz_bytes(members: Mapping[str, bytes]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data in sorted(members.items()):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    return gzip.compress(raw.getvalue(), mtime=0)
