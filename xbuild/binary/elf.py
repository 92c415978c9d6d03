"""ELF: what the dynamic loader will look at, read through the program headers.

Section headers are never consulted: the loader ignores them, `strip --strip-all` or `sstrip` may
drop them, and a hostile file can make them disagree with what actually runs.
"""

from __future__ import annotations

import re
import struct
import sys
from array import array
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar, Final, Literal, overload

from xbuild.binary._read import (
    MAX_DYNAMIC_ENTRIES,
    MAX_PROGRAM_HEADERS,
    MAX_STRING,
    MAX_SYMBOLS,
    MAX_VERSION_NEEDS,
    BinaryParseError,
    check_count,
    check_span,
    cstring,
    unpack,
)
from xbuild.binary.magic import ELF_MAGIC, BinaryFormat
from xbuild.target.arch import Arch

_PT_LOAD: Final = 1
_PT_DYNAMIC: Final = 2
_PT_INTERP: Final = 3
_PT_NOTE: Final = 4
# The NDK's crtbegin objects add this note; its descriptor starts with the API level built for.
_ANDROID_NOTE: Final = (b"Android\0", 1)
_MAX_NOTES: Final = 64

_DT_NULL: Final = 0
_DT_NEEDED: Final = 1
_DT_HASH: Final = 4
_DT_STRTAB: Final = 5
_DT_SYMTAB: Final = 6
_DT_STRSZ: Final = 10
_DT_SYMENT: Final = 11
_DT_SONAME: Final = 14
_DT_RPATH: Final = 15
_DT_RUNPATH: Final = 29
_DT_GNU_HASH: Final = 0x6FFFFEF5
_DT_VERNEED: Final = 0x6FFFFFFE
_DT_VERNEEDNUM: Final = 0x6FFFFFFF

_STB_WEAK: Final = 2
# Names strong_imports looks up in the tables as bytes (banned symbols are C identifiers).
_PLAIN_NAME: Final = re.compile(r"[A-Za-z0-9_.$@]+")

# Machines of CPUs outside xbuild.target.Arch, or whose name depends on class and byte order;
# every other e_machine is named by Arch, the one home of architecture names.
_EM_MIPS: Final = 8
_EM_PPC: Final = 20
_EM_PPC64: Final = 21
_EM_S390: Final = 22
_EM_SPARCV9: Final = 43
_EM_RISCV: Final = 243
_EM_LOONGARCH: Final = 258


@dataclass(frozen=True, kw_only=True, slots=True)
class VersionNeed:
    """One `.gnu.version_r` entry: the versions this file needs from `file` (e.g. GLIBC_2.17)."""

    file: str
    versions: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ElfInfo:
    """What an ELF file asks of the system that loads it.

    `is_static` means no PT_DYNAMIC at all; a static-pie still has one. `undefined_symbols` are
    the dynamic symbols the file imports, in symbol table order (for the stable-ABI check);
    `weak_symbols` are those of them bound STB_WEAK, which the loader leaves null when no library
    defines them, so they are optional (auditwheel's symbol blacklist ignores them too).
    """

    FORMAT: ClassVar[BinaryFormat] = BinaryFormat.ELF

    elf_class: Literal[32, 64]
    endian: Literal["little", "big"]
    osabi: int
    machine: int
    arch: str
    e_type: int
    flags: int
    interpreter: str | None
    needed: tuple[str, ...]
    soname: str | None
    rpath: tuple[str, ...]
    runpath: tuple[str, ...]
    version_requirements: tuple[VersionNeed, ...]
    undefined_symbols: Sequence[str]  # a tuple, or Symbols decoded on first use
    weak_symbols: Sequence[str]
    is_static: bool
    android_api: int | None = None  # from `.note.android.ident`: the minimum API level (NDK builds)


