"""The `path` check: nothing escapes the install tree, nothing is a link, device or duplicate."""

from __future__ import annotations

import stat
import zipfile
from pathlib import Path

import pytest
from verify_helpers import Raw, WheelSpec

from xbuild.verify import Check, Severity, verify_wheel
from xbuild.verify.layout import find_layout, installed_path, root_of, site_roots, split_dist_dir
from xbuild.verify.model import Finding


def path_findings(spec: WheelSpec, tmp_path: Path) -> list[Finding]:
    return [f for f in verify_wheel(spec.build(tmp_path), None).findings if f.check is Check.PATH]


def test_ordinary_layout_passes(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(
        **{
            "demo/sub/mod.py": b"",
            "demo-1.0.data/scripts/tool": b"#!python\n",
            "demo-1.0.data/data/share/demo.txt": b"",
            "demo-1.0.data/headers/demo.h": b"",
            "demo-1.0.data/platlib/demo_ext.py": b"",
            "other_top_level.py": b"",
        }
    )
    assert path_findings(spec, tmp_path) == []


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("/etc/passwd", "absolute"),
        ("../../outside.py", "`..`"),
        ("demo/../../x.py", "`..`"),
        ("C:/Windows/evil.dll", "drive letter"),
        ("demo\\evil.py", "backslash"),
        ("demo/./x.py", "normalized"),
        ("demo//x.py", "normalized"),
        ("demo/\x01x.py", "control"),
    ],
)
def test_escaping_names(tmp_path: Path, name: str, words: str) -> None:
    found = path_findings(WheelSpec().with_files(**{name: b"x"}), tmp_path)
    mine = [f for f in found if f.member == name]
    assert mine and words in mine[0].message and mine[0].severity is Severity.ERROR


@pytest.mark.parametrize(
    ("mode", "words"),
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFCHR | 0o644, "device"),
        (stat.S_IFBLK | 0o644, "device"),
        (stat.S_IFIFO | 0o644, "FIFO"),
    ],
)
def test_links_and_devices(tmp_path: Path, mode: int, words: str) -> None:
    found = path_findings(WheelSpec(unrecorded=(Raw("demo/node", b"/etc/passwd", mode=mode),)), tmp_path)
    assert [(f.member, words in f.message) for f in found] == [("demo/node", True)]


def test_duplicate_names(tmp_path: Path) -> None:
    spec = WheelSpec(unrecorded=(Raw("demo/__init__.py", b"evil = 1\n"),))
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = spec.build(tmp_path)
    found = [f for f in verify_wheel(path, None).errors if f.check is Check.PATH]
    assert [(f.member, "2 times" in f.message) for f in found] == [("demo/__init__.py", True)]


def test_case_collision_is_a_warning(tmp_path: Path) -> None:
    found = path_findings(
        WheelSpec().with_files(**{"demo/Readme.txt": b"", "demo/README.txt": b""}), tmp_path
    )
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "case" in found[0].message


def test_foreign_dist_info_and_data(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(
        **{
            "pip-24.0.dist-info/RECORD": b"",
            "other-1.0.data/purelib/x.py": b"",
            "demo-1.0.data/weird/x.py": b"",
        }
    )
    found = {f.member: f.message for f in path_findings(spec, tmp_path)}
    assert "another distribution" in found["pip-24.0.dist-info/RECORD"]
    assert "does not match" in found["other-1.0.data/purelib/x.py"]
    assert "unknown install scheme" in found["demo-1.0.data/weird/x.py"]


def test_pth_and_common_top_levels_are_warnings(tmp_path: Path) -> None:
    spec = WheelSpec().with_files(**{"evil.pth": b"import os", "tests/test_x.py": b""})
    found = path_findings(spec, tmp_path)
    assert {f.member for f in found} == {"evil.pth", "tests/"}
    assert all(f.severity is Severity.WARNING for f in found)


def test_directory_entries_are_fine(tmp_path: Path) -> None:
    path = WheelSpec().build(tmp_path)
    with zipfile.ZipFile(path, "a") as zf:
        info = zipfile.ZipInfo("demo/")
        info.external_attr = (stat.S_IFDIR | 0o755) << 16
        zf.writestr(info, b"")
    assert verify_wheel(path, None).ok


def test_split_dist_dir() -> None:
    assert split_dist_dir("foo_bar-1.0.dist-info") == ("foo_bar", "1.0")
    assert split_dist_dir("nodash.dist-info") is None


def test_find_layout_matches_normalized_name_and_version() -> None:
    names = ["Foo_Bar-1.0.0.dist-info/METADATA", "other-2.0.dist-info/METADATA", "foo_bar/__init__.py"]
    layout = find_layout(names, "foo-bar", "1.0")
    assert layout.dist_info == "Foo_Bar-1.0.0.dist-info"
    assert layout.data_dir == "Foo_Bar-1.0.0.data"
    assert layout.other_dist_infos == ("other-2.0.dist-info",)
    assert installed_path("Foo_Bar-1.0.0.data/platlib/x.so", layout) == "x.so"
    assert installed_path("Foo_Bar-1.0.0.data/scripts/x", layout) is None
    assert installed_path("foo_bar/x.so", layout) == "foo_bar/x.so"


@pytest.mark.parametrize(
    ("names", "roots"),
    [
        (["a-1.dist-info/RECORD", "a/x.py", "handler.py"], ("",)),
        (["python/", "python/a-1.dist-info/RECORD", "python/a/x.py"], ("python/",)),
        (
            ["python/lib/python3.12/site-packages/a-1.dist-info/RECORD", "lib/libz [1].so"],
            ("python/lib/python3.12/site-packages/",),
        ),
        (
            [
                "python/lib/python3.11/site-packages/a-1.dist-info/RECORD",
                "python/lib/python3.12/site-packages/a-1.dist-info/RECORD",
                "python/b-1.dist-info/RECORD",
            ],
            ("python/lib/python3.11/site-packages/", "python/lib/python3.12/site-packages/", "python/"),
        ),
        (["python/pkg/x.py", "python/pkg/y.py"], ("python/",)),  # dist-info stripped
        (["python/lib/python3.12/site-packages/pkg/x.py"], ("python/lib/python3.12/site-packages/",)),
        (["pkg/x.py", "python/y.py"], ("",)),
        (["deep/a-1.dist-info/RECORD"], ("",)),  # not a place Lambda imports from
    ],
)
def test_site_roots(names: list[str], roots: tuple[str, ...]) -> None:
    assert site_roots(names) == roots


def test_root_of_takes_the_longest_root() -> None:
    roots = site_roots(
        ["python/a-1.dist-info/RECORD", "python/lib/python3.12/site-packages/b-1.dist-info/RECORD"]
    )
    assert (
        root_of("python/lib/python3.12/site-packages/b/x.py", roots) == "python/lib/python3.12/site-packages/"
    )
    assert root_of("python/a/x.py", roots) == "python/"
    assert root_of("bin/tool", roots) is None
