"""`bundle --compile`: byte-compile a staged bundle for the TARGET's Python, reproducibly.

Bytecode is specific to one CPython X.Y, so only an interpreter of exactly that version compiles:
a matching host one, else the target's build image (no network, unprivileged). The pycs are
unchecked-hash (PEP 552): no timestamps inside, and the runtime never re-validates them against
the source, so nothing is written at import time (Lambda's /var/task is read-only anyway).

Wherever it runs, one script compiles and returns a tar of the pycs; only members whose names
this side expects (`<dir>/__pycache__/<stem>.cpython-XY.pyc` of a source it sent) are written.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import tarfile
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from xbuild.build.container import ContainerSpec, Mount, running
from xbuild.errors import EngineError
from xbuild.host._run import call
from xbuild.host.discover import Discovery, discover_interpreters
from xbuild.host.facts import detect_build_host
from xbuild.host.images import with_image_facts
from xbuild.host.interpreter import InterpreterFacts
from xbuild.images import ImageFacts
from xbuild.routes.checks import image_for
from xbuild.target import Arch, Target
from xbuild.verify.record import parse_record

log = logging.getLogger(__name__)

PYC_LIMIT = 64 * 1024**2  # one pyc bigger than this is not bytecode of a shipped source
# Hash randomisation would reorder frozenset constants (`x in {"a", "b"}`) from run to run.
COMPILE_ENV = {"PYTHONHASHSEED": "0"}
# Runs under the target's interpreter (3.7+ syntax): src-dir sources.json out.tar cache-tag.
SCRIPT = r"""
import json, os, py_compile, sys, tarfile
src, listing, out, want = sys.argv[1:5]
if sys.implementation.cache_tag != want:
    sys.stderr.write("this interpreter is %s, not %s\n" % (sys.implementation.cache_tag, want))
    sys.exit(3)
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
with open(listing, encoding="utf-8") as handle:
    names = json.load(handle)
scratch = out + ".d"
os.makedirs(scratch)
with tarfile.open(out, "w") as tar:
    for number, name in enumerate(names):
        head, _, tail = name.rpartition("/")
        pyc = (head + "/" if head else "") + "__pycache__/" + tail[:-3] + "." + want + ".pyc"
        cfile = os.path.join(scratch, str(number))
        try:
            py_compile.compile(os.path.join(src, name), cfile=cfile, dfile=name, doraise=True,
                               optimize=0, invalidation_mode=mode)
        except (py_compile.PyCompileError, OSError, ValueError) as exc:
            print("not compiled: %s: %s" % (name, str(exc).strip().splitlines()[-1:]))
            continue
        tar.add(cfile, arcname=pyc, recursive=False)
        os.unlink(cfile)
os.rmdir(scratch)
"""


@dataclass(frozen=True, kw_only=True)
class CompileSettings:
    image: str | None = None  # the build image asked for (--image); None: the target's
    remote_engines: tuple[tuple[Arch, str], ...] = ()  # as for builds: arch -> engine URL
    timeout: float = 900.0


@dataclass(frozen=True, kw_only=True)
class Compiler:
    """Where the bytecode is made: a host interpreter, or one inside an image."""

    python: str  # "X.Y"
    cache_tag: str  # "cpython-XY": the pyc names, and what the interpreter must say it is
    interpreter: str  # a host path, or a path inside the image
    image: str | None = None
    engine_url: str | None = None
    platform: str | None = None

    @property
    def label(self) -> str:
        where = f"in image {self.image}" if self.image else "on this host"
        return f"Python {self.python} ({self.interpreter} {where})"


@dataclass(frozen=True, kw_only=True)
class Compiled:
    compiler: Compiler
    compiled: int
    not_compiled: tuple[str, ...]  # sources the target's Python cannot compile (syntax it refuses)

    def to_json(self) -> dict[str, object]:
        return {
            "python": self.compiler.python,
            "invalidation": "unchecked-hash",
            "compiled_by": "image" if self.compiler.image else "host",
            "image": self.compiler.image,
            "compiled": self.compiled,
            "not_compiled": list(self.not_compiled),
        }


def cache_tag(target: Target) -> str:
    return f"cpython-{target.python_version[0]}{target.python_version[1]}"


def host_compiler(target: Target, interpreters: Sequence[InterpreterFacts]) -> Compiler | None:
    """The first host interpreter of exactly the target's CPython X.Y and build kind."""
    for facts in interpreters:
        if (
            facts.probe.implementation == "cpython"
            and facts.version == target.python_version
            and facts.probe.free_threaded == target.free_threaded
        ):
            return Compiler(python=target.python, cache_tag=cache_tag(target), interpreter=str(facts.path))
    return None


