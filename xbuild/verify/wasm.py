"""The per-binary checks of Pyodide wheels: extension modules are Emscripten side modules.

Pyodide imports `*.so` files through Emscripten's dynamic linker, which takes only wasm modules
that open with a `dylink.0` section. Any other binary format is refused by `binary-format`
already (see binaries.FORMAT_OS); this adds what is particular to wasm.

A wasm file not named as a shared library (`*.wasm`, say) is data that some runtime loads by
hand, in any wheel, so it is not judged as a binary at all.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import TYPE_CHECKING

from xbuild.binary import BinaryFormat
from xbuild.verify.model import Check, Finding, error, warning

if TYPE_CHECKING:
    from xbuild.binary.wasm import WasmInfo

_LOADED = re.compile(r"\.(so|pyd|dylib)$", re.IGNORECASE)


def is_data(name: str, kind: BinaryFormat | None) -> bool:
    """A wasm file that no loader is asked to load: judged as data, like any other file."""
    return kind is BinaryFormat.WASM and _LOADED.search(name) is None


def check_wasm(member: str, info: WasmInfo, shipped: Collection[str]) -> list[Finding]:
    """`binary-format`: a side module; `external-libs`: the side modules it needs are shipped."""
    if info.dylink is None:
        return [
            error(
                Check.BINARY_FORMAT,
                member,
                "is a WebAssembly module but no Emscripten side module (it has no dylink.0 "
                "section): Pyodide's loader refuses it; link it with -sSIDE_MODULE=1, as "
                "`pyodide build` and cibuildwheel --platform pyodide do",
            )
        ]
    return [
        warning(
            Check.EXTERNAL_LIBS,
            member,
            f"needs the side module {name}, which the wheel does not ship: another Pyodide "
            "package must provide it (Pyodide loads a package's shared libraries first)",
        )
        for name in info.needed
        if name not in shipped
    ]
