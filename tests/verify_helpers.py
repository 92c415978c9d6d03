"""Build test wheels in a directory from plain bytes and the fixture binaries (no network, no build)."""

from __future__ import annotations

import base64
import hashlib
import stat
import struct
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from packaging.tags import parse_tag

BINARIES = Path(__file__).parent / "fixtures" / "binaries"


def binary(name: str) -> bytes:
    """A fixture binary from tests/fixtures/binaries (see the generator script there)."""
    return (BINARIES / name).read_bytes()


@dataclass(frozen=True)
class Raw:
    """A member written as-is: not listed in RECORD, with explicit zip header fields."""

    name: str
    data: bytes = b""
    mode: int = stat.S_IFREG | 0o644
    flag_bits: int = 0


@dataclass(frozen=True, kw_only=True)
class WheelSpec:
    """A wheel to write. Defaults give a valid pure-Python wheel; each field tampers with one aspect."""

    name: str = "demo"
    version: str = "1.0"
    tags: str = "py3-none-any"  # the filename's tag triple, possibly compressed (a.b-none-any)
    files: dict[str, bytes] = field(default_factory=lambda: {"demo/__init__.py": b"x = 1\n"})
    filename: str | None = None  # override the whole filename
    purelib: bool | None = None  # None: true exactly when the platform tag is `any`
    wheel_tags: tuple[str, ...] | None = None  # Tag lines; None: expanded from `tags`
    wheel_text: str | None = None  # the whole WHEEL file
    metadata_text: str | None = None  # the whole METADATA file
    record_text: str | None = None  # the whole RECORD file
    unrecorded: tuple[Raw, ...] = ()  # extra members left out of RECORD
    algorithm: str = "sha256"
    compression: int = zipfile.ZIP_DEFLATED

    @property
    def dist_info(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}.dist-info"

    def with_files(self, **more: bytes) -> WheelSpec:
        return replace(self, files={**self.files, **more})

    def build(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / (self.filename or f"{self.name.replace('-', '_')}-{self.version}-{self.tags}.whl")
        members = dict(self.files)
        members[f"{self.dist_info}/METADATA"] = self.metadata().encode()
        members[f"{self.dist_info}/WHEEL"] = self.wheel().encode()
        record = self.record_text if self.record_text is not None else self._record(members)
        members[f"{self.dist_info}/RECORD"] = record.encode()
        with zipfile.ZipFile(path, "w") as zf:
            for name, data in members.items():
                zf.writestr(_info(name, stat.S_IFREG | 0o644, self.compression), data)
            for raw in self.unrecorded:
                zf.writestr(_info(raw.name, raw.mode, self.compression), raw.data)
        for raw in self.unrecorded:
            if raw.flag_bits:  # zipfile resets flag bits when writing, so set them afterwards
                patch_central(path, raw.name, flags=raw.flag_bits)
        return path

    def metadata(self) -> str:
        if self.metadata_text is not None:
            return self.metadata_text
        return f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\n\nA test wheel.\n"

    def wheel(self) -> str:
        if self.wheel_text is not None:
            return self.wheel_text
        pure = self.purelib if self.purelib is not None else self.tags.endswith("-any")
        tags = (
            self.wheel_tags if self.wheel_tags is not None else sorted(str(t) for t in parse_tag(self.tags))
        )
        lines = ["Wheel-Version: 1.0", "Generator: xbuild-tests", f"Root-Is-Purelib: {str(pure).lower()}"]
        return "\n".join([*lines, *(f"Tag: {t}" for t in tags)]) + "\n"

    def _record(self, members: dict[str, bytes]) -> str:
        rows = [
            f"{name},{self.algorithm}={digest(data, self.algorithm)},{len(data)}"
            for name, data in members.items()
        ]
        return "\n".join([*rows, f"{self.dist_info}/RECORD,,"]) + "\n"


def digest(data: bytes, algorithm: str = "sha256") -> str:
    return base64.urlsafe_b64encode(hashlib.new(algorithm, data).digest()).rstrip(b"=").decode()


def _info(name: str, mode: int, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (mode & 0xFFFF) << 16
    info.create_system = 3
    info.compress_type = compression
    return info


_CENTRAL = struct.Struct("<4s4H2H3I5H2I")  # central directory file header, up to the name
_FIELDS = {"flags": 3, "method": 4, "crc": 7, "compress_size": 8, "file_size": 9}


def patch_central(path: Path, member: str, **values: int) -> None:
    """Rewrite fields of one member's central directory entry in place (what a hostile tool would)."""
    data = bytearray(path.read_bytes())
    end = data.rfind(b"PK\x05\x06")
    count, size, offset = struct.unpack_from("<HII", data, end + 10)
    pos = offset
    for _ in range(count):
        fields = list(_CENTRAL.unpack_from(data, pos))
        name_len, extra_len, comment_len = fields[10], fields[11], fields[12]
        name = bytes(data[pos + _CENTRAL.size : pos + _CENTRAL.size + name_len]).decode()
        if name == member:
            for key, value in values.items():
                fields[_FIELDS[key]] = value
            _CENTRAL.pack_into(data, pos, *fields)
        pos += _CENTRAL.size + name_len + extra_len + comment_len
    assert pos == offset + size
    path.write_bytes(bytes(data))


def patch_bytes(data: bytes, old: bytes, new: bytes) -> bytes:
    """Replace a same-length byte string inside a binary, e.g. a DT_NEEDED name or an RPATH."""
    assert len(old) == len(new) and old in data, (old, new)
    return data.replace(old, new)
