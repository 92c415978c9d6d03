"""OS, arch and C library of this machine, read from the system's own binaries."""

from __future__ import annotations

import contextlib
import logging
import os
import platform
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from xbuild.errors import RefusedError
from xbuild.host._header import Header, read_header
from xbuild.host._run import Runner, run_capture
from xbuild.host.libc import (
    glibc_version_from_confstr,
    glibc_version_from_ldd,
    libc_from_interpreter_path,
    libc_from_ldd,
    musl_version_from_banner,
)
from xbuild.target import OS, Arch, Libc

log = logging.getLogger("xbuild.host")

# Dynamically linked on every distribution, NixOS included (/bin/sh and /usr/bin/env are the two
# paths NixOS keeps); the third helps minimal images whose /bin/sh is a static busybox.
SYSTEM_BINARIES = (Path("/bin/sh"), Path("/usr/bin/env"), Path("/bin/ls"))
_SYS_PLATFORM_OS = {"linux": OS.LINUX, "darwin": OS.MACOS, "win32": OS.WINDOWS, "cygwin": OS.WINDOWS}


@dataclass(frozen=True, kw_only=True)
class SystemFacts:
    """The machine itself: OS, the arch its userland is built for, its libc and how we know."""

    os: OS
    arch: Arch
    kernel_machine: str
    libc: Libc
    libc_version: tuple[int, int] | None
    loader: str | None = None  # the system's PT_INTERP
    macos_version: tuple[int, int] | None = None
    evidence: tuple[str, ...] = ()  # how each fact was established, for `doctor -v` and --json

    def to_json(self) -> dict[str, object]:
        return {
            "os": str(self.os),
            "arch": str(self.arch),
            "kernel_machine": self.kernel_machine,
            "libc": str(self.libc),
            "libc_version": None if self.libc_version is None else "{}.{}".format(*self.libc_version),
            "loader": self.loader,
            "macos_version": None if self.macos_version is None else "{}.{}".format(*self.macos_version),
            "evidence": list(self.evidence),
        }


def detect_system(
    *,
    sys_platform: str | None = None,
    machine: str | None = None,
    system_binaries: Sequence[Path] = SYSTEM_BINARIES,
    runner: Runner = run_capture,
    own_loader: str | None = None,
) -> SystemFacts:
    """Detect the host; every argument defaults to the live machine so tests can pin each one."""
    plat = sys.platform if sys_platform is None else sys_platform
    os_ = _SYS_PLATFORM_OS.get(plat, OS.LINUX)
    kernel = machine if machine is not None else platform.machine()
    if os_ is OS.LINUX:
        own = own_loader if own_loader is not None else _own_loader()
        return _detect_linux(kernel, system_binaries, runner, own)
    arch = Arch.from_alias(kernel)
    if os_ is OS.MACOS and arch is Arch.X86_64 and _rosetta_translated(runner):
        arch = Arch.AARCH64
    if arch is None:
        raise _unsupported(kernel)
    return SystemFacts(
        os=os_,
        arch=arch,
        kernel_machine=kernel,
        libc=Libc.NONE,
        libc_version=None,
        macos_version=_macos_version() if os_ is OS.MACOS else None,
        evidence=(f"platform.machine() = {kernel}",),
    )


def _detect_linux(kernel: str, binaries: Sequence[Path], runner: Runner, own_loader: str) -> SystemFacts:
    evidence: list[str] = []
    header, source = _system_header(binaries)
    loader = header.interpreter if header is not None else None
    arch = header.arch if header is not None and header.arch is not None else Arch.from_alias(kernel)
    if arch is None:
        raise _unsupported(kernel)
    evidence.append(
        f"arch {arch} from the ELF header of {source}"
        if header is not None
        else f"arch {arch} from uname (no readable system binary)"
    )
    libc = libc_from_interpreter_path(loader) if loader else None
    if libc is not None:
        evidence.append(f"{libc} from PT_INTERP {loader} of {source}")
    ldd_text: str | None = None
    if libc is None:
        ldd_text = _output(runner, ["ldd", "--version"])
        libc = libc_from_ldd(ldd_text or "")
        evidence.append(f"{libc} from `ldd --version`" if libc else "libc unknown: no PT_INTERP, no ldd")
    version, how = _libc_version(libc, loader, own_loader, runner, ldd_text)
    evidence.append(how)
    return SystemFacts(
        os=OS.LINUX,
        arch=arch,
        kernel_machine=kernel,
        libc=libc or Libc.GLIBC,
        libc_version=version,
        loader=loader,
        evidence=tuple(evidence),
    )


