"""Bundle outputs never lose user data: marker-guarded directories, atomic output + manifest."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from support.filesystems import full_dir, read_only_dir
from support.packages import make_wheel

from xbuild.bundle.install import Layout
from xbuild.bundle.make import (
    MARKER,
    BundleSettings,
    check_output,
    make_bundle,
    manifest_path,
    output_names_directory,
)
from xbuild.errors import InputError, RefusedError, UsageError
from xbuild.target import parse_target

TARGET = parse_target("aws-lambda-python3.12-arm64", environ={})


@pytest.fixture
def wheels(tmp_path: Path) -> list[Path]:
    return [make_wheel(tmp_path / "wheels", "pure-lib", "1.0", files={"pure_lib/__init__.py": "X = 1\n"})]


def _settings(
    out: Path, layout: Layout = Layout.DIR, *, force: bool = False, out_is_dir: bool = False
) -> BundleSettings:
    return BundleSettings(layout=layout, out=out, environ={}, force=force, out_is_dir=out_is_dir)


def _project(tmp_path: Path) -> Path:
    """A directory that holds the user's own work, with hostile names."""
    project = tmp_path / "my project [ü]'"
    (project / "src").mkdir(parents=True)
    (project / "src" / "app.py").write_text("print('mine')\n")
    (project / ".env").write_text("SECRET='x'\n")
    return project


def test_dir_layout_refuses_a_user_directory(wheels: list[Path], tmp_path: Path) -> None:
    project = _project(tmp_path)
    with pytest.raises(RefusedError) as caught:
        make_bundle(wheels, TARGET, _settings(project))
    assert caught.value.exit_code == 1 and "--force" in (caught.value.hint or "")
    assert (project / "src" / "app.py").read_text() == "print('mine')\n"
    assert (project / ".env").is_file()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".xbuild-bundle")] == []


def test_dir_layout_with_force_replaces_it(wheels: list[Path], tmp_path: Path) -> None:
    project = _project(tmp_path)
    make_bundle(wheels, TARGET, _settings(project, force=True))
    assert (project / "pure_lib" / "__init__.py").is_file()
    assert not (project / ".env").exists()


def test_dir_layout_replaces_its_own_output_and_an_empty_dir(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "bundle dir"
    out.mkdir()
    make_bundle(wheels, TARGET, _settings(out))
    assert (out / MARKER).is_file() and (out / "pure_lib").is_dir()
    (out / "stale.py").write_text("")
    make_bundle(wheels, TARGET, _settings(out))  # marked as xbuild's: replaced without --force
    assert not (out / "stale.py").exists()
    assert manifest_path(out).is_file()


@pytest.mark.parametrize("text", [".", "..", "./", "../"])
def test_current_or_parent_directory_is_a_usage_error(
    wheels: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    cwd = _project(tmp_path)
    monkeypatch.chdir(cwd)
    for layout in Layout:
        settings = _settings(Path(text), layout, out_is_dir=output_names_directory(text))
        with pytest.raises(UsageError):
            make_bundle(wheels, TARGET, settings)
    assert (cwd / "src" / "app.py").is_file()


def test_trailing_slash_names_a_directory_never_a_zip_file(wheels: list[Path], tmp_path: Path) -> None:
    text = str(tmp_path / "newdir") + "/"
    assert output_names_directory(text)
    with pytest.raises(UsageError) as caught:
        make_bundle(wheels, TARGET, _settings(Path(text), Layout.LAMBDA, out_is_dir=True))
    assert "function.zip" in (caught.value.hint or "")
    assert not (tmp_path / "newdir").exists()
    make_bundle(wheels, TARGET, _settings(Path(text), Layout.DIR, out_is_dir=True))
    assert (tmp_path / "newdir" / "pure_lib").is_dir()


def test_zip_onto_an_existing_directory_is_refused(wheels: list[Path], tmp_path: Path) -> None:
    project = _project(tmp_path)
    with pytest.raises(UsageError):
        make_bundle(wheels, TARGET, _settings(project, Layout.LAMBDA))
    assert (project / ".env").is_file()


def test_manifest_path_that_is_a_directory_fails_before_the_zip_changes(
    wheels: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "function.zip"
    out.write_bytes(b"the previous bundle")
    manifest_path(out).mkdir()
    with pytest.raises(UsageError):
        make_bundle(wheels, TARGET, _settings(out, Layout.LAMBDA))
    assert out.read_bytes() == b"the previous bundle"


def test_output_and_manifest_are_published_together(
    wheels: list[Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the manifest cannot be renamed into place, the previous zip comes back."""
    out = tmp_path / "function.zip"
    out.write_bytes(b"the previous bundle")
    real_replace = os.replace

    def failing_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if str(dst).endswith(".manifest.json"):
            raise OSError(28, "No space left on device", str(dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(InputError) as caught:
        make_bundle(wheels, TARGET, _settings(out, Layout.LAMBDA))
    assert "no space left" in caught.value.message
    assert out.read_bytes() == b"the previous bundle"
    assert not manifest_path(out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["function.zip", "wheels"]


def test_manifest_names_the_published_zip(wheels: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "function.zip"
    result = make_bundle(wheels, TARGET, _settings(out, Layout.LAMBDA))
    assert zipfile.ZipFile(out).namelist()
    assert '"sha256": "' in result.manifest.read_text()


def test_read_only_output_directory_is_an_input_error(wheels: list[Path], tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "read-only") as folder, pytest.raises(InputError) as caught:
        make_bundle(wheels, TARGET, _settings(folder / "function.zip", Layout.LAMBDA))
    assert "read-only" in caught.value.message or "permission" in caught.value.message
    assert caught.value.hint


def test_full_output_disk_is_an_input_error(wheels: list[Path], tmp_path: Path) -> None:
    big = make_wheel(tmp_path / "big", "big-lib", "1.0", files={"big_lib/data.bin": os.urandom(256 << 10)})
    with full_dir(tmp_path / "full") as folder:
        with pytest.raises(InputError) as caught:
            make_bundle([*wheels, big], TARGET, _settings(folder / "function.zip", Layout.LAMBDA))
        assert list(folder.iterdir()) == []
    assert "no space left" in caught.value.message


def test_check_output_refuses_before_any_work(tmp_path: Path) -> None:
    """The CLI calls it before planning: no wheels, no target, nothing written."""
    project = _project(tmp_path)
    with pytest.raises(RefusedError):
        check_output(project, Layout.DIR)
    check_output(project, Layout.DIR, force=True)
    with pytest.raises(UsageError):
        check_output(tmp_path / "new", Layout.LAMBDA, out_is_dir=True)
    check_output(tmp_path / "new", Layout.DIR, out_is_dir=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [project.name]
