"""The shared test helpers themselves: fixture distributions and the loopback index."""

from __future__ import annotations

import base64
import hashlib
import tarfile
import zipfile
from pathlib import Path

import httpx
import pytest
from packaging.metadata import Metadata
from support.index_server import JSON_TYPE, IndexServer, parse_range
from support.packages import make_sdist, make_wheel, wheel_filename


def test_make_wheel_is_valid_and_deterministic(tmp_path: Path) -> None:
    path = make_wheel(
        tmp_path / "a",
        "My.Pkg",
        "1.0",
        tags=("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"),
        requires_dist=["attrs>=22", "tomli; python_version < '3.11'"],
        requires_python=">=3.11",
        files={"my_pkg/__init__.py": "X = 1\n", "my_pkg/_ext.so": b"\x7fELF"},
    )
    assert path.name == "my_pkg-1.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with zipfile.ZipFile(path) as archive:
        metadata = Metadata.from_email(archive.read("my_pkg-1.0.dist-info/METADATA"))
        wheel = archive.read("my_pkg-1.0.dist-info/WHEEL").decode()
        record = archive.read("my_pkg-1.0.dist-info/RECORD").decode().splitlines()
        for row in record[:-1]:
            name, digest, size = row.split(",")
            data = archive.read(name)
            expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            assert (digest, int(size)) == (f"sha256={expected.decode()}", len(data))
    assert record[-1] == "my_pkg-1.0.dist-info/RECORD,,"
    assert [str(r) for r in metadata.requires_dist or []] == [
        "attrs>=22",
        'tomli; python_version < "3.11"',
    ]
    assert str(metadata.requires_python) == ">=3.11"
    assert "Root-Is-Purelib: False" in wheel
    assert "Tag: cp311-cp311-manylinux2014_x86_64" in wheel
    again = make_wheel(
        tmp_path / "b",
        "My.Pkg",
        "1.0",
        tags=("cp311-cp311-manylinux_2_17_x86_64", "cp311-cp311-manylinux2014_x86_64"),
        requires_dist=["attrs>=22", "tomli; python_version < '3.11'"],
        requires_python=">=3.11",
        files={"my_pkg/__init__.py": "X = 1\n", "my_pkg/_ext.so": b"\x7fELF"},
    )
    assert again.read_bytes() == path.read_bytes()


def test_wheel_filename_compresses_tags() -> None:
    assert wheel_filename("a", "1", ("py2-none-any", "py3-none-any")) == "a-1-py2.py3-none-any.whl"


def test_make_sdist_has_pkg_info_and_pyproject(tmp_path: Path) -> None:
    path = make_sdist(
        tmp_path,
        "My.Pkg",
        "2.0",
        requires_dist=["attrs"],
        dynamic=["Requires-Dist"],
        setup_py="from setuptools import setup\nsetup()\n",
    )
    assert path.name == "my_pkg-2.0.tar.gz"
    with tarfile.open(path) as tar:
        names = tar.getnames()
        pkg_info = tar.extractfile("my_pkg-2.0/PKG-INFO")
        pyproject = tar.extractfile("my_pkg-2.0/pyproject.toml")
        assert pkg_info is not None and pyproject is not None
        metadata = Metadata.from_email(pkg_info.read())
        toml = pyproject.read().decode()
    assert "my_pkg-2.0/setup.py" in names and "my_pkg-2.0/my_pkg/__init__.py" in names
    assert (metadata.metadata_version, metadata.dynamic) == ("2.2", ["requires-dist"])
    assert 'build-backend = "setuptools.build_meta"' in toml
    assert 'dependencies = ["attrs"]' in toml


@pytest.mark.parametrize(
    ("header", "bounds"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-1000", (0, 99)),
        ("bytes=90-200", (90, 99)),
        ("bytes=100-", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=-0", None),
    ],
)
def test_parse_range(header: str, bounds: tuple[int, int] | None) -> None:
    assert parse_range(header, 100) == bounds


def test_server_negotiates_format_and_serves_ranges(index_server: IndexServer) -> None:
    make_wheel(index_server.dist_dir, "foo", "1.0")
    with httpx.Client(base_url=index_server.base_url) as http:
        html = http.get("/simple/foo/", headers={"Accept": "text/html"})
        json_page = http.get("/simple/foo/", headers={"Accept": f"text/html;q=0.1, {JSON_TYPE}"})
        listing = http.get("/simple/", headers={"Accept": JSON_TYPE})
        redirect = http.get("/simple/Foo/")
        tail = http.get("/files/foo-1.0-py3-none-any.whl", headers={"Range": "bytes=-4"})
        refused = http.get("/simple/foo/", headers={"Accept": "application/xml"})
    assert html.headers["content-type"].startswith("text/html")
    assert json_page.headers["content-type"] == JSON_TYPE
    assert listing.json()["projects"] == [{"name": "foo"}]
    assert (redirect.status_code, redirect.headers["location"]) == (301, "/simple/foo/")
    assert tail.status_code == 206 and len(tail.content) == 4
    assert refused.status_code == 406
