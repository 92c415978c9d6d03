"""`--python PATH`: a target taken from a real interpreter, by probing it or by reading its header.

The probe runs `_probe_script.py` inside the interpreter in isolated mode (-I -S). It reports
raw facts only: packaging cannot be imported there (nothing may be installed), so the wheel tags
are computed here, by packaging, from the Target those facts describe.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

from xbuild.errors import EngineError, RefusedError, UsageError
from xbuild.host._header import Header, header_from_bytes, read_header
from xbuild.host._run import Runner, run_capture, tail
from xbuild.host.cache import ProbeCache, probe_key
from xbuild.host.cacheroot import default_cache_dir
from xbuild.host.interpreter import (
    InterpreterFacts,
    ProbeFormatError,
    ProbeResult,
    facts_from_probe,
    parse_probe_output,
    require_extension_capable,
)
from xbuild.host.libc import libc_from_interpreter_path, musl_version_from_banner
from xbuild.host.sysroot import find_root, glibc_version_in_root
from xbuild.host.system import host_system, native_arches
from xbuild.target import OS, Libc, Target, parse_python_version
from xbuild.target.model import PythonVersionSource
from xbuild.target.parse import split_free_threaded

log = logging.getLogger("xbuild.host")

PROBE_TIMEOUT = 10.0
SCRIPT_PATH = Path(__file__).with_name("_probe_script.py")
SETUP_HINT = "install qemu-user-static and register it with binfmt_misc (scripts/setup-engine.sh does both)"
# Reads the script from stdin, so an interpreter too old for its syntax still answers in JSON.
_BOOTSTRAP = (
    "import sys\n"
    "if sys.version_info < (3, 8):\n"
    '    sys.stdout.write(\'{"xbuild_probe": 1, "result": "error", "kind": "unsupported", '
    '"message": "Python %d.%d is older than 3.8, the oldest xbuild probes"}\\n\' % sys.version_info[:2])\n'
    "else:\n"
    "    exec(compile(sys.stdin.read(), '_probe_script.py', 'exec'), {'__name__': '__main__'})\n"
)
_MAX_SCRIPT_DEPTH = 4  # Linux follows at most this many nested #! interpreters
_NAME_VERSION = re.compile(r"^python(3)\.(\d+)")
_FORMAT_OS = {"macho": "macOS (Mach-O)", "pe": "Windows (PE)"}


class InterpreterCannotRun(EngineError):
    """The interpreter exists but this host cannot execute it; its header may still describe it."""

    def __init__(self, message: str, *, hint: str | None = None, header: Header | None = None) -> None:
        super().__init__(message, hint=hint)
        self.header = header


def probe_interpreter(
    path: Path,
    *,
    runner: Runner = run_capture,
    cache: ProbeCache | None = None,
    timeout: float = PROBE_TIMEOUT,
) -> InterpreterFacts:
    """Run the probe in `path` (or reuse its cached answer) and combine it with the binary's header."""
    path = _existing(path)
    script = SCRIPT_PATH.read_text(encoding="utf-8")
    store = cache if cache is not None else ProbeCache(default_cache_dir())
    key = probe_key(path, script)
    data = _cached(store, key, path)
    if data is None:
        data = _run_probe(path, script, runner, timeout)
        if key is not None:
            store.put(key, json.dumps(data))
    try:
        probe = ProbeResult.from_json(data)
    except ProbeFormatError as exc:
        raise EngineError(f"interpreter {path} answered the probe oddly: {exc}") from exc
    here = ran_here(probe)
    if not here:
        log.debug("%s ran its interpreter in another root: its own header and loader are used", path)
    header = _real_header(path, probe) if here else _probed_header(probe)
    musl = _musl_version(header, runner) if here else musl_version_from_banner(probe.musl_banner or "")
    return facts_from_probe(path, probe, header, musl)


def target_from_interpreter(path: Path, python_version: str | None = None) -> Target:
    """The Target of a real interpreter; from its header when it cannot run and --python-version is given."""
    try:
        facts = probe_interpreter(path)
    except InterpreterCannotRun as exc:
        if python_version is None:
            raise
        log.warning("%s; targeting it from its header instead", exc.message)
        return target_from_header(path, python_version)
    log.debug("interpreter %s: %s; %s", path, facts.label, facts.environment_reason)
    # A target whose wheels' extension modules could never load there would be a lie.
    require_extension_capable(facts)
    target = facts.target()
    if python_version is not None:
        plain, free_threaded = split_free_threaded(python_version)
        wanted, _ = parse_python_version(plain)
        if (wanted, free_threaded) != (target.python_version, target.free_threaded):
            raise UsageError(
                f"--python-version {python_version} contradicts {path}, which is "
                f"Python {facts.probe.full_version}",
                hint="drop --python-version",
            )
    return target


