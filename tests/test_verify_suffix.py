"""`ext-suffix`: extension filenames the target's interpreter imports, agreeing with the tags."""

from __future__ import annotations

from pathlib import Path

import pytest
from packaging.tags import parse_tag
from verify_helpers import WheelSpec, binary

from xbuild.target import parse_target
from xbuild.verify import Check, verify_wheel
from xbuild.verify.suffix import Interpreters, is_extension_name

LINUX = binary("x86_64-linux-gnu.so")
MUSL = binary("x86_64-linux-musl.so")
MAC = binary("universal2-macos.so")
WIN = binary("x86_64-windows-gnu.dll")


def suffix_errors(tmp_path: Path, tags: str, name: str, data: bytes, target: str | None = None) -> list[str]:
    spec = WheelSpec(tags=tags, files={"demo/__init__.py": b"", f"demo/{name}": data})
    resolved = parse_target(target, python_version="3.12") if target else None
    report = verify_wheel(spec.build(tmp_path), resolved)
    return [f.message for f in report.errors if f.check is Check.EXT_SUFFIX]


@pytest.mark.parametrize(
    ("tags", "name", "data"),
    [
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.cpython-312-x86_64-linux-gnu.so", LINUX),
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.abi3.so", LINUX),
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.so", LINUX),
        ("cp312-cp312-manylinux_2_17_x86_64", "libfoo.so.1", LINUX),
        ("cp312-cp312-musllinux_1_2_x86_64", "_x.cpython-312-x86_64-linux-musl.so", MUSL),
        ("cp312-cp312-musllinux_1_2_x86_64", "_x.cpython-312-x86_64-linux-gnu.so", MUSL),
        ("cp312-cp312-macosx_10_13_universal2", "_x.cpython-312-darwin.so", MAC),
        ("cp38-abi3-macosx_10_13_universal2", "_x.abi3.so", MAC),
        ("cp312-cp312-win_amd64", "_x.cp312-win_amd64.pyd", WIN),
        ("cp312-cp312-win_amd64", "_x.pyd", WIN),
        ("cp312-cp312-win_amd64", "helper.dll", WIN),
    ],
)
def test_suffixes_that_import(tmp_path: Path, tags: str, name: str, data: bytes) -> None:
    assert suffix_errors(tmp_path, tags, name, data) == []


@pytest.mark.parametrize(
    ("tags", "name", "data", "words"),
    [
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.cpython-311-x86_64-linux-gnu.so", LINUX, "CPython 3.11"),
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.cpython-312-aarch64-linux-gnu.so", LINUX, "aarch64"),
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.cpython-312-x86_64-linux-musl.so", LINUX, "musl suffix"),
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.cpython-312-darwin.so", LINUX, "macOS suffix"),
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.cp312-win_amd64.pyd", LINUX, "Windows suffix"),
        ("cp312-cp312-manylinux_2_17_x86_64", "_x.pyd", LINUX, ".pyd"),
        ("cp312-cp312-macosx_10_13_universal2", "_x.cpython-312-x86_64-linux-gnu.so", MAC, "Linux suffix"),
        ("cp312-cp312-win_amd64", "_x.cpython-312-x86_64-linux-gnu.so", WIN, "Linux suffix"),
        ("cp312-cp312-win_amd64", "_x.so", WIN, "only imports .pyd"),
        ("cp312-cp312-win_amd64", "_x.cp312-win32.pyd", WIN, "i686"),
        ("cp312-cp312-win_amd64", "_x.cp311-win_amd64.pyd", WIN, "CPython 3.11"),
        ("cp312-abi3-manylinux_2_17_x86_64", "_x.cpython-312-x86_64-linux-gnu.so", LINUX, "abi3"),
        ("cp313-cp313-manylinux_2_17_x86_64", "_x.cpython-313t-x86_64-linux-gnu.so", LINUX, "free-threaded"),
        ("cp313-cp313t-manylinux_2_17_x86_64", "_x.cpython-313-x86_64-linux-gnu.so", LINUX, "default (GIL)"),
    ],
)
def test_suffixes_that_do_not_import(tmp_path: Path, tags: str, name: str, data: bytes, words: str) -> None:
    errors = suffix_errors(tmp_path, tags, name, data)
    assert any(words in e for e in errors), errors


def test_suffix_against_target_python(tmp_path: Path) -> None:
    errors = suffix_errors(
        tmp_path,
        "cp311-cp311-manylinux_2_17_x86_64",
        "_x.cpython-311-x86_64-linux-gnu.so",
        LINUX,
        "x86_64-manylinux_2_28",
    )
    assert any("target runs Python 3.12" in e for e in errors)


def test_is_extension_name() -> None:
    assert is_extension_name("a/_x.cpython-312-x86_64-linux-gnu.so")
    assert is_extension_name("a/_x.abi3.so")
    assert is_extension_name("a/_x.cp312-win_amd64.pyd")
    assert is_extension_name("a/_x.so")
    assert not is_extension_name("a/libx.so.1")
    assert not is_extension_name("a/x.dylib")


def test_interpreters_from_tags() -> None:
    interp = Interpreters.of(parse_tag("cp38-abi3-manylinux_2_17_x86_64"))
    assert interp.versions == {(3, 8)} and interp.abi3 and not interp.free_threaded
    assert Interpreters.of(parse_tag("cp313-cp313t-win_amd64")).free_threaded
    assert Interpreters.of(parse_tag("py3-none-any")).versions == frozenset()
