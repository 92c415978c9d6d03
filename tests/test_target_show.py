"""`xbuild targets show` for every platform spelling added for iOS, Android, Pyodide, the other
Linux CPUs and free-threaded Python: exit 0, the platform, its markers and its ordered tags."""

from __future__ import annotations

import json

import pytest

from xbuild.cli.main import main

# (spelling, --python-version or None, platform_system, first tag)
SHOWN = [
    ("aarch64-linux-android", "3.13", "Android", "cp313-cp313-android_24_arm64_v8a"),
    ("x86_64-linux-android", "3.13", "Android", "cp313-cp313-android_24_x86_64"),
    ("wasm32-pyodide2024", None, "Emscripten", "cp312-cp312-pyemscripten_2024_0_wasm32"),
    ("wasm32-pyodide2025", None, "Emscripten", "cp313-cp313-pyemscripten_2025_0_wasm32"),
    ("arm64-apple-ios", "3.13", "iOS", "cp313-cp313-ios_13_0_arm64_iphoneos"),
    ("arm64-apple-ios-simulator", "3.13", "iOS", "cp313-cp313-ios_13_0_arm64_iphonesimulator"),
    ("x86_64-apple-ios-simulator", "3.13", "iOS", "cp313-cp313-ios_13_0_x86_64_iphonesimulator"),
    ("i686-unknown-linux-gnu", "3.12", "Linux", "cp312-cp312-manylinux_2_28_i686"),
    ("armv7-unknown-linux-gnueabihf", "3.12", "Linux", "cp312-cp312-manylinux_2_31_armv7l"),
    ("powerpc64le-unknown-linux-gnu", "3.12", "Linux", "cp312-cp312-manylinux_2_28_ppc64le"),
    ("s390x-unknown-linux-gnu", "3.12", "Linux", "cp312-cp312-manylinux_2_28_s390x"),
    ("ios_13_0_arm64_iphoneos", "3.14", "iOS", "cp314-cp314-ios_13_0_arm64_iphoneos"),
    ("ios_13_0_arm64_iphonesimulator", "3.14", "iOS", "cp314-cp314-ios_13_0_arm64_iphonesimulator"),
    ("android_24_arm64_v8a", "3.14", "Android", "cp314-cp314-android_24_arm64_v8a"),
    ("android_24_x86_64", "3.14", "Android", "cp314-cp314-android_24_x86_64"),
    ("pyodide_2024_0_wasm32", None, "Emscripten", "cp312-cp312-pyemscripten_2024_0_wasm32"),
    ("emscripten_3_1_58_wasm32", None, "Emscripten", "cp312-cp312-pyemscripten_2024_0_wasm32"),
    ("x86_64-manylinux_2_28", "3.14t", "Linux", "cp314-cp314t-manylinux_2_28_x86_64"),
    ("free-threaded-3.14-aarch64", None, "Linux", "cp314-cp314t-manylinux_2_28_aarch64"),
]


@pytest.mark.parametrize(("spec", "python", "system", "first"), SHOWN, ids=[s[0] for s in SHOWN])
def test_show_every_new_spelling(
    capsys: pytest.CaptureFixture[str], spec: str, python: str | None, system: str, first: str
) -> None:
    flags = ["--python-version", python] if python else []
    assert main(["targets", "show", spec, *flags, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["tags"][0] == first
    assert data["markers"]["platform_system"] == system
    assert data["target"]["platform_tags"][0] == first.split("-", 2)[2]
    assert main(["targets", "show", spec, *flags]) == 0
    text = capsys.readouterr().out
    assert "marker environment:" in text and f"  {first}" in text


def test_show_refuses_a_python_pyodide_cannot_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["targets", "show", "wasm32-pyodide2024", "--python-version", "3.13"]) == 2
    err = capsys.readouterr().err
    assert "wasm32-pyodide2025" in err and "Traceback" not in err
