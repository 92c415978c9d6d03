"""Pyodide wheels: extension modules are Emscripten side modules, and nothing else; wasm data
files elsewhere are left alone. Modules are a few hand-written bytes (see the fixtures' README)."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary

from xbuild.target import OS, parse_target
from xbuild.target.tags import Family
from xbuild.verify import Check, verify_wheel
from xbuild.verify.model import WheelReport
from xbuild.verify.platforms import decode

SIDE_MODULE = "wasm32-emscripten-synthetic.so"
HEADER = b"\0asm\x01\0\0\0"
TYPES = b"\x01\x01\x00"  # an empty type section
# Hostile text in the package directory: spaces, brackets, quotes and non-ASCII letters.
PKG = "pÿ 'dïde' [wasm]"
EXT = "_xb.cpython-312-wasm32-emscripten.so"


def wheel(tmp_path: Path, platform: str, **files: bytes) -> Path:
    members = {f"{PKG}/__init__.py": b"", **{f"{PKG}/{name}": data for name, data in files.items()}}
    return WheelSpec(tags=f"cp312-cp312-{platform}", files=members).build(tmp_path)


def verify(path: Path, target: str | None = None) -> WheelReport:
    return verify_wheel(path, parse_target(target, python_version="3.12") if target else None)


def errors(report: WheelReport, check: Check | None = None) -> list[str]:
    return [f"{f.check}: {f.message}" for f in report.errors if check is None or f.check is check]


@pytest.mark.parametrize(
    ("tag", "family"),
    [
        ("pyodide_2024_0_wasm32", Family.PYODIDE),
        ("pyemscripten_2026_0_wasm32", Family.PYODIDE),
        ("emscripten_3_1_58_wasm32", Family.EMSCRIPTEN),
    ],
)
def test_emscripten_tags_claim_wasm32_side_modules(tag: str, family: Family) -> None:
    claim = decode(tag)
    assert (claim.family, claim.os, set(claim.archs)) == (family, OS.EMSCRIPTEN, {"wasm32"})


@pytest.mark.parametrize("target", [None, "wasm32-pyodide2024", "pyodide_2024_0_wasm32"])
def test_side_module_passes(tmp_path: Path, target: str | None) -> None:
    side = binary(SIDE_MODULE)
    path = wheel(tmp_path, "pyodide_2024_0_wasm32", **{EXT: side, "libxb_helper.so": side})
    report = verify(path, target)
    assert report.findings == ()


def test_needed_side_module_outside_the_wheel_is_a_warning(tmp_path: Path) -> None:
    report = verify(wheel(tmp_path, "pyodide_2024_0_wasm32", **{EXT: binary(SIDE_MODULE)}))
    assert report.ok
    assert [f.check for f in report.warnings] == [Check.EXTERNAL_LIBS]
    assert "libxb_helper.so" in report.warnings[0].message


@pytest.mark.parametrize(
    "fixture", ["x86_64-linux-gnu.so", "aarch64-macos.11.0.so", "x86_64-windows-gnu.dll"]
)
def test_native_binary_in_a_pyodide_wheel_is_refused(tmp_path: Path, fixture: str) -> None:
    path = wheel(tmp_path, "pyodide_2024_0_wasm32", **{EXT: binary(fixture)})
    for target in (None, "wasm32-pyodide2024"):
        found = errors(verify(path, target), Check.BINARY_FORMAT)
        assert found, target
        assert (
            "binary but the wheel is tagged pyodide_2024_0_wasm32, which needs Pyodide binaries" in found[0]
        )
        assert "cibuildwheel --platform pyodide" in found[0]


def test_elf_refused_against_a_pyodide_target_whatever_the_tag(tmp_path: Path) -> None:
    path = wheel(
        tmp_path,
        "manylinux_2_17_x86_64",
        **{"_xb.cpython-312-x86_64-linux-gnu.so": binary("x86_64-linux-gnu.so")},
    )
    report = verify(path, "wasm32-pyodide2024")
    assert {"tags", "binary-format"} <= {str(f.check) for f in report.errors}


def test_plain_wasm_module_is_no_extension(tmp_path: Path) -> None:
    path = wheel(tmp_path, "emscripten_3_1_58_wasm32", **{EXT: HEADER + TYPES})
    assert errors(verify(path)) == [
        "binary-format: is a WebAssembly module but no Emscripten side module (it has no dylink.0 "
        "section): Pyodide's loader refuses it; link it with -sSIDE_MODULE=1, as `pyodide build` and "
        "cibuildwheel --platform pyodide do"
    ]


def test_text_named_as_an_extension_is_refused(tmp_path: Path) -> None:
    path = wheel(tmp_path, "pyodide_2024_0_wasm32", **{EXT: b"# not a module\n"})
    found = errors(verify(path, "wasm32-pyodide2024"), Check.BINARY_FORMAT)
    assert found and "is not a WebAssembly (Pyodide) binary" in found[0]


def test_wasm_extension_in_a_linux_wheel_is_refused(tmp_path: Path) -> None:
    path = wheel(
        tmp_path, "manylinux_2_17_x86_64", **{"_xb.cpython-312-x86_64-linux-gnu.so": binary(SIDE_MODULE)}
    )
    found = errors(verify(path, "x86_64-manylinux_2_28"), Check.BINARY_FORMAT)
    assert found and found[0].startswith("binary-format: is a WebAssembly (Pyodide) binary but the wheel is")


@pytest.mark.parametrize("tags", ["py3-none-any", "cp312-cp312-manylinux_2_17_x86_64"])
def test_wasm_data_files_are_not_judged_as_binaries(tmp_path: Path, tags: str) -> None:
    files = {"demo/__init__.py": b"", "demo/grammar.wasm": binary(SIDE_MODULE)}
    if "manylinux" in tags:
        files["demo/_xb.cpython-312-x86_64-linux-gnu.so"] = binary("x86_64-linux-gnu.so")
    report = verify_wheel(WheelSpec(tags=tags, files=files).build(tmp_path), None)
    assert [f for f in report.findings if f.member == "demo/grammar.wasm"] == []


def test_emscripten_suffix_in_a_linux_wheel_is_refused(tmp_path: Path) -> None:
    path = wheel(tmp_path, "manylinux_2_17_x86_64", **{EXT: binary("x86_64-linux-gnu.so")})
    [found] = errors(verify(path), Check.EXT_SUFFIX)
    assert found.startswith(
        "ext-suffix: has a Pyodide suffix (-wasm32-emscripten.so), but the wheel is for linux"
    )
