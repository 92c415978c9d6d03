"""Probing real interpreters: working, foreign-arch, static, Nix-wrapped, broken, missing."""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

import xbuild.host.probe as probe_module
from xbuild.cli.main import main
from xbuild.errors import EngineError, ExitCode, RefusedError, UsageError
from xbuild.host._run import Completed, Runner, run_capture
from xbuild.host.cache import ProbeCache, probe_key
from xbuild.host.interpreter import Environment, require_extension_capable
from xbuild.host.probe import (
    InterpreterCannotRun,
    probe_interpreter,
    target_from_header,
    target_from_interpreter,
)
from xbuild.target import OS, Arch, Libc

ELF = Path(__file__).parent / "fixtures" / "host" / "elf"
linux_only = pytest.mark.skipif(sys.platform != "linux", reason="runs Linux ELF fixtures")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))


def install(tmp_path: Path, fixture: str, name: str) -> Path:
    """Copy a fixture binary to `tmp_path/name`, executable."""
    path = tmp_path / name
    shutil.copyfile(ELF / fixture, path)
    path.chmod(0o755)
    return path


def script(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def refuse_to_run(
    argv: Sequence[str], stdin: str | None, timeout: float, env: Mapping[str, str] | None
) -> Completed:
    raise AssertionError(f"should have come from the cache: {argv[0]}")


def test_probe_the_running_interpreter(tmp_path: Path) -> None:
    cache = ProbeCache(tmp_path / "c")
    facts = probe_interpreter(Path(sys.executable), cache=cache)
    assert facts.probe.version == tuple(sys.version_info[:3])
    assert facts.probe.implementation == "cpython"
    assert facts.environment is (Environment.VENV if sys.prefix != sys.base_prefix else Environment.SYSTEM)
    assert facts.can_load_extensions and not facts.static
    target = facts.target()
    assert target.python_version == sys.version_info[:2]
    assert target.python_version_source == "interpreter"
    if sys.platform == "linux":
        assert facts.loader and facts.libc in (Libc.GLIBC, Libc.MUSL) and facts.libc_version
    # The second probe is answered from the cache, without running anything.
    again = probe_interpreter(Path(sys.executable), cache=cache, runner=refuse_to_run)
    assert again.probe == facts.probe
    assert list((tmp_path / "c" / "probe").glob("*.json"))
    assert not list((tmp_path / "c" / "probe").glob(".*.part"))


def test_cache_key_follows_the_binary(tmp_path: Path) -> None:
    path = script(tmp_path, "python3", "exit 0")
    first = probe_key(path, "script")
    os.utime(path, ns=(1, 1))
    assert probe_key(path, "script") != first
    assert probe_key(path, "other script") != probe_key(path, "script")
    venv_link = tmp_path / "venv-python"
    venv_link.symlink_to(path)
    assert probe_key(venv_link, "script") != probe_key(path, "script")  # same binary, other prefix
    assert probe_key(tmp_path / "absent", "script") is None


def test_target_from_interpreter_via_cli(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "show", "ignored", "--python", sys.executable, "--json"]) == 0
    assert f'"python_version": "{sys.version_info[0]}.{sys.version_info[1]}"' in capsys.readouterr().out


def test_missing_interpreter_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        probe_interpreter(tmp_path / "python3.12")
    with pytest.raises(UsageError, match="is a directory"):
        probe_interpreter(tmp_path)
    assert main(["targets", "show", "x", "--python", str(tmp_path / "nope")]) == ExitCode.USAGE
    assert "does not exist" in capsys.readouterr().err


def test_not_executable_is_usage_error(tmp_path: Path) -> None:
    path = tmp_path / "python3"
    path.write_text("#!/bin/sh\n")
    with pytest.raises(UsageError, match="not executable"):
        probe_interpreter(path)


