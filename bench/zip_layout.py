"""Where METADATA sits in real wheels: what ranged metadata reads can expect of a wheel's tail.

    xbuild plan -r reqs --python-platform T --python-version 3.12 --format json > plan.json
    .venv/bin/python bench/zip_layout.py plan.json

For every wheel of the plan it fetches the last MiB once and prints the wheel's size, its entries,
the central directory's length and how far from the end METADATA's local header starts. Ranged
metadata reads (`xbuild/index/remote_zip.py`) take the last 64 KiB first: a wheel whose METADATA
lies within it needs one request; one whose directory starts before the tail gets the directory
with as many bytes again before it, which holds METADATA when it lies within one directory
length before the directory; the rest need a request for the member itself.
"""

from __future__ import annotations

import json
import struct
import sys
from pathlib import Path
from typing import Any

import httpx

from xbuild.index.remote_zip import TAIL_BYTES
from xbuild.util import tls

_END = struct.Struct("<4s4H2LH")
_ENTRY = struct.Struct("<4s4xHH4xLLLHHH8xL")
_WINDOW = 1 << 20


def wheel_urls(plan: dict[str, Any]) -> list[str]:
    files = (d.get("file") or {} for d in plan.get("distributions", []))
    return [f["url"] for f in files if str(f.get("url", "")).endswith(".whl")]


def layout(body: bytes, total: int) -> tuple[int, int, int, int | None] | None:
    """(entries, directory length, directory distance from the end, METADATA distance from the
    end), or None when the directory does not lie in the window."""
    base = total - len(body)
    at = body.rfind(b"PK\x05\x06")
    if at < 0:
        return None
    _, _, _, _, count, size, start, _ = _END.unpack_from(body, at)
    if start < base:
        return None
    position, metadata = start - base, None
    for _ in range(count):
        fields = _ENTRY.unpack_from(body, position)
        name = body[position + _ENTRY.size : position + _ENTRY.size + fields[6]]
        if name.endswith(b".dist-info/METADATA"):
            metadata = total - fields[9]
        position += _ENTRY.size + fields[6] + fields[7] + fields[8]
    return count, size, total - start, metadata


def requests_needed(directory_from_end: int, directory: int, metadata_from_end: int | None) -> int:
    if metadata_from_end is None:
        return 0
    if metadata_from_end <= TAIL_BYTES:
        return 1
    if directory_from_end > TAIL_BYTES and metadata_from_end <= directory_from_end + directory:
        return 2
    return 2 if directory_from_end <= TAIL_BYTES else 3


def main() -> None:
    plan = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    rows = []
    with httpx.Client(verify=tls.context(), timeout=60, follow_redirects=True) as client:
        for url in wheel_urls(plan):
            reply = client.get(url, headers={"Range": f"bytes=-{_WINDOW}", "Accept-Encoding": "identity"})
            total = int(reply.headers["content-range"].rsplit("/", 1)[1])
            found = layout(reply.content, total)
            if found is not None:
                rows.append((url.rsplit("/", 1)[-1], total, *found))
    print(f"{'wheel':48} {'size':>10} {'entries':>7} {'directory':>9} {'METADATA from end':>17} requests")
    for name, total, count, size, directory_from_end, metadata in sorted(rows, key=lambda r: -(r[5] or 0)):
        needed = requests_needed(directory_from_end, size, metadata)
        print(f"{name[:48]:48} {total:10,} {count:7,} {size:9,} {metadata or 0:17,} {needed}")


if __name__ == "__main__":
    main()
