"""What the user asked for: PEP 508 strings, requirements files, constraints and pyproject projects.

Requirements files follow pip's documented format, read line by line as pip does: `\\`
continuations, comments, `${VAR}` expansion, `-r`/`-c` nesting relative to the including file,
`-e`/local paths, direct references, `--hash` pins and the options pip allows in a file. Only the
options part of a line is split like a shell line, so markers keep their quotes.
pip's and uv's configuration files are deliberately not read: a plan depends only on what it is given.
"""

from __future__ import annotations

import os
import re
import shlex
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)

from xbuild.config import check_project_table
from xbuild.errors import InputError, UsageError
from xbuild.plan.lockfile import is_lock_file


@dataclass(frozen=True, kw_only=True)
class UserRequirement:
    requirement: Requirement  # intact: name, extras, specifier, url and marker
    origin: str  # "file:line", "command line" or "pyproject.toml" — used in conflict messages
    hashes: tuple[str, ...] = ()  # "sha256:<hex>" pins
    local_path: Path | None = None  # a local project or archive (./pkg, pkg @ file:///...)
    editable: bool = False  # given with -e; built like any local project
    # The project extras this line came in under (`[project.optional-dependencies]`); a marker's
    # `extra` is evaluated against them (provider.marker_holds).
    for_extras: frozenset[str] = frozenset()

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
    pre: bool = False  # `--pre` in a requirements file: counts like the flag
    prefer_binary: bool = False  # `--prefer-binary` in a file (xbuild's default policy already is)
    hash_option: bool = False  # `--require-hashes` in a file
    extras: tuple[str, ...] = ()  # project extras requested (--extra)
    groups: tuple[str, ...] = ()  # dependency groups requested (--group)

    @property
    def require_hashes(self) -> bool:
        """pip's rule: once any requirement carries a hash, every one must."""
        return self.hash_option or any(r.hashes for r in self.requirements)


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
    pre: bool = False
    prefer_binary: bool = False
    require_hashes: bool = False
    seen: set[tuple[Path, bool]] = field(default_factory=set)

    def freeze(self, extras: tuple[str, ...], groups: tuple[str, ...]) -> Inputs:
        return Inputs(
            requirements=tuple(self.requirements),
            constraints=tuple(self.constraints),
            index_url=self.index_url,
            extra_index_urls=tuple(dict.fromkeys(self.extra_index_urls)),
            find_links=tuple(dict.fromkeys(self.find_links)),
            no_index=self.no_index,
            only_binary=frozenset(self.only_binary),
            no_binary=frozenset(self.no_binary),
            pre=self.pre,
            prefer_binary=self.prefer_binary,
            hash_option=self.require_hashes,
            extras=extras,
            groups=groups,
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
    environ: Mapping[str, str] | None = None,
) -> Inputs:
    """Everything the user handed over; `environ` (default: os.environ) expands `${VAR}` in files."""
    base = cwd or Path.cwd()
    env = os.environ if environ is None else environ
    acc = _Collector()
    for text in requirements:
        acc.requirements.append(parse_requirement(text, "command line", base))
    for path in requirement_files:
        if is_lock_file(path):
            raise UsageError(
                f"{path} is a lock file, not a requirements file",
                hint="a lock is planned on its own: pass it as the only -r, with nothing else",
            )
        _read_file(acc, path if cwd is None else cwd / path, constraint=False, environ=env)
    for path in constraint_files:
        _read_file(acc, path if cwd is None else cwd / path, constraint=True, environ=env)
    if project is not None:
        acc.requirements.extend(project_requirements(project, tuple(extras), tuple(groups)))
    inputs = acc.freeze(tuple(extras), tuple(groups))
    check_hash_mode(inputs)
    return inputs