@dataclass(frozen=True, slots=True)
class _Layout:
    """Structs for one (class, endianness) pair, built once."""

    bits: Literal[32, 64]
    endian: Literal["little", "big"]
    header: struct.Struct
    phdr: struct.Struct
    phdr_fields: tuple[int, int, int, int]  # indexes of p_type, p_offset, p_vaddr, p_filesz
    dyn: struct.Struct
    sym: struct.Struct
    sym_info: int
    sym_shndx: int
    verneed: struct.Struct
    vernaux: struct.Struct
    word: struct.Struct
    gnu_hash: struct.Struct


def _layout(bits: Literal[32, 64], endian: Literal["little", "big"]) -> _Layout:
    e = "<" if endian == "little" else ">"
    wide = bits == 64
    return _Layout(
        bits=bits,
        endian=endian,
        header=struct.Struct(e + ("HHIQQQIHHHHHH" if wide else "HHIIIIIHHHHHH")),
        phdr=struct.Struct(e + ("IIQQQQQQ" if wide else "IIIIIIII")),
        phdr_fields=(0, 2, 3, 5) if wide else (0, 1, 2, 4),
        dyn=struct.Struct(e + ("QQ" if wide else "II")),
        sym=struct.Struct(e + ("IBBHQQ" if wide else "IIIBBH")),
        sym_info=1 if wide else 3,
        sym_shndx=3 if wide else 5,
        verneed=struct.Struct(e + "HHIII"),
        vernaux=struct.Struct(e + "IHHII"),
        word=struct.Struct(e + "I"),
        gnu_hash=struct.Struct(e + "IIII"),
    )


_LAYOUTS: Final = {
    (1, 1): _layout(32, "little"),
    (1, 2): _layout(32, "big"),
    (2, 1): _layout(64, "little"),
    (2, 2): _layout(64, "big"),
}


@dataclass(frozen=True, slots=True)
class _Segment:
    kind: int
    offset: int
    vaddr: int
    filesz: int


@dataclass(frozen=True, slots=True)
class _Strings:
    """The dynamic string table as a window into the file."""

    data: bytes
    start: int
    end: int

    def get(self, index: int, what: str) -> str:
        return cstring(self.data, self.start + index, self.end, what)


def elf_arch(machine: int, bits: int, endian: str) -> str:
    """The name wheel platform tags use for this e_machine (`uname -m` spelling).

    A file of the wrong class or byte order for its CPU (x32, big-endian aarch64) keeps the CPU's
    name: the arch check then names the ABI it gets wrong.
    """
    arch = Arch.from_elf(machine, bits, endian)
    if arch is not None:
        return str(arch)
    other = _other_cpu(machine, bits, endian)
    if other is not None:
        return other
    cpu = Arch.from_elf_machine(machine)
    return f"unknown({machine})" if cpu is None else str(cpu)


def _other_cpu(machine: int, bits: int, endian: str) -> str | None:
    if machine == _EM_PPC64 and endian == "big":
        return "ppc64"
    if machine == _EM_S390 and bits == 32:
        return "s390"
    if machine == _EM_RISCV and bits == 32:
        return "riscv32"
    if machine == _EM_MIPS:
        return ("mips64" if bits == 64 else "mips") + ("el" if endian == "little" else "")
    return {_EM_PPC: "ppc", _EM_SPARCV9: "sparc64", _EM_LOONGARCH: "loongarch64"}.get(machine)


def parse_elf(data: bytes) -> ElfInfo:
    """Read headers, PT_INTERP and the dynamic section of an ELF file."""
    layout = _ident(data)
    (e_type, machine, _, _, phoff, _, flags, _, phentsize, phnum, _, _, _) = unpack(
        layout.header, data, 16, "ELF header"
    )
    segments = _segments(data, layout, phoff, phentsize, phnum)
    dynamic = next((s for s in segments if s.kind == _PT_DYNAMIC), None)
    linked = _Dynamic() if dynamic is None else _read_dynamic(data, layout, segments, dynamic)
    return ElfInfo(
        elf_class=layout.bits,
        endian=layout.endian,
        osabi=data[7],
        machine=machine,
        arch=elf_arch(machine, layout.bits, layout.endian),
        e_type=e_type,
        flags=flags,
        interpreter=_interpreter(data, segments),
        needed=linked.needed,
        soname=linked.soname,
        rpath=linked.rpath,
        runpath=linked.runpath,
        version_requirements=linked.version_requirements,
        undefined_symbols=linked.undefined_symbols,
        weak_symbols=linked.weak_symbols,
        is_static=dynamic is None,
        android_api=_android_api(data, layout, segments),
    )


