"""Host facts: what this machine can run and build, gathered without network.

`gather()` does the I/O, each source behind an injectable root or callable so tests can point it
at fixtures; everything derived from the facts (emulated arches, the "can build for" summary,
the routes' BuildHost) is a pure function of the `HostFacts` value.

JSON schema (`xbuild doctor --json`, "schema": 1); keys are stable, new keys may be added:

    schema            1
    host              os, arch, kernel_machine, libc, libc_version ("2.36"|null), loader
                      (the system's PT_INTERP|null), macos_version, evidence [str],
                      native_arches [arch], rosetta (bool: macOS Rosetta 2 installed)
    binfmt            dir, mounted (bool), enabled (bool), problems [str],
                      entries [{name, enabled, interpreter, flags, offset, magic (hex|null),
                                mask (hex|null), extension, fix_binary, arches [arch]}]
    emulated          [{arch, via, interpreter, fix_binary, in_containers}]: foreign arches only
    engine            null when not probed, else {url, available, name, version, api_version,
                      os, arch, images [str], shares_host_kernel, error}
    interpreters      [{path, executable, implementation, version, sys_platform, machine, os,
                        arch, libc, libc_version, loader, static, can_load_extensions,
                        free_threaded, ext_suffix, soabi, host_gnu_type, multiarch, prefix,
                        base_prefix, environment ("system"|"venv"|"nix"), environment_reason,
                        platform_tag (best wheel platform tag, null if no Target)}]
    skipped_interpreters  [{path, reason}]
    can_build_for     {native: {arch, platform_tag, also_runs [arch]},
                       container: {available, detail},
                       emulated: [{arch, via, in_containers, note}]}
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from xbuild.errors import XbuildError
from xbuild.host._run import Runner, run_capture
from xbuild.host.binfmt import BINFMT_DIR, BinfmtState, read_binfmt_dir
from xbuild.host.discover import PLACES, SkippedInterpreter, discover_interpreters
from xbuild.host.engine import EngineFacts, probe_engine
from xbuild.host.interpreter import InterpreterFacts
from xbuild.host.probe import probe_interpreter
from xbuild.host.system import SYSTEM_BINARIES, SystemFacts, detect_system, host_system, native_arches
from xbuild.routes.base import BuildHost
from xbuild.target import OS, Arch, Target

if TYPE_CHECKING:
    from xbuild.routes.base import BuildHost

log = logging.getLogger("xbuild.host")

SCHEMA_VERSION = 1
ROSETTA_RUNTIME = Path("/Library/Apple/usr/libexec/oah/libRosettaRuntime")


@dataclass(frozen=True, kw_only=True)
class ForeignArch:
    """An arch this host runs through an emulator, and whether containers can use it."""

    arch: Arch
    via: str  # binfmt entry name, or "Rosetta 2"
    interpreter: str | None
    fix_binary: bool
    in_containers: bool
    engine: Literal["shared", "other-kernel", "none"] = "none"

    @property
    def note(self) -> str:
        """Where this emulation works; the F flag decides whether containers can use it."""
        if self.via == "Rosetta 2":
            return "Rosetta 2 (macOS processes only; Docker Desktop has its own setting)"
        if not self.fix_binary:
            return (
                f"{self.via} (no F flag: host processes only; a container cannot see "
                f"{self.interpreter}, so foreign-arch containers fail)"
            )
        if self.in_containers:
            return f"{self.via} (F flag: also inside containers)"
        if self.engine == "other-kernel":
            return f"{self.via} (F flag, but the engine runs on another kernel with its own binfmt_misc)"
        return f"{self.via} (F flag: containers can use it once an engine runs)"

    def to_json(self) -> dict[str, object]:
        return {
            "arch": str(self.arch),
            "via": self.via,
            "interpreter": self.interpreter,
            "fix_binary": self.fix_binary,
            "in_containers": self.in_containers,
            "note": self.note,
        }


@dataclass(frozen=True, kw_only=True)
class HostFacts:
    """Everything `xbuild doctor` reports, as one immutable value."""

    system: SystemFacts
    binfmt: BinfmtState
    rosetta: bool = False
    engine: EngineFacts | None = None
    interpreters: tuple[InterpreterFacts, ...] = ()
    skipped: tuple[SkippedInterpreter, ...] = ()

    @property
    def native_arches(self) -> tuple[Arch, ...]:
        return native_arches(self.system.arch)

    @property
    def emulated(self) -> tuple[ForeignArch, ...]:
        """Foreign arches this host runs: binfmt emulators on Linux, Rosetta 2 on macOS."""
        if self.system.os is OS.MACOS:
            if not self.rosetta:
                return ()
            rosetta = ForeignArch(
                arch=Arch.X86_64,
                via="Rosetta 2",
                interpreter=str(ROSETTA_RUNTIME),
                fix_binary=False,
                in_containers=False,
            )
            return (rosetta,)
        engine = self._engine_kernel()
        return tuple(
            ForeignArch(
                arch=e.arch,
                via=e.entry.name,
                interpreter=e.entry.interpreter,
                fix_binary=e.entry.fix_binary,
                in_containers=engine == "shared" and e.entry.fix_binary,
                engine=engine,
            )
            for e in self.binfmt.emulators
            if e.arch not in self.native_arches
        )

    def _engine_kernel(self) -> Literal["shared", "other-kernel", "none"]:
        if self.engine is None or not self.engine.available:
            return "none"
        return "shared" if self.engine.shares_host_kernel else "other-kernel"

    def target(self, python: tuple[int, int, int] | None = None) -> Target:
        """The host as a Target; the Python defaults to the one running xbuild."""
        major, minor, micro = python or tuple(sys.version_info[:3])
        s = self.system
        macos_min = _macos_tag_version(s.macos_version)
        return Target(
            os=s.os,
            arch=s.arch,
            libc=s.libc,
            libc_version=s.libc_version,
            python_version=(major, minor),
            python_full_version=f"{major}.{minor}.{micro}",
            python_version_source="host",
            macos_min=macos_min,
            accept_linux_tag=True,
            spec="host",
        )

    def build_host(self, remote_engines: tuple[tuple[Arch, str], ...] = ()) -> BuildHost:
        """The routes' view of these facts (the one adapter, so routes never read the host)."""
        engine = self.engine if self.engine is not None and self.engine.available else None
        pythons = frozenset(
            f"{i.version[0]}.{i.version[1]}"
            for i in self.interpreters
            if i.os is self.system.os and i.arch is self.system.arch and i.can_load_extensions
        )
        return BuildHost(
            os=self.system.os,
            arch=self.system.arch,
            libc=self.system.libc,
            libc_version=self.system.libc_version,
            engine=engine.version if engine else None,
            emulated_arches=frozenset(f.arch for f in self.emulated if f.in_containers),
            images=engine.images if engine else frozenset(),
            remote_engines=remote_engines,
            pythons=pythons,
        )

    def can_build_for(self) -> dict[str, Any]:
        """The summary: native platform, container engine, emulated arches."""
        best = self.target().platform_tags[0]
        engine = self.engine
        if engine is None:
            container = {"available": False, "detail": "not checked"}
        elif engine.available:
            where = f"{engine.os}/{engine.arch}" if engine.os else "unknown platform"
            container = {"available": True, "detail": f"{engine.label}, {where}"}
        else:
            container = {"available": False, "detail": engine.error or "no engine"}
        return {
            "native": {
                "arch": str(self.system.arch),
                "platform_tag": best,
                "also_runs": [str(a) for a in self.native_arches[1:]],
            },
            "container": container,
            "emulated": [
                {"arch": str(f.arch), "via": f.via, "in_containers": f.in_containers, "note": f.note}
                for f in self.emulated
            ],
        }

    def to_json(self) -> dict[str, object]:
        """The stable document described in this module's docstring."""
        return {
            "schema": SCHEMA_VERSION,
            "host": {
                **self.system.to_json(),
                "native_arches": [str(a) for a in self.native_arches],
                "rosetta": self.rosetta,
            },
            "binfmt": {
                "dir": str(self.binfmt.directory),
                "mounted": self.binfmt.mounted,
                "enabled": self.binfmt.enabled,
                "problems": list(self.binfmt.problems),
                "entries": [e.to_json() for e in self.binfmt.entries],
            },
            "emulated": [f.to_json() for f in self.emulated],
            "engine": None if self.engine is None else self.engine.to_json(),
            "interpreters": [{**i.to_json(), "platform_tag": _best_tag(i)} for i in self.interpreters],
            "skipped_interpreters": [s.to_json() for s in self.skipped],
            "can_build_for": self.can_build_for(),
        }


