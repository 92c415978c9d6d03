"""What the user asked for: PEP 508 strings, requirements files, constraints and pyproject projects.

Requirements files follow pip's format: `-r`/`-c` nesting, `--hash` pins, and index options
(`--index-url`, `--extra-index-url`, `--find-links`, `--no-index`, `--only-binary`, `--no-binary`).
pip's and uv's configuration files are deliberately not read: a plan depends only on what it is given.
"""

from __future__ import annotations

import re
import shlex
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import NormalizedName, canonicalize_name

from xbuild.config import check_project_table
from xbuild.errors import InputError, UsageError


@dataclass(frozen=True, kw_only=True)
class UserRequirement:
    requirement: Requirement
    origin: str  # "file:line", "command line" or "pyproject.toml" — used in conflict messages
    hashes: tuple[str, ...] = ()  # "sha256:<hex>" pins
    local_path: Path | None = None  # a local project or archive (./pkg, pkg @ file:///...)

    @property
    def name(self) -> NormalizedName:
        return canonicalize_name(self.requirement.name)


@dataclass(frozen=True, kw_only=True)
class Inputs:
    requirements: tuple[UserRequirement, ...] = ()
    constraints: tuple[UserRequirement, ...] = ()
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    only_binary: frozenset[str] = frozenset()  # canonical names or ":all:"
    no_binary: frozenset[str] = frozenset()

    @property
    def require_hashes(self) -> bool:
        """pip's rule: once any requirement carries a hash, every one must."""
        return any(r.hashes for r in self.requirements)


@dataclass
class _Collector:
    requirements: list[UserRequirement] = field(default_factory=list)
    constraints: list[UserRequirement] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    no_index: bool = False
    only_binary: set[str] = field(default_factory=set)
    no_binary: set[str] = field(default_factory=set)
    seen: set[Path] = field(default_factory=set)

    def freeze(self) -> Inputs:
        return Inputs(
            requirements=tuple(self.requirements),
            constraints=tuple(self.constraints),
            index_url=self.index_url,
            extra_index_urls=tuple(self.extra_index_urls),
            find_links=tuple(self.find_links),
            no_index=self.no_index,
            only_binary=frozenset(self.only_binary),
            no_binary=frozenset(self.no_binary),
        )


def collect_inputs(
    requirements: Iterable[str] = (),
    requirement_files: Iterable[Path] = (),
    constraint_files: Iterable[Path] = (),
    *,
    project: Path | None = None,
    extras: Iterable[str] = (),
    groups: Iterable[str] = (),
    cwd: Path | None = None,
) -> Inputs:
    base = cwd or Path.cwd()
    acc = _Collector()
    for text in requirements:
        acc.requirements.append(parse_requirement(text, "command line", base))
    for path in requirement_files:
        _read_file(acc, path, constraint=False)
    for path in constraint_files:
        _read_file(acc, path, constraint=True)
    if project is not None:
        acc.requirements.extend(project_requirements(project, tuple(extras), tuple(groups)))
    return acc.freeze()


def parse_requirement(text: str, origin: str, base: Path, hashes: tuple[str, ...] = ()) -> UserRequirement:
    """One PEP 508 line; a leading `./`, `/` or `file:` URL is a local project."""
    text = text.strip()
    if text.startswith(("./", "../", "/")) or text == ".":
        return _local(text, origin, base)
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise InputError(
            f"{origin}: invalid requirement {text!r}: {exc}",
            hint="use PEP 508 syntax, e.g. `numpy>=2` or `pkg @ file:///path`",
        ) from exc
    local = None
    if req.url and req.url.startswith("file:"):
        local = Path(unquote(urlparse(req.url).path))
        if not local.exists():
            raise InputError(f"{origin}: {req.url} does not exist")
    return UserRequirement(requirement=req, origin=origin, hashes=hashes, local_path=local)


def _local(text: str, origin: str, base: Path) -> UserRequirement:
    path = (base / text).resolve()
    if not path.exists():
        raise InputError(f"{origin}: local path {text!r} does not exist ({path})")
    name = _local_name(path)
    return UserRequirement(
        requirement=Requirement(f"{name} @ {path.as_uri()}"), origin=origin, local_path=path
    )


def _local_name(path: Path) -> str:
    pyproject = path / "pyproject.toml"
    if pyproject.is_file():
        name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
        if isinstance(name, str):
            return name
    match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._]*?)-\d", path.name)
    if match:
        return match.group(1)
    raise InputError(f"cannot tell the project name of {path}", hint="write it as `name @ file:///path`")


_OPTIONS_WITH_VALUE = {
    "-r",
    "--requirement",
    "-c",
    "--constraint",
    "-i",
    "--index-url",
    "--extra-index-url",
    "-f",
    "--find-links",
    "--only-binary",
    "--no-binary",
}


def _read_file(acc: _Collector, path: Path, *, constraint: bool) -> None:
    try:
        resolved = path.resolve()
        text = resolved.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read requirements file {path}: {exc}") from exc
    if resolved in acc.seen:
        return  # nested includes may repeat; pip reads each once
    acc.seen.add(resolved)
    for lineno, line in _logical_lines(text):
        _read_line(acc, line, f"{path}:{lineno}", resolved.parent, constraint=constraint)