def _ident(data: bytes) -> _Layout:
    check_span(data, 0, 16, "ELF identification")
    if data[:4] != ELF_MAGIC:
        raise BinaryParseError(f"not ELF: magic is {data[:4]!r}")
    layout = _LAYOUTS.get((data[4], data[5]))
    if layout is None:
        raise BinaryParseError(f"ELF class {data[4]} / data encoding {data[5]} is not valid")
    return layout


def _segments(data: bytes, layout: _Layout, phoff: int, entsize: int, count: int) -> list[_Segment]:
    check_count(count, MAX_PROGRAM_HEADERS, "ELF header")
    if count and entsize < layout.phdr.size:
        raise BinaryParseError(f"program header size {entsize} is smaller than {layout.phdr.size}")
    end = phoff + entsize * count
    if end > len(data):
        raise BinaryParseError(f"truncated: program headers end at {end} but file has {len(data)} bytes")
    kind, off, vaddr, size = layout.phdr_fields
    segments = []
    for index in range(count):
        fields = layout.phdr.unpack_from(data, phoff + index * entsize)
        segments.append(_Segment(fields[kind], fields[off], fields[vaddr], fields[size]))
    return segments


def _interpreter(data: bytes, segments: list[_Segment]) -> str | None:
    interp = next((s for s in segments if s.kind == _PT_INTERP), None)
    if interp is None:
        return None
    check_span(data, interp.offset, interp.filesz, "PT_INTERP")
    return cstring(data, interp.offset, interp.offset + interp.filesz, "PT_INTERP path")


def _android_api(data: bytes, layout: _Layout, segments: list[_Segment]) -> int | None:
    """The API level in an `Android` note, read from the PT_NOTE segments (a few dozen bytes)."""
    for segment in segments:
        if segment.kind != _PT_NOTE:
            continue
        at, end = segment.offset, min(segment.offset + segment.filesz, len(data))
        for _ in range(_MAX_NOTES):
            if at + 12 > end:
                break
            namesz, descsz, kind = (layout.word.unpack_from(data, at + i)[0] for i in (0, 4, 8))
            name_at = at + 12
            desc_at = name_at + _align4(namesz)
            if (data[name_at : name_at + namesz], kind) == _ANDROID_NOTE and descsz >= 4:
                check_span(data, desc_at, 4, "Android note")
                return int(layout.word.unpack_from(data, desc_at)[0])
            at = desc_at + _align4(descsz)
    return None


def _align4(size: int) -> int:
    return (size + 3) & ~3


@dataclass(frozen=True, kw_only=True, slots=True)
class _Dynamic:
    """What PT_DYNAMIC contributes; empty for a static file."""

    needed: tuple[str, ...] = ()
    soname: str | None = None
    rpath: tuple[str, ...] = ()
    runpath: tuple[str, ...] = ()
    version_requirements: tuple[VersionNeed, ...] = ()
    undefined_symbols: Sequence[str] = ()
    weak_symbols: Sequence[str] = ()


