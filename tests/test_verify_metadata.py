"""The `filename`, `tags` and `wheel-metadata` checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary

from xbuild.target import parse_target
from xbuild.verify import Check, Severity, verify_wheel
from xbuild.verify.metadata import WheelName, parse_filename
from xbuild.verify.model import Finding

ELF = binary("x86_64-linux-gnu.so")
LINUX_EXT = {"demo/__init__.py": b"", "demo/_x.cpython-312-x86_64-linux-gnu.so": ELF}


def found(spec: WheelSpec, tmp_path: Path, check: Check, target: str | None = None) -> list[Finding]:
    resolved = parse_target(target, python_version="3.12") if target else None
    return [f for f in verify_wheel(spec.build(tmp_path), resolved).findings if f.check is check]


# filename


@pytest.mark.parametrize(
    "filename",
    [
        "demo.whl",
        "demo-1.0.whl",
        "demo-1.0-py3-none-any.zip",
        "de$mo-1.0-py3-none-any.whl",
        "demo-x.y-py3-none-any.whl",
    ],
)
def test_invalid_filenames(tmp_path: Path, filename: str) -> None:
    report = verify_wheel(WheelSpec(filename=filename).build(tmp_path), None)
    assert [f.check for f in report.errors][:1] == [Check.FILENAME]
    assert report.name == "" and report.tags == ()


def test_parse_filename_expands_compressed_tags() -> None:
    parsed = parse_filename("demo-1.0-py2.py3-none-any.whl")
    assert isinstance(parsed, WheelName)
    assert parsed.tag_strings == ("py2-none-any", "py3-none-any")


# tags (against a target)


def test_tags_compatible_with_target(tmp_path: Path) -> None:
    spec = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files=LINUX_EXT)
    assert found(spec, tmp_path, Check.TAGS, "x86_64-manylinux_2_28") == []


@pytest.mark.parametrize(
    "target", ["aarch64-manylinux_2_28", "manylinux_2_12_x86_64", "macos", "windows", "musllinux_1_2_x86_64"]
)
def test_tags_incompatible_with_target(tmp_path: Path, target: str) -> None:
    spec = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files=LINUX_EXT)
    errors = found(spec, tmp_path, Check.TAGS, target)
    assert len(errors) == 1 and "xbuild build --python-platform" in errors[0].message


def test_wrong_python_for_target(tmp_path: Path) -> None:
    spec = WheelSpec(tags="cp311-cp311-manylinux_2_17_x86_64", files={"demo/__init__.py": b""})
    assert found(spec, tmp_path, Check.TAGS, "x86_64-manylinux_2_28")


def test_no_target_no_tags_check(tmp_path: Path) -> None:
    spec = WheelSpec(tags="cp312-cp312-win_amd64", files={"demo/__init__.py": b""})
    assert found(spec, tmp_path, Check.TAGS) == []


# wheel-metadata


def test_tag_lines_must_equal_filename_tags(tmp_path: Path) -> None:
    spec = WheelSpec(tags="py3-none-any", wheel_tags=("py2-none-any",))
    errors = found(spec, tmp_path, Check.WHEEL_METADATA)
    assert len(errors) == 1
    assert "py3-none-any" in errors[0].message and "py2-none-any" in errors[0].message


def test_compressed_tag_line_is_a_warning(tmp_path: Path) -> None:
    spec = WheelSpec(tags="py2.py3-none-any", wheel_tags=("py2.py3-none-any",))
    findings = found(spec, tmp_path, Check.WHEEL_METADATA)
    assert [(f.severity, "compressed" in f.message) for f in findings] == [(Severity.WARNING, True)]


def test_renamed_wheel_is_caught(tmp_path: Path) -> None:
    # A linux wheel renamed to manylinux without repair: the classic mistake.
    spec = WheelSpec(
        tags="cp312-cp312-manylinux_2_17_x86_64",
        wheel_tags=("cp312-cp312-linux_x86_64",),
        files=LINUX_EXT,
    )
    errors = found(spec, tmp_path, Check.WHEEL_METADATA)
    assert errors and "renamed" in errors[0].message


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Root-Is-Purelib: true\nTag: py3-none-any\n", "Wheel-Version"),
        ("Wheel-Version: 2.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n", "only accept 1.x"),
        ("Wheel-Version: 1.0\nTag: py3-none-any\n", "Root-Is-Purelib"),
        ("Wheel-Version: 1.0\nRoot-Is-Purelib: maybe\nTag: py3-none-any\n", "not true or false"),
        ("Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\nTag: not/a-tag\n", "malformed"),
    ],
)
def test_wheel_file_fields(tmp_path: Path, text: str, words: str) -> None:
    errors = found(WheelSpec(wheel_text=text), tmp_path, Check.WHEEL_METADATA)
    assert any(words in e.message for e in errors), errors


def test_purelib_true_with_binaries_in_root(tmp_path: Path) -> None:
    spec = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files=LINUX_EXT, purelib=True)
    errors = found(spec, tmp_path, Check.WHEEL_METADATA)
    assert [("platlib" in e.message) for e in errors] == [True]


def test_purelib_true_with_binaries_only_in_platlib_data(tmp_path: Path) -> None:
    files = {"demo/__init__.py": b"", "demo-1.0.data/platlib/_x.cpython-312-x86_64-linux-gnu.so": ELF}
    spec = WheelSpec(tags="cp312-cp312-manylinux_2_17_x86_64", files=files, purelib=True)
    assert found(spec, tmp_path, Check.WHEEL_METADATA) == []


def test_purelib_false_for_pure_wheel_is_a_warning(tmp_path: Path) -> None:
    findings = found(WheelSpec(purelib=False), tmp_path, Check.WHEEL_METADATA)
    assert [f.severity for f in findings] == [Severity.WARNING]


def test_missing_dist_info(tmp_path: Path) -> None:
    spec = WheelSpec(name="demo", version="1.0", filename="demo-2.0-py3-none-any.whl")
    errors = found(spec, tmp_path, Check.WHEEL_METADATA)
    assert errors and "demo-2.0.dist-info" in errors[0].message


@pytest.mark.parametrize(
    ("metadata", "words"),
    [
        ("Metadata-Version: 2.1\nName: other\nVersion: 1.0\n", "names the project"),
        ("Metadata-Version: 2.1\nName: demo\nVersion: 1.1\n", "Version 1.1"),
        ("Name: demo\nVersion: 1.0\n", "Metadata-Version"),
        ("Metadata-Version: 2.1\nName: demo\n", "lacks Name or Version"),
    ],
)
def test_metadata_fields(tmp_path: Path, metadata: str, words: str) -> None:
    errors = found(WheelSpec(metadata_text=metadata), tmp_path, Check.WHEEL_METADATA)
    assert any(words in e.message for e in errors), errors


def test_metadata_name_is_compared_normalized(tmp_path: Path) -> None:
    spec = WheelSpec(name="Demo.Pkg", metadata_text="Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0.0\n")
    assert found(spec, tmp_path, Check.WHEEL_METADATA) == []
