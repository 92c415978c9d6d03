"""Turn a `--python-platform` string into a Target.

Accepted spellings, in the order they are tried: `host`, a named target from `targets/*.toml`,
every string uv's `--python-platform` accepts (manylinux_2_N for any N >= 17, not only up to 2_40;
iOS, Android and Pyodide in xbuild/target/families.py), and wheel platform tags as written in
filenames. `--python-version 3.14t` asks for the free-threaded build.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from xbuild.errors import UsageError
from xbuild.target.arch import Arch
from xbuild.target.catalog import Catalog, NamedTarget, load_catalog
from xbuild.target.families import check_python, family_spellings, parse_family
from xbuild.target.model import OS, Libc, Target
from xbuild.target.tags import Family, parse_platform_tag

DEFAULT_MANYLINUX = (2, 28)  # uv's meaning of the bare *-unknown-linux-gnu triples
DEFAULT_MUSLLINUX = (1, 2)
DEFAULT_MACOS = (13, 0)

_LINUX_TAG_ARCHES = frozenset(a for a in Arch if a is not Arch.WASM32)  # tags spell them as Arch values

# Fixed uv spellings (the manylinux_2_N family is matched by a pattern below).
_UV_FIXED: dict[str, tuple[OS, Arch, Libc, tuple[int, int] | None]] = {
    "linux": (OS.LINUX, Arch.X86_64, Libc.GLIBC, DEFAULT_MANYLINUX),
    "windows": (OS.WINDOWS, Arch.X86_64, Libc.NONE, None),
    "macos": (OS.MACOS, Arch.AARCH64, Libc.NONE, None),
    "x86_64-unknown-linux-gnu": (OS.LINUX, Arch.X86_64, Libc.GLIBC, DEFAULT_MANYLINUX),
    "aarch64-unknown-linux-gnu": (OS.LINUX, Arch.AARCH64, Libc.GLIBC, DEFAULT_MANYLINUX),
    "x86_64-unknown-linux-musl": (OS.LINUX, Arch.X86_64, Libc.MUSL, DEFAULT_MUSLLINUX),
    "aarch64-unknown-linux-musl": (OS.LINUX, Arch.AARCH64, Libc.MUSL, DEFAULT_MUSLLINUX),
    "x86_64-apple-darwin": (OS.MACOS, Arch.X86_64, Libc.NONE, None),
    "aarch64-apple-darwin": (OS.MACOS, Arch.AARCH64, Libc.NONE, None),
    "x86_64-pc-windows-msvc": (OS.WINDOWS, Arch.X86_64, Libc.NONE, None),
    "aarch64-pc-windows-msvc": (OS.WINDOWS, Arch.AARCH64, Libc.NONE, None),
    "i686-pc-windows-msvc": (OS.WINDOWS, Arch.I686, Libc.NONE, None),
    # uv maps its riscv64 triple to manylinux_2_31, the first glibc with a riscv64 wheel tag.
    "riscv64-unknown-linux": (OS.LINUX, Arch.RISCV64, Libc.GLIBC, (2, 31)),
}
_UV_MANYLINUX = re.compile(r"^(x86_64|aarch64)-manylinux(?:2014|_2_(\d{1,9}))$")
# Tag lists grow with the version (manylinux_2_N is compatible with every 2_M below it), so an
# absurd N would exhaust memory; glibc is at 2_41, musl at 1_2, macOS at 26.
MAX_VERSION_PART = 100
_VERSION = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+))?$")
_FREE_THREADED = re.compile(r"^(\d+\.\d+(?:\.\d+)?)t$")


def split_free_threaded(text: str) -> tuple[str, bool]:
    """`3.14t` -> (`3.14`, True): the trailing `t` is CPython's free-threaded ABI flag."""
    match = _FREE_THREADED.match(text.strip())
    return (match.group(1), True) if match else (text, False)


