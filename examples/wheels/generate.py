"""Regenerate the example wheels of the README's first command (no network, no compiler).

    .venv/bin/python examples/wheels/generate.py

The binaries inside are the committed fixtures of tests/fixtures/binaries; the archives are built
by the same helper the verify tests use, with fixed timestamps, so the output is reproducible.
"""

from __future__ import annotations

import io
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))

from verify_helpers import WheelSpec, binary  # noqa: E402

LINUX = "cp312-cp312-manylinux_2_17_x86_64"

GOOD = [
    WheelSpec(
        name="xbuild_demo",
        version="1.0.0",
        tags=LINUX,
        files={
            "xbuild_demo/__init__.py": b"from xbuild_demo._native import *\n",
            "xbuild_demo/_native.cpython-312-x86_64-linux-gnu.so": binary("x86_64-linux-gnu.so"),
        },
    ),
    WheelSpec(name="xbuild_pure", version="1.0.0", files={"xbuild_pure/__init__.py": b"VERSION = '1.0.0'\n"}),
]

BAD = [
    # Built on a Mac and tagged for Linux by hand.
    WheelSpec(
        name="built_on_macos",
        version="1.0.0",
        tags=LINUX,
        files={
            "built_on_macos/__init__.py": b"",
            "built_on_macos/_native.cpython-312-darwin.so": binary("x86_64-macos.10.13.so"),
        },
    ),
    # Built on a new distribution (glibc 2.34) but tagged manylinux_2_17.
    WheelSpec(
        name="glibc_too_new",
        version="1.0.0",
        tags=LINUX,
        files={"glibc_too_new/__init__.py": b"", "glibc_too_new/tool": binary("x86_64-linux-gnu-program")},
    ),
]


def tampered(directory: Path) -> None:
    """A pure wheel whose module was edited after the build: RECORD no longer matches."""
    spec = WheelSpec(
        name="edited_after_build", version="1.0.0", files={"edited_after_build/__init__.py": b"x = 1\n"}
    )
    path = spec.build(directory)
    data = path.read_bytes()
    spec = WheelSpec(
        name="edited_after_build",
        version="1.0.0",
        files={"edited_after_build/__init__.py": b"x = 2\n"},
        record_text=_record_of(data),
    )
    spec.build(directory)


def _record_of(wheel: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(wheel)) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/RECORD"))
        return zf.read(name).decode()


def main() -> None:
    for sub in ("good", "bad"):
        shutil.rmtree(HERE / sub, ignore_errors=True)
    for spec in GOOD:
        spec.build(HERE / "good")
    for spec in BAD:
        spec.build(HERE / "bad")
    tampered(HERE / "bad")


if __name__ == "__main__":
    main()