@linux_only
def test_foreign_arch_interpreter_names_its_arch(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Without an aarch64 emulator the kernel says ENOEXEC; with qemu registered, qemu runs it and
    # fails to find the aarch64 musl loader. Either way: exit 3, naming aarch64 and the fix.
    path = install(tmp_path, "aarch64-musl-dynamic", "python3.12")
    with pytest.raises(InterpreterCannotRun) as info:
        probe_interpreter(path)
    assert "aarch64 ELF executable" in info.value.message
    hint = info.value.hint or ""
    if "binfmt_misc ran it" in info.value.message:
        assert "QEMU_LD_PREFIX" in hint and "/lib/ld-musl-aarch64.so.1" in hint
    else:
        assert "qemu-user-static" in hint and "scripts/setup-engine.sh" in hint
    assert "--python-version 3.12" in hint
    assert info.value.exit_code == ExitCode.ENGINE
    assert main(["targets", "show", "x", "--python", str(path)]) == ExitCode.ENGINE
    assert "aarch64" in capsys.readouterr().err


def test_enoexec_message_without_an_emulator(tmp_path: Path) -> None:
    path = install(tmp_path, "aarch64-glibc-dynamic", "python3.11")

    def enoexec(
        argv: Sequence[str], stdin: str | None, timeout: float, env: Mapping[str, str] | None
    ) -> Completed:
        raise OSError(errno.ENOEXEC, "Exec format error")

    with pytest.raises(InterpreterCannotRun, match="no binfmt_misc emulator for aarch64") as info:
        probe_interpreter(path, runner=enoexec)
    assert info.value.header is not None and info.value.header.arch is Arch.AARCH64
    assert info.value.hint and "scripts/setup-engine.sh" in info.value.hint


@linux_only
def test_header_fallback_needs_a_libc_version(tmp_path: Path) -> None:
    path = install(tmp_path, "aarch64-musl-dynamic", "python3.12")
    with pytest.raises(UsageError) as info:
        target_from_interpreter(path, python_version="3.12")
    assert "linux aarch64 musl" in info.value.message and "not which musl version" in info.value.message
    assert (
        info.value.hint and "--python-platform musllinux_1_2_aarch64 --python-version 3.12" in info.value.hint
    )


@linux_only
def test_header_fallback_reads_glibc_from_the_surrounding_root(tmp_path: Path) -> None:
    # A Python copied out of an arm64 image: the root around it has the loader and libc.so.6.
    root = tmp_path / "rootfs"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "lib" / "aarch64-linux-gnu").mkdir(parents=True)
    (root / "lib" / "aarch64-linux-gnu" / "ld-linux-aarch64.so.1").write_bytes(b"\x7fELF")
    (root / "lib" / "ld-linux-aarch64.so.1").symlink_to("/lib/aarch64-linux-gnu/ld-linux-aarch64.so.1")
    banner = b"\0GNU C Library (Debian GLIBC 2.36-9+deb12u4) stable release version 2.36.\0"
    (root / "lib" / "aarch64-linux-gnu" / "libc.so.6").write_bytes(b"\x7fELF" + banner)
    path = install(root / "usr" / "bin", "aarch64-glibc-dynamic", "python3.11")
    target = target_from_interpreter(path, python_version="3.11")
    assert (target.os, target.arch, target.libc, target.libc_version) == (
        OS.LINUX,
        Arch.AARCH64,
        Libc.GLIBC,
        (2, 36),
    )
    assert target.platform_tags[0] == "manylinux_2_36_aarch64"
    assert target.python_version == (3, 11) and target.python_version_source == "flag"
    assert not target.accept_linux_tag  # declarative: nothing was built or run here
    # The version can also come from the file name when the flag is absent.
    assert target_from_header(path).python_version == (3, 11)


def test_header_targets_for_other_oses(tmp_path: Path) -> None:
    mac = install(tmp_path, "macho-arm64-header", "python3.13")
    target = target_from_header(mac)
    assert (target.os, target.arch, target.python_version) == (OS.MACOS, Arch.AARCH64, (3, 13))
    with pytest.raises(UsageError, match="from its name"):
        target_from_header(install(tmp_path, "macho-arm64-header", "python"))
    static = install(tmp_path, "x86_64-static-fakepython", "python3.12")
    with pytest.raises(RefusedError, match="statically linked"):
        target_from_header(static)


@linux_only
@pytest.mark.skipif(Path("/lib/ld-musl-x86_64.so.1").exists(), reason="this host has the musl loader")
def test_missing_program_interpreter(tmp_path: Path) -> None:
    path = install(tmp_path, "x86_64-musl-dynamic", "python3.12")
    with pytest.raises(
        InterpreterCannotRun, match=r"program interpreter /lib/ld-musl-x86_64\.so\.1 does not exist"
    ):
        probe_interpreter(path)