def check_hash_mode(inputs: Inputs) -> None:
    """In hash-checking mode every requirement is an `==` pin with at least one hash (pip's rule)."""
    if not inputs.require_hashes:
        return
    problems = [
        f"{r.origin}: {r.requirement} {_hash_mode_problem(r)}"
        for r in inputs.requirements
        if _hash_mode_problem(r)
    ]
    if problems:
        raise InputError(
            "hash-checking mode: every requirement must be pinned with == and carry --hash:\n  "
            + "\n  ".join(problems),
            hint="regenerate the file with hashes (`uv export`, `pip-compile --generate-hashes`), "
            "or drop every --hash",
        )


def _hash_mode_problem(req: UserRequirement) -> str:
    # A local project is built from the tree at hand, never downloaded: there is no file to hash.
    # pip refuses one in hash mode; `uv export` writes `-e .` among hashed lines, so accept it.
    if req.editable or (req.local_path is not None and req.local_path.is_dir()):
        return ""
    pinned = any(s.operator in ("==", "===") and "*" not in s.version for s in req.requirement.specifier)
    if not pinned and req.requirement.url is None:
        return "is not pinned with =="
    if not req.hashes:
        return "has no --hash"
    return ""


def parse_requirement(
    text: str, origin: str, base: Path, hashes: tuple[str, ...] = (), *, editable: bool = False
) -> UserRequirement:
    """One requirement as pip reads it: a local path or archive, a URL, or a PEP 508 string."""
    text = text.strip()
    if editable or _looks_local(text, base):
        return _local(text, origin, base, hashes, editable=editable)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        return _bare_url(text, origin, hashes)
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
        if not local.is_absolute():
            local = (base / local).resolve()
        if not local.exists():
            raise InputError(f"{origin}: {req.url} does not exist")
    return UserRequirement(requirement=req, origin=origin, hashes=hashes, local_path=local)


def _looks_local(text: str, base: Path) -> bool:
    """pip's test: a path separator or a leading dot, or an archive that exists here."""
    head = _split_marker(text, url=False)[0]
    if "@" in head.split("/")[0] or "://" in head:
        return head.startswith("file:")
    if head.startswith((".", "/", "~")) or "/" in head or "\\" in head:
        return True
    path = _strip_extras(head)[0]
    return path.endswith(_ARCHIVE) and (base / path).is_file()


def _split_marker(text: str, *, url: bool) -> tuple[str, str | None]:
    # pip splits a URL's marker at "; " (a URL may hold ";"), a path's at ";".
    sep = "; " if url else ";"
    if sep not in text:
        return text.strip(), None
    head, _, marker = text.partition(sep)
    return head.strip(), marker.strip() or None


def _strip_extras(path: str) -> tuple[str, str]:
    match = re.match(r"^(.+?)(\[[^\]]+\])$", path)
    return (match.group(1), match.group(2)) if match else (path, "")


def _local(text: str, origin: str, base: Path, hashes: tuple[str, ...], *, editable: bool) -> UserRequirement:
    head, marker = _split_marker(text, url=text.startswith("file:"))
    location, extras = _strip_extras(head)
    if location.startswith("file:"):
        path = Path(unquote(urlparse(location).path))
    elif "://" in location:  # `-e git+https://...#egg=name`: a VCS checkout, kept as a URL
        return _bare_url(text, origin, hashes, editable=editable)
    else:
        path = Path(os.path.expanduser(location))
    path = (base / path).resolve()
    if not path.exists():
        raise InputError(f"{origin}: local path {location!r} does not exist ({path})")
    line = f"{_local_name(path)}{extras} @ {path.as_uri()}" + (f" ; {marker}" if marker else "")
    try:
        req = Requirement(line)
    except InvalidRequirement as exc:
        raise InputError(f"{origin}: invalid requirement {text!r}: {exc}") from exc
    return UserRequirement(requirement=req, origin=origin, hashes=hashes, local_path=path, editable=editable)


