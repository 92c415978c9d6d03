"""resolvelib provider: the resolver asks, the index client answers, the TARGET judges.

Markers, Requires-Python and wheel tags are all evaluated against the target's marker
environment and tag order; nothing here reads the host.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from packaging.markers import Marker
from packaging.metadata import parse_email
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import (
    InvalidSdistFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
)
from packaging.version import Version
from resolvelib import AbstractProvider

from xbuild.errors import InputError
from xbuild.index import DistFile, KeptRows, ProjectPage
from xbuild.index.client import ProjectNotFound
from xbuild.plan.candidate_cache import JudgedProjects
from xbuild.plan.candidates import Candidate, Cause, Drop, PreAllow, select
from xbuild.plan.direct import local_archive, url_candidate
from xbuild.plan.inputs import Inputs, UserRequirement
from xbuild.plan.model import Action, PrereleaseMode, SourcePolicy
from xbuild.target import Target

log = logging.getLogger(__name__)
_EXTRA_IN_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


class Finder(Protocol):
    """What the provider needs from an index client (a recording double satisfies it in tests)."""

    def project(self, name: str) -> ProjectPage: ...

    def prefetch(self, names: Iterable[str]) -> None: ...

    def metadata(self, file: DistFile) -> bytes: ...

    def metadata_without_download(self, file: DistFile) -> bytes | None: ...

    def page_validator(self, name: str) -> str | None: ...

    def project_rows(self, name: str, keep: Callable[[str], bool]) -> KeptRows: ...

    @property
    def cache_root(self) -> Path | None: ...


class MetadataPreparer(Protocol):
    """Produces METADATA for a source whose static metadata cannot be trusted (PEP 643)."""

    def __call__(self, candidate: Candidate) -> bytes: ...


@dataclass(frozen=True)
class Req:
    """A requirement as the resolver sees it, with where it came from."""

    name: NormalizedName
    extras: frozenset[str]
    specifier: SpecifierSet
    origin: str
    url: str | None = None

    @property
    def identifier(self) -> str:
        return _identifier(self.name, self.extras)

    def __str__(self) -> str:
        extras = f"[{','.join(sorted(self.extras))}]" if self.extras else ""
        return f"{self.name}{extras}{self.specifier}" + (f" @ {self.url}" if self.url else "")


def _identifier(name: str, extras: frozenset[str]) -> str:
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


def to_req(req: Requirement, origin: str) -> Req:
    return Req(
        name=canonicalize_name(req.name),
        extras=frozenset(canonicalize_name(e) for e in req.extras),
        specifier=req.specifier,
        origin=origin,
        url=req.url,
    )


@dataclass
class ProviderState:
    """What the provider learnt while resolving, for reasons and error messages."""

    dropped: dict[str, list[Drop]] = field(default_factory=dict)
    files: dict[str, Sequence[DistFile]] = field(default_factory=dict)  # what the index listed
    metadata_source: dict[tuple[str, str], str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def marker_holds(marker: Marker | None, environment: Mapping[str, str], extras: Iterable[str]) -> bool:
    """PEP 508: a marker holds when it is true with no extra, or with any of the requested ones."""
    if marker is None:
        return True
    return any(marker.evaluate({**environment, "extra": e}) for e in ("", *extras))


class TargetProvider(AbstractProvider[Req, Candidate, str]):
    def __init__(
        self,
        *,
        target: Target,
        finder: Finder,
        inputs: Inputs,
        policy: SourcePolicy,
        prepare: MetadataPreparer | None = None,
        prerelease: PrereleaseMode = PrereleaseMode.IF_NECESSARY_OR_EXPLICIT,
        no_deps: bool = False,
        judged: JudgedProjects | None = None,
    ) -> None:
        self.target = target
        # Judged files in place of whole pages: same candidates, fewer files (candidate_cache).
        self.judged = None if inputs.require_hashes else judged
        self.prerelease = prerelease
        self.no_deps = no_deps  # pip's --no-deps: only what was asked for, no Requires-Dist
        self.finder = finder
        self.policy = policy
        self.prepare = prepare
        self.environment = target.marker_environment()
        self.constraints: dict[str, SpecifierSet] = {}
        for c in inputs.constraints:
            self.constraints[c.name] = self.constraints.get(c.name, SpecifierSet()) & c.requirement.specifier
        self.pins: dict[str, set[str]] = {}
        self.require_hashes = inputs.require_hashes
        for r in inputs.requirements:
            if r.hashes:
                self.pins.setdefault(r.name, set()).update(h.split(":", 1)[1] for h in r.hashes)
        self.locals: dict[str, UserRequirement] = {r.name: r for r in inputs.requirements if r.local_path}
        # Direct references win over the index for their name, whoever asks for it later.
        self.urls: dict[str, str] = {
            r.name: r.requirement.url for r in inputs.requirements if r.requirement.url and not r.local_path
        }
        # uv's "explicit": a user's own requirement or constraint that names a pre-release.
        self.explicit_pre = {
            r.name for r in (*inputs.requirements, *inputs.constraints) if r.requirement.specifier.prereleases
        }
        self._archives: dict[str, Candidate | None] = {}
        self.only_binary = inputs.only_binary
        self.no_binary = inputs.no_binary
        self.state = ProviderState()

    # resolvelib protocol -------------------------------------------------------------------

    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return _identifier(requirement_or_candidate.name, requirement_or_candidate.extras)

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Any],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, bool, str]:
        infos = list(information[identifier])
        pinned = any(_is_pin(i.requirement.specifier) for i in infos)
        causes = {c.requirement.name for c in backtrack_causes}
        # Resolve pins and conflict causes first; the rest alphabetically for stable output.
        return (not pinned, identifier.split("[", maxsplit=1)[0] not in causes, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> Callable[[], Iterator[Candidate]]:
        reqs = list(requirements[identifier])
        name = canonicalize_name(identifier.split("[", maxsplit=1)[0])
        extras = frozenset().union(*(r.extras for r in reqs)) if reqs else frozenset()
        bad = {c.version for c in incompatibilities[identifier]}
        direct = self._direct(name, reqs, extras)
        if direct is not None:
            fits = [c for c in direct if c.version not in bad and self._fits(reqs, c)]
            return lambda: iter(fits)
        specifier = self.constraints.get(name, SpecifierSet())
        for r in reqs:
            specifier &= r.specifier
        dropped = self.state.dropped.setdefault(name, [])
        files = self._files(name, dropped)
        policy, no_binary = self._policy_for(name), self._binary_flag(name, self.no_binary)
        prereleases = self._prereleases_for(name)

        def matches() -> Iterator[Candidate]:
            # A factory: resolvelib pulls candidates one at a time, so old releases are never parsed.
            if files:
                dropped.clear()
            for candidate in select(
                name,
                files,
                self.target,
                specifier,
                policy=policy,
                extras=extras,
                no_binary=no_binary,
                prereleases=prereleases,
                dropped=dropped,
            ):
                if candidate.version not in bad:
                    yield candidate

        return matches

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if requirement.url or candidate.local_path:
            return requirement.name == candidate.name
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        deps: list[Req] = []
        if candidate.extras:
            # An extra depends on its own base at the same version, so both resolve together.
            base = Req(
                name=candidate.name,
                extras=frozenset(),
                origin=f"{candidate.name}[extras]",
                specifier=SpecifierSet(f"=={candidate.version}"),
            )
            deps.append(base)
        if self.no_deps:
            return deps
        requires, provides = self._requires_dist(candidate)
        self._check_extras(candidate, requires, provides)
        for req in requires:
            if marker_holds(req.marker, self.environment, candidate.extras):
                deps.append(to_req(req, f"{candidate.name} {candidate.version}"))
        self.prefetch([d.name for d in deps])
        return deps

    # lookahead ---------------------------------------------------------------------------------

    def prefetch(self, names: Iterable[str]) -> None:
        if self.judged is not None:
            self.judged.prefetch(names)
        else:
            self.finder.prefetch(names)

    def lookahead(self, name: NormalizedName, files: Sequence[DistFile]) -> list[str]:
        """What the likely pick for `name` depends on, so its pages load before the resolver asks.

        A guess, run on a worker thread: the newest wheel the target takes under the user's
        constraints, read through the same client and caches the resolver then hits.
        """
        if self.no_deps or name in self.locals or name in self.urls:
            return []
        picks = select(
            name,
            files,
            self.target,
            self.constraints.get(name, SpecifierSet()),
            policy=self._policy_for(name),
            no_binary=self._binary_flag(name, self.no_binary),
            prereleases=self._prereleases_for(name),
        )
        pick = next(picks, None)
        if pick is None or pick.file is None or not pick.file.is_wheel:
            return []  # an sdist's metadata means downloading it: leave that to the resolver
        raw = self.finder.metadata_without_download(pick.file)
        if raw is None:
            return []  # no PEP 658 file and no byte ranges: a guess is not worth a whole wheel
        requires, _, _ = parse_requires(raw)
        return [str(r.name) for r in requires if marker_holds(r.marker, self.environment, ())]

    # helpers ---------------------------------------------------------------------------------

    def _policy_for(self, name: NormalizedName) -> SourcePolicy:
        if self._binary_flag(name, self.only_binary):
            return SourcePolicy.NEVER
        return self.policy

    @staticmethod
    def _binary_flag(name: str, names: frozenset[str]) -> bool:
        if ":none:" in names:
            return False
        return name in names or ":all:" in names

    def _prereleases_for(self, name: NormalizedName) -> PreAllow:
        mode = self.prerelease
        explicit = name in self.explicit_pre and mode in (
            PrereleaseMode.EXPLICIT,
            PrereleaseMode.IF_NECESSARY_OR_EXPLICIT,
        )
        if mode is PrereleaseMode.ALLOW or explicit:
            return PreAllow.YES
        if mode in (PrereleaseMode.IF_NECESSARY, PrereleaseMode.IF_NECESSARY_OR_EXPLICIT):
            return PreAllow.IF_NECESSARY
        return PreAllow.NO

    def _fits(self, reqs: list[Req], candidate: Candidate) -> bool:
        """A direct reference's one version against every specifier on its name, or a Drop saying why not."""
        against = [r for r in reqs if not self.is_satisfied_by(r, candidate)]
        if against:
            where = candidate.direct_url or (candidate.file.url if candidate.file else candidate.name)
            detail = f"{where} is version {candidate.version}, which {', '.join(map(str, against))} excludes"
            self.state.dropped[candidate.name] = [Drop(version=None, cause=Cause.URL, detail=detail)]
        return not against

    def _direct(
        self, name: NormalizedName, reqs: list[Req], extras: frozenset[str]
    ) -> list[Candidate] | None:
        """The one candidate of a local path or direct URL, or None when the index decides."""
        if name in self.locals:
            return [self._local_candidate(name, extras)]
        urls = {r.url for r in reqs if r.url}
        if not urls and name in self.urls:
            urls = {self.urls[name]}
        if not urls:
            return None
        if len(urls) > 1:
            detail = "different direct references: " + ", ".join(sorted(urls))
            self.state.dropped[name] = [Drop(version=None, cause=Cause.URL, detail=detail)]
            return []
        url = urls.pop()
        self.urls.setdefault(name, url)
        pins = tuple(("sha256", h) for h in sorted(self.pins.get(name, ())))
        only_binary = self._policy_for(name) is SourcePolicy.NEVER
        return [url_candidate(name, url, self.target, extras=extras, hashes=pins, only_binary=only_binary)]

    def _files(self, name: NormalizedName, dropped: list[Drop]) -> Sequence[DistFile]:
        try:
            # The same tuple each time: grouping is cached by it.
            files = self.judged.files(name) if self.judged is not None else self.finder.project(name).files
        except ProjectNotFound as exc:
            # A name no index has is a dead end to back out of, not the end of the run.
            dropped[:] = [Drop(version=None, cause=Cause.NOT_FOUND, detail=exc.message)]
            files = ()
        self.state.files[name] = files
        if not self.require_hashes or not files:
            return files
        if name not in self.pins:
            raise InputError(
                f"--hash mode: {name} has no --hash pin",
                hint="pin every requirement, including dependencies, with --hash "
                "(pip's rule: once one requirement has a hash, all must)",
            )
        return tuple(f for f in files if f.sha256 in self.pins[name])

    def _check_extras(self, candidate: Candidate, requires: list[Requirement], provides: list[str]) -> None:
        """Warn about a requested extra the project does not define (pip and uv warn too).

        Old metadata lacks Provides-Extra: the extras its markers name count as defined.
        """
        known = {canonicalize_name(e) for e in provides}
        for req in requires:
            known.update(canonicalize_name(e) for e in _EXTRA_IN_MARKER.findall(str(req.marker or "")))
        for extra in sorted(candidate.extras - known):
            message = f"{candidate.name} {candidate.version} does not provide the extra {extra!r}"
            if message not in self.state.warnings:
                self.state.warnings.append(message)
                log.warning("%s", message)

    def _requires_dist(self, candidate: Candidate) -> tuple[list[Requirement], list[str]]:
        requires, provides, invalid = parse_requires(self._metadata(candidate))
        for line in invalid:
            log.warning("%s %s: ignoring invalid Requires-Dist %r", candidate.name, candidate.version, line)
        return list(requires), list(provides)

    def _metadata(self, candidate: Candidate) -> bytes:
        key = (candidate.name, str(candidate.version))
        if candidate.local_path is not None or candidate.file is None:
            return self._prepared(candidate, key)
        data = self.finder.metadata(candidate.file)
        if candidate.file.is_wheel:
            self.state.metadata_source[key] = "index"
            return data
        if static_requires_dist(data):
            self.state.metadata_source[key] = "pkg-info"
            return data
        return self._prepared(candidate, key)

    def _prepared(self, candidate: Candidate, key: tuple[str, str]) -> bytes:
        if self.prepare is None:
            raise InputError(
                f"{candidate.name} {candidate.version}: metadata is dynamic and no sandbox was "
                "given to prepare it",
                hint="its requirements are known only by running its build backend",
            )
        self.state.metadata_source[key] = "prepared-in-container"
        log.info(
            "%s %s: preparing metadata in a sandboxed container for the target "
            "(no network, unprivileged; metadata hook only)",
            candidate.name,
            candidate.version,
        )
        return self.prepare(candidate)

    def _local_candidate(self, name: NormalizedName, extras: frozenset[str]) -> Candidate:
        local = self.locals[name]
        assert local.local_path is not None
        if local.local_path.is_file():
            if name not in self._archives:  # hashing the file once is enough
                self._archives[name] = local_archive(name, local.local_path, self.target)
            archive = self._archives[name]
            if archive is not None:
                return replace(archive, extras=extras)
        version = local_version(local.local_path)
        return Candidate(
            name=name,
            version=version,
            action=Action.BUILD,
            file=None,
            extras=extras,
            local_path=local.local_path,
        )