def target_from_header(path: Path, python_version: str | None = None) -> Target:
    """A Target read from the executable's header alone, without running it."""
    path = _existing(path)
    header = _read(path.resolve())
    version, full = _python_version(path, python_version)
    source: PythonVersionSource = "flag" if python_version is not None else "interpreter"
    log.debug("%s: %s header, machine %s, loader %s", path, header.format, header.machine, header.interpreter)
    if header.format in ("macho", "pe"):
        base = _os_target_from_header(path, header)
    elif header.format == "elf":
        base = _linux_target_from_header(path, header, version)
    else:
        raise UsageError(f"{path} is not an executable xbuild can read (no ELF, Mach-O or PE header)")
    free_threaded = python_version is not None and split_free_threaded(python_version)[1]
    return base.with_python(version, full, source, free_threaded=free_threaded)


def _os_target_from_header(path: Path, header: Header) -> Target:
    if len(header.arches) != 1:
        machines = ", ".join(header.machines) or "no known arch"
        raise UsageError(
            f"{path} is a {_FORMAT_OS[header.format]} binary for {machines}: its header does not pick one",
            hint="name the platform instead: --python-platform macosx_11_0_arm64 (or win_amd64 ...)",
        )
    os_ = OS.MACOS if header.format == "macho" else OS.WINDOWS
    return Target(os=os_, arch=header.arches[0], libc=Libc.NONE, spec=str(path))


def _linux_target_from_header(path: Path, header: Header, version: tuple[int, int]) -> Target:
    if header.arch is None:
        raise UsageError(f"{path} is an ELF executable for {header.machine}, which has no wheel tags")
    if header.interpreter is None:
        raise RefusedError(
            f"{path} is a statically linked {header.arch} executable: it cannot load "
            "extension modules, so xbuild cannot build wheels for it",
            hint="use a dynamically linked Python for this target",
        )
    libc = libc_from_interpreter_path(header.interpreter)
    if libc is None:
        raise UsageError(f"{path} asks for loader {header.interpreter}, which is neither glibc's nor musl's")
    found = _libc_version_near(path, header.interpreter) if libc is Libc.GLIBC else None
    if found is None:
        family = "manylinux_2_N" if libc is Libc.GLIBC else "musllinux_1_N"
        example = f"{header.arch}-manylinux_2_28" if libc is Libc.GLIBC else f"musllinux_1_2_{header.arch}"
        why = (
            "no root file system around it has its libc.so.6"
            if libc is Libc.GLIBC
            else "a musl binary does not record it"
        )
        raise UsageError(
            f"{path}'s header says linux {header.arch} {libc} (loader {header.interpreter}), but not "
            f"which {libc} version it runs with: {why}",
            hint=f"name the platform instead of --python: --python-platform {example} "
            f"--python-version {version[0]}.{version[1]} (the {family} of the machine it runs on)",
        )
    return Target(os=OS.LINUX, arch=header.arch, libc=libc, libc_version=found, spec=str(path))


def _libc_version_near(path: Path, loader: str) -> tuple[int, int] | None:
    root = find_root(path.resolve(), loader)
    found = glibc_version_in_root(root, loader) if root is not None else None
    if found is not None:
        log.debug("%s: glibc %d.%d from %s", path, *found[0], found[1])
    return None if found is None else found[0]


def _python_version(path: Path, flag: str | None) -> tuple[tuple[int, int], str | None]:
    if flag is not None:
        return parse_python_version(split_free_threaded(flag)[0])
    for name in (path.name, path.resolve().name):
        match = _NAME_VERSION.match(name)
        if match:
            return (3, int(match.group(2))), None
    raise UsageError(
        f"cannot tell the Python version of {path} from its name", hint="pass --python-version X.Y"
    )


def _existing(path: Path) -> Path:
    """The interpreter as an absolute path: a relative one is relative to the current directory.

    Never a PATH lookup, which is what exec would do with a bare name such as `python3`.
    """
    path = path.expanduser().absolute()
    if not path.exists():
        raise UsageError(f"interpreter {path} does not exist", hint=_missing_hint(path))
    if path.is_dir():
        raise UsageError(
            f"interpreter {path} is a directory",
            hint=f"pass the executable inside it, e.g. {path / 'bin' / 'python3'}",
        )
    return path


