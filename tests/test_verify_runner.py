"""The library entry points: collecting wheels from paths and verifying them in parallel."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary

from xbuild.errors import InputError
from xbuild.target import parse_target
from xbuild.verify import collect_wheels, verify_paths, verify_wheel


def test_collect_expands_directories_and_keeps_files(tmp_path: Path) -> None:
    a = WheelSpec(name="aaa").build(tmp_path / "d")
    b = WheelSpec(name="bbb").build(tmp_path / "d")
    (tmp_path / "d" / "notes.txt").write_text("x")
    single = WheelSpec(name="ccc").build(tmp_path / "e")
    assert collect_wheels([tmp_path / "d", single, a]) == [a, b, single]


def test_collect_refuses_missing_and_empty(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        collect_wheels([tmp_path / "missing.whl"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no wheels"):
        collect_wheels([tmp_path / "empty"])


@pytest.mark.parametrize("jobs", [1, 2, 4])
def test_parallel_results_match_serial_order(tmp_path: Path, jobs: int) -> None:
    target = parse_target("x86_64-manylinux_2_28", python_version="3.12")
    for i in range(5):
        files = {
            "pkg/__init__.py": b"",
            "pkg/_x.so": binary("x86_64-linux-gnu.so" if i % 2 else "aarch64-macos.11.0.so"),
        }
        WheelSpec(name=f"pkg{i}", tags="cp312-cp312-manylinux_2_17_x86_64", files=files).build(tmp_path)
    reports = verify_paths([tmp_path], target, jobs)
    assert [r.name for r in reports] == [f"pkg{i}" for i in range(5)]
    assert [r.ok for r in reports] == [False, True, False, True, False]
    assert reports == [verify_wheel(r.path, target) for r in reports]


def test_report_fields(tmp_path: Path) -> None:
    report = verify_wheel(WheelSpec(tags="py2.py3-none-any").build(tmp_path), None)
    assert (report.name, report.version, report.tags) == ("demo", "1.0", ("py2-none-any", "py3-none-any"))
    assert report.to_json()["ok"] is True


_FOREIGN = ("xbuild.binary.macho", "xbuild.binary.pe", "xbuild.binary.wasm", "xbuild.verify.apple")
_LOADED = """
import sys
from pathlib import Path
from xbuild.target import parse_target
from xbuild.verify import verify_paths
verify_paths([Path(sys.argv[1])], parse_target(sys.argv[2], python_version="3.12"), 2)
print(" ".join(sorted(m for m in sys.modules if m.startswith(("xbuild.binary.", "xbuild.verify.")))))
"""


def _loaded(path: Path, target: str) -> set[str]:
    command = [sys.executable, "-c", _LOADED, str(path), target]
    run = subprocess.run(command, check=False, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    return set(run.stdout.split())


def test_linux_wheels_load_no_other_platform_family(tmp_path: Path) -> None:
    # A fresh interpreter: `xbuild build` for Linux pays for no Mach-O, PE, wasm, Apple or Android code.
    files = {"pkg/__init__.py": b"", "pkg/_x [1].so": binary("x86_64-linux-gnu.so")}
    WheelSpec(name="pkg", tags="cp312-cp312-manylinux_2_17_x86_64", files=files).build(tmp_path / "linux")
    loaded = _loaded(tmp_path / "linux", "x86_64-manylinux_2_28")
    assert "xbuild.binary.elf" in loaded
    assert loaded.isdisjoint({*_FOREIGN, "xbuild.verify.mobile"})
    files = {"pkg/__init__.py": b"", "pkg/_x.so": binary("universal2-macos.so")}
    WheelSpec(name="pkg", tags="cp312-cp312-macosx_11_0_universal2", files=files).build(tmp_path / "mac")
    # Checked against a Linux target, its Mach-O is parsed (and refused by the format check).
    assert "xbuild.binary.macho" in _loaded(tmp_path / "mac", "x86_64-manylinux_2_28")
