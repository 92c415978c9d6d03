"""Build test wheels in a directory from plain bytes and the fixture binaries (no network, no build)."""

from __future__ import annotations

import base64
import hashlib
import stat
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
        members[f"{self.dist_info}/METADATA"] = self._metadata().encode()
        members[f"{self.dist_info}/WHEEL"] = self._wheel().encode()
        record = self.record_text if self.record_text is not None else self._record(members)
        members[f"{self.dist_info}/RECORD"] = record.encode()
        with zipfile.ZipFile(path, "w", compression=self.compression) as zf:
            for name, data in members.items():
                zf.writestr(_info(name, stat.S_IFREG | 0o644), data)
            for raw in self.unrecorded:
                info = _info(raw.name, raw.mode)
                info.flag_bits |= raw.flag_bits
                zf.writestr(info, raw.data)
        return path

    def _metadata(self) -> str:
        if self.metadata_text is not None:
            return self.metadata_text
        return f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\n\nA test wheel.\n"

    def _wheel(self) -> str:
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


def _info(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (mode & 0xFFFF) << 16
    info.create_system = 3
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
