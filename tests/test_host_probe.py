"""Probing real interpreters: working, foreign-arch, static, Nix-wrapped, broken, missing."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from xbuild.cli.main import main
from xbuild.errors import EngineError, ExitCode, RefusedError, UsageError
from xbuild.host._run import Completed, run_capture
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
