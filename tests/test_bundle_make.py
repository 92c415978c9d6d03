"""Bundles from real wheels: target layout, reproducible zip, strip, size limits, refusals."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from support.packages import make_wheel

from xbuild.bundle.install import Layout
from xbuild.bundle.make import BundleSettings, make_bundle, parse_strip
from xbuild.bundle.size import Limits
from xbuild.errors import RefusedError, UsageError
from xbuild.target import parse_target

TARGET = parse_target("aws-lambda-python3.12-arm64", environ={})


@pytest.fixture
def wheels(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "wheels"
    return [
        make_wheel(
            folder,
            "pure-lib",
            "1.0",
            files={
                "pure_lib/__init__.py": "X = 1\n",
                "pure_lib/tests/test_x.py": "",
                "pure_lib/py.typed": "",
            },
        ),
        make_wheel(folder, "other", "2.0", files={"other.py": "Y = 2\n"}),
    ]


def settings(
    out: Path,
    *,
    layout: Layout = Layout.LAMBDA,
    includes: tuple[Path, ...] = (),
    strip: frozenset[str] = frozenset(),
    limits: Limits | None = None,
) -> BundleSettings:
    return BundleSettings(
        layout=layout,
        out=out,
        includes=includes,
        strip=strip,
        environ={},
        limits=limits or Limits(zipped=None, unzipped=None),
    )


def test_lambda_layout_is_flat_and_has_no_host_paths(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    result = make_bundle(wheels, TARGET, settings(out))
    names = zipfile.ZipFile(out).namelist()
    assert "pure_lib/__init__.py" in names and "other.py" in names
    assert not any(n.startswith(("bin/", "Scripts/", "Lib/", "lib/")) or "__pycache__" in n for n in names)
    assert result.manifest.is_file()


def test_layer_layout_puts_everything_under_python(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "layer.zip"
    make_bundle(wheels, TARGET, settings(out, layout=Layout.LAMBDA_LAYER))
    assert all(n.startswith("python/") for n in zipfile.ZipFile(out).namelist())


def test_zip_is_byte_reproducible_with_fixed_times_and_modes(wheels: list[Path], tmp_path: Path) -> None:
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    make_bundle(wheels, TARGET, settings(first))
    make_bundle(wheels, TARGET, settings(second))
    assert first.read_bytes() == second.read_bytes()
    for info in zipfile.ZipFile(first).infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0)
        assert (info.external_attr >> 16) & 0o777 in (0o644, 0o755)
    names = zipfile.ZipFile(first).namelist()
    assert names == sorted(names)


def test_include_and_strip(wheels: list[Path], tmp_path: Path) -> None:
    handler = tmp_path / "handler.py"
    handler.write_text("def handler(e, c):\n    return 1\n")
    out = tmp_path / "f.zip"
    make_bundle(wheels, TARGET, settings(out, includes=(handler,), strip=parse_strip("tests,typing")))
    names = zipfile.ZipFile(out).namelist()
    assert "handler.py" in names
    assert not any("/tests/" in n or n.endswith("py.typed") for n in names)


def test_unknown_strip_item() -> None:
    with pytest.raises(UsageError, match="unknown --strip"):
        parse_strip("tests,docs")


def test_too_large_lists_packages_and_writes_nothing(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "f.zip"
    with pytest.raises(RefusedError, match="largest packages") as info:
        make_bundle(wheels, TARGET, settings(out, limits=Limits(zipped=10, unzipped=None)))
    assert info.value.hint and "layer" in info.value.hint
    assert not out.exists()
    assert not list(tmp_path.glob(".xbuild-bundle-*"))


def test_wheel_for_another_platform_is_refused(tmp_path: Path) -> None:
    wrong = make_wheel(tmp_path / "w", "native", "1.0", tags=("cp312-cp312-manylinux_2_17_x86_64",))
    out = tmp_path / "f.zip"
    with pytest.raises(RefusedError, match="do not fit the target"):
        make_bundle([wrong], TARGET, settings(out))
    assert not out.exists()


def test_dir_layout_replaces_atomically(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "site"
    make_bundle(wheels, TARGET, settings(out, layout=Layout.DIR))
    make_bundle(wheels[:1], TARGET, settings(out, layout=Layout.DIR))
    assert (out / "pure_lib").is_dir() and not (out / "other.py").exists()


BINARIES = Path(__file__).resolve().parent / "fixtures" / "binaries"


@pytest.mark.parametrize(
    ("fixture", "why"),
    [
        ("x86_64-linux-gnu.so", r"mycode/fast.so: arch"),
        ("aarch64-macos.11.0.so", r"mycode/fast.so: binary-format"),
    ],
)
def test_included_binaries_must_fit_the_target(
    wheels: list[Path], tmp_path: Path, fixture: str, why: str
) -> None:
    code = tmp_path / "mycode"
    code.mkdir()
    (code / "fast.so").write_bytes((BINARIES / fixture).read_bytes())
    out = tmp_path / "f.zip"
    with pytest.raises(RefusedError, match=why):
        make_bundle(wheels, TARGET, settings(out, includes=(code,)))
    assert not out.exists()


def test_included_binary_for_the_target_passes(wheels: list[Path], tmp_path: Path) -> None:
    lib = tmp_path / "native.so"
    lib.write_bytes((BINARIES / "aarch64-linux-gnu.2.17.so").read_bytes())
    make_bundle(wheels, TARGET, settings(tmp_path / "f.zip", includes=(lib,)))
