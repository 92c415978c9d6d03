"""Which C library a Linux userland uses, read from its binaries rather than from our own Python.

The Python running xbuild may be a Nix, conda or static build whose libc is not the system's, so
the family comes from the program interpreter (PT_INTERP) a system binary asks for, and the
version from that loader's own banner.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from xbuild.target import Libc

_MUSL_LOADER = re.compile(r"^ld-musl-[\w-]+\.so\.\d+$")
# glibc loaders: ld-linux.so.2 (i386), ld-linux-x86-64.so.2, ld-linux-aarch64.so.1,
# ld-linux-armhf.so.3, ld-linux-riscv64-lp64d.so.1, ld64.so.1 (s390x), ld64.so.2 (ppc64le).
_GLIBC_LOADER = re.compile(r"^(ld-linux(-[\w-]+)?|ld64|ld)\.so\.\d+$")
_LDD_GLIBC = re.compile(r"(GLIBC|GNU libc|EGLIBC)", re.IGNORECASE)
_TRAILING_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.\d+)*\.?\s*$")
_MUSL_BANNER = re.compile(r"^Version (\d+)\.(\d+)(?:\.\d+)*\s*$", re.MULTILINE)


def libc_from_interpreter_path(path: str) -> Libc | None:
    """glibc or musl from a loader path such as /lib/ld-musl-aarch64.so.1; None if unrecognised.

    Only the file name counts, so Nix store loaders (/nix/store/<hash>-glibc-2.39/lib/...) work.
    """
    name = PurePosixPath(path).name
    if _MUSL_LOADER.match(name):
        return Libc.MUSL
    if _GLIBC_LOADER.match(name):
        return Libc.GLIBC
    return None


def musl_version_from_banner(text: str) -> tuple[int, int] | None:
    """(1, 2) from the banner the musl loader prints when run with no arguments."""
    if "musl" not in text:
        return None
    match = _MUSL_BANNER.search(text)
    return (int(match.group(1)), int(match.group(2))) if match else None


def glibc_version_from_ldd(text: str) -> tuple[int, int] | None:
    """(2, 36) from the first line of `ldd --version` or `ld.so --version`; None for musl's ldd."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if not _LDD_GLIBC.search(first):
        return None
    match = _TRAILING_VERSION.search(first)
    return (int(match.group(1)), int(match.group(2))) if match else None


def libc_from_ldd(text: str) -> Libc | None:
    """The family named by `ldd --version` output (musl prints its banner there, to stderr)."""
    if musl_version_from_banner(text) is not None or text.lstrip().startswith("musl"):
        return Libc.MUSL
    if glibc_version_from_ldd(text) is not None:
        return Libc.GLIBC
    return None


def glibc_version_from_confstr(value: str | None) -> tuple[int, int] | None:
    """(2, 36) from `os.confstr("CS_GNU_LIBC_VERSION")`, i.e. "glibc 2.36"."""
    match = re.match(r"^glibc (\d+)\.(\d+)", value or "")
    return (int(match.group(1)), int(match.group(2))) if match else None
