"""What a probed interpreter is, as data: parsed probe output, its environment kind, its Target."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from xbuild.errors import RefusedError, UsageError
from xbuild.host._header import Header
from xbuild.host.libc import glibc_version_from_confstr, libc_from_interpreter_path
from xbuild.target import OS, Arch, Libc, Target

_SYS_PLATFORM_OS = {"linux": OS.LINUX, "darwin": OS.MACOS, "win32": OS.WINDOWS}
_NARROW = {Arch.X86_64: Arch.I686, Arch.AARCH64: Arch.ARMV7L}  # a 32-bit build on a 64-bit kernel


class ProbeFormatError(ValueError):
    """The interpreter's output is not the probe's JSON."""


@dataclass(frozen=True, kw_only=True)
class ProbeResult:
    """The probe script's JSON, typed. Field meanings are documented in `_probe_script.py`."""

    version: tuple[int, int, int]
    full_version: str
    implementation: str
    sys_platform: str
    machine: str
    pointer_bits: int
    libc: tuple[str, str]
    gnu_libc_version: str | None
    host_gnu_type: str | None
    multiarch: str | None
    ext_suffix: str | None
    soabi: str | None
    free_threaded: bool
    extension_suffixes: tuple[str, ...]
    mac_ver: str | None
    executable: str
    real_executable: str
    prefix: str
    base_prefix: str
    pyvenv_cfg: str | None
    nix_python_prefix: str | None
    # Where the probe ran, to tell this host's files from a container's or chroot's (see probe.py).
    root_id: tuple[int, ...] | None = None  # (st_dev, st_ino, st_size) of "/" where it ran
    exe_id: tuple[int, ...] | None = None  # the same for real_executable
    exe_head: bytes | None = None  # the first bytes of real_executable, read where it ran
    musl_banner: str | None = None  # the musl loader's banner, printed where it ran

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ProbeResult:
        try:
            major, minor, micro = (int(v) for v in data["version"])
            return cls(
                version=(major, minor, micro),
                full_version=str(data["full_version"]),
                implementation=str(data["implementation"]),
                sys_platform=str(data["sys_platform"]),
                machine=str(data["machine"]),
                pointer_bits=int(data.get("pointer_bits", 64)),
                libc=(str(data["libc"][0]), str(data["libc"][1])),
                gnu_libc_version=_opt(data.get("gnu_libc_version")),
                host_gnu_type=_opt(data.get("host_gnu_type")),
                multiarch=_opt(data.get("multiarch")),
                ext_suffix=_opt(data.get("ext_suffix")),
                soabi=_opt(data.get("soabi")),
                free_threaded=bool(data.get("py_gil_disabled")),
                extension_suffixes=tuple(str(s) for s in data.get("extension_suffixes") or ()),
                mac_ver=_opt(data.get("mac_ver")),
                executable=str(data["executable"]),
                real_executable=str(data.get("real_executable") or data["executable"]),
                prefix=str(data["prefix"]),
                base_prefix=str(data["base_prefix"]),
                pyvenv_cfg=_opt(data.get("pyvenv_cfg")),
                nix_python_prefix=_opt(data.get("nix_python_prefix")),
                root_id=_ints(data.get("root_id")),
                exe_id=_ints(data.get("exe_id")),
                exe_head=base64.b64decode(data["exe_head"], validate=True) if data.get("exe_head") else None,
                musl_banner=_opt(data.get("musl_banner")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # binascii.Error is a ValueError
            raise ProbeFormatError(f"probe output lacks or mangles {exc}") from exc


def _opt(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _ints(value: object) -> tuple[int, ...] | None:
    return None if not isinstance(value, list) else tuple(int(v) for v in value)


def parse_probe_output(stdout: str) -> dict[str, Any]:
    """The probe's JSON object from stdout: its last line, so wrapper chatter before it is ignored."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    if not lines:
        raise ProbeFormatError("the interpreter printed nothing")
    try:
        data = json.loads(lines[-1])
    except json.JSONDecodeError as exc:
        raise ProbeFormatError(
            f"the interpreter printed something other than the probe's JSON: {lines[-1][:120]!r}"
        ) from exc
    if not isinstance(data, dict) or "xbuild_probe" not in data or "result" not in data:
        raise ProbeFormatError(f"unexpected probe output: {lines[-1][:120]!r}")
    return data


class Environment(StrEnum):
    SYSTEM = "system"
    VENV = "venv"
    NIX = "nix"


def classify_environment(probe: ProbeResult) -> tuple[Environment, str]:
    """What kind of environment the interpreter runs in, and the reason (logged at debug)."""
    nix = (
        any(p.startswith("/nix/store/") for p in (probe.prefix, probe.real_executable))
        or probe.nix_python_prefix is not None
    )
    if probe.pyvenv_cfg is not None:
        return Environment.VENV, f"virtual environment ({probe.pyvenv_cfg})"
    if nix:
        # python3.withPackages sets sys.prefix to the env while base_prefix stays the store
        # Python, without any pyvenv.cfg: a system interpreter in Nix's sense.
        differs = ""
        if probe.prefix != probe.base_prefix:
            differs = " (prefix differs from base_prefix, no pyvenv.cfg)"
        return Environment.NIX, f"Nix store interpreter{differs}: accepted as a system interpreter"
    if probe.prefix != probe.base_prefix:
        return Environment.SYSTEM, (
            f"prefix {probe.prefix} differs from base_prefix {probe.base_prefix} "
            "without pyvenv.cfg: accepted as a system interpreter"
        )
    return Environment.SYSTEM, f"system interpreter (prefix {probe.prefix})"


@dataclass(frozen=True, kw_only=True)
class InterpreterFacts:
    """One interpreter as xbuild sees it: the probe's facts plus what its binary header says."""

    path: Path
    probe: ProbeResult
    os: OS | None
    arch: Arch | None
    libc: Libc
    libc_version: tuple[int, int] | None
    loader: str | None  # the ELF PT_INTERP of the real binary
    static: bool  # no loader: cannot dlopen extension modules
    environment: Environment
    environment_reason: str

    @property
    def version(self) -> tuple[int, int]:
        return self.probe.version[0], self.probe.version[1]

    @property
    def can_load_extensions(self) -> bool:
        return not self.static and bool(self.probe.extension_suffixes)

    @property
    def label(self) -> str:
        libc = "" if self.libc is Libc.NONE else f" {self.libc} {_dotted(self.libc_version)}"
        static = " static" if self.static else ""
        return (
            f"{self.probe.implementation} {self.probe.full_version} "
            f"{self.os or self.probe.sys_platform} {self.arch or self.probe.machine}{libc}{static}"
        )

    def target(self) -> Target:
        """The Target this interpreter is: tags then come from packaging, on xbuild's side."""
        where = f"interpreter {self.path}"
        if self.probe.implementation != "cpython":
            raise UsageError(f"{where} is {self.probe.implementation}; xbuild targets CPython only")
        if self.os is None or self.arch is None:
            raise UsageError(
                f"{where} runs on {self.probe.sys_platform} {self.probe.machine}, "
                "which xbuild has no wheel tags for"
            )
        if self.os is OS.LINUX and self.libc_version is None:
            raise UsageError(
                f"{where}: cannot tell its {self.libc} version",
                hint="pass --python-platform with an explicit manylinux/musllinux tag",
            )
        return Target(
            os=self.os,
            arch=self.arch,
            libc=self.libc,
            libc_version=self.libc_version,
            python_version=self.version,
            python_full_version=self.probe.full_version,
            python_version_source="interpreter",
            macos_min=_macos_min(self.probe),
            accept_linux_tag=True,
            spec=str(self.path),
        )

    def to_json(self) -> dict[str, object]:
        p = self.probe
        return {
            "path": str(self.path),
            "executable": p.real_executable,
            "implementation": p.implementation,
            "version": p.full_version,
            "sys_platform": p.sys_platform,
            "machine": p.machine,
            "os": _str(self.os),
            "arch": _str(self.arch),
            "libc": str(self.libc),
            "libc_version": _dotted(self.libc_version),
            "loader": self.loader,
            "static": self.static,
            "can_load_extensions": self.can_load_extensions,
            "free_threaded": p.free_threaded,
            "ext_suffix": p.ext_suffix,
            "soabi": p.soabi,
            "host_gnu_type": p.host_gnu_type,
            "multiarch": p.multiarch,
            "prefix": p.prefix,
            "base_prefix": p.base_prefix,
            "environment": str(self.environment),
            "environment_reason": self.environment_reason,
        }


def facts_from_probe(
    path: Path, probe: ProbeResult, header: Header, musl_version: tuple[int, int] | None = None
) -> InterpreterFacts:
    """Combine the probe's answer with the real binary's header; `musl_version` comes from its loader."""
    os_ = _SYS_PLATFORM_OS.get(probe.sys_platform)
    loader = header.interpreter if header.format == "elf" else None
    libc = _libc(os_, probe, loader)
    version = (
        glibc_version_from_confstr(probe.gnu_libc_version) or _libc_ver_version(probe)
        if libc is Libc.GLIBC
        else musl_version
        if libc is Libc.MUSL
        else None
    )
    environment, reason = classify_environment(probe)
    return InterpreterFacts(
        path=path,
        probe=probe,
        os=os_,
        arch=_arch(probe, header),
        libc=libc,
        libc_version=version,
        loader=loader,
        static=header.is_static,
        environment=environment,
        environment_reason=reason,
    )


def require_extension_capable(facts: InterpreterFacts) -> None:
    """Refuse an interpreter that cannot load extension modules (a statically linked build)."""
    if facts.can_load_extensions:
        return
    why = (
        "it is statically linked (its ELF header names no program interpreter), so it cannot "
        "dlopen extension modules"
        if facts.static
        else "it was built without dynamic loading"
    )
    raise RefusedError(
        f"interpreter {facts.path} cannot build or load extension modules: {why}",
        hint="use a dynamically linked Python for this target (e.g. a python:3.X-alpine image or "
        "a distribution's python3), or restrict the build to pure-Python wheels",
    )


def _arch(probe: ProbeResult, header: Header) -> Arch | None:
    # The ELF header is exact; platform.machine() is the kernel's arch even for a 32-bit build.
    if header.format == "elf" and header.arch is not None:
        return header.arch
    arch = Arch.from_alias(probe.machine)
    return _NARROW.get(arch, arch) if arch is not None and probe.pointer_bits == 32 else arch


def _libc(os_: OS | None, probe: ProbeResult, loader: str | None) -> Libc:
    if os_ is not OS.LINUX:
        return Libc.NONE
    from_loader = libc_from_interpreter_path(loader) if loader else None
    if from_loader is not None:
        return from_loader
    # Static builds name no loader: their configure triple still says which libc they target.
    triple = f"{probe.host_gnu_type or ''} {probe.multiarch or ''}"
    return Libc.MUSL if "musl" in triple else Libc.GLIBC


def _libc_ver_version(probe: ProbeResult) -> tuple[int, int] | None:
    parts = probe.libc[1].split(".")
    return (
        (int(parts[0]), int(parts[1]))
        if probe.libc[0] == "glibc" and len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit()
        else None
    )


def _macos_min(probe: ProbeResult) -> tuple[int, int] | None:
    if not probe.mac_ver:
        return None
    parts = [int(p) for p in probe.mac_ver.split(".")[:2] if p.isdigit()]
    if not parts:
        return None
    # packaging's mac_platforms: from macOS 11 on, minor releases share the major's tag.
    return (parts[0], 0) if parts[0] >= 11 else (parts[0], parts[1] if len(parts) > 1 else 0)


def _dotted(version: tuple[int, int] | None) -> str | None:
    return None if version is None else f"{version[0]}.{version[1]}"


def _str(value: OS | Arch | None) -> str | None:
    return None if value is None else str(value)
