"""uv's platform defaults are data (targets/platforms.toml); a broken file names itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from xbuild.errors import ExitCode, InputError
from xbuild.target import OS, Arch
from xbuild.target.defaults import defaults_file, load_defaults

GOOD = """
[ios]
minimum = "14.2"
env = "IPHONEOS_DEPLOYMENT_TARGET"
builder = 'Xcode [beta] "quoted"'
[android]
api_level = 28
env = "ANDROID_API_LEVEL"
builder = "NDK"
[pyodide-build]
builder = "pyodide build"
[[pyodide]]
abi = "2030.1"
python = "3.19"
emscripten = "9.8.7"
[[linux]]
triple = "s390x-unknown-linux-gnu"
arch = "s390x"
manylinux = "2.34"
"""


def test_shipped_defaults_are_uvs() -> None:
    data = load_defaults()
    assert defaults_file().is_file()
    assert (data.ios_min, data.android_api) == ((13, 0), 24)
    assert all("cibuildwheel" in (data.builder(os_) or "") for os_ in (OS.IOS, OS.ANDROID, OS.EMSCRIPTEN))
    assert [(p.triple, p.python, p.emscripten) for p in data.pyodide] == [
        ("wasm32-pyodide2024", (3, 12), (3, 1, 58)),
        ("wasm32-pyodide2025", (3, 13), (4, 0, 9)),
    ]
    assert {t.triple: (t.arch, t.manylinux) for t in data.linux} == {
        "i686-unknown-linux-gnu": (Arch.I686, (2, 28)),
        "armv7-unknown-linux-gnueabihf": (Arch.ARMV7L, (2, 31)),
        "powerpc64le-unknown-linux-gnu": (Arch.PPC64LE, (2, 28)),
        "s390x-unknown-linux-gnu": (Arch.S390X, (2, 28)),
    }


def test_another_file_is_read_as_given(tmp_path: Path) -> None:
    path = tmp_path / "platforms [copy] é.toml"
    path.write_text(GOOD, encoding="utf-8")
    data = load_defaults(path)
    assert (data.ios_min, data.android_api, data.pyodide[0].abi) == ((14, 2), 28, (2030, 1))
    assert data.pyodide_by_year(2030) is data.pyodide_by_tag(emscripten=(9, 8, 7)) is not None
    assert data.linux_triple("s390x-unknown-linux-gnu") is not None
    assert data.linux_triple("s390x-unknown-linux-gnu\u200b") is None
    assert (data.builder(OS.IOS), data.builder(OS.LINUX)) == ('Xcode [beta] "quoted"', None)


@pytest.mark.parametrize(
    "broken",
    [
        GOOD.replace('minimum = "14.2"', 'minimum = "14"'),
        GOOD.replace('emscripten = "9.8.7"', 'emscripten = "9.8.7\\"; x"'),
        GOOD.replace('arch = "s390x"', 'arch = "sparc"'),
        GOOD.replace("api_level = 28", 'api_level = "twenty"'),
        GOOD.replace("[android]", "[androidd]"),
        GOOD + "\n[[pyodide]\n",
        GOOD.replace('builder = "NDK"\n', ""),
    ],
)
def test_broken_defaults_name_the_file(tmp_path: Path, broken: str) -> None:
    path = tmp_path / "platforms.toml"
    path.write_text(broken, encoding="utf-8")
    with pytest.raises(InputError, match=r"platforms\.toml") as info:
        load_defaults(path)
    assert info.value.exit_code is ExitCode.USAGE
