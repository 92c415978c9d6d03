"""Sources for build tests: a tiny C extension sdist, and a backend that lies about its platform."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

C_SOURCE = """\
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *answer(PyObject *self, PyObject *args) {
    char buf[8];
    memcpy(buf, "42", 3);
    return PyLong_FromString(buf, NULL, 10);
}

static PyMethodDef methods[] = {{"answer", answer, METH_NOARGS, "The answer."}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cext", NULL, -1, methods};
PyMODINIT_FUNC PyInit__cext(void) { return PyModule_Create(&module); }
"""

SETUP_PY = """\
from setuptools import Extension, setup
setup(ext_modules=[Extension("{pkg}._cext", ["src/cext.c"])])
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "{name}"
version = "{version}"
requires-python = ">=3.8"

[tool.setuptools]
packages = ["{pkg}"]
"""

# A backend that builds a wheel but stamps it with the HOST's tag whatever the target:
# the kind of build output xbuild must refuse and keep out of DIR.
LYING_BACKEND = """\
import base64, hashlib, zipfile

def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = "liar-1.0-cp39-cp39-manylinux_2_31_x86_64.whl"
    files = {
        "liar/__init__.py": b"",
        "liar/fake.cpython-39-x86_64-linux-gnu.so": b"\\xcf\\xfa\\xed\\xfe" + b"\\0" * 60,
        "liar-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: liar\\nVersion: 1.0\\n",
        "liar-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: liar\\nRoot-Is-Purelib: false\\n"
                                     b"Tag: cp39-cp39-manylinux_2_31_x86_64\\n",
    }
    record = [_record_line(k, v) for k, v in files.items()] + ["liar-1.0.dist-info/RECORD,,"]
    with zipfile.ZipFile(f"{wheel_directory}/{name}", "w") as zf:
        for k, v in files.items():
            zf.writestr(k, v)
        zf.writestr("liar-1.0.dist-info/RECORD", "\\n".join(record) + "\\n")
    return name

def get_requires_for_build_wheel(config_settings=None):
    return []
"""


def _tar(members: dict[str, bytes], path: Path) -> Path:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in sorted(members.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 315532800
            tf.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


def make_c_extension_sdist(
    directory: Path, name: str = "xbuild-cext", version: str = "1.0", c_source: str = C_SOURCE
) -> Path:
    pkg = name.replace("-", "_")
    top = f"{pkg}-{version}"
    pkg_info = f"Metadata-Version: 2.2\nName: {name}\nVersion: {version}\nRequires-Python: >=3.8\n\n"
    members = {
        f"{top}/PKG-INFO": pkg_info.encode(),
        f"{top}/pyproject.toml": PYPROJECT.format(name=name, version=version, pkg=pkg).encode(),
        f"{top}/setup.py": SETUP_PY.format(pkg=pkg).encode(),
        f"{top}/src/cext.c": c_source.encode(),
        f"{top}/{pkg}/__init__.py": b"from ._cext import answer\n",
    }
    directory.mkdir(parents=True, exist_ok=True)
    return _tar(members, directory / f"{top}.tar.gz")


def make_lying_sdist(directory: Path) -> Path:
    top = "liar-1.0"
    members = {
        f"{top}/PKG-INFO": b"Metadata-Version: 2.2\nName: liar\nVersion: 1.0\n\n",
        f"{top}/pyproject.toml": b'[build-system]\nrequires = []\nbuild-backend = "liarbackend"\n'
        b'backend-path = ["."]\n',
        f"{top}/liarbackend.py": LYING_BACKEND.encode(),
    }
    directory.mkdir(parents=True, exist_ok=True)
    return _tar(members, directory / f"{top}.tar.gz")