def _missing_hint(path: Path) -> str:
    on_path = shutil.which(path.name)
    if on_path is not None and Path(on_path) != path:
        return f"--python takes a path, not a name to look up on PATH: pass --python {on_path}"
    return "pass the path of a Python executable, e.g. /usr/bin/python3.12"


def _cached(store: ProbeCache, key: str | None, path: Path) -> dict[str, Any] | None:
    raw = store.get(key) if key is not None else None
    if raw is None:
        return None
    try:
        data = parse_probe_output(raw)
    except ProbeFormatError:
        return None
    log.debug("probe of %s from cache", path)
    return data


def _run_probe(path: Path, script: str, runner: Runner, timeout: float) -> dict[str, Any]:
    argv = [str(path), "-I", "-S", "-c", _BOOTSTRAP]
    try:
        done = runner(argv, script, timeout, None)
    except subprocess.TimeoutExpired as exc:
        raise EngineError(
            f"interpreter {path} did not answer the probe within {timeout:g} s{_stderr_tail(exc.stderr)}",
            hint="run it by hand to see why it hangs",
        ) from exc
    except PermissionError as exc:
        header = _safe_header(path)
        if os.access(path, os.X_OK) and header is not None and header.format == "script":
            raise cannot_run(path, header, exc.errno, "") from exc  # the #! program is the problem
        raise UsageError(
            f"interpreter {path} is not executable: {exc.strerror}",
            hint=f"chmod +x {path}, or check the file system is not mounted noexec",
        ) from exc
    except OSError as exc:
        raise cannot_run(path, _safe_header(path), exc.errno, "") from exc
    problem: str | None = None
    data: dict[str, Any] | None = None
    try:
        data = parse_probe_output(done.stdout)
    except ProbeFormatError as exc:
        problem = str(exc)
    if done.returncode != 0 or data is None:
        header = _safe_header(path)
        if header is not None and _is_foreign(header):
            raise cannot_run(path, header, None, tail(done.stderr or done.stdout))
        why = f"exited with status {done.returncode}" if done.returncode != 0 else problem
        raise EngineError(
            f"interpreter {path} is broken: {why}{_stderr_tail(done.stderr)}",
            hint=f"run it by hand ({path} -c 'import sys; print(sys.version)'), or pass another --python",
        )
    return _checked(path, data)


def _checked(path: Path, data: dict[str, Any]) -> dict[str, Any]:
    if data.get("result") == "success":
        return data
    message = str(data.get("message", "unknown error"))
    if data.get("kind") == "unsupported":
        raise UsageError(f"interpreter {path}: {message}", hint="pass a CPython 3.8 or newer")
    raise EngineError(f"the probe failed inside {path}: {message}")


def cannot_run(
    path: Path, header: Header | None, err: int | None, stderr: str, depth: int = 0
) -> InterpreterCannotRun:
    """Say why this host cannot execute `path` and what would make it runnable."""
    version = _NAME_VERSION.match(path.name)
    flag = f"--python-version 3.{version.group(2)}" if version else "--python-version X.Y"
    declarative = f"or pass {flag} to target it from its header without running it"
    host = host_system().arch
    if header is not None and header.format == "elf" and header.arch not in native_arches(host):
        what = f"cannot run {path}: it is an {header.machine} ELF executable"
        if stderr:
            # An emulator is registered and ran it; what is missing is its loader or libraries.
            return InterpreterCannotRun(
                f"{what}; binfmt_misc ran it through an emulator, but it failed:\n{stderr}",
                hint=f"run it inside a container of its distribution, or point QEMU_LD_PREFIX at the "
                f"root file system it comes from (which has {header.interpreter}), {declarative}",
                header=header,
            )
        return InterpreterCannotRun(
            f"{what} and this {host} host has no binfmt_misc emulator for {header.machine}",
            hint=f"{SETUP_HINT}, {declarative}",
            header=header,
        )
    if header is not None and header.format == "elf" and err == errno.ENOENT and header.interpreter:
        return InterpreterCannotRun(
            f"cannot run {path}: its program interpreter {header.interpreter} does not exist on this host",
            hint=f"run it where its libc is installed (a container of its distribution), {declarative}",
            header=header,
        )
    if header is not None and header.format in _FORMAT_OS:
        return InterpreterCannotRun(
            f"cannot run {path}: it is a {_FORMAT_OS[header.format]} {'/'.join(header.machines)} executable",
            hint=declarative.removeprefix("or "),
            header=header,
        )
    if header is not None and header.format == "script":
        return _script_cannot_run(path, header, err, stderr, depth)
    reason = errno.errorcode.get(err or 0, "unknown error") if err else stderr
    return InterpreterCannotRun(
        f"cannot run {path}: not an executable this host recognises ({reason})",
        hint="pass the Python executable itself",
        header=header,
    )