def _bare_url(text: str, origin: str, hashes: tuple[str, ...], *, editable: bool = False) -> UserRequirement:
    """`https://host/pkg-1.0.tar.gz` or `git+https://...#egg=name`: the name comes from pip's sources."""
    url, marker = _split_marker(text, url=True)
    url, extras = _strip_extras(url)
    name = _name_from_url(url)
    if name is None:
        raise InputError(
            f"{origin}: cannot tell the project name of {url}",
            hint="write it as `name @ URL` (PEP 508)",
        )
    line = f"{name}{extras} @ {url}" + (f" ; {marker}" if marker else "")
    try:
        req = Requirement(line)
    except InvalidRequirement as exc:
        raise InputError(f"{origin}: invalid requirement {text!r}: {exc}") from exc
    return UserRequirement(requirement=req, origin=origin, hashes=hashes, editable=editable)


def _name_from_url(url: str) -> str | None:
    parsed = urlparse(url)
    egg = re.search(r"(?:^|&)egg=([^&]+)", parsed.fragment)
    if egg:
        return _strip_extras(egg.group(1))[0]
    return _archive_name(unquote(parsed.path.rsplit("/", 1)[-1]))


def _archive_name(filename: str) -> str | None:
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[0]
        return parse_sdist_filename(filename)[0]
    except (InvalidWheelFilename, InvalidSdistFilename):
        match = re.match(r"^([A-Za-z0-9][A-Za-z0-9._]*?)-\d", filename)
        return match.group(1) if match else None


_VALID_NAME = re.compile(r"[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?")  # PEP 508 names


def _local_name(path: Path) -> str:
    pyproject = path / "pyproject.toml"
    if pyproject.is_file():
        try:
            name = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {}).get("name")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise InputError(f"cannot read {pyproject}: {exc}") from exc
        if isinstance(name, str):
            if not _VALID_NAME.fullmatch(name):
                raise InputError(
                    f"{pyproject}: [project] name {name!r} is not a valid project name",
                    hint="use ASCII letters, digits, `.`, `_` and `-`, starting and ending with a "
                    "letter or digit (PEP 508)",
                )
            return name
    name = _archive_name(path.name) if path.is_file() else None
    if name:
        return name
    raise InputError(f"cannot tell the project name of {path}", hint="write it as `name @ file:///path`")


