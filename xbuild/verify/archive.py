"""The I/O edge of verify: one streaming pass over a wheel's members, never extracting to disk.

Every member is decompressed once, with its RECORD digest computed on the way and its first
bytes sniffed for a binary magic: a plain member up to `Limits.chunk_bytes` in one zlib call on
bytes read with pread (`_Reader._inflate`), anything else through zipfile in chunks. Only
binaries are held in memory whole (to parse their headers) and only dist-info metadata is kept
as text. Everything past `Limits` becomes a `zip` finding instead of a read, and no exception
from a malformed archive escapes.
"""

from __future__ import annotations

import base64
import hashlib
import lzma
import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import BinaryIO, Protocol

from xbuild.binary import BinaryFormat, BinaryParseError, claimed_format, parse, sniff
from xbuild.errors import InputError
from xbuild.verify import schedule
from xbuild.verify.contents import Archive, Member
from xbuild.verify.layout import site_roots
from xbuild.verify.model import Check, Finding, Limits, error
from xbuild.verify.record import STRONG_ALGORITHMS, installed_name, parse_record
from xbuild.verify.schedule import Work

# The dist-info files verify reads as text, under each root (a wheel's is its top).
_METADATA = r"[^/]+\.dist-info/(?:WHEEL|METADATA|RECORD)$"
# sniff() needs the DOS header and whatever e_lfanew points at; the whole first chunk is passed.
_SNIFF_BYTES = 4096
# Below this many compressed bytes a tree is read by one thread (split_runs).
_PARALLEL_BYTES = 4 << 20
# Compressed bytes per unit of work a thread takes (about 10 ms of inflating): small enough that
# threads finish together, large enough that taking one costs nothing in comparison.
_BATCH_BYTES = 1 << 20
# A zip local file header (zipfile.structFileHeader) and the fields the fast path reads.
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_LOCAL_MAGIC = b"PK\x03\x04"
_FLAGS, _NAME_LENGTH, _EXTRA_LENGTH = 3, 10, 11
_UTF8_NAME = 0x800
# Encrypted, compressed-patched or strongly encrypted: zipfile refuses or needs a password.
_NOT_PLAIN = 0x1 | 0x20 | 0x40
_CONSTRUCTORS = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}
# What a damaged or hostile archive can raise while being read; each becomes a `zip` finding.
_READ_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    EOFError,
    NotImplementedError,
    OSError,
    ValueError,
    RuntimeError,
    struct.error,
    UnicodeDecodeError,
    IndexError,
)


def read_archive(path: Path, limits: Limits, *, workers: int = 1, installed: bool = False) -> Archive:
    """Read `path` as a wheel, or with `installed` as a zip of installed distributions (a Lambda
    function or layer). Raises InputError only when the file itself cannot be opened.

    With `workers` > 1 the member batches are read by that many threads (see `schedule`).
    """
    return schedule.run([path], partial(open_archive, limits=limits, installed=installed), workers)[0]


def open_archive(path: Path, *, limits: Limits, installed: bool = False) -> Work[Archive]:
    """Open `path` and read its RECORDs (so digests are known before any other member is
    read); the work returned reads the members in batches, any thread each, and `finish`
    assembles the Archive. Raises InputError only when the file itself cannot be opened."""
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    try:
        zf = zipfile.ZipFile(handle)
    except _READ_ERRORS as exc:
        handle.close()
        return _done(_unreadable(path, exc, installed=installed))
    try:
        return _Reader(path, zf, handle, limits, installed=installed).work()
    except BaseException:
        zf.close()
        handle.close()
        raise


def _done(archive: Archive) -> Work[Archive]:
    return Work(tasks=(), finish=lambda: archive)