def _read_dynamic(data: bytes, layout: _Layout, segments: list[_Segment], dynamic: _Segment) -> _Dynamic:
    check_span(data, dynamic.offset, dynamic.filesz, "dynamic segment")
    entries = list(_dynamic_entries(data, layout, dynamic))
    tags = dict(entries)  # a repeated tag: the last one wins, as in glibc's elf_get_dynamic_info
    loads = [s for s in segments if s.kind == _PT_LOAD]
    strings = _string_table(data, loads, tags)

    def strings_for(tag: int, what: str) -> list[str]:
        return [strings.get(value, what) for t, value in entries if t == tag]

    undefined, weak = _undefined_symbols(data, layout, loads, tags, strings)
    return _Dynamic(
        needed=tuple(strings_for(_DT_NEEDED, "DT_NEEDED name")),
        soname=strings.get(tags[_DT_SONAME], "DT_SONAME") if _DT_SONAME in tags else None,
        rpath=_search_path(strings_for(_DT_RPATH, "DT_RPATH")),
        runpath=_search_path(strings_for(_DT_RUNPATH, "DT_RUNPATH")),
        version_requirements=_version_needs(data, layout, loads, tags, strings),
        undefined_symbols=undefined,
        weak_symbols=weak,
    )


def _dynamic_entries(data: bytes, layout: _Layout, dynamic: _Segment) -> Iterator[tuple[int, int]]:
    count = dynamic.filesz // layout.dyn.size
    for index in range(min(count, MAX_DYNAMIC_ENTRIES)):
        tag, value = layout.dyn.unpack_from(data, dynamic.offset + index * layout.dyn.size)
        if tag == _DT_NULL:
            return
        yield tag, value
    if count > MAX_DYNAMIC_ENTRIES:
        raise BinaryParseError(f"dynamic segment has more than {MAX_DYNAMIC_ENTRIES} entries before DT_NULL")


def _search_path(values: list[str]) -> tuple[str, ...]:
    return tuple(entry for value in values for entry in value.split(":") if entry)


def _file_offset(loads: list[_Segment], vaddr: int, what: str) -> int:
    """Translate a virtual address the way ld.so would see it mapped from the file."""
    for seg in loads:
        if seg.vaddr <= vaddr < seg.vaddr + seg.filesz:
            return seg.offset + (vaddr - seg.vaddr)
    raise BinaryParseError(f"{what} address {vaddr:#x} is not inside any PT_LOAD segment")


def _string_table(data: bytes, loads: list[_Segment], tags: dict[int, int]) -> _Strings:
    if _DT_STRTAB not in tags:
        raise BinaryParseError("dynamic segment has no DT_STRTAB")
    start = _file_offset(loads, tags[_DT_STRTAB], "DT_STRTAB")
    end = start + tags[_DT_STRSZ] if _DT_STRSZ in tags else len(data)
    return _Strings(data, start, min(end, len(data)))


def _version_needs(
    data: bytes, layout: _Layout, loads: list[_Segment], tags: dict[int, int], strings: _Strings
) -> tuple[VersionNeed, ...]:
    if _DT_VERNEED not in tags:
        return ()
    offset = _file_offset(loads, tags[_DT_VERNEED], "DT_VERNEED")
    count = tags.get(_DT_VERNEEDNUM, MAX_VERSION_NEEDS)
    check_count(count, MAX_VERSION_NEEDS, "DT_VERNEEDNUM")
    needs = []
    for _ in range(count):
        _, aux_count, file, aux, next_ = unpack(layout.verneed, data, offset, "version need entry")
        versions = _version_names(data, layout, offset + aux, aux_count, strings)
        needs.append(VersionNeed(file=strings.get(file, "version need file"), versions=versions))
        if next_ == 0:
            break
        offset += next_
    return tuple(needs)


def _version_names(
    data: bytes, layout: _Layout, offset: int, count: int, strings: _Strings
) -> tuple[str, ...]:
    check_count(count, MAX_VERSION_NEEDS, "version need entry")
    names = []
    for _ in range(count):
        _, _, _, name, next_ = unpack(layout.vernaux, data, offset, "version need aux entry")
        names.append(strings.get(name, "version name"))
        if next_ == 0:
            break
        offset += next_
    return tuple(names)