def _script_cannot_run(
    path: Path, header: Header, err: int | None, stderr: str, depth: int
) -> InterpreterCannotRun:
    """The real reason a script does not start: its #! line, or the program that line names."""
    line = header.interpreter or ""
    program = re.split(r"[ \t]", line, maxsplit=1)[0]  # the kernel splits at spaces and tabs only

    def fail(why: str, hint: str | None = None) -> InterpreterCannotRun:
        return InterpreterCannotRun(f"cannot run {path}: {why}", hint=hint, header=header)

    if not program:
        return fail("its #! line names no interpreter", hint="put the interpreter's path after #!")
    if "\r" in line:
        return fail(
            f"its #! line ends in a carriage return (Windows line endings), so the kernel looks for "
            f"{program!r}",
            hint=f"convert it to Unix line endings (dos2unix {path})",
        )
    target = Path(program)
    if not target.exists():
        dangling = f" (a symlink to the missing {os.readlink(target)})" if target.is_symlink() else ""
        return fail(f"its #! interpreter {program} does not exist{dangling}")
    if target.is_dir():
        return fail(f"its #! interpreter {program} is a directory")
    if not os.access(target, os.X_OK):
        return fail(f"its #! interpreter {program} is not executable", hint=f"chmod +x {program}")
    if depth >= _MAX_SCRIPT_DEPTH:
        return fail("its #! interpreters are scripts nested deeper than the kernel follows")
    # The program exists and may be executed: it is the one that cannot run, so say why.
    inner = cannot_run(target, _safe_header(target), err, stderr, depth + 1)
    return InterpreterCannotRun(
        f"cannot run {path}: its #! interpreter {program} cannot run: "
        f"{inner.message.removeprefix(f'cannot run {target}: ')}",
        hint=inner.hint,
        header=header,
    )


def _is_foreign(header: Header) -> bool:
    return header.format == "elf" and header.arch not in native_arches(host_system().arch)


def _safe_header(path: Path) -> Header | None:
    try:
        return read_header(path.resolve())
    except OSError:
        return None


def _read(path: Path) -> Header:
    try:
        return read_header(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def ran_here(probe: ProbeResult) -> bool:
    """Did the interpreter run in this host's root, so that its paths name files xbuild can read?

    A wrapper may run it in a container, a chroot or on another machine, where the same path is
    another file (an x86_64 /usr/bin/python3 here, an aarch64 one there). Both "/" and the
    executable must be the very files the probe saw; when the probe could not say, the answer is
    no, and only what the probe read where it ran is trusted.
    """
    if probe.root_id is None or probe.exe_id is None:
        return False
    return _file_id(Path("/")) == probe.root_id and _file_id(Path(probe.real_executable)) == probe.exe_id


def _file_id(path: Path) -> tuple[int, ...] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size)


def _probed_header(probe: ProbeResult) -> Header:
    """The executable's header as the probe read it where it ran; unknown when it could not."""
    header = header_from_bytes(probe.exe_head) if probe.exe_head else Header(format="unknown")
    return header if header.format != "script" else Header(format="unknown")


def _real_header(path: Path, probe: ProbeResult) -> Header:
    """The header of the binary that really ran (wrappers and symlinks resolved by the probe)."""
    for candidate in (Path(probe.real_executable), path.resolve()):
        header = _safe_header(candidate)
        if header is not None and header.format != "script":
            return header
    return Header(format="unknown")


def _musl_version(header: Header, runner: Runner) -> tuple[int, int] | None:
    loader = header.interpreter
    if header.format != "elf" or not loader or libc_from_interpreter_path(loader) is not Libc.MUSL:
        return None
    try:
        done = runner([loader], None, 5.0, None)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return musl_version_from_banner(done.stdout + done.stderr)


def _stderr_tail(stderr: str | bytes | None) -> str:
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else (stderr or "")
    kept = tail(text)
    return f"\n{kept}" if kept else ""