def _unreadable(path: Path, exc: BaseException, *, installed: bool) -> Archive:
    advice = (
        "pass a Lambda function or layer zip, or a directory of installed packages"
        if installed
        else "a wheel is a zip file: rebuild it with `xbuild build` or `python -m build --wheel`"
    )
    return Archive(
        path=path,
        members=(),
        readable=False,
        complete=False,
        findings=(error(Check.ZIP, "", f"not a readable zip archive ({_describe(exc)}); {advice}"),),
    )


class _Reader:
    """State of one pass; kept private so the pass can stay a handful of short methods."""

    def __init__(
        self, path: Path, zf: zipfile.ZipFile, handle: BinaryIO, limits: Limits, *, installed: bool
    ) -> None:
        self.path = path
        self.installed = installed
        self.roots: tuple[str, ...] = ("",)
        self.metadata = metadata_pattern(self.roots)
        self.zf = zf
        self.handle = handle
        # pread needs no shared file position, so threads read members without a lock.
        self.fd: int | None = handle.fileno() if hasattr(os, "pread") else None
        self.limits = limits
        self.archive_size = _file_size(handle)
        # Shared by worker threads: list.append and item assignment are atomic.
        self.findings: list[Finding] = []
        self.texts: dict[str, bytes] = {}
        # RECORDs, read (and CRC-checked) before the main pass, by id() of their ZipInfo.
        self.prepassed: dict[int, Member] = {}
        self.infos: list[zipfile.ZipInfo] = []
        self.algorithms: dict[str, tuple[str, ...]] = {}
        self.members: list[Member | None] = []

    def work(self) -> Work[Archive]:
        infos = self.infos = self.zf.infolist()
        if not self._within_limits(infos):
            self.close()
            headers = tuple(_header(i) for i in infos[: self.limits.max_members])
            return _done(
                Archive(path=self.path, members=headers, findings=tuple(self.findings), complete=False)
            )
        if self.installed:
            self.roots = site_roots(i.filename for i in infos)
            self.metadata = metadata_pattern(self.roots)
        self.algorithms = self._record_algorithms(infos)
        self.members = [None] * len(infos)
        ordered = sorted(range(len(infos)), key=lambda i: infos[i].header_offset)
        runs = batches(ordered, [infos[i].compress_size for i in ordered], _BATCH_BYTES)
        return Work(tasks=tuple(partial(self._read, r) for r in runs), finish=self.finish, close=self.close)

    def _read(self, indexes: list[int]) -> None:
        infos, members, algorithms = self.infos, self.members, self.algorithms
        for index in indexes:
            info = infos[index]
            members[index] = self._member(info, algorithms.get(info.filename, ()))

    def finish(self) -> Archive:
        self.close()
        done = tuple(m for m in self.members if m is not None)
        return Archive(
            path=self.path,
            members=done,
            texts=self.texts,
            findings=tuple(self.findings),
            complete=all(m.read or m.is_dir for m in done),
            roots=self.roots,
        )

    def close(self) -> None:
        self.zf.close()
        self.handle.close()

    def _within_limits(self, infos: list[zipfile.ZipInfo]) -> bool:
        lim = self.limits
        declared = sum(i.file_size for i in infos)
        if len(infos) > lim.max_members:
            self._zip(
                f"has {len(infos)} members, more than the limit of {lim.max_members}; "
                "refusing to read it (raise Limits.max_members if this wheel is genuine)"
            )
            return False
        if declared > lim.max_total_bytes:
            self._zip(
                f"declares {_mib(declared)} uncompressed, more than the limit of "
                f"{_mib(lim.max_total_bytes)}; refusing to decompress it"
            )
            return False
        if declared > lim.expansion_floor and declared > lim.max_expansion * max(self.archive_size, 1):
            self._zip(
                f"declares {_mib(declared)} uncompressed from a {_mib(self.archive_size)} "
                f"archive (more than {lim.max_expansion}:1): this is a zip bomb, not a wheel"
            )
            return False
        return True

    def _record_algorithms(self, infos: list[zipfile.ZipInfo]) -> dict[str, tuple[str, ...]]:
        """Read every dist-info RECORD first, so one pass can compute the digests."""
        records: dict[str, bytes] = {}
        for info in infos:
            if info.filename.endswith("/RECORD") and self.metadata.match(info.filename):
                data = self._text(info)
                if not info.flag_bits & 0x1:  # encrypted: reported by the main pass
                    self.prepassed[id(info)] = replace(
                        _header(info), read=data is not None, size=len(data or b"")
                    )
                if data is not None:
                    records[info.filename] = data
        return wanted_digests(records, installed=self.installed)

    def _text(self, info: zipfile.ZipInfo) -> bytes | None:
        if info.file_size > self.limits.max_metadata_bytes:
            self._zip(
                f"is {_mib(info.file_size)}, more than the metadata limit of "
                f"{_mib(self.limits.max_metadata_bytes)}",
                info.filename,
            )
            return None
        if info.flag_bits & 0x1:
            return None  # reported once, as an encrypted member, by the main pass
        try:
            with self.zf.open(info) as stream:
                data = stream.read(self.limits.max_metadata_bytes + 1)
        except _READ_ERRORS as exc:
            self._zip(f"cannot be read ({_describe(exc)})", info.filename)
            return None
        self.texts.setdefault(info.filename, data)
        return data

    def _member(self, info: zipfile.ZipInfo, algorithms: tuple[str, ...]) -> Member:
        if id(info) in self.prepassed:
            return self.prepassed[id(info)]
        base = _header(info)
        if base.is_dir:
            return base
        if base.encrypted:
            self._zip(
                "is encrypted; wheels must not contain encrypted members (installers "
                "cannot read them): rebuild the wheel without encryption",
                info.filename,
            )
            return base
        if info.file_size > self.limits.max_member_bytes:
            self._zip(
                f"declares {_mib(info.file_size)}, more than the per-member limit of "
                f"{_mib(self.limits.max_member_bytes)}; not read",
                info.filename,
            )
            return base
        try:
            return self._stream(info, base, algorithms)
        except LimitExceeded as exc:
            self._zip(f"{exc}; not read further (a zip bomb, or raise the Limits)", info.filename)
            return base
        except _READ_ERRORS as exc:
            self._zip(
                f"is damaged and cannot be decompressed ({_describe(exc)}); rebuild the wheel", info.filename
            )
            return base

    def _stream(self, info: zipfile.ZipInfo, base: Member, algorithms: tuple[str, ...]) -> Member:
        text = self.metadata.match(info.filename) is not None and info.filename not in self.texts
        whole = self._inflate(info) if self.fd is not None else None
        if whole is not None:
            member, data = read_stream(_Whole(whole), base, algorithms, self.limits, text=text)
        else:
            with self.zf.open(info) as stream:
                member, data = read_stream(stream, base, algorithms, self.limits, text=text)
        if text and data is None:
            self._zip(
                f"is larger than the metadata limit of {_mib(self.limits.max_metadata_bytes)}; not parsed",
                info.filename,
            )
        elif text and data is not None:
            self.texts[info.filename] = data
        parsed, problem = parse_member(member, data, self.limits)
        if problem:
            self._zip(problem, info.filename)
        return parsed

    def _inflate(self, info: zipfile.ZipInfo) -> bytes | None:
        """The bytes zipfile would read from a plain member up to chunk_bytes, read with pread
        (no lock, no seek) and inflated in one call; None whenever anything differs from the
        plain case, so that zipfile reads the member and words the problem as it always did.

        It makes the calls ZipExtFile makes for such a member (one decompress of all the input
        with the same max_length, a flush at the end of the stream, output cut at file_size)
        and checks what ZipFile.open checks, then the size and the CRC.
        """
        limits, fd = self.limits, self.fd
        if (
            fd is None
            or info.flag_bits & _NOT_PLAIN
            or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
            or max(info.file_size, info.compress_size) > min(limits.chunk_bytes, limits.max_member_bytes)
        ):
            return None
        try:
            head = os.pread(fd, _LOCAL.size + len(info.orig_filename) * 4, info.header_offset)
            fields = _LOCAL.unpack_from(head)
            name_end = _LOCAL.size + fields[_NAME_LENGTH]
            encoding = "utf-8" if fields[_FLAGS] & _UTF8_NAME else "cp437"
            raw_name = head[_LOCAL.size : name_end]
            # ASCII reads the same in both encodings, and its codec is C (cp437's is Python).
            name = raw_name.decode("ascii" if raw_name.isascii() else encoding)
            if fields[0] != _LOCAL_MAGIC or name != info.orig_filename:
                return None
            start = info.header_offset + name_end + fields[_EXTRA_LENGTH]
            end = getattr(info, "_end_offset", None)  # Python 3.12+ refuses overlapping entries
            if end is not None and start + info.compress_size > end:
                return None
            raw = os.pread(fd, info.compress_size, start)
            if len(raw) != info.compress_size:
                return None
            data = raw if info.compress_type == zipfile.ZIP_STORED else _inflate_all(raw, limits.chunk_bytes)
        except (OSError, ValueError, zlib.error, struct.error):
            return None
        data = data[: info.file_size]
        return data if len(data) == info.file_size and zlib.crc32(data) == info.CRC else None

    def _zip(self, message: str, member: str = "") -> None:
        self.findings.append(error(Check.ZIP, member, message))


