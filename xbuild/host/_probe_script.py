"""Run by xbuild inside an interpreter under `-I -S`; prints one JSON line describing it.

Constraints: any CPython 3.8+ with nothing installed and no site-packages, so the standard
library only. It reports raw facts; tags are computed on xbuild's side from a Target built
from these facts (packaging cannot be imported here, and one tag rule must have one home).
"""

from __future__ import annotations

import base64
import json
import os
import platform
import sys
import sysconfig

PROBE_FORMAT = 1
HEAD_BYTES = 8192  # ELF and program headers, PT_INTERP, a fat Mach-O's arch table: all sit early


def _pyvenv_cfg() -> str | None:
    # Look where CPython's getpath does: beside the executable, then one directory up. Needed
    # because before 3.11 site.py (disabled by -S) set sys.prefix for venvs, not startup.
    exe_dir = os.path.dirname(os.path.abspath(sys.executable))
    for directory in (exe_dir, os.path.dirname(exe_dir)):
        candidate = os.path.join(directory, "pyvenv.cfg")
        if os.path.isfile(candidate):
            return candidate
    return None


def _real_executable() -> str:
    # /proc/self/exe sees through wrapper scripts and symlinks (and qemu-user emulates it).
    if os.path.exists("/proc/self/exe"):
        return os.path.realpath("/proc/self/exe")
    return os.path.realpath(sys.executable)


def _extension_suffixes() -> list[str]:
    try:
        import importlib.machinery

        return list(importlib.machinery.EXTENSION_SUFFIXES)
    except ImportError:
        return []


def _confstr(name: str) -> str | None:
    try:
        return os.confstr(name)
    except (AttributeError, ValueError, OSError):
        return None


def _file_id(path: str) -> list[int] | None:
    # xbuild compares these with the same paths on its side: other files there mean this ran in
    # another root (a container, a chroot, another machine), whose files xbuild must not read.
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_dev, st.st_ino, st.st_size]


def _head(path: str) -> str | None:
    # The executable's header as seen here (its arch and loader), for when xbuild cannot see it.
    try:
        with open(path, "rb") as f:
            return base64.b64encode(f.read(HEAD_BYTES)).decode("ascii")
    except OSError:
        return None


def _musl_banner(glibc: bool) -> str | None:
    # musl records its version only in the loader's banner, printed when the loader runs bare.
    if glibc or not sys.platform.startswith("linux"):
        return None
    import glob
    import subprocess

    for loader in sorted(glob.glob("/lib/ld-musl-*.so.1")):
        try:
            done = subprocess.run([loader], capture_output=True, timeout=5, check=False)
        except (OSError, subprocess.SubprocessError):
            continue
        return (done.stdout + done.stderr).decode("utf-8", "replace")[:2000]
    return None


def facts() -> dict[str, object]:
    libc_name, libc_version = platform.libc_ver()
    real = _real_executable()
    return {
        "xbuild_probe": PROBE_FORMAT,
        "result": "success",
        "version": list(sys.version_info[:3]),
        "full_version": platform.python_version(),
        "releaselevel": sys.version_info.releaselevel,
        "implementation": sys.implementation.name,
        "sys_platform": sys.platform,
        "machine": platform.machine(),
        "pointer_bits": 64 if sys.maxsize > 2**32 else 32,
        "libc": [libc_name, libc_version],
        "gnu_libc_version": _confstr("CS_GNU_LIBC_VERSION"),
        "host_gnu_type": sysconfig.get_config_var("HOST_GNU_TYPE"),
        "multiarch": sysconfig.get_config_var("MULTIARCH"),
        "ext_suffix": sysconfig.get_config_var("EXT_SUFFIX"),
        "soabi": sysconfig.get_config_var("SOABI"),
        "abiflags": getattr(sys, "abiflags", ""),
        "py_gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
        "extension_suffixes": _extension_suffixes(),
        "mac_ver": platform.mac_ver()[0] if sys.platform == "darwin" else None,
        "executable": sys.executable,
        "real_executable": real,
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "pyvenv_cfg": _pyvenv_cfg(),
        "nix_python_prefix": os.environ.get("NIX_PYTHONPREFIX"),
        "root_id": _file_id("/"),
        "exe_id": _file_id(real),
        "exe_head": _head(real),
        "musl_banner": _musl_banner(libc_name == "glibc" or _confstr("CS_GNU_LIBC_VERSION") is not None),
    }


def main() -> None:
    try:
        result = facts()
    except Exception as exc:  # report any failure as data, never a traceback
        result = {
            "xbuild_probe": PROBE_FORMAT,
            "result": "error",
            "kind": "exception",
            "message": f"{type(exc).__name__}: {exc}",
        }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