def image_compiler(
    target: Target, image: str | None, facts: ImageFacts | None, engine_url: str | None
) -> Compiler | str:
    """The image's interpreter of the target's X.Y, or why the image cannot compile."""
    if image is None:
        return f"no build image is known for {target.platform_label}"
    if facts is None:
        return f"image {image} cannot run here (no engine, or no emulation for {target.arch})"
    if not facts.present:
        return f"image {image} is not on the engine"
    python = None if target.free_threaded else facts.python_for(target.python)
    if python is None:
        return f"image {image} has no Python {target.python}"
    return Compiler(
        python=target.python,
        cache_tag=cache_tag(target),
        interpreter=python,
        image=image,
        engine_url=engine_url,
        platform=target.docker_platform,
    )


def refusal(target: Target, interpreters: Sequence[InterpreterFacts], image_reason: str) -> EngineError:
    have = sorted({f"{f.version[0]}.{f.version[1]}" for f in interpreters})
    return EngineError(
        f"--compile needs CPython {target.python}, the target's (bytecode is specific to one "
        f"version): this host has {', '.join(have) or 'no Python'}, and {image_reason}",
        hint=f"install python{target.python} on this host (e.g. `uv python install {target.python}`), "
        "or make the target's build image available (`docker images`; scripts/setup-engine.sh "
        "builds the local ones), or pass --image IMAGE holding it; or drop --compile",
    )


ImageChoice = tuple[str | None, ImageFacts | None, str | None]  # image, its facts, its engine URL
HostFinder = Callable[[], Discovery]
ImageFinder = Callable[[Target, CompileSettings], ImageChoice]


def _host_interpreters() -> Discovery:
    """xbuild's own interpreter first, then every one on PATH and in the usual places."""
    return discover_interpreters(first=(Path(sys.executable),))


def _target_image(target: Target, settings: CompileSettings) -> ImageChoice:
    """The image, its facts and engine the container route would use for this target's builds."""
    host = with_image_facts(detect_build_host(settings.remote_engines), target, settings.image)
    image = image_for(target, host, settings.image)
    return image, None if image is None else host.facts_of(image), host.remote_engine(target.arch)


def find_compiler(
    target: Target,
    settings: CompileSettings,
    *,
    hosts: HostFinder = _host_interpreters,
    images: ImageFinder = _target_image,
) -> Compiler:
    """A matching host interpreter, else the target's image; an EngineError (exit 3) if neither."""
    found = hosts().interpreters
    chosen: Compiler | str | None = host_compiler(target, found)
    if chosen is None:
        log.info("bytecode: no CPython %s on this host; looking at the target's image", target.python)
        image, facts, engine_url = images(target, settings)
        chosen = image_compiler(target, image, facts, engine_url)
    if isinstance(chosen, str):
        raise refusal(target, found, chosen)
    log.info("bytecode: compiling with %s", chosen.label)
    return chosen


def sources(site: Path) -> list[str]:
    """Every regular `*.py` file under site (not through symlinks), as sorted posix names."""
    found = []
    for directory, dirnames, filenames in os.walk(site):
        dirnames.sort()
        base = Path(directory)
        for name in filenames:
            path = base / name
            if name.endswith(".py") and path.is_file() and not path.is_symlink():
                found.append(path.relative_to(site).as_posix())
    return sorted(found)


def pyc_name(source: str, tag: str) -> str:
    head, _, tail = source.rpartition("/")
    return f"{head + '/' if head else ''}__pycache__/{tail[:-3]}.{tag}.pyc"


def compile_tree(site: Path, compiler: Compiler, *, work: Path, log_path: Path, timeout: float) -> Compiled:
    """Write `__pycache__/<stem>.<tag>.pyc` beside every source under site, and list them in RECORD."""
    names = sources(site)
    expected = {pyc_name(n, compiler.cache_tag): n for n in names}
    work.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    (work / "sources.json").write_text(json.dumps(names), encoding="utf-8")
    if compiler.image is None:
        archive = _compile_on_host(site, compiler, work, log_path, timeout)
    else:
        archive = _compile_in_image(site, compiler, work, names, log_path, timeout)
    written = _unpack(archive, site, expected)
    _record(site, {expected[p]: p for p in written})
    missing = tuple(expected[p] for p in sorted(set(expected) - set(written)))
    for name in missing:
        log.info("bytecode: %s not compiled: Python %s refuses it (see %s)", name, compiler.python, log_path)
    return Compiled(compiler=compiler, compiled=len(written), not_compiled=missing)


