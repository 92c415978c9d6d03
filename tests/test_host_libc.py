"""libc family and version: pure parsers over fixtures, and detection on fixtures and on this host."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from xbuild.errors import RefusedError
from xbuild.host._header import read_header
from xbuild.host._run import Completed
from xbuild.host.libc import (
    glibc_version_from_confstr,
    glibc_version_from_ldd,
    libc_from_interpreter_path,
    libc_from_ldd,
    musl_version_from_banner,
)
from xbuild.host.system import SYSTEM_BINARIES, detect_system
from xbuild.target import OS, Arch, Libc

FIXTURES = Path(__file__).parent / "fixtures" / "host"
LDD = FIXTURES / "ldd"
ELF = FIXTURES / "elf"


@pytest.mark.parametrize(
    ("path", "libc"),
    [
        ("/lib64/ld-linux-x86-64.so.2", Libc.GLIBC),
        ("/lib/ld-linux-aarch64.so.1", Libc.GLIBC),
        ("/lib/ld-linux-armhf.so.3", Libc.GLIBC),
        ("/lib/ld-linux.so.2", Libc.GLIBC),
        ("/lib/ld-linux-riscv64-lp64d.so.1", Libc.GLIBC),
        ("/lib64/ld64.so.2", Libc.GLIBC),
        ("/nix/store/9x1y-glibc-2.39-52/lib/ld-linux-x86-64.so.2", Libc.GLIBC),
        ("/lib/ld-musl-x86_64.so.1", Libc.MUSL),
        ("/lib/ld-musl-aarch64.so.1", Libc.MUSL),
        ("/nix/store/abcd-musl-1.2.5/lib/ld-musl-x86_64.so.1", Libc.MUSL),
        ("/system/bin/linker64", None),
    ],
)
def test_libc_from_interpreter_path(path: str, libc: Libc | None) -> None:
    assert libc_from_interpreter_path(path) is libc


def test_glibc_version_from_ldd_outputs() -> None:
    assert glibc_version_from_ldd((LDD / "glibc-debian.txt").read_text()) == (2, 36)
    assert glibc_version_from_ldd((LDD / "glibc-fedora.txt").read_text()) == (2, 39)
    assert glibc_version_from_ldd((LDD / "ldso-debian.txt").read_text()) == (2, 36)
    assert glibc_version_from_ldd((LDD / "musl-alpine-ldd.txt").read_text()) is None
    assert glibc_version_from_ldd("") is None


def test_musl_version_from_banner() -> None:
    assert musl_version_from_banner((LDD / "musl-loader-banner.txt").read_text()) == (1, 2)
    assert musl_version_from_banner((LDD / "musl-alpine-ldd.txt").read_text()) == (1, 2)
    assert musl_version_from_banner((LDD / "glibc-debian.txt").read_text()) is None


def test_libc_from_ldd() -> None:
    assert libc_from_ldd((LDD / "musl-alpine-ldd.txt").read_text()) is Libc.MUSL
    assert libc_from_ldd((LDD / "glibc-fedora.txt").read_text()) is Libc.GLIBC
    assert libc_from_ldd("sh: ldd: not found") is None


def test_glibc_version_from_confstr() -> None:
    assert glibc_version_from_confstr("glibc 2.36") == (2, 36)
    assert glibc_version_from_confstr(None) is None


class FakeRunner:
    """Answers commands from a table; records what was run."""

    def __init__(self, answers: Mapping[str, str]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, ...]] = []

    def __call__(
        self, argv: Sequence[str], stdin: str | None, timeout: float, env: Mapping[str, str] | None
    ) -> Completed:
        self.calls.append(tuple(argv))
        key = " ".join(argv)
        if key not in self.answers:
            raise FileNotFoundError(argv[0])
        return Completed(argv=tuple(argv), returncode=1, stdout="", stderr=self.answers[key])


def test_detect_musl_from_a_foreign_system_binary() -> None:
    runner = FakeRunner({"/lib/ld-musl-aarch64.so.1": (LDD / "musl-loader-banner.txt").read_text()})
    facts = detect_system(
        sys_platform="linux",
        machine="aarch64",
        system_binaries=[ELF / "aarch64-musl-dynamic"],
        runner=runner,
        own_loader="",
    )
    assert (facts.os, facts.arch, facts.libc, facts.libc_version) == (
        OS.LINUX,
        Arch.AARCH64,
        Libc.MUSL,
        (1, 2),
    )
    assert facts.loader == "/lib/ld-musl-aarch64.so.1"
    assert runner.calls == [("/lib/ld-musl-aarch64.so.1",)]


def test_detect_glibc_version_from_the_loader_then_ldd() -> None:
    binaries = [ELF / "aarch64-glibc-dynamic"]
    loader = FakeRunner({"/lib/ld-linux-aarch64.so.1 --version": (LDD / "ldso-debian.txt").read_text()})
    facts = detect_system(
        sys_platform="linux", machine="aarch64", system_binaries=binaries, runner=loader, own_loader=""
    )
    assert (facts.libc, facts.libc_version) == (Libc.GLIBC, (2, 36))
    ldd = FakeRunner({"ldd --version": (LDD / "glibc-fedora.txt").read_text()})
    facts = detect_system(
        sys_platform="linux", machine="aarch64", system_binaries=binaries, runner=ldd, own_loader=""
    )
    assert facts.libc_version == (2, 39)
    assert "ldd --version" in facts.evidence[-1]


def test_static_system_binaries_fall_back_to_ldd_and_uname() -> None:
    runner = FakeRunner({"ldd --version": (LDD / "musl-alpine-ldd.txt").read_text()})
    facts = detect_system(
        sys_platform="linux",
        machine="x86_64",
        system_binaries=[ELF / "x86_64-static-fakepython"],
        runner=runner,
        own_loader="",
    )
    assert (facts.libc, facts.libc_version, facts.loader) == (Libc.MUSL, (1, 2), None)


def test_unknown_version_is_said() -> None:
    facts = detect_system(
        sys_platform="linux",
        machine="aarch64",
        system_binaries=[ELF / "aarch64-glibc-dynamic"],
        runner=FakeRunner({}),
        own_loader="",
    )
    assert facts.libc is Libc.GLIBC and facts.libc_version is None
    assert "version unknown" in facts.evidence[-1]


def test_unsupported_machine_is_refused() -> None:
    with pytest.raises(RefusedError, match="'mips'"):
        detect_system(
            sys_platform="linux", machine="mips", system_binaries=[], runner=FakeRunner({}), own_loader=""
        )


@pytest.mark.skipif(platform.system() != "Linux", reason="reads this Linux host's /bin/sh")
def test_live_host_matches_independent_evidence() -> None:
    facts = detect_system()
    assert facts.arch is Arch.from_alias(platform.machine())
    loader = read_header(Path(os.path.realpath(SYSTEM_BINARIES[0]))).interpreter
    assert facts.loader == loader
    confstr = glibc_version_from_confstr(os.confstr("CS_GNU_LIBC_VERSION"))
    if facts.libc is Libc.GLIBC and confstr is not None:
        assert facts.libc_version == confstr  # (2, 36) on the Debian 12 dev machine


@pytest.mark.skipif(shutil.which("ldd") is None, reason="needs ldd to cross-check")
def test_live_loader_subprocess_path_agrees_with_ldd() -> None:
    facts = detect_system(own_loader="")  # never trust our own process: ask the system's loader
    ldd = subprocess.run(["ldd", "--version"], capture_output=True, text=True, check=False)
    assert facts.libc is libc_from_ldd(ldd.stdout + ldd.stderr)
    if facts.libc is Libc.GLIBC:
        assert facts.libc_version == glibc_version_from_ldd(ldd.stdout)
