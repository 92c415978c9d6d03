"""binfmt_misc: which foreign architectures this kernel runs, and through which interpreter.

qemu-user, Rosetta for Linux and FEX all register the same way, so one matcher covers them: build
the ELF header a binary of each architecture would start with and test every registered
magic/mask against it, exactly as the kernel does.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from xbuild.target import Arch

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
_CONTROL_FILES = frozenset({"status", "register"})

# (ELF class: 1=32-bit 2=64-bit, data: 1=little 2=big endian, e_machine)
_ET_EXEC, _ET_DYN = 2, 3


@dataclass(frozen=True, kw_only=True)
class BinfmtEntry:
    """One `/proc/sys/fs/binfmt_misc/<name>` entry, as the kernel prints it."""

    name: str
    enabled: bool
    interpreter: str
    flags: str = ""
    offset: int = 0
    magic: bytes | None = None  # None for extension-matched entries
    mask: bytes | None = None
    extension: str | None = None

    @property
    def fix_binary(self) -> bool:
        """F: the kernel opened the interpreter at registration, so it works inside containers.

        Without F the interpreter path is looked up at exec time in the caller's mount namespace,
        where a container image almost never has it.
        """
        return "F" in self.flags

    def matches(self, header: bytes) -> bool:
        """The kernel's test: every byte of the magic equals the header's under the mask."""
        if self.magic is None:
            return False
        window = header[self.offset : self.offset + len(self.magic)]
        if len(window) < len(self.magic):
            return False
        mask = self.mask or b"\xff" * len(self.magic)
        return all((h ^ m) & k == 0 for h, m, k in zip(window, self.magic, mask, strict=False))

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "enabled": self.enabled,
            "interpreter": self.interpreter,
            "flags": self.flags,
            "offset": self.offset,
            "magic": None if self.magic is None else self.magic.hex(),
            "mask": None if self.mask is None else self.mask.hex(),
            "extension": self.extension,
            "fix_binary": self.fix_binary,
            "arches": [str(a) for a in entry_arches(self)],
        }


@dataclass(frozen=True, kw_only=True)
class Emulator:
    """A foreign arch this kernel runs, and the binfmt entry that runs it."""

    arch: Arch
    entry: BinfmtEntry

    @property
    def in_containers(self) -> bool:
        return self.entry.fix_binary


class BinfmtParseError(ValueError):
    """An entry's text is not in the format the kernel prints."""


def parse_binfmt_entry(name: str, text: str) -> BinfmtEntry:
    """Parse the kernel's text for one entry (`enabled`, `interpreter ...`, `flags: ...`, ...)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] not in ("enabled", "disabled"):
        raise BinfmtParseError(f"binfmt_misc entry {name!r} does not start with enabled/disabled")
    fields: dict[str, str] = {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        fields[key.rstrip(":")] = value.strip()
    if "interpreter" not in fields:
        raise BinfmtParseError(f"binfmt_misc entry {name!r} names no interpreter")
    try:
        return BinfmtEntry(
            name=name,
            enabled=lines[0] == "enabled",
            interpreter=fields["interpreter"],
            flags=fields.get("flags", ""),
            offset=int(fields.get("offset", "0")),
            magic=bytes.fromhex(fields["magic"]) if "magic" in fields else None,
            mask=bytes.fromhex(fields["mask"]) if "mask" in fields else None,
            extension=fields.get("extension"),
        )
    except ValueError as exc:
        raise BinfmtParseError(f"binfmt_misc entry {name!r}: {exc}") from exc


def elf_header(arch: Arch, e_type: int = _ET_EXEC) -> bytes:
    """The first 64 bytes an ELF executable of `arch` starts with (identity, type, machine, version)."""
    elf = arch.names.elf
    if elf is None:
        raise ValueError(f"{arch} has no ELF executables")
    little = elf.endian == "little"
    ident = b"\x7fELF" + bytes([1 if elf.bits == 32 else 2, 1 if little else 2, 1]) + b"\0" * 9
    return (ident + struct.pack(("<" if little else ">") + "HHI", e_type, elf.machine, 1)).ljust(64, b"\0")


def entry_arches(entry: BinfmtEntry) -> tuple[Arch, ...]:
    """Arches whose executables (static ET_EXEC or PIE ET_DYN) this entry claims."""
    return tuple(
        arch
        for arch in Arch
        if arch.names.elf is not None
        and (entry.matches(elf_header(arch, _ET_EXEC)) or entry.matches(elf_header(arch, _ET_DYN)))
    )


def runnable_arches(entries: Iterable[BinfmtEntry]) -> tuple[Emulator, ...]:
    """Arches the enabled entries run, one emulator each (the kernel uses the first match too)."""
    found: dict[Arch, Emulator] = {}
    for entry in entries:
        if not entry.enabled:
            continue
        for arch in entry_arches(entry):
            found.setdefault(arch, Emulator(arch=arch, entry=entry))
    return tuple(found.values())


@dataclass(frozen=True, kw_only=True)
class BinfmtState:
    """binfmt_misc as read from disk: mounted or not, globally enabled, its entries, what was unreadable."""

    directory: Path
    mounted: bool
    enabled: bool
    entries: tuple[BinfmtEntry, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def emulators(self) -> tuple[Emulator, ...]:
        return runnable_arches(self.entries) if self.enabled else ()


def read_binfmt_dir(directory: Path = BINFMT_DIR) -> BinfmtState:
    """Read every entry under `directory`; unreadable or malformed ones are reported, not fatal."""
    if not (directory / "status").is_file():
        return BinfmtState(directory=directory, mounted=False, enabled=False)
    try:
        enabled = (directory / "status").read_text(encoding="ascii").strip() == "enabled"
    except OSError as exc:
        return BinfmtState(directory=directory, mounted=True, enabled=False, problems=(f"status: {exc}",))
    entries: list[BinfmtEntry] = []
    problems: list[str] = []
    for path in sorted(directory.iterdir()):
        if path.name in _CONTROL_FILES or not path.is_file():
            continue
        try:
            entries.append(parse_binfmt_entry(path.name, path.read_text(encoding="utf-8", errors="replace")))
        except (OSError, BinfmtParseError) as exc:
            problems.append(f"{path.name}: {exc}")
    return BinfmtState(
        directory=directory, mounted=True, enabled=enabled, entries=tuple(entries), problems=tuple(problems)
    )