def _unsupported(machine: str) -> RefusedError:
    return RefusedError(
        f"this machine's architecture {machine!r} is not one xbuild builds on",
        hint="supported: " + ", ".join(str(a) for a in Arch),
    )


def _system_header(binaries: Sequence[Path]) -> tuple[Header | None, Path | None]:
    """The first system binary that is a dynamically linked ELF (the static ones name no loader)."""
    fallback: tuple[Header | None, Path | None] = (None, None)
    for path in binaries:
        try:
            header = read_header(path)
        except OSError:
            continue
        if header.format == "elf" and header.interpreter:
            return header, path
        if header.format == "elf" and fallback[0] is None:
            fallback = (header, path)
    return fallback


def _libc_version(
    libc: Libc | None, loader: str | None, own_loader: str, runner: Runner, ldd_text: str | None
) -> tuple[tuple[int, int] | None, str]:
    if libc is Libc.GLIBC:
        if loader and loader == own_loader:
            # Same loader as the Python running xbuild, so its glibc is the system's: no subprocess.
            version = glibc_version_from_confstr(_confstr())
            if version:
                return version, f"glibc {_dot(version)} from gnu_get_libc_version (confstr)"
        if loader and (version := glibc_version_from_ldd(_output(runner, [loader, "--version"]) or "")):
            return version, f"glibc {_dot(version)} from `{loader} --version`"
        text = ldd_text if ldd_text is not None else _output(runner, ["ldd", "--version"])
        if version := glibc_version_from_ldd(text or ""):
            return version, f"glibc {_dot(version)} from `ldd --version`"
    if libc is Libc.MUSL:
        # Run with no arguments the musl loader prints "musl libc (arch)\nVersion 1.2.x" and exits 1.
        text = _output(runner, [loader]) if loader else None
        text = text if text and "Version" in text else _output(runner, ["ldd", "--version"])
        if version := musl_version_from_banner(text or ""):
            return version, f"musl {_dot(version)} from the loader banner"
    return None, f"{libc or 'libc'} version unknown"


def _output(runner: Runner, argv: list[str]) -> str | None:
    """stdout + stderr of a helper, or None when it cannot run at all."""
    try:
        done = runner(argv, None, 5.0, None)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.debug("%s: %s", argv[0], exc)
        return None
    return done.stdout + done.stderr


def _own_loader() -> str:
    with contextlib.suppress(OSError):
        return read_header(Path(os.path.realpath(sys.executable))).interpreter or ""
    return ""


def _confstr() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None


def _rosetta_translated(runner: Runner) -> bool:
    """True when this process is an x86_64 one translated by Rosetta 2 on Apple silicon."""
    return (_output(runner, ["sysctl", "-n", "sysctl.proc_translated"]) or "").strip() == "1"


def _macos_version() -> tuple[int, int] | None:
    parts = [int(p) for p in platform.mac_ver()[0].split(".")[:2] if p.isdigit()]
    return (parts[0], parts[1] if len(parts) > 1 else 0) if parts else None


def _dot(version: tuple[int, int]) -> str:
    return f"{version[0]}.{version[1]}"


@cache
def host_system() -> SystemFacts:
    """This machine's system facts, detected once per process."""
    return detect_system()


def native_arches(arch: Arch) -> tuple[Arch, ...]:
    """Arches this host runs without emulation.

    x86_64 kernels run i686 binaries natively (IA-32 emulation is enabled in every distribution
    kernel). aarch64 is not given armv7l: many aarch64 CPUs (Apple M-series, recent Graviton) have
    no AArch32 mode at all.
    """
    return (arch, Arch.I686) if arch is Arch.X86_64 else (arch,)
