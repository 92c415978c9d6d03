"""Hash bookkeeping for downloads and metadata: which digests to compute and whether they match."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path

from .models import Hashes

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20


class Hashers:
    """Running digests for sha256 (the cache key) plus every checkable algorithm in `expected`."""

    def __init__(self, expected: Hashes = ()) -> None:
        names = {"sha256"} | {algo for algo, _ in expected}
        usable = names & hashlib.algorithms_guaranteed
        for unknown in sorted(names - usable):
            logger.debug("cannot check %s hashes; skipping that algorithm", unknown)
        self._hashers = {name: hashlib.new(name) for name in sorted(usable)}

    def update(self, data: bytes) -> None:
        for hasher in self._hashers.values():
            hasher.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {name: hasher.hexdigest() for name, hasher in self._hashers.items()}


def mismatch(expected: Hashes, actual: Mapping[str, str]) -> str | None:
    """A description of the first expected hash that does not match, or None if all checkable
    hashes match. Algorithms we could not compute are skipped."""
    for algo, value in expected:
        got = actual.get(algo)
        if got is not None and got != value:
            return f"{algo} is {got}, expected {value}"
    return None


def digest_bytes(data: bytes, expected: Hashes = ()) -> dict[str, str]:
    hashers = Hashers(expected)
    hashers.update(data)
    return hashers.hexdigests()


def digest_file(path: Path, expected: Hashes = ()) -> dict[str, str]:
    hashers = Hashers(expected)
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(_CHUNK), b""):
            hashers.update(chunk)
    return hashers.hexdigests()


def sha256_file(path: Path) -> str:
    return digest_file(path)["sha256"]


def copy_hashing(chunks: Iterable[bytes], out_path: Path, expected: Hashes = ()) -> dict[str, str]:
    """Write chunks to out_path (truncating it) and return their digests."""
    hashers = Hashers(expected)
    with out_path.open("wb") as out:
        for chunk in chunks:
            hashers.update(chunk)
            out.write(chunk)
    return hashers.hexdigests()