# The lookahead parses the likely pick's metadata on a worker; the resolver then gets it for free.
@lru_cache(maxsize=1024)
def parse_requires(raw: bytes) -> tuple[tuple[Requirement, ...], tuple[str, ...], tuple[str, ...]]:
    """(Requires-Dist, Provides-Extra, Requires-Dist lines that do not parse) of core metadata."""
    parsed, _ = parse_email(_headers(raw))
    requires: list[Requirement] = []
    invalid: list[str] = []
    for line in parsed.get("requires_dist", []):
        try:
            requires.append(Requirement(line))
        except InvalidRequirement:
            invalid.append(line)
    return tuple(requires), tuple(parsed.get("provides_extra", [])), tuple(invalid)


def _headers(raw: bytes) -> bytes:
    """Core metadata up to the blank line that ends its headers, where the email parser stops
    reading fields too. The description after it (a README: 16 KB on average over the 40 set's
    96 wheels) was half of each parse. CRLF metadata is parsed whole."""
    end = raw.find(b"\n\n")
    return raw if end < 0 else raw[: end + 1]


def _is_pin(specifier: SpecifierSet) -> bool:
    return any(s.operator in ("==", "===") for s in specifier)


def static_requires_dist(pkg_info: bytes) -> bool:
    """PEP 643: Metadata-Version 2.2+ and Requires-Dist not declared Dynamic."""
    parsed, _ = parse_email(_headers(pkg_info))
    version = parsed.get("metadata_version", "1.0")
    try:
        new_enough = Version(version) >= Version("2.2")
    except ValueError:
        return False
    dynamic = {d.lower() for d in parsed.get("dynamic", [])}
    return new_enough and "requires-dist" not in dynamic


def local_version(path: Any) -> Version:
    """The version a local project declares statically, else 0+local (prepared metadata decides)."""
    import tomllib
    from pathlib import Path

    if Path(path).is_file():
        try:
            return parse_sdist_filename(Path(path).name)[1]
        except InvalidSdistFilename:
            return Version("0+local")
    pyproject = Path(path) / "pyproject.toml"
    if pyproject.is_file():
        version = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("version")
        if isinstance(version, str):
            return Version(version)
    return Version("0+local")
