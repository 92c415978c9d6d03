"""The `abi3` warnings: an abi3 wheel whose ELF binaries call outside the stable ABI.

Only undefined `Py*`/`_Py*` symbols of ELF files are checked (the cheap case: the dynamic
symbol table is already parsed). Mach-O and PE binaries are not inspected for symbols.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from xbuild.binary import ElfInfo
from xbuild.verify.data import read_data
from xbuild.verify.model import Check, Finding, warning

_PYTHON_SYMBOL = re.compile(r"^_?Py")
_LISTED = 8  # symbols named in one message; the rest are counted


@cache
def stable_abi() -> Mapping[str, tuple[int, int]]:
    """Stable ABI symbol -> the Python version that added it (data/stable-abi.txt)."""
    text = read_data("stable-abi.txt")
    table: dict[str, tuple[int, int]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 3 and not fields[0].startswith("#"):
            major, _, minor = fields[2].partition(".")
            table[fields[0]] = (int(major), int(minor))
    return table


def check_abi3(member: str, info: ElfInfo, floor: tuple[int, int] | None) -> list[Finding]:
    """Warn about non-stable-ABI symbols, and about stable ones newer than the wheel's floor."""
    table = stable_abi()
    used = sorted({s.split("@", 1)[0] for s in info.undefined_symbols if _PYTHON_SYMBOL.match(s)})
    outside = [s for s in used if s not in table]
    findings: list[Finding] = []
    if outside:
        findings.append(
            warning(
                Check.ABI3,
                member,
                f"uses {_names(outside)}, outside the stable ABI, "
                "in an abi3 wheel: it may crash or fail to import on other Python "
                "versions; define Py_LIMITED_API and fix the calls it rejects",
            )
        )
    if floor is not None:
        newer = [s for s in used if s in table and table[s] > floor]
        if newer:
            findings.append(
                warning(
                    Check.ABI3,
                    member,
                    f"uses {_names(newer)}, added to the stable "
                    f"ABI after Python {floor[0]}.{floor[1]} (the wheel's cp tag): it "
                    "will not import there; raise the cp tag or set Py_LIMITED_API "
                    "to that version",
                )
            )
    return findings


def _names(symbols: list[str]) -> str:
    shown = ", ".join(symbols[:_LISTED])
    return shown if len(symbols) <= _LISTED else f"{shown} and {len(symbols) - _LISTED} more"