# pip's requirements-file grammar (pip/_internal/req/req_file.py), kept as data.
_COMMENT = re.compile(r"(^|\s+)#.*$")
_ENV_VAR = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)\}")  # pip expands only ${NAME}, upper case
_ARCHIVE = (".whl", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz", ".txz", ".tar", ".zip")
_HASH_ALGORITHMS = {"sha256": 64, "sha384": 96, "sha512": 128}
_SHORT = {
    "-r": "--requirement",
    "-c": "--constraint",
    "-i": "--index-url",
    "-f": "--find-links",
    "-e": "--editable",
}
_WITH_VALUE = {
    "--requirement",
    "--constraint",
    "--index-url",
    "--extra-index-url",
    "--find-links",
    "--editable",
    "--only-binary",
    "--no-binary",
    "--trusted-host",
    "--use-feature",
}
_FLAGS = {"--no-index", "--pre", "--prefer-binary", "--require-hashes"}


@dataclass(frozen=True)
class _Context:
    """Where a line is read: its file's directory, whether it constrains, and the environment."""

    base: Path
    constraint: bool
    environ: Mapping[str, str]


def _read_file(acc: _Collector, path: Path, *, constraint: bool, environ: Mapping[str, str]) -> None:
    if path.suffix in (".toml", ".lock"):
        # A lock under another name: PEP 751 says how a lock is recognised, and so do we.
        raise InputError(
            f"{path} is not a requirements file, nor named as a lock (pylock.toml, "
            "pylock.<name>.toml or uv.lock)",
            hint="rename a PEP 751 lock to pylock.toml or pylock.<name>.toml, then pass it with -r",
        )
    try:
        resolved = path.resolve()
        text = resolved.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(
            f"cannot read requirements file {path}: {exc}",
            hint="check the path (relative paths in a file are relative to that file)",
        ) from exc
    if (resolved, constraint) in acc.seen:
        return  # nested includes may repeat; pip reads each once
    acc.seen.add((resolved, constraint))
    context = _Context(base=resolved.parent, constraint=constraint, environ=environ)
    for lineno, line in logical_lines(text, environ):
        _read_line(acc, line, f"{path}:{lineno}", context)


def logical_lines(text: str, environ: Mapping[str, str]) -> Iterator[tuple[int, str]]:
    """pip's preprocessing: join `\\` continuations, drop comments, expand `${VAR}`."""
    for number, joined in _joined(text.splitlines()):
        line = _COMMENT.sub("", joined).strip()
        if line:
            yield number, _ENV_VAR.sub(lambda m: environ.get(m["name"], m[0]), line)


def _joined(lines: Iterable[str]) -> Iterator[tuple[int, str]]:
    # A comment line ending in a backslash ends the logical line, as in pip.
    start, parts = 0, list[str]()
    for number, raw in enumerate(lines, start=1):
        line = raw
        if not line.endswith("\\") or _COMMENT.match(line):
            if _COMMENT.match(line):
                line = " " + line  # so the comment is still stripped once joined
            if parts:
                yield start, "".join((*parts, line))
                parts = []
            else:
                yield number, line
        else:
            if not parts:
                start = number
            parts.append(line[:-1])
    if parts:
        yield start, "".join(parts)


def split_line(line: str) -> tuple[str, str]:
    """pip's break_args_options: the requirement is every word before the first `-word`."""
    words = line.split(" ")
    for i, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:i]).strip(), " ".join(words[i:])
    return line.strip(), ""


def _read_line(acc: _Collector, line: str, origin: str, context: _Context) -> None:
    args, options = split_line(line)
    tokens = _tokens(options, origin)
    if not args:
        for option, value in _options(tokens, origin):
            _apply_option(acc, option, value, origin, context)
        return
    hashes = _hashes(tokens, origin)
    req = parse_requirement(args, origin, context.base, hashes)
    (acc.constraints if context.constraint else acc.requirements).append(req)


def _tokens(options: str, origin: str) -> list[str]:
    # Only the options part goes through shell-like splitting (pip does the same): a requirement's
    # marker keeps its quotes because it never gets here.
    try:
        return shlex.split(options)
    except ValueError as exc:
        raise InputError(f"{origin}: cannot parse options {options!r}: {exc}") from exc


def _options(tokens: list[str], origin: str) -> Iterator[tuple[str, str]]:
    """(long option, value) pairs; `-rfile`, `-r file`, `--opt=value` and `--opt value` alike."""
    words = iter(tokens)
    for word in words:
        option, attached = _split_option(word)
        if option in _WITH_VALUE:
            value = attached if attached is not None else next(words, "")
            if not value:
                raise InputError(f"{origin}: {option} needs a value")
            yield option, value
        elif option in _FLAGS and attached is None:
            yield option, ""
        else:
            raise InputError(
                f"{origin}: unsupported option {word!r}",
                hint="requirements files accept -r, -c, -e, -i, --extra-index-url, -f, --no-index, "
                "--pre, --only-binary, --no-binary, --prefer-binary, --require-hashes, "
                "--trusted-host, and --hash after a requirement",
            )


def _split_option(word: str) -> tuple[str, str | None]:
    """`-rfile`, `-r`, `--opt=value`, `--opt` -> (long name, the value attached to it or None)."""
    if word[:2] in _SHORT and not word.startswith("--"):
        return _SHORT[word[:2]], word[2:].removeprefix("=") or None
    option, eq, value = word.partition("=")
    return option, value if eq else None


