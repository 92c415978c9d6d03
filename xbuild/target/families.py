"""Spellings of the platforms beyond desktop Linux, macOS and Windows: iOS, Android, Pyodide, and
the Linux CPUs uv reaches only through wheel tags. Each becomes a Target with uv's defaults
(targets/platforms.toml), overridable by the same environment variables uv reads."""

from __future__ import annotations

import re
from collections.abc import Mapping

from xbuild.errors import UsageError
from xbuild.target.arch import Arch
from xbuild.target.defaults import PlatformDefaults, load_defaults
from xbuild.target.model import OS, Libc, PyodideABI, Target
from xbuild.target.tags import Family, parse_platform_tag

_UV_IOS = {
    "arm64-apple-ios": (Arch.AARCH64, False),
    "arm64-apple-ios-simulator": (Arch.AARCH64, True),
    "x86_64-apple-ios-simulator": (Arch.X86_64, True),
}
# uv accepts aarch64 and x86_64; the NDK's other two ABIs are spelled the same way.
_UV_ANDROID = re.compile(r"^(aarch64|x86_64|i686|armv7)-linux-android(?:eabi)?$")
_UV_PYODIDE = re.compile(r"^wasm32-pyodide(\d{4})$")
# Tag lists grow with the version (every iOS X.Y and API level below the target's), so an absurd
# one would exhaust memory: iOS is at 26, Android's API level at 36.
MAX_PLATFORM_VERSION = 100


def parse_family(
    text: str, env: Mapping[str, str], defaults: PlatformDefaults | None = None
) -> Target | None:
    """A uv triple or wheel platform tag of one of these families, else None."""
    data = defaults or load_defaults()
    return _uv_triple(text, env, data) or _wheel_tag(text, data)


def family_spellings(defaults: PlatformDefaults | None = None) -> list[str]:
    """Every triple and one tag per family, for 'did you mean' suggestions."""
    data = defaults or load_defaults()
    return [
        *_UV_IOS,
        "aarch64-linux-android",
        "x86_64-linux-android",
        *(p.triple for p in data.pyodide),
        *(t.triple for t in data.linux),
        "ios_13_0_arm64_iphoneos",
        "android_24_arm64_v8a",
        *(tag for p in data.pyodide for tag in p.platform_tags),
    ]


def _uv_triple(text: str, env: Mapping[str, str], data: PlatformDefaults) -> Target | None:
    if text in _UV_IOS:
        arch, simulator = _UV_IOS[text]
        return _ios(arch, simulator, _ios_min(env, data))
    if (m := _UV_ANDROID.match(text)) and (abi := Arch.from_name(m.group(1), lambda n: n.triple)):
        return _android(abi, _android_api(env, data))
    if m := _UV_PYODIDE.match(text):
        return _pyodide(data.pyodide_by_year(int(m.group(1))), text, data)
    if linux := data.linux_triple(text):
        return Target(os=OS.LINUX, arch=linux.arch, libc=Libc.GLIBC, libc_version=linux.manylinux)
    return None


def _wheel_tag(text: str, data: PlatformDefaults) -> Target | None:
    tag = parse_platform_tag(text)
    family, version = tag.family, tag.version
    if family is Family.IOS and (apple := Arch.from_name(tag.arch, lambda n: n.apple)):
        if apple is Arch.X86_64 and not tag.simulator:
            raise UsageError(f"{text!r}: no iOS device runs x86_64", hint="use x86_64_iphonesimulator")
        return _ios(apple, tag.simulator, (version[0], version[1]))
    if family is Family.ANDROID and (android := Arch.from_name(tag.arch, lambda n: n.android)):
        return _android(android, version[0])
    if family is Family.PYODIDE:
        return _pyodide(data.pyodide_by_tag(abi=(version[0], version[1])), text, data)
    if family is Family.EMSCRIPTEN:
        return _pyodide(data.pyodide_by_tag(emscripten=(version[0], version[1], version[2])), text, data)
    return None


def _bounded(value: int, what: str) -> int:
    if value > MAX_PLATFORM_VERSION:
        raise UsageError(
            f"{what} {value} is out of range (above {MAX_PLATFORM_VERSION})",
            hint="use a real version, e.g. ios_13_0 or android_24",
        )
    return value


def _ios(arch: Arch, simulator: bool, minimum: tuple[int, int]) -> Target:
    _bounded(max(minimum), "iOS version part")
    if minimum < (12, 0):
        raise UsageError(f"iOS {minimum[0]}.{minimum[1]} is older than any CPython runs on", hint="use 13.0")
    return Target(os=OS.IOS, arch=arch, libc=Libc.NONE, ios_min=minimum, ios_simulator=simulator)


def _android(arch: Arch, api_level: int) -> Target:
    _bounded(api_level, "Android API level")
    if api_level < 16:
        raise UsageError(f"Android API level {api_level} is below 16, where CPython starts", hint="use 24")
    return Target(os=OS.ANDROID, arch=arch, libc=Libc.NONE, android_api=api_level)


def _pyodide(abi: PyodideABI | None, text: str, data: PlatformDefaults) -> Target:
    if abi is None:
        known = ", ".join(f"{p.triple} ({', '.join(p.platform_tags)})" for p in data.pyodide)
        raise UsageError(f"{text!r}: unknown Pyodide ABI", hint=f"known: {known}")
    # The Pyodide runtime ships exactly one CPython, so the platform names the Python too.
    return Target(
        os=OS.EMSCRIPTEN,
        arch=Arch.WASM32,
        libc=Libc.NONE,
        pyodide=abi,
        python_version=abi.python,
        python_version_source="target",
    )


def _ios_min(env: Mapping[str, str], data: PlatformDefaults) -> tuple[int, int]:
    raw = env.get(data.ios_env, "").strip()
    if not raw:
        return data.ios_min
    match = re.match(r"^(\d+)(?:\.(\d+))?$", raw)
    if not match:
        raise UsageError(f"invalid {data.ios_env} {raw!r}", hint="use e.g. 13.0 or 17")
    return int(match.group(1)), int(match.group(2) or 0)


def _android_api(env: Mapping[str, str], data: PlatformDefaults) -> int:
    raw = env.get(data.android_env, "").strip()
    if not raw:
        return data.android_api
    if not raw.isdigit():
        raise UsageError(f"invalid {data.android_env} {raw!r}", hint="use an integer API level, e.g. 24")
    return int(raw)


def check_python(target: Target) -> Target:
    """Refuse a Python the platform cannot run: Pyodide ships one CPython minor per ABI."""
    if target.pyodide is not None and target.python_version != target.pyodide.python:
        want = "{}.{}".format(*target.pyodide.python)
        other = [p.triple for p in load_defaults().pyodide if p.python == target.python_version]
        hint = f"use {other[0]} for Python {target.python}" if other else f"use --python-version {want}"
        raise UsageError(
            f"{target.pyodide.triple} runs Python {want}, not {target.python}",
            hint=hint,
        )
    if target.pyodide is not None and target.free_threaded:
        raise UsageError("Pyodide has no free-threaded CPython", hint="drop the `t` from --python-version")
    return target
