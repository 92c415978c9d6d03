"""`abi3` warnings: ELF extensions in abi3 wheels that call outside the stable ABI."""

from __future__ import annotations

from pathlib import Path

from verify_helpers import WheelSpec, binary, patch_bytes

from xbuild.verify import Check, Severity, verify_wheel
from xbuild.verify.abi3 import stable_abi
from xbuild.verify.model import WheelReport

ELF = binary("x86_64-linux-gnu.so")  # calls PyLong_FromDouble, stable since 3.2


def abi3_wheel(tmp_path: Path, data: bytes, python: str = "cp38") -> WheelReport:
    spec = WheelSpec(
        tags=f"{python}-abi3-manylinux_2_17_x86_64", files={"demo/__init__.py": b"", "demo/_x.abi3.so": data}
    )
    return verify_wheel(spec.build(tmp_path), None)


def abi3_findings(report: WheelReport) -> list[str]:
    return [f.message for f in report.findings if f.check is Check.ABI3]


def test_stable_symbols_pass(tmp_path: Path) -> None:
    report = abi3_wheel(tmp_path, ELF)
    assert report.ok and abi3_findings(report) == []


def test_symbol_outside_the_stable_abi_is_a_warning(tmp_path: Path) -> None:
    report = abi3_wheel(tmp_path, patch_bytes(ELF, b"PyLong_FromDouble\0", b"_PyLong_FromDoubl\0"))
    assert report.ok
    found = [f for f in report.findings if f.check is Check.ABI3]
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "_PyLong_FromDoubl" in found[0].message and "outside the stable ABI" in found[0].message


def test_symbol_newer_than_the_cp_tag(tmp_path: Path) -> None:
    data = patch_bytes(ELF, b"PyLong_FromDouble\0", b"PyObject_GetAIter\0")  # stable since 3.10
    assert any("after Python 3.8" in m for m in abi3_findings(abi3_wheel(tmp_path / "a", data, "cp38")))
    assert abi3_findings(abi3_wheel(tmp_path / "b", data, "cp310")) == []


def test_non_abi3_wheels_are_not_checked(tmp_path: Path) -> None:
    spec = WheelSpec(
        tags="cp312-cp312-manylinux_2_17_x86_64",
        files={"demo/_x.so": patch_bytes(ELF, b"PyLong_FromDouble\0", b"_PyLong_FromDoubl\0")},
    )
    assert abi3_findings(verify_wheel(spec.build(tmp_path), None)) == []


def test_stable_abi_data() -> None:
    table = stable_abi()
    assert table["PyLong_FromDouble"] == (3, 2)
    assert table["PyObject_GetAIter"] == (3, 10)
    assert "_Py_Dealloc" in table  # ABI-only symbols are part of the stable ABI too
    assert "PyUnicode_AsUTF8" not in table  # the classic non-limited call