def _apply_option(acc: _Collector, option: str, value: str, origin: str, context: _Context) -> None:
    if option in ("--requirement", "--constraint"):
        nested = _nested_path(value, context.base, origin)
        _read_file(
            acc, nested, constraint=context.constraint or option == "--constraint", environ=context.environ
        )
    elif option == "--editable":
        req = parse_requirement(value, origin, context.base, editable=True)
        (acc.constraints if context.constraint else acc.requirements).append(req)
    elif option == "--index-url":
        acc.index_url = value
    elif option == "--extra-index-url":
        acc.extra_index_urls.append(value)
    elif option == "--find-links":
        acc.find_links.append(value if "://" in value else str((context.base / value).resolve()))
    elif option == "--no-index":
        acc.no_index = True
    elif option == "--pre":
        acc.pre = True
    elif option == "--prefer-binary":
        acc.prefer_binary = True
    elif option == "--require-hashes":
        acc.require_hashes = True
    elif option in ("--only-binary", "--no-binary"):
        _binary_option(acc, option, value)
    # --trusted-host and --use-feature are accepted: they change how pip talks, not what is planned.


def _binary_option(acc: _Collector, option: str, value: str) -> None:
    """pip's handle_mutual_excludes: a name given to one leaves the other; `:all:` resets both."""
    target, other = (
        (acc.only_binary, acc.no_binary) if option == "--only-binary" else (acc.no_binary, acc.only_binary)
    )
    for word in (w.strip() for w in value.split(",")):
        if word == ":all:":
            target.clear()
            other.clear()
            target.add(":all:")
        elif word == ":none:":
            target.clear()
        elif word:
            name = canonicalize_name(word)
            other.discard(name)
            target.add(name)


def _nested_path(value: str, base: Path, origin: str) -> Path:
    if "://" in value and not value.startswith("file:"):
        raise InputError(
            f"{origin}: -r/-c {value}: remote requirements files are not read",
            hint="download the file and pass its path",
        )
    if value.startswith("file:"):
        return Path(unquote(urlparse(value).path))
    return base / value


def _hashes(tokens: list[str], origin: str) -> tuple[str, ...]:
    hashes: list[str] = []
    words = iter(tokens)
    for word in words:
        option, eq, value = word.partition("=")
        if option != "--hash":
            raise InputError(
                f"{origin}: unsupported option after a requirement: {word!r}",
                hint="only --hash may follow a requirement (e.g. --hash=sha256:<hex>)",
            )
        value = value if eq else next(words, "")
        algo, _, digest = value.partition(":")
        digest = digest.lower()
        if _HASH_ALGORITHMS.get(algo) != len(digest) or not re.fullmatch(r"[0-9a-f]+", digest):
            raise InputError(f"{origin}: bad --hash {value!r}", hint="use --hash=sha256:<64 hex digits>")
        hashes.append(f"{algo}:{digest}")
    return tuple(dict.fromkeys(hashes))


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
    lines: list[tuple[str, frozenset[str]]] = [(line, frozenset()) for line in table.get("dependencies", [])]
    optional = {canonicalize_name(k): v for k, v in table.get("optional-dependencies", {}).items()}
    for extra in extras:
        key = canonicalize_name(extra)  # PEP 685: extras compare normalized
        if key not in optional:
            raise UsageError(
                f"{path}: no extra {extra!r}",
                hint=f"extras: {', '.join(sorted(optional)) or 'none'}",
            )
        lines.extend((line, frozenset({key})) for line in optional[key])
    group_table = data.get("dependency-groups", {})
    for group in groups:
        lines.extend((line, frozenset()) for line in _group(group_table, group, path, ()))
    return [
        _with_extras(parse_requirement(line, f"{origin} [{next(iter(e))}]" if e else origin, path.parent), e)
        for line, e in lines
    ]


def _with_extras(req: UserRequirement, extras: frozenset[str]) -> UserRequirement:
    return req if not extras else replace(req, for_extras=extras)


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
