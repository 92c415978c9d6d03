"""The formats and their magic numbers: all `sniff` needs, without loading any parser.

Verifying Linux wheels never loads the Mach-O, PE or wasm parsers; `detect.parse` imports one
when a member claims its format.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class BinaryFormat(StrEnum):
    ELF = "elf"
    MACHO = "macho"
    PE = "pe"
    WASM = "wasm"  # WebAssembly: Pyodide's extension modules


ELF_MAGIC: Final = b"\x7fELF"
WASM_MAGIC: Final = b"\0asm"
FAT_MAGIC: Final = 0xCAFEBABE
FAT_MAGIC_64: Final = 0xCAFEBABF
# The first four bytes read big-endian; the byte order of the rest follows from which one matched.
THIN_MAGICS: Final = {
    0xFEEDFACE: (">", 32),
    0xFEEDFACF: (">", 64),
    0xCEFAEDFE: ("<", 32),
    0xCFFAEDFE: ("<", 64),
}