def parse_python_version(text: str) -> tuple[tuple[int, int], str | None]:
    """`3.12` or `3.12.4` -> ((3, 12), full version or None)."""
    match = _VERSION.match(text.strip())
    if not match or int(match.group(1)) != 3:
        raise UsageError(f"invalid --python-version {text!r}", hint="use X.Y or X.Y.Z, e.g. 3.12")
    version = (int(match.group(1)), int(match.group(2)))
    return version, (text.strip() if match.group(3) else None)


def parse_target(
    spec: str,
    *,
    python_version: str | None = None,
    environ: Mapping[str, str] | None = None,
    host: Callable[[], Target] | None = None,
    catalog: Catalog | None = None,
    default_python: tuple[int, int, int] | None = None,
) -> Target:
    """Parse a target spelling; the Python comes from the flag, the named target, else `default_python`."""
    env = os.environ if environ is None else environ
    cat = catalog if catalog is not None else load_catalog()
    text = spec.strip()
    target = _parse_platform(text, env, host, cat)
    target = replace(target, spec=text)
    if python_version is not None:
        plain, free_threaded = split_free_threaded(python_version)
        version, full = parse_python_version(plain)
        return check_python(target.with_python(version, full, "flag", free_threaded=free_threaded))
    if target.python_version_source in ("target", "host", "interpreter"):
        return check_python(target)
    if default_python is None:
        raise UsageError(f"target {text!r} names no Python", hint="pass --python-version X.Y")
    major, minor, micro = default_python
    return target.with_python((major, minor), f"{major}.{minor}.{micro}", "host")


def _parse_platform(
    text: str, env: Mapping[str, str], host: Callable[[], Target] | None, cat: Catalog
) -> Target:
    if text == "host":
        if host is None:
            raise UsageError("the host target is not available here")
        return host()
    named = cat.get(text)
    if named is not None:
        return _from_named(named, env)
    parsed = _parse_spelling(text, env)
    if parsed is None:
        raise _unknown(text, cat)
    return parsed


def _parse_spelling(text: str, env: Mapping[str, str]) -> Target | None:
    return _parse_uv(text, env) or parse_family(text, env) or _parse_wheel_tag(text, env)


def _from_named(named: NamedTarget, env: Mapping[str, str]) -> Target:
    base = _parse_spelling(named.platform, env)
    if base is None:
        raise UsageError(f"target {named.name!r} in {named.source}: bad platform {named.platform!r}")
    plain, free_threaded = split_free_threaded(named.python)
    version, full = parse_python_version(plain)
    return replace(
        base,
        name=named.name,
        description=named.description or None,
        image=named.image,
        python_version=version,
        python_full_version=full,
        python_version_source="target",
        free_threaded=free_threaded,
    )


def _macos_min(env: Mapping[str, str]) -> tuple[int, int]:
    raw = env.get("MACOSX_DEPLOYMENT_TARGET", "").strip()
    if not raw:
        return DEFAULT_MACOS
    match = re.match(r"^(\d+)(?:\.(\d+))?$", raw)
    if not match:
        raise UsageError(f"invalid MACOSX_DEPLOYMENT_TARGET {raw!r}", hint="use e.g. 11.0 or 13")
    return int(match.group(1)), int(match.group(2) or 0)


def _make(
    os_: OS,
    arch: Arch,
    libc: Libc,
    version: tuple[int, int] | None,
    env: Mapping[str, str],
    *,
    linux_tag: bool = False,
) -> Target:
    _check_bounded(version)
    return Target(
        os=os_,
        arch=arch,
        libc=libc,
        libc_version=version,
        macos_min=_macos_min(env) if os_ is OS.MACOS else None,
        accept_linux_tag=linux_tag,
    )