def _macos_tag_version(version: tuple[int, int] | None) -> tuple[int, int] | None:
    # packaging's mac_platforms: from macOS 11 on, minor releases share the major's tag.
    if version is None:
        return None
    return (version[0], 0) if version[0] >= 11 else version


def _best_tag(facts: InterpreterFacts) -> str | None:
    try:
        return facts.target().platform_tags[0]
    except XbuildError:
        return None


def gather(
    *,
    binfmt_dir: Path = BINFMT_DIR,
    system_binaries: Sequence[Path] = SYSTEM_BINARIES,
    rosetta_path: Path = ROSETTA_RUNTIME,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    places: Sequence[str] = PLACES,
    engine: bool = True,
    interpreters: bool = True,
    engine_probe: Callable[..., EngineFacts] = probe_engine,
    probe: Callable[[Path], InterpreterFacts] = probe_interpreter,
    runner: Runner = run_capture,
    sys_platform: str | None = None,
    machine: str | None = None,
) -> HostFacts:
    """Collect the host facts; every source can be redirected, or skipped with engine/interpreters=False."""
    pinned = sys_platform is not None or machine is not None or tuple(system_binaries) != SYSTEM_BINARIES
    system = (
        detect_system(
            sys_platform=sys_platform, machine=machine, system_binaries=system_binaries, runner=runner
        )
        if pinned
        else host_system()
    )
    found = (
        discover_interpreters(
            environ=environ, home=home, places=places, first=(Path(sys.executable),), probe=probe
        )
        if interpreters
        else None
    )
    return HostFacts(
        system=system,
        binfmt=read_binfmt_dir(binfmt_dir)
        if system.os is OS.LINUX
        else BinfmtState(directory=binfmt_dir, mounted=False, enabled=False),
        rosetta=system.os is OS.MACOS and rosetta_path.exists(),
        engine=engine_probe(environ=environ, linux_host=system.os is OS.LINUX) if engine else None,
        interpreters=found.interpreters if found else (),
        skipped=found.skipped if found else (),
    )


def host_target() -> Target:
    """The Target for this host: a host build is by definition for this host, so linux_* tags count."""
    system = host_system()
    if system.os is OS.LINUX and system.libc_version is None:
        log.warning(
            "cannot tell this host's %s version: only linux_%s wheels will match", system.libc, system.arch
        )
    return HostFacts(
        system=host_system(), binfmt=BinfmtState(directory=BINFMT_DIR, mounted=False, enabled=False)
    ).target()


@cache
def detect_build_host(remote_engines: tuple[tuple[Arch, str], ...] = ()) -> BuildHost:
    """This machine as the routes see it, gathered once per run (an engine round-trip)."""
    return gather().build_host(remote_engines)