@linux_only
def test_static_interpreter(tmp_path: Path) -> None:
    path = install(tmp_path, "x86_64-static-fakepython", "python3.12")
    facts = probe_interpreter(path)
    assert facts.static and facts.loader is None
    assert (facts.arch, facts.libc, facts.version) == (Arch.X86_64, Libc.MUSL, (3, 12))
    with pytest.raises(RefusedError, match="statically linked"):
        require_extension_capable(facts)
    with pytest.raises(RefusedError):
        target_from_interpreter(path)


def test_nix_style_wrapper_is_accepted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    env = tmp_path / "nix" / "store" / "8x0n2q3c-python3-3.12-env"
    (env / "lib" / "python3.12" / "site-packages").mkdir(parents=True)
    (env / "bin").mkdir()
    wrapper = script(
        env / "bin", "python3", f'NIX_PYTHONPREFIX="{env}" exec "{os.path.realpath(sys.executable)}" "$@"'
    )
    with caplog.at_level(logging.DEBUG, logger="xbuild.host"):
        target_from_interpreter(wrapper)
    facts = probe_interpreter(wrapper)
    assert facts.environment is Environment.NIX
    assert "accepted as a system interpreter" in caplog.text


def test_broken_interpreter_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = script(tmp_path, "python3", 'echo "Fatal Python error: init_fs_encoding" >&2; exit 1')
    with pytest.raises(EngineError, match="broken: exited with status 1") as info:
        probe_interpreter(path)
    assert "init_fs_encoding" in info.value.message
    assert main(["targets", "show", "x", "--python", str(path)]) == ExitCode.ENGINE
    assert "init_fs_encoding" in capsys.readouterr().err


def test_broken_interpreter_garbage(tmp_path: Path) -> None:
    path = script(tmp_path, "python3", "cat >/dev/null; echo 'Python 3.12.1'")
    with pytest.raises(EngineError, match="something other than the probe's JSON"):
        probe_interpreter(path)


def test_broken_interpreter_timeout(tmp_path: Path) -> None:
    path = script(tmp_path, "python3", "echo starting >&2; exec sleep 5")
    with pytest.raises(EngineError, match=r"did not answer the probe within 0\.3 s"):
        probe_interpreter(path, timeout=0.3)


def test_too_old_interpreter(tmp_path: Path) -> None:
    answer = '{"xbuild_probe": 1, "result": "error", "kind": "unsupported", "message": "Python 3.7 is older"}'
    path = script(tmp_path, "python3", f"echo '{answer}'")
    with pytest.raises(UsageError, match=r"Python 3\.7 is older"):
        probe_interpreter(path)


def test_run_capture_propagates_timeouts() -> None:
    with pytest.raises(subprocess.TimeoutExpired):
        run_capture(["sleep", "5"], timeout=0.2)


# --- `--python` paths are paths: relative to the current directory, never looked up on PATH -----