def _parse_uv(text: str, env: Mapping[str, str]) -> Target | None:
    if text in _UV_FIXED:
        os_, arch, libc, version = _UV_FIXED[text]
        return _make(os_, arch, libc, version, env)
    match = _UV_MANYLINUX.match(text)
    if match is None:
        return None
    minor = int(match.group(2)) if match.group(2) else 17
    if minor < 17:
        raise UsageError(
            f"{text!r}: manylinux_2_{minor} is below 2_17 for {match.group(1)}",
            hint=f"use {match.group(1)}-manylinux_2_17 or newer",
        )
    return _make(OS.LINUX, Arch(match.group(1)), Libc.GLIBC, (2, minor), env)


def _parse_wheel_tag(text: str, env: Mapping[str, str]) -> Target | None:
    tag = parse_platform_tag(text)
    family, version = tag.family, tag.version
    if family is Family.WINDOWS and (windows := Arch.from_name(text, lambda n: n.windows_tag)):
        return _make(OS.WINDOWS, windows, Libc.NONE, None, env)
    # Target versions count glibc 2.x and musl 1.x, the only majors either has.
    if family is Family.MANYLINUX and version[0] == 2:
        return _linux(text, tag.arch, Libc.GLIBC, (2, version[1]), env)
    if family is Family.MUSLLINUX and version[0] == 1:
        return _linux(text, tag.arch, Libc.MUSL, (1, version[1]), env)
    if family is Family.LINUX:
        return _linux(text, tag.arch, Libc.GLIBC, None, env, linux_tag=True)
    if family is Family.MACOS and (mac := Arch.from_name(tag.arch, lambda n: n.apple)):
        macos_min = _check_bounded((version[0], version[1]))
        return replace(_make(OS.MACOS, mac, Libc.NONE, None, env), macos_min=macos_min)
    return None


def _check_bounded(version: tuple[int, int] | None) -> tuple[int, int] | None:
    if version is not None and max(version) > MAX_VERSION_PART:
        raise UsageError(
            f"platform version {version[0]}_{version[1]} is out of range (parts above {MAX_VERSION_PART})",
            hint="use a real version, e.g. manylinux_2_28, musllinux_1_2 or macosx_11_0",
        )
    return version


def _linux(
    text: str,
    arch: str,
    libc: Libc,
    version: tuple[int, int] | None,
    env: Mapping[str, str],
    *,
    linux_tag: bool = False,
) -> Target:
    known = {str(a): a for a in _LINUX_TAG_ARCHES}
    if arch not in known:
        raise UsageError(
            f"{text!r}: unknown architecture {arch!r}",
            hint="known: " + ", ".join(sorted(known)),
        )
    return _make(OS.LINUX, known[arch], libc, version, env, linux_tag=linux_tag)


def known_spellings(cat: Catalog) -> list[str]:
    """A representative vocabulary for 'did you mean' suggestions."""
    manylinux = [f"{a}-manylinux_2_{n}" for a in ("x86_64", "aarch64") for n in (17, 28, 31, 34)]
    tags = [
        "manylinux2014_x86_64",
        "manylinux_2_28_aarch64",
        "musllinux_1_2_x86_64",
        "macosx_11_0_arm64",
        "win_amd64",
        "linux_x86_64",
    ]
    return [
        "host",
        *cat.names(),
        *_UV_FIXED,
        "x86_64-manylinux2014",
        "aarch64-manylinux2014",
        *manylinux,
        *tags,
        *family_spellings(),
    ]


def _unknown(text: str, cat: Catalog) -> UsageError:
    close = difflib.get_close_matches(text, known_spellings(cat), n=5, cutoff=0.5)
    suggestion = f"did you mean: {', '.join(close)}?" if close else "no close match"
    return UsageError(
        f"unknown target {text!r} ({suggestion})",
        hint="run `xbuild targets` for named targets; uv triples (x86_64-unknown-linux-gnu, "
        "arm64-apple-ios, aarch64-linux-android, wasm32-pyodide2024), <arch>-manylinux_2_N for any "
        "N >= 17, and wheel platform tags (manylinux_2_28_aarch64, android_24_arm64_v8a) are accepted",
    )
