"""The library entry points: collecting wheels from paths and verifying them in parallel."""

from __future__ import annotations

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
