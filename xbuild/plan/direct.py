"""Direct references (`name @ url`, local wheels): the candidate is that file, never the index's.

A wheel URL is planned as a download of that wheel, an sdist URL as a build of that sdist; a VCS
URL or an archive whose name says no version is refused with what to do instead.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import Version

from xbuild.errors import InputError, RefusedError
from xbuild.index import DistFile, redact_url
from xbuild.index.hashing import sha256_file
from xbuild.index.models import Hashes, normalize_hashes
from xbuild.plan.candidates import Candidate
from xbuild.plan.model import Action
from xbuild.target import Target

_VCS = ("git+", "hg+", "svn+", "bzr+")
_HASH_NAMES = ("sha256", "sha384", "sha512", "md5")


def url_candidate(
    name: NormalizedName,
    url: str,
    target: Target,
    *,
    extras: frozenset[str],
    hashes: Hashes = (),
    only_binary: bool = False,
) -> Candidate:
    """The candidate a `name @ url` requirement stands for, or a refusal that says why not."""
    shown = redact_url(url)
    if url.startswith(_VCS):
        raise RefusedError(
            f"{name} @ {shown}: a VCS reference names no file xbuild can plan for a target",
            hint=f"build {name} into a wheel or sdist and require `{name} @ <its URL or path>`, "
            "or require a released version",
        )
    parts = urlsplit(url)
    filename = unquote(PurePosixPath(parts.path).name)
    fragment_hashes = _fragment_hashes(parts.fragment)
    file = DistFile(
        project=name,
        filename=filename,
        url=parts._replace(fragment="").geturl(),
        hashes=normalize_hashes((*fragment_hashes, *hashes)),
        index_url="",
    )
    if filename.endswith(".whl"):
        version = _wheel_version(name, filename, target, shown)
        return Candidate(
            name=name, version=version, action=Action.WHEEL, file=file, extras=extras, direct_url=url
        )
    try:
        sdist_name, version = parse_sdist_filename(filename)
    except InvalidSdistFilename:
        raise RefusedError(
            f"{name} @ {shown}: neither a wheel nor an sdist named <name>-<version>.tar.gz",
            hint=f"point {name} at a .whl, or at an sdist whose file name carries its version",
        ) from None
    _same_project(name, sdist_name, shown)
    if only_binary:
        raise RefusedError(
            f"{name} @ {shown} is an sdist, and only wheels are allowed for {name}",
            hint=f"point {name} at a wheel URL, or drop --only-binary/--source-policy never for it",
        )
    return Candidate(
        name=name, version=version, action=Action.BUILD, file=file, extras=extras, direct_url=url
    )


def local_archive(name: NormalizedName, path: Path, target: Target) -> Candidate | None:
    """A local wheel or sdist named with its version, as the file to plan; None for a tree or an
    archive whose name says no version (its metadata must be prepared to know it)."""
    if path.suffix == ".whl":
        version = _wheel_version(name, path.name, target, str(path))
        return Candidate(name=name, version=version, action=Action.WHEEL, file=_local_file(name, path))
    try:
        sdist_name, version = parse_sdist_filename(path.name)
    except InvalidSdistFilename:
        return None
    _same_project(name, sdist_name, str(path))
    return Candidate(name=name, version=version, action=Action.BUILD, file=_local_file(name, path))


def _local_file(name: NormalizedName, path: Path) -> DistFile:
    return DistFile(
        project=name,
        filename=path.name,
        url=path.resolve().as_uri(),
        hashes=(("sha256", sha256_file(path)),),
        size=path.stat().st_size,
        index_url="",
    )


def _wheel_version(name: NormalizedName, filename: str, target: Target, shown: str) -> Version:
    try:
        wheel_name, version, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename as exc:
        raise InputError(f"{name} @ {shown}: {exc}") from exc
    _same_project(name, wheel_name, shown)
    if target.tag_rank(tags) is None:
        have = ", ".join(sorted(str(t) for t in tags))
        raise RefusedError(
            f"{name} @ {shown} is a wheel for {have}, which {target.platform_label} cannot use",
            hint=f"point {name} at a wheel built for {target.platform_tags[0]} {target.abi}, "
            "or at its sdist to build it",
        )
    return version


def _same_project(name: NormalizedName, found: NormalizedName, shown: str) -> None:
    if found != name:
        raise InputError(
            f"{name} @ {shown}: the file belongs to {found}, not {name}",
            hint=f"write it as `{found} @ {shown}`",
        )


def _fragment_hashes(fragment: str) -> list[tuple[str, str]]:
    """`#sha256=<hex>` as pip writes it; other fragment keys (egg=, subdirectory=) say no hash."""
    pairs = (item.partition("=") for item in fragment.split("&") if item)
    return [(key.lower(), value) for key, _, value in pairs if key.lower() in _HASH_NAMES]
