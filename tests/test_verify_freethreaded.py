"""Free-threaded CPython: a `cp314t` wheel is refused on a GIL target and a `cp314` one on a
free-threaded target, by the one tag rule (Target.is_compatible), with the reason spelled out."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary

from xbuild.target import parse_target
from xbuild.verify import Check, verify_wheel

# Hostile text in the package directory: spaces, brackets, quotes and non-ASCII letters.
PKG = "frëe 'threaded' [t]"


def wheel(tmp_path: Path, abi: str) -> Path:
    ext = f"_xb.cpython-314{'t' if abi.endswith('t') else ''}-x86_64-linux-gnu.so"
    files = {f"{PKG}/__init__.py": b"", f"{PKG}/{ext}": binary("x86_64-linux-gnu.so")}
    return WheelSpec(tags=f"cp314-{abi}-manylinux_2_17_x86_64", files=files).build(tmp_path)


@pytest.mark.parametrize(("abi", "python"), [("cp314t", "3.14t"), ("cp314", "3.14")])
def test_matching_build_passes(tmp_path: Path, abi: str, python: str) -> None:
    report = verify_wheel(wheel(tmp_path, abi), parse_target("x86_64-manylinux_2_28", python_version=python))
    assert report.errors == ()


def test_free_threaded_wheel_is_refused_on_a_gil_target(tmp_path: Path) -> None:
    report = verify_wheel(
        wheel(tmp_path, "cp314t"), parse_target("x86_64-manylinux_2_28", python_version="3.14")
    )
    [found] = [f.message for f in report.errors if f.check is Check.TAGS]
    assert "(the wheel is for the free-threaded build, cp314t; the target runs the GIL build)" in found
    assert "--python-version 3.14`" in found


def test_gil_wheel_is_refused_on_a_free_threaded_target(tmp_path: Path) -> None:
    report = verify_wheel(
        wheel(tmp_path, "cp314"), parse_target("x86_64-manylinux_2_28", python_version="3.14t")
    )
    [found] = [f.message for f in report.errors if f.check is Check.TAGS]
    assert "(the wheel is for the default GIL build, cp314; the target is free-threaded)" in found
    assert "--python-version 3.14t`" in found


def test_abi3_wheel_is_refused_on_a_free_threaded_target(tmp_path: Path) -> None:
    files = {f"{PKG}/__init__.py": b"", f"{PKG}/_xb.abi3.so": binary("x86_64-linux-gnu.so")}
    path = WheelSpec(tags="cp312-abi3-manylinux_2_17_x86_64", files=files).build(tmp_path)
    ft = verify_wheel(path, parse_target("x86_64-manylinux_2_28", python_version="3.14t"))
    assert [f.check for f in ft.errors] == [Check.TAGS]
    assert verify_wheel(path, parse_target("x86_64-manylinux_2_28", python_version="3.14")).errors == ()