def _path_decoy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `python3` first on PATH that must never be run."""
    decoys = tmp_path / "decoy [bin] 'ü'"
    decoys.mkdir()
    script(decoys, "python3", "echo 'the PATH python3 ran' >&2; exit 7")
    monkeypatch.setenv("PATH", f"{decoys}{os.pathsep}{os.environ.get('PATH', '')}")
    return decoys


def test_relative_python_is_the_file_in_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    decoys = _path_decoy(tmp_path, monkeypatch)
    work = tmp_path / "work dir [x]"
    work.mkdir()
    script(work, "python3", f'exec "{os.path.realpath(sys.executable)}" "$@"')
    monkeypatch.chdir(work)
    for spelling in ("./python3", "python3"):
        facts = probe_interpreter(Path(spelling))
        assert facts.path == work / "python3"
        assert facts.probe.version == tuple(sys.version_info[:3])
    assert main(["targets", "show", "x", "--python", "./python3", "--json"]) == 0
    assert "the PATH python3 ran" not in capsys.readouterr().err
    # A bare name that is not in the current directory is not looked up on PATH either.
    (work / "python3").unlink()
    with pytest.raises(UsageError, match="does not exist") as info:
        probe_interpreter(Path("python3"))
    assert info.value.hint and f"--python {decoys / 'python3'}" in info.value.hint


# --- the real cause when a script does not start ----------------------------------------------------


def test_a_relative_script_that_fails_is_broken_not_missing_its_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _path_decoy(tmp_path, monkeypatch)
    script(tmp_path, "python3.12", 'echo "Fatal Python error: no [encodings]" >&2; exit 1')
    monkeypatch.chdir(tmp_path)
    with pytest.raises(EngineError, match="broken: exited with status 1") as info:
        probe_interpreter(Path("./python3.12"))
    assert "no [encodings]" in info.value.message and "/bin/sh" not in info.value.message


def _shebang(tmp_path: Path, name: str, line: str) -> Path:
    path = tmp_path / name
    path.write_bytes(b"#!" + line.encode() + b"\nexit 0\n")
    path.chmod(0o755)
    return path


def test_script_causes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    cases = {
        # The kernel splits the line at the first space: the rest is one argument.
        "missing": ("/nonexistent/'ü'/sh -E [x]", "its #! interpreter /nonexistent/'ü'/sh does not exist"),
        "crlf": ("/bin/sh\r", "carriage return (Windows line endings), so the kernel looks for '/bin/sh\\r'"),
        "empty": ("", "its #! line names no interpreter"),
    }
    for name, (line, words) in cases.items():
        _shebang(tmp_path, name, line)
        with pytest.raises(InterpreterCannotRun) as info:
            probe_interpreter(Path(name))
        assert words in info.value.message, name
    (tmp_path / "gone").symlink_to("/nonexistent/python")
    _shebang(tmp_path, "dangling", str(tmp_path / "gone"))
    with pytest.raises(InterpreterCannotRun, match="a symlink to the missing /nonexistent/python"):
        probe_interpreter(Path("dangling"))
    (tmp_path / "plain").write_text("not a program\n")
    _shebang(tmp_path, "unexecutable", str(tmp_path / "plain"))
    with pytest.raises(InterpreterCannotRun, match="is not executable") as info:
        probe_interpreter(Path("unexecutable"))
    assert info.value.hint == f"chmod +x {tmp_path / 'plain'}"


@linux_only
@pytest.mark.skipif(Path("/lib/ld-musl-x86_64.so.1").exists(), reason="this host has the musl loader")
def test_script_whose_interpreter_cannot_run_says_why(tmp_path: Path) -> None:
    inner = install(tmp_path, "x86_64-musl-dynamic", "python3.12")
    outer = _shebang(tmp_path, "python3", str(inner))
    with pytest.raises(InterpreterCannotRun) as info:
        probe_interpreter(outer)
    assert info.value.message == (
        f"cannot run {outer}: its #! interpreter {inner} cannot run: its program interpreter "
        "/lib/ld-musl-x86_64.so.1 does not exist on this host"
    )


# --- a wrapper that runs its interpreter elsewhere: the host's file of that name is not it ------------


def _real_probe_answer() -> dict[str, object]:
    """What the probe answers in this very interpreter, as a starting point for other places."""
    argv = [sys.executable, "-I", "-S", "-c", probe_module._BOOTSTRAP]
    done = run_capture(argv, probe_module.SCRIPT_PATH.read_text(encoding="utf-8"), 10.0, None)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _answering(answer: dict[str, object]) -> Runner:
    def runner(
        argv: Sequence[str], stdin: str | None, timeout: float, env: Mapping[str, str] | None
    ) -> Completed:
        if argv[0].endswith("-wrapper"):
            return Completed(argv=tuple(argv), returncode=0, stdout=json.dumps(answer) + "\n", stderr="")
        raise AssertionError(f"ran {argv[0]} on this host, for an interpreter that runs elsewhere")

    return runner


def test_wrapper_running_elsewhere_is_described_by_the_probe_not_the_host_file(tmp_path: Path) -> None:
    # As a `docker run ... python3` wrapper answers: a path that also exists here (this host's
    # own x86_64 python), but "/" and that file are other files where it ran.
    here = os.path.realpath(sys.executable)
    answer = {
        **_real_probe_answer(),
        "machine": "aarch64",
        "real_executable": here,
        "gnu_libc_version": "glibc 2.31",
        "root_id": [12345, 2, 4096],
        "exe_id": [12345, 99, 1],
        "exe_head": base64.b64encode((ELF / "aarch64-glibc-dynamic").read_bytes()[:8192]).decode(),
    }
    wrapper = script(tmp_path, "python3-wrapper", "exit 99")
    facts = probe_interpreter(wrapper, runner=_answering(answer), cache=ProbeCache(tmp_path / "c"))
    assert (facts.arch, facts.libc, facts.libc_version) == (Arch.AARCH64, Libc.GLIBC, (2, 31))
    assert facts.loader == "/lib/ld-linux-aarch64.so.1"
    assert facts.target().platform_tags[0] == "manylinux_2_31_aarch64"


def test_wrapper_elsewhere_without_a_header_trusts_the_probe_or_refuses(tmp_path: Path) -> None:
    here = os.path.realpath(sys.executable)
    base = {**_real_probe_answer(), "real_executable": here, "root_id": None, "exe_id": None}
    base.pop("exe_head", None)
    glibc = {**base, "machine": "aarch64", "gnu_libc_version": "glibc 2.36"}
    wrapper = script(tmp_path, "python3-wrapper", "exit 99")
    facts = probe_interpreter(wrapper, runner=_answering(glibc), cache=ProbeCache(tmp_path / "a"))
    assert (facts.arch, facts.libc_version) == (Arch.AARCH64, (2, 36))
    # musl records its version only in its loader's banner: without it, refuse rather than guess.
    musl = {
        **base,
        "machine": "aarch64",
        "gnu_libc_version": None,
        "libc": ["", ""],
        "host_gnu_type": "aarch64-unknown-linux-musl",
        "musl_banner": None,
    }
    facts = probe_interpreter(wrapper, runner=_answering(musl), cache=ProbeCache(tmp_path / "b"))
    assert facts.libc is Libc.MUSL and facts.libc_version is None
    with pytest.raises(UsageError, match="cannot tell its musl version"):
        facts.target()
    banner = {**musl, "musl_banner": "musl libc (aarch64)\nVersion 1.2.4\nDynamic Program Loader\n"}
    facts = probe_interpreter(wrapper, runner=_answering(banner), cache=ProbeCache(tmp_path / "d"))
    assert facts.target().platform_tags[0] == "musllinux_1_2_aarch64"


@linux_only
@pytest.mark.container
@pytest.mark.emulation
def test_container_wrapper_with_a_host_file_of_the_same_name(tmp_path: Path) -> None:
    """The case from the field: the container's python sits at a path where this host has its own."""
    if not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.skip("no qemu-aarch64 binfmt_misc entry: run scripts/setup-engine.sh as root")
    image = "xbuild-base:bullseye-arm64"
    if shutil.which("docker") is None or subprocess.run(
        ["docker", "image", "inspect", image], capture_output=True, check=False
    ).returncode:
        pytest.skip(f"no docker CLI or no {image}: run scripts/setup-engine.sh as root")
    here = os.path.realpath(sys.executable)  # an x86_64 ELF on this host
    inside = f'mkdir -p "$(dirname {here})" && cp /usr/bin/python3.9 {here} && exec {here} "$@"'
    wrapper = script(
        tmp_path,
        "python3",
        f"exec docker run --rm -i --network none {image} sh -c '{inside}' sh \"$@\"",
    )
    facts = probe_interpreter(wrapper, timeout=60)
    assert facts.probe.real_executable == here
    assert (facts.arch, facts.libc, facts.libc_version) == (Arch.AARCH64, Libc.GLIBC, (2, 31))
    assert facts.loader == "/lib/ld-linux-aarch64.so.1"


# --- a timed-out probe takes its whole process group with it -------------------------------------------


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


@linux_only
def test_timeout_kills_the_probes_children(tmp_path: Path) -> None:
    pidfile = tmp_path / "child [pid]"
    path = script(tmp_path, "python3", f'sleep 60 & echo $! > "{pidfile}"; echo started >&2; exec sleep 60')
    start = time.monotonic()
    with pytest.raises(EngineError, match=r"did not answer the probe within 0\.5 s") as info:
        probe_interpreter(path, timeout=0.5)
    assert "started" in info.value.message
    assert time.monotonic() - start < 5
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


@linux_only
def test_run_capture_kills_what_is_left_in_the_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    done = run_capture(["sh", "-c", f'sleep 60 & echo $! > "{pidfile}"; echo ok'], timeout=5)
    assert done.stdout.strip() == "ok"
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 3
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_a_free_threaded_version_flag_reaches_the_header_target(tmp_path: Path) -> None:
    mac = install(tmp_path, "macho-arm64-header", "python3.14t")
    target = target_from_header(mac, "3.14t")
    assert target.free_threaded and target.abi == "cp314t"
    assert not target_from_header(mac, "3.14").free_threaded