def _logical_lines(text: str) -> Iterable[tuple[int, str]]:
    """Join backslash continuations and drop comments, keeping the first line number."""
    buffer, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).rstrip()
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1] + " "
            continue
        buffer += line
        if buffer.strip():
            yield start, buffer.strip()
        buffer = ""
    if buffer.strip():
        yield start, buffer.strip()


def _read_line(acc: _Collector, line: str, origin: str, base: Path, *, constraint: bool) -> None:
    try:
        tokens = shlex.split(line)
    except ValueError as exc:
        raise InputError(f"{origin}: cannot parse line: {exc}") from exc
    if tokens[0].startswith("-"):
        _read_option(acc, tokens, origin, base, constraint=constraint)
        return
    hashes, words = _split_hashes(tokens, origin)
    req = parse_requirement(" ".join(words), origin, base, hashes)
    (acc.constraints if constraint else acc.requirements).append(req)


def _split_hashes(tokens: list[str], origin: str) -> tuple[tuple[str, ...], list[str]]:
    hashes: list[str] = []
    words: list[str] = []
    iterator = iter(tokens)
    for token in iterator:
        if token.startswith("--hash"):
            value = token.partition("=")[2] or next(iterator, "")
            algo, _, digest = value.partition(":")
            if algo not in {"sha256", "sha384", "sha512"} or not re.fullmatch(r"[0-9a-f]+", digest):
                raise InputError(f"{origin}: bad --hash {value!r}", hint="use --hash=sha256:<hex>")
            hashes.append(value)
        else:
            words.append(token)
    return tuple(hashes), words


def _read_option(acc: _Collector, tokens: list[str], origin: str, base: Path, *, constraint: bool) -> None:
    option, _, inline = tokens[0].partition("=")
    value = inline or (tokens[1] if len(tokens) > 1 else "")
    if option in _OPTIONS_WITH_VALUE and not value:
        raise InputError(f"{origin}: {option} needs a value")
    if option in ("-r", "--requirement"):
        _read_file(acc, base / value, constraint=constraint)
    elif option in ("-c", "--constraint"):
        _read_file(acc, base / value, constraint=True)
    elif option in ("-i", "--index-url"):
        acc.index_url = value
    elif option == "--extra-index-url":
        acc.extra_index_urls.append(value)
    elif option in ("-f", "--find-links"):
        acc.find_links.append(value if "://" in value else str((base / value).resolve()))
    elif option == "--no-index":
        acc.no_index = True
    elif option in ("--only-binary", "--no-binary"):
        target = acc.only_binary if option == "--only-binary" else acc.no_binary
        target.update(binary_names(value))
    elif option in ("--pre", "--prefer-binary", "--trusted-host"):
        return  # accepted for compatibility; xbuild's own policy flags decide these
    else:
        raise InputError(
            f"{origin}: unsupported option {option}",
            hint="supported: -r, -c, --hash, -i, --extra-index-url, -f, --no-index, "
            "--only-binary, --no-binary",
        )


def binary_names(value: str) -> set[str]:
    """`--only-binary a,b` / `:all:` / `:none:` as pip spells them."""
    names = {v.strip() for v in value.split(",") if v.strip()}
    return {n if n in (":all:", ":none:") else canonicalize_name(n) for n in names}


def project_requirements(
    project: Path, extras: tuple[str, ...], groups: tuple[str, ...]
) -> list[UserRequirement]:
    """`[project] dependencies`, the chosen optional extras, and PEP 735 dependency groups."""
    path = project / "pyproject.toml" if project.is_dir() else project
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    check_project_table(data, path)
    table = data.get("project", {})
    origin = str(path)
    lines: list[str] = list(table.get("dependencies", []))
    optional = table.get("optional-dependencies", {})
    for extra in extras:
        if extra not in optional:
            raise UsageError(
                f"{path}: no extra {extra!r}",
                hint=f"extras: {', '.join(sorted(optional)) or 'none'}",
            )
        lines.extend(optional[extra])
    group_table = data.get("dependency-groups", {})
    for group in groups:
        lines.extend(_group(group_table, group, path, ()))
    return [parse_requirement(line, origin, path.parent) for line in lines]


def _group(table: dict[str, list[object]], name: str, path: Path, stack: tuple[str, ...]) -> list[str]:
    wanted = {canonicalize_name(k): k for k in table}
    key = wanted.get(canonicalize_name(name))
    if key is None:
        raise UsageError(
            f"{path}: no dependency group {name!r}", hint=f"groups: {', '.join(table) or 'none'}"
        )
    if key in stack:
        raise InputError(f"{path}: dependency group cycle {' -> '.join((*stack, key))}")
    lines: list[str] = []
    for item in table[key]:
        if isinstance(item, str):
            lines.append(item)
        elif isinstance(item, dict) and isinstance(item.get("include-group"), str):
            lines.extend(_group(table, item["include-group"], path, (*stack, key)))
        else:
            raise InputError(f"{path}: group {key!r} has an invalid entry {item!r}")
    return lines
