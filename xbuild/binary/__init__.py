"""Pure parsers for the headers of native binaries found in wheels: ELF, Mach-O and PE.

Input is the member's bytes (possibly a capped prefix, possibly hostile); output is frozen
dataclasses. Malformed input raises only `BinaryParseError`, a `ValueError`.

These are our own `struct` parsers rather than pyelftools, macholib or pefile. The libraries
read whole files through file objects, build many objects the verifier never needs and leak
`struct.error`, `IndexError` or worse on hostile input. `bench/bench_parsers.py` keeps the
measurement (see its docstring for the latest numbers); the libraries stay as cross-checks in the
tests.
"""

from xbuild.binary._read import BinaryParseError
from xbuild.binary.detect import BinaryFormat, BinaryInfo, claimed_format, parse, sniff
from xbuild.binary.elf import ElfInfo, VersionNeed, parse_elf
from xbuild.binary.macho import MachOInfo, MachOPlatform, MachOSlice, parse_macho
from xbuild.binary.pe import PeInfo, parse_pe

__all__ = [
    "BinaryFormat",
    "BinaryInfo",
    "BinaryParseError",
    "ElfInfo",
    "MachOInfo",
    "MachOPlatform",
    "MachOSlice",
    "PeInfo",
    "VersionNeed",
    "claimed_format",
    "parse",
    "parse_elf",
    "parse_macho",
    "parse_pe",
    "sniff",
]
