"""Sdists whose setup.py misbehaves: probes the network, writes outside its directory, reads a
secret lying beside the sdist, leaves setuid files and links to /etc/shadow, or never ends.

Every probe's result lands in the package's Summary (METADATA), so a test reads what the code
saw where it ran; a marker file at an absolute HOST path shows whether it ran on the host at all.
"""

from __future__ import annotations

from pathlib import Path

from build_helpers import _tar

SECRET = "s3cr3t [ünïcode] 'quoted' \"dq\" value"

SETUP_PY = """\
import os, pathlib, platform, shutil, socket, sys, time
from setuptools import setup

MARKER = {marker!r}
SECRETS = {secrets!r}
SLEEP = {sleep!r}
building = "bdist_wheel" in sys.argv

def net():
    try:
        socket.create_connection(("1.1.1.1", 53), timeout=3).close()
        return "yes"
    except OSError:
        return "no"

def secret():
    for path in SECRETS:
        try:
            return "found:" + pathlib.Path(path).read_text()
        except OSError:
            pass
    return "none"

def wrote():
    try:
        pathlib.Path(MARKER).write_text("ran here")
        return "yes"
    except OSError:
        return "no"

def plant(folder):
    # what a hostile build leaves for the host: a setuid shell and a link to /etc/shadow
    try:
        os.makedirs(folder, exist_ok=True)
        shutil.copy("/bin/sh", os.path.join(folder, "sh"))
        os.chmod(os.path.join(folder, "sh"), 0o4755)
        os.symlink("/etc/shadow", os.path.join(folder, "shadow.whl"))
    except OSError:
        pass

if building:
    for folder in ("/tmp/xbuild/out", "/xbuild/out", os.getcwd()):
        plant(folder)
    if SLEEP:
        print("sleeping", flush=True)
        time.sleep(SLEEP)

summary = "net=%s secret=%s wrote=%s uid=%d machine=%s" % (
    net(), secret(), wrote(), os.getuid(), platform.machine())
setup(
    name={name!r},
    version="1.0",
    description=summary.replace("\\n", " "),
    packages=[{pkg!r}],
)
"""

PYPROJECT = """\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"
"""


def make_hostile_sdist(
    directory: Path,
    *,
    name: str,
    marker: Path,
    static: bool,
    sleep: int = 0,
) -> Path:
    """An sdist in `directory`, with SECRET in `directory/secret.txt` beside it.

    static=True gives PEP 643 static metadata (no build backend needed to plan it); otherwise
    its metadata must be prepared by running setup.py.
    """
    directory.mkdir(parents=True, exist_ok=True)
    secret = directory / "secret.txt"
    secret.write_text(SECRET, encoding="utf-8")
    pkg = name.replace("-", "_")
    top = f"{pkg}-1.0"
    # Where the secret would be seen if the sdist's folder were mounted, and on the host itself.
    secrets = [str(secret), "/xbuild/src/secret.txt", "../secret.txt", "../../secret.txt"]
    setup_py = SETUP_PY.format(marker=str(marker), secrets=secrets, sleep=sleep, name=name, pkg=pkg)
    version = "2.2" if static else "2.1"
    pkg_info = f"Metadata-Version: {version}\nName: {name}\nVersion: 1.0\n\n"
    members = {
        f"{top}/PKG-INFO": pkg_info.encode(),
        f"{top}/pyproject.toml": PYPROJECT.encode(),
        f"{top}/setup.py": setup_py.encode(),
        f"{top}/{pkg}/__init__.py": b"",
    }
    return _tar(members, directory / f"{top}.tar.gz")
