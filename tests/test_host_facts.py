"""Host facts gathered from fixture roots, what they add up to, and the host Target."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from xbuild.host._run import Completed
from xbuild.host.engine import EngineFacts
from xbuild.host.facts import HostFacts, gather, host_target
from xbuild.host.probe import probe_interpreter
from xbuild.host.system import detect_system
from xbuild.target import OS, Arch, Libc

FIXTURES = Path(__file__).parent / "fixtures" / "host"
BINFMT = FIXTURES / "binfmt"
ELF = FIXTURES / "elf"
LDSO = (FIXTURES / "ldd" / "ldso-debian.txt").read_text()


def local_engine(**_: Any) -> EngineFacts:
    return EngineFacts(
        url="unix:///var/run/docker.sock",
        available=True,
        name="Docker",
        version="28.1.1",
        os="linux",
        arch=Arch.X86_64,
        shares_host_kernel=True,
        images=frozenset({"img:1"}),
    )


def no_engine(**_: Any) -> EngineFacts:
    return EngineFacts(url="unix:///nowhere.sock", available=False, error="no socket at /nowhere.sock")


def ldso(argv: Sequence[str], stdin: str | None, timeout: float, env: Mapping[str, str] | None) -> Completed:
    return Completed(argv=tuple(argv), returncode=0, stdout=LDSO, stderr="")


def linux_host(binfmt: Path = BINFMT, engine: Any = local_engine, machine: str = "aarch64") -> HostFacts:
    binary = "aarch64-glibc-dynamic" if machine == "aarch64" else "x86_64-musl-dynamic"
    return gather(
        binfmt_dir=binfmt,
        system_binaries=[ELF / binary],
        sys_platform="linux",
        machine=machine,
        engine_probe=engine,
        interpreters=False,
        runner=ldso,
    )


def test_aarch64_host_with_fex_and_rosetta_entries() -> None:
    facts = linux_host()
    assert (facts.system.arch, facts.system.libc, facts.system.libc_version) == (
        Arch.AARCH64,
        Libc.GLIBC,
        (2, 36),
    )
    emulated = {f.arch: f for f in facts.emulated}
    assert set(emulated) == {Arch.X86_64, Arch.I686}  # the disabled riscv64 entry does not count
    assert emulated[Arch.X86_64].via == "FEX-x86_64"  # first entry in directory order, as the kernel
    assert emulated[Arch.X86_64].in_containers
    summary = facts.can_build_for()
    assert summary["native"] == {"arch": "aarch64", "platform_tag": "manylinux_2_36_aarch64", "also_runs": []}
    assert summary["container"] == {"available": True, "detail": "Docker 28.1.1, linux/x86_64"}


def test_x86_64_host_emulates_aarch64_only() -> None:
    facts = linux_host(machine="x86_64")
    assert facts.native_arches == (Arch.X86_64, Arch.I686)
    assert [(f.arch, f.via, f.in_containers) for f in facts.emulated] == [
        (Arch.AARCH64, "qemu-aarch64", True)
    ]
    assert facts.system.libc is Libc.MUSL


def test_without_f_flag_containers_cannot_emulate(tmp_path: Path) -> None:
    (tmp_path / "status").write_text("enabled\n")
    text = (BINFMT / "qemu-aarch64").read_text().replace("flags: POF", "flags: P")
    (tmp_path / "qemu-aarch64").write_text(text)
    facts = linux_host(binfmt=tmp_path, machine="x86_64")
    (foreign,) = facts.emulated
    assert not foreign.fix_binary and not foreign.in_containers
    assert "no F flag" in foreign.note and "containers fail" in foreign.note
    assert facts.build_host().emulated_arches == frozenset()


def test_f_flag_without_a_local_engine() -> None:
    facts = linux_host(engine=no_engine, machine="x86_64")
    (foreign,) = facts.emulated
    assert foreign.fix_binary and not foreign.in_containers
    assert "once an engine runs" in foreign.note
    assert facts.can_build_for()["container"] == {"available": False, "detail": "no socket at /nowhere.sock"}


def test_f_flag_with_a_remote_engine() -> None:
    def remote(**_: Any) -> EngineFacts:
        return EngineFacts(url="tcp://builder:2376", available=True, version="27.0", shares_host_kernel=False)

    (foreign,) = linux_host(engine=remote, machine="x86_64").emulated
    assert not foreign.in_containers and "another kernel" in foreign.note


def test_macos_rosetta(tmp_path: Path) -> None:
    runtime = tmp_path / "libRosettaRuntime"
    runtime.write_bytes(b"")
    facts = gather(
        sys_platform="darwin",
        machine="arm64",
        rosetta_path=runtime,
        binfmt_dir=BINFMT,
        engine=False,
        interpreters=False,
    )
    assert (facts.system.os, facts.system.arch, facts.system.libc) == (OS.MACOS, Arch.AARCH64, Libc.NONE)
    assert [(f.arch, f.via) for f in facts.emulated] == [(Arch.X86_64, "Rosetta 2")]
    assert facts.binfmt.entries == ()  # binfmt_misc is a Linux thing; the fixture dir is not read


def test_build_host_adapter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path))
    facts = linux_host(machine="x86_64")
    running = probe_interpreter(Path(sys.executable))
    host = HostFacts(
        system=detect_system(), binfmt=facts.binfmt, engine=facts.engine, interpreters=(running,)
    )
    built = host.build_host(((Arch.AARCH64, "ssh://arm-builder"),))
    assert built.engine == "28.1.1" and built.images == frozenset({"img:1"})
    assert built.remote_engine(Arch.AARCH64) == "ssh://arm-builder"
    if running.arch is host.system.arch:
        assert built.pythons == frozenset({f"{sys.version_info[0]}.{sys.version_info[1]}"})


def test_json_document_is_stable_and_serialisable() -> None:
    data: dict[str, Any] = linux_host().to_json()
    assert json.loads(json.dumps(data)) == data
    assert set(data) == {
        "schema",
        "host",
        "binfmt",
        "emulated",
        "engine",
        "interpreters",
        "skipped_interpreters",
        "can_build_for",
    }
    assert data["schema"] == 1
    qemu = next(e for e in data["binfmt"]["entries"] if e["name"] == "qemu-aarch64")
    assert qemu["arches"] == ["aarch64"] and qemu["fix_binary"] is True
    assert data["host"]["libc_version"] == "2.36" and data["host"]["native_arches"] == ["aarch64"]


def test_host_target_is_this_host() -> None:
    target = host_target()
    system = detect_system()
    assert (target.os, target.arch, target.libc, target.libc_version) == (
        system.os,
        system.arch,
        system.libc,
        system.libc_version,
    )
    assert target.python_version == sys.version_info[:2]
    assert target.python_version_source == "host" and target.accept_linux_tag
    if target.os is OS.LINUX and target.libc_version is not None:
        major, minor = target.libc_version
        assert target.platform_tags[0] == f"manylinux_{major}_{minor}_{target.arch}"
        assert f"linux_{target.arch}" in target.platform_tags
