"""Probe results as data: environment classification, facts from probe + header, the Target."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from xbuild.errors import RefusedError, UsageError
from xbuild.host._header import Header
from xbuild.host.interpreter import (
    Environment,
    ProbeFormatError,
    ProbeResult,
    classify_environment,
    facts_from_probe,
    parse_probe_output,
    require_extension_capable,
)
from xbuild.target import OS, Arch, Libc

PROBES = Path(__file__).parent / "fixtures" / "host" / "probe"
GLIBC_X86_64 = Header(
    format="elf", machines=("x86_64",), interpreter="/lib64/ld-linux-x86-64.so.2", dynamic=True
)


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((PROBES / name).read_text())
    return data


def probe(name: str, **changes: Any) -> ProbeResult:
    return ProbeResult.from_json({**load(name), **changes})


def test_nix_store_env_is_accepted_as_system() -> None:
    env, reason = classify_environment(probe("nix-env.json"))
    assert env is Environment.NIX
    assert "prefix differs from base_prefix, no pyvenv.cfg" in reason and "accepted" in reason


def test_nix_detected_from_the_wrapper_variable_alone() -> None:
    # Under -S the withPackages sitecustomize does not run, so only NIX_PYTHONPREFIX shows.
    plain = probe("nix-env.json", prefix="/usr", base_prefix="/usr", real_executable="/usr/bin/python3.11")
    assert classify_environment(plain)[0] is Environment.NIX


def test_venv_and_system() -> None:
    assert classify_environment(probe("macos-arm64-venv.json"))[0] is Environment.VENV
    env, reason = classify_environment(probe("alpine-aarch64.json"))
    assert env is Environment.SYSTEM and "/usr/local" in reason
    odd = probe("alpine-aarch64.json", prefix="/opt/custom")
    env, reason = classify_environment(odd)
    assert env is Environment.SYSTEM and "without pyvenv.cfg" in reason


def test_alpine_aarch64_facts_and_target() -> None:
    header = Header(
        format="elf", machines=("aarch64",), interpreter="/lib/ld-musl-aarch64.so.1", dynamic=True
    )
    facts = facts_from_probe(Path("/usr/local/bin/python3.12"), probe("alpine-aarch64.json"), header, (1, 2))
    assert (facts.os, facts.arch, facts.libc, facts.libc_version) == (
        OS.LINUX,
        Arch.AARCH64,
        Libc.MUSL,
        (1, 2),
    )
    assert not facts.static and facts.can_load_extensions
    target = facts.target()
    assert target.platform_tags[0] == "musllinux_1_2_aarch64"
    assert target.python_version == (3, 12) and target.python_version_source == "interpreter"
    assert str(target.tags[0]) == "cp312-cp312-musllinux_1_2_aarch64"


def test_macos_venv_target() -> None:
    facts = facts_from_probe(
        Path("/Users/dev/proj/.venv/bin/python"),
        probe("macos-arm64-venv.json"),
        Header(format="macho", machines=("aarch64",)),
    )
    target = facts.target()
    assert (target.os, target.arch, target.libc, target.macos_min) == (
        OS.MACOS,
        Arch.AARCH64,
        Libc.NONE,
        (14, 0),
    )
    assert target.platform_tags[0] == "macosx_14_0_arm64"


def test_glibc_version_from_confstr_and_32_bit_build() -> None:
    result = probe("nix-env.json", pointer_bits=32, nix_python_prefix=None)
    facts = facts_from_probe(Path("/x/python3"), result, Header(format="unknown"))
    assert (facts.arch, facts.libc, facts.libc_version) == (Arch.I686, Libc.GLIBC, (2, 39))
    # The ELF header, when there is one, is exact and wins over platform.machine().
    assert facts_from_probe(Path("/x/python3"), result, GLIBC_X86_64).arch is Arch.X86_64


def test_static_interpreter_is_refused_for_extensions() -> None:
    static_header = Header(format="elf", machines=("x86_64",), interpreter=None, dynamic=False)
    facts = facts_from_probe(Path("/opt/static/python3"), probe("alpine-aarch64.json"), static_header)
    assert facts.static and not facts.can_load_extensions
    assert facts.libc is Libc.MUSL  # from the configure triple, since there is no loader to read
    with pytest.raises(RefusedError, match="statically linked") as info:
        require_extension_capable(facts)
    assert info.value.exit_code == 1 and info.value.hint


def test_no_dynamic_loading_is_refused_too() -> None:
    header = Header(
        format="elf", machines=("aarch64",), interpreter="/lib/ld-musl-aarch64.so.1", dynamic=True
    )
    facts = facts_from_probe(Path("/p"), probe("alpine-aarch64.json", extension_suffixes=[]), header, (1, 2))
    with pytest.raises(RefusedError, match="without dynamic loading"):
        require_extension_capable(facts)


def test_dynamic_interpreter_passes() -> None:
    facts = facts_from_probe(Path("/p"), probe("nix-env.json"), GLIBC_X86_64)
    require_extension_capable(facts)


def test_target_refuses_what_it_cannot_describe() -> None:
    pypy = facts_from_probe(Path("/p"), probe("nix-env.json", implementation="pypy"), GLIBC_X86_64)
    with pytest.raises(UsageError, match="CPython only"):
        pypy.target()
    musl_unknown = facts_from_probe(Path("/p"), probe("alpine-aarch64.json"), Header(format="unknown"))
    with pytest.raises(UsageError, match="musl version"):
        musl_unknown.target()


def test_to_json_is_plain_data() -> None:
    facts = facts_from_probe(Path("/p"), probe("nix-env.json"), GLIBC_X86_64)
    data = facts.to_json()
    assert json.loads(json.dumps(data)) == data
    assert data["environment"] == "nix" and data["libc_version"] == "2.39"
    assert replace(facts, static=True).to_json()["can_load_extensions"] is False


@pytest.mark.parametrize(
    "stdout",
    ["", "Python 3.12.1\n", "[1, 2]\n", '{"result": "success"}\n', "{not json"],
)
def test_garbage_output_is_rejected(stdout: str) -> None:
    with pytest.raises(ProbeFormatError):
        parse_probe_output(stdout)


def test_last_line_wins_over_wrapper_chatter() -> None:
    out = "warning: something\n" + json.dumps(load("nix-env.json")) + "\n"
    assert parse_probe_output(out)["full_version"] == "3.11.9"


def test_from_json_rejects_missing_fields() -> None:
    data = load("nix-env.json")
    del data["version"]
    with pytest.raises(ProbeFormatError):
        ProbeResult.from_json(data)