def _undefined_symbols(
    data: bytes, layout: _Layout, loads: list[_Segment], tags: dict[int, int], strings: _Strings
) -> tuple[Sequence[str], Sequence[str]]:
    """The imported dynamic symbols (st_shndx SHN_UNDEF), and those of them bound STB_WEAK."""
    if _DT_SYMTAB not in tags:
        return (), ()
    count = _symbol_count(data, layout, loads, tags)
    check_count(count, MAX_SYMBOLS, "dynamic symbol table")
    entsize = tags.get(_DT_SYMENT, layout.sym.size)
    if entsize != layout.sym.size:
        raise BinaryParseError(f"DT_SYMENT is {entsize}, expected {layout.sym.size}")
    start = _file_offset(loads, tags[_DT_SYMTAB], "DT_SYMTAB")
    check_span(data, start, count * entsize, "dynamic symbol table")
    table = data[start : start + count * entsize]
    names = data[strings.start : strings.end]
    if _names_resolve(table, names, layout):
        scan = _SymbolScan(table, names, layout)
        return Symbols(scan, weak=False), Symbols(scan, weak=True)
    return _scan_symbols(table, layout, strings)


def _names_resolve(table: bytes, names: bytes, layout: _Layout) -> bool:
    """Every symbol's name lies in the string table and ends within MAX_STRING bytes, so reading
    them later cannot fail: checked for all symbols at C speed (the imports are a subset)."""
    if not names or names[-1] != 0 or max(map(len, names.split(b"\0"))) >= MAX_STRING:
        return False
    words = array("I", table)
    if words.itemsize != 4:
        return False
    if (layout.endian == "little") != (sys.byteorder == "little"):
        words.byteswap()
    return max(words[:: layout.sym.size // 4], default=0) < len(names)  # st_name leads each entry


def _scan_symbols(
    table: bytes, layout: _Layout, strings: _Strings
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    shndx, info = layout.sym_shndx, layout.sym_info
    undefined: list[str] = []
    weak: list[str] = []
    # strings.get inlined for the common case (a name ending inside the table); anything else
    # goes through it for the same checks and messages. Tens of thousands of names per wheel.
    text, base, limit, find = strings.data, strings.start, strings.end, strings.data.find
    for sym in layout.sym.iter_unpack(table):
        if sym[shndx] == 0 and sym[0] != 0:
            at = base + sym[0]
            end = find(b"\0", at, min(limit, at + MAX_STRING)) if at < limit else -1
            if end >= 0:
                name = text[at:end].decode("utf-8", "backslashreplace")
            else:
                name = strings.get(sym[0], "symbol name")
            undefined.append(name)
            if sym[info] >> 4 == _STB_WEAK:  # st_info: binding in the high nibble, type in the low
                weak.append(name)
    return tuple(undefined), tuple(weak)


class _SymbolScan:
    """A copy of the symbol and string tables (the file's bytes can go) and their decoding, done
    once, on first use. Two threads asking at once both decode; either result is the same."""

    __slots__ = ("_layout", "_names", "_result", "_table")

    def __init__(self, table: bytes, names: bytes, layout: _Layout) -> None:
        self._table, self._names, self._layout = table, names, layout
        self._result: tuple[tuple[str, ...], tuple[str, ...]] | None = None

    def result(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        if self._result is None:
            strings = _Strings(self._names, 0, len(self._names))
            self._result = _scan_symbols(self._table, self._layout, strings)
        return self._result

    def strong_among(self, names: frozenset[str]) -> frozenset[str]:
        """`strong_imports` for plain ASCII names: each name's occurrences in the string table
        (a name may end a longer one), then the entries whose st_name points there."""
        if self._result is not None:
            return names & frozenset(self._result[0]).difference(self._result[1])
        return frozenset(name for name in names if self._binding(name.encode("ascii")) == "strong")

    def _binding(self, name: bytes) -> str:
        table, layout, size = self._table, self._layout, self._layout.sym.size
        found = ""
        at = self._names.find(name + b"\0", 1)  # st_name 0 is no name: the scan skips it
        while at > 0:
            offset = layout.word.pack(at)
            hit = table.find(offset)
            while hit >= 0:
                if hit % size == 0:
                    sym = layout.sym.unpack_from(table, hit)
                    if sym[layout.sym_shndx] == 0:
                        if sym[layout.sym_info] >> 4 == _STB_WEAK:
                            return "weak"
                        found = "strong"
                hit = table.find(offset, hit + 1)
            at = self._names.find(name + b"\0", at + 1)
        return found


def strong_imports(info: ElfInfo, names: Collection[str]) -> frozenset[str]:
    """Which of `names` the file imports other than weakly (no undefined STB_WEAK symbol of
    that name): what the symbol blacklist asks, answered from the tables without decoding the
    file's every import when they are still undecoded."""
    wanted = frozenset(names)
    if isinstance(info.undefined_symbols, Symbols) and all(map(_PLAIN_NAME.fullmatch, wanted)):
        return info.undefined_symbols.strong_among(wanted)
    return wanted & frozenset(info.undefined_symbols).difference(info.weak_symbols)


class Symbols(Sequence[str]):
    """Imported symbol names, decoded on first use: only the stable-ABI check and the symbol
    blacklist read them, and decoding every import of every binary cost three times the rest
    of the ELF parse. Compares and hashes as the tuple it stands for."""

    __slots__ = ("_scan", "_weak")

    def __init__(self, scan: _SymbolScan, *, weak: bool) -> None:
        self._scan, self._weak = scan, weak

    def _names(self) -> tuple[str, ...]:
        return self._scan.result()[self._weak]

    def strong_among(self, names: frozenset[str]) -> frozenset[str]:
        return self._scan.strong_among(names)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[str, ...]: ...
    def __getitem__(self, index: int | slice) -> str | tuple[str, ...]:
        return self._names()[index]

    def __len__(self) -> int:
        return len(self._names())

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __contains__(self, name: object) -> bool:
        return name in self._names()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Symbols):
            other = other._names()
        return isinstance(other, tuple) and self._names() == other

    def __hash__(self) -> int:
        return hash(self._names())

    def __repr__(self) -> str:
        return repr(self._names())


def _symbol_count(data: bytes, layout: _Layout, loads: list[_Segment], tags: dict[int, int]) -> int:
    """ELF stores no symbol count in the dynamic section; the hash tables imply it."""
    if _DT_HASH in tags:
        offset = _file_offset(loads, tags[_DT_HASH], "DT_HASH")
        return int(unpack(layout.word, data, offset + 4, "DT_HASH header")[0])
    if _DT_GNU_HASH in tags:
        return _gnu_hash_count(data, layout, _file_offset(loads, tags[_DT_GNU_HASH], "DT_GNU_HASH"))
    return 0


def _gnu_hash_count(data: bytes, layout: _Layout, offset: int) -> int:
    """One past the highest symbol index reachable from the GNU hash buckets."""
    nbuckets, symoffset, bloom_size, _ = unpack(layout.gnu_hash, data, offset, "DT_GNU_HASH header")
    check_count(nbuckets, MAX_SYMBOLS, "DT_GNU_HASH bucket count")
    check_count(bloom_size, MAX_SYMBOLS, "DT_GNU_HASH bloom size")
    buckets_at = offset + 16 + bloom_size * layout.bits // 8
    check_span(data, buckets_at, nbuckets * 4, "DT_GNU_HASH buckets")
    order = "<" if layout.endian == "little" else ">"
    buckets = struct.unpack_from(f"{order}{nbuckets}I", data, buckets_at)
    last = max(buckets, default=0)
    if last < symoffset:
        return int(symoffset)
    chain_at = buckets_at + nbuckets * 4 - symoffset * 4
    for index in range(last, last + MAX_SYMBOLS):
        # The low bit marks the end of a chain; the last bucket's chain ends the table.
        if unpack(layout.word, data, chain_at + index * 4, "DT_GNU_HASH chain")[0] & 1:
            return index + 1
    raise BinaryParseError("DT_GNU_HASH chain does not terminate")