def metadata_pattern(roots: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("^(?:" + "|".join(re.escape(r) for r in roots) + ")" + _METADATA)


def wanted_digests(records: Mapping[str, bytes], *, installed: bool) -> dict[str, tuple[str, ...]]:
    """Member name -> the strong algorithms some RECORD lists it with. A wheel's RECORD names
    members as they are; an installed one relative to the directory holding its dist-info."""
    wanted: dict[str, set[str]] = {}
    for record_name, data in records.items():
        root = record_name.rsplit("/", 1)[0].rpartition("/")[0]
        root = root + "/" if root else ""
        for row in parse_record(data).rows:
            if row.algorithm not in STRONG_ALGORITHMS:
                continue
            resolved = installed_name(root, row.path) if installed else (row.path, False)
            if resolved is not None:
                wanted.setdefault(resolved[0], set()).add(row.algorithm)
    return {name: tuple(sorted(algos)) for name, algos in wanted.items()}


class _Whole:
    """One member already inflated, as the stream read_stream expects."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, size: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data


def _inflate_all(raw: bytes, max_length: int) -> bytes:
    # ZipExtFile._read1's calls for a member read whole: n = max(n, MIN_READ_SIZE) of output,
    # then flush once the stream has ended or the input is used up.
    inflater = zlib.decompressobj(-15)
    data = inflater.decompress(raw, max(max_length, 4096))
    if inflater.eof or not inflater.unconsumed_tail:
        data += inflater.flush()
    return data


def read_stream(
    stream: _Readable, base: Member, algorithms: tuple[str, ...], limits: Limits, *, text: bool
) -> tuple[Member, bytes | None]:
    """Read one file's bytes in chunks: digests, the binary sniff, and the bytes worth keeping
    (a binary's, or metadata text's when `text`); raises LimitExceeded past max_member_bytes.

    The data comes back None for text larger than the metadata limit (the caller reports it).
    """
    hashers = [_hasher(a) for a in algorithms]
    kind: BinaryFormat | None = None
    claimed: BinaryFormat | None = None
    cap = limits.max_metadata_bytes if text else -1
    kept: list[bytes] = []
    kept_size = size = 0
    while chunk := stream.read(limits.chunk_bytes):
        if size == 0:
            if len(chunk) < _SNIFF_BYTES:  # a short first read must not hide a magic
                chunk += stream.read(_SNIFF_BYTES - len(chunk))
            kind, claimed = sniff(chunk), claimed_format(chunk)
            cap = limits.max_binary_bytes if kind is not None else cap
        size += len(chunk)
        # zipfile stops at the declared size, whose sum was checked against the total
        # limit up front; this guards the per-member limit against a lying header.
        if size > limits.max_member_bytes:
            raise LimitExceeded(size)
        for hasher in hashers:
            hasher.update(chunk)
        if kept_size <= cap:  # keep one byte past the cap, to tell "too large" apart
            kept.append(chunk)
            kept_size += len(chunk)
    member = Member(
        name=base.name,
        declared_size=base.declared_size,
        mode=base.mode,
        is_dir=base.is_dir,
        encrypted=base.encrypted,
        read=True,
        size=size,
        digests=tuple((a, _b64(h.digest())) for a, h in zip(algorithms, hashers, strict=True)),
        claimed=claimed,
        binary=kind,
    )
    if text and kept_size > cap:
        return member, None
    # One chunk (nearly every member) is kept as it is; join copies only a member over chunk_bytes.
    return member, b"".join(kept) if (kind is not None or text) else None


def parse_member(member: Member, data: bytes | None, limits: Limits) -> tuple[Member, str | None]:
    """Parse a sniffed binary's headers; the problem, if any, is the text of a `zip` finding."""
    if member.binary is None:
        return member, None
    if data is None or len(data) > limits.max_binary_bytes:
        size = f"{_mib(len(data))} " if data is not None else ""
        problem = (
            f"is a {size}binary, more than the limit of {_mib(limits.max_binary_bytes)} verify "
            "will parse; its headers were not checked"
        )
        return replace(member, parse_error="too large to parse"), problem
    try:
        return replace(member, info=parse(data)), None
    except BinaryParseError as exc:
        return replace(member, parse_error=str(exc) or "malformed header"), None


def batches(indexes: list[int], weights: list[int], size: int) -> list[list[int]]:
    """Contiguous runs (contiguous keeps each read sequential on disk) of at least `size`
    weight each, the last excepted."""
    runs: list[list[int]] = [[]]
    acc = 0
    for index, weight in zip(indexes, weights, strict=True):
        if acc >= size:
            runs.append([])
            acc = 0
        runs[-1].append(index)
        acc += weight
    return [r for r in runs if r]


def split_runs(indexes: list[int], weights: list[int], workers: int) -> list[list[int]]:
    """Contiguous runs of roughly equal compressed size (contiguous keeps each thread's reads
    sequential on disk); one run when the archive is too small for threads to pay off."""
    total = sum(weights)
    if workers <= 1 or total < _PARALLEL_BYTES:
        return [indexes]
    runs: list[list[int]] = [[]]
    share, acc = total / workers, 0
    for index, weight in zip(indexes, weights, strict=True):
        if acc >= share * len(runs) and len(runs) < workers:
            runs.append([])
        runs[-1].append(index)
        acc += weight
    return [r for r in runs if r]


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class LimitExceeded(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(f"decompressed past the configured limit after {_mib(size)}")


def _header(info: zipfile.ZipInfo) -> Member:
    mode = (info.external_attr >> 16) & 0xFFFF
    return Member(
        name=info.filename,
        declared_size=info.file_size,
        mode=mode,
        is_dir=info.filename.endswith("/") and not stat.S_ISLNK(mode),
        encrypted=bool(info.flag_bits & 0x1),
    )


def _file_size(handle: BinaryIO) -> int:
    try:
        return handle.seek(0, 2)
    finally:
        handle.seek(0)


def _hasher(algorithm: str) -> hashlib._Hash:
    # The named constructors skip hashlib.new's lookup, a few microseconds on every member.
    constructor = _CONSTRUCTORS.get(algorithm)
    return constructor() if constructor is not None else hashlib.new(algorithm)


def _b64(digest: bytes) -> str:
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _mib(size: int) -> str:
    if size < 1 << 20:
        return f"{size} bytes"
    return f"{size / (1 << 20):.1f} MiB"


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