def _argv(python: str, src: str, listing: str, out: str, tag: str) -> list[str]:
    # -S -s: no site, no .pth files run; -B: the script's own imports leave no bytecode behind.
    return [python, "-S", "-s", "-B", "-c", SCRIPT, src, listing, out, tag]


def _compile_on_host(site: Path, compiler: Compiler, work: Path, log_path: Path, timeout: float) -> Path:
    out = work / "pycs.tar"
    env = {**COMPILE_ENV, **{k: v for k, v in os.environ.items() if k in ("SYSTEMROOT", "TMPDIR")}}
    call(
        _argv(compiler.interpreter, str(site), str(work / "sources.json"), str(out), compiler.cache_tag),
        log_path=log_path,
        env=env,
        timeout=timeout,
        what=f"compiling the bundle with {compiler.label}",
    )
    return out


_IN = "/xbuild/in"
_OUT = "/tmp/xbuild-out"


def _compile_in_image(
    site: Path, compiler: Compiler, work: Path, names: Sequence[str], log_path: Path, timeout: float
) -> Path:
    """Only the sources (and their list) are visible inside, read-only; the tar comes out as data."""
    assert compiler.image is not None
    folder = Path(tempfile.mkdtemp(prefix="in-", dir=work))
    _copy_sources(site, names, folder / "src")
    shutil.copyfile(work / "sources.json", folder / "sources.json")
    _readable(folder)
    spec = ContainerSpec(
        image=compiler.image,
        platform=compiler.platform,
        engine_url=compiler.engine_url,
        timeout=timeout,
        mounts=(Mount(source=folder, target=_IN),),
        environment={**COMPILE_ENV, "HOME": "/tmp"},
    )
    what = f"compiling the bundle with {compiler.label}"
    with running(spec) as box:
        listing, out = f"{_IN}/sources.json", f"{_OUT}/pycs.tar"
        box.call(
            _argv(compiler.interpreter, f"{_IN}/src", listing, out, compiler.cache_tag),
            log_path=log_path,
            what=what,
        )
        found = box.copy_out(_OUT, work / "out", suffix=".tar")
    if not found:
        raise EngineError(f"{what}: the container wrote no bytecode archive", hint=f"log: {log_path}")
    return found[0]


def _copy_sources(site: Path, names: Sequence[str], dest: Path) -> None:
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(site / name, target)


def _readable(root: Path) -> None:
    """Readable by the container's unprivileged user, whatever the host's umask."""
    for path in (root, *root.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)


def _unpack(archive: Path, site: Path, expected: Mapping[str, str]) -> list[str]:
    """Write only the regular members named as expected; anything else in the tar is ignored."""
    written = []
    try:
        with tarfile.open(archive, mode="r:") as tar:
            for member in tar:
                if not member.isreg() or member.name not in expected or member.size > PYC_LIMIT:
                    continue
                source = tar.extractfile(member)
                if source is None:
                    continue
                dest = site / member.name
                dest.parent.mkdir(exist_ok=True)
                with source:
                    dest.write_bytes(source.read())
                dest.chmod(0o644)
                written.append(member.name)
    except tarfile.TarError as exc:
        raise EngineError(f"the compiled bytecode archive is unreadable: {exc}") from exc
    return sorted(set(written))


def _record(site: Path, pycs: Mapping[str, str]) -> None:
    """List each pyc in the RECORD that lists its source, without a digest, as pip does."""
    for record in sorted(site.glob("*.dist-info/RECORD")):
        data = record.read_bytes()
        listed = {row.path for row in parse_record(data).rows}
        added = sorted(pycs[s] for s in listed if s in pycs and pycs[s] not in listed)
        if not added:
            continue
        newline = b"\r\n" if b"\r\n" in data else b"\n"
        head = data if data.endswith(newline) or not data else data + newline
        record.write_bytes(head + b"".join(_csv_path(p).encode() + b",," + newline for p in added))


def _csv_path(path: str) -> str:
    return '"' + path.replace('"', '""') + '"' if any(c in path for c in ',"\r\n') else path
