"""What the archive pass learnt about a wheel: plain data that every check reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from xbuild.binary import BinaryFormat, BinaryInfo
from xbuild.verify.model import Finding


@dataclass(frozen=True, kw_only=True)
class Member:
    """One zip entry as read: its header facts, and what its bytes turned out to be."""

    name: str
    declared_size: int
    mode: int  # st_mode from a Unix external_attr, else 0
    is_dir: bool
    encrypted: bool
    read: bool = False  # all bytes were decompressed and CRC-checked
    size: int = 0  # bytes actually decompressed
    digests: tuple[tuple[str, str], ...] = ()  # (algorithm, urlsafe base64 without padding)
    binary: BinaryFormat | None = None  # by magic bytes, after a plausibility look (sniff)
    claimed: BinaryFormat | None = None  # by the leading magic alone
    info: BinaryInfo | None = None
    parse_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Archive:
    path: Path
    members: tuple[Member, ...]
    texts: Mapping[str, bytes] = field(default_factory=dict)  # dist-info WHEEL/METADATA/RECORD
    findings: tuple[Finding, ...] = ()
    readable: bool = True  # False: not a zip at all, members is empty
    complete: bool = True  # False: some member was not read (limits, encryption, damage)
    # Installed trees: the import roots ("" or a prefix ending in /) holding the dist-info dirs.
    roots: tuple[str, ...] = ("",)
