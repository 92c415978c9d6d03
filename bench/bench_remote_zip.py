"""Time reading a wheel's METADATA over byte ranges: xbuild's plain central-directory reader
against zipfile's, on real PyPI wheels, side by side in one run.

    .venv/bin/python bench/bench_remote_zip.py [--wheels DIR] [--repeat 20] [REQ...]

The wheels (default: the biggest central directories of the cold 10-requirement plan in
plan_vs_uv.py: botocore, pandas, numpy, pytz, tzdata, plus six) are fetched once with `pip
download --no-deps --only-binary :all:` for x86_64-manylinux2014 / CPython 3.12 into DIR
(default ~/.cache/xbuild-bench/remote-zip, or under XBUILD_BENCH_DIR). Each wheel is served from
memory by a range function, as `xbuild.index.remote_zip` is served over HTTP, so the figures are
the CPU cost of the reading alone (the network is the same for both). Both readers must return
the same bytes, and the requests each makes are counted.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

from xbuild.index import remote_zip
from xbuild.index.http import RangeReply

DEFAULT = ("botocore==1.44.8", "pandas==2.3.2", "numpy==2.2.6", "pytz==2026.6", "tzdata==2026.6", "six")


class Served:
    """Range header value -> reply, from the wheel's bytes; counts requests."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.requests = 0

    def __call__(self, spec: str) -> RangeReply:
        self.requests += 1
        first, _, last = spec.removeprefix("bytes=").partition("-")
        size = len(self.data)
        start, end = (size - int(last), size - 1) if not first else (int(first), int(last))
        start = max(0, start)
        return RangeReply(start, size, self.data[start : min(end, size - 1) + 1])


def fetch(directory: Path, requirements: list[str]) -> list[Path]:
    have = list(directory.glob("*.whl"))
    if len(have) < len(requirements):
        directory.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary", ":all:"]
        command += [
            "--platform",
            "manylinux2014_x86_64",
            "--python-version",
            "3.12",
            "--implementation",
            "cp",
        ]
        subprocess.run([*command, "-d", str(directory), *requirements], check=True)
        have = list(directory.glob("*.whl"))
    return sorted(have)


def plain(served: Served, project: str, filename: str) -> bytes:
    return remote_zip.metadata_over_ranges(served, canonicalize_name(project), filename)


def with_zipfile(served: Served, project: str, filename: str) -> bytes:
    first = served(f"bytes=-{remote_zip.TAIL_BYTES}")
    with remote_zip.RangeFile(served, first) as remote:
        return remote_zip._metadata_with_zipfile(remote, canonicalize_name(project), filename)


Reader = Callable[[Served, str, str], bytes]


def best(reader: Reader, data: bytes, project: str, filename: str, repeat: int) -> tuple[float, int, bytes]:
    times = []
    for _ in range(repeat):
        served = Served(data)
        start = time.process_time()
        out = reader(served, project, filename)
        times.append(time.process_time() - start)
    return min(times), served.requests, out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    bench_dir = Path(os.environ.get("XBUILD_BENCH_DIR", Path.home() / ".cache" / "xbuild-bench"))
    parser.add_argument("--wheels", type=Path, default=bench_dir / "remote-zip")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("requirements", nargs="*", default=list(DEFAULT))
    args = parser.parse_args()
    print(f"{'wheel':58} {'entries':>7} {'plain ms':>9} {'zipfile ms':>10} {'ratio':>6}  requests")
    totals = [0.0, 0.0]
    for path in fetch(args.wheels, list(args.requirements)):
        data = path.read_bytes()
        project = str(parse_wheel_filename(path.name)[0])
        ours, our_requests, got = best(plain, data, project, path.name, args.repeat)
        theirs, their_requests, expected = best(with_zipfile, data, project, path.name, args.repeat)
        assert got == expected, f"{path.name}: the readers disagree"
        entries = int.from_bytes(data[-12:-10], "little")
        totals[0] += ours
        totals[1] += theirs
        print(
            f"{path.name[:58]:58} {entries:7,} {ours * 1e3:9.2f} {theirs * 1e3:10.2f} "
            f"{theirs / ours:5.1f}x  {our_requests} / {their_requests}"
        )
    label = f"all (best of {args.repeat} each)"
    print(f"{label:58} {'':7} {totals[0] * 1e3:9.2f} {totals[1] * 1e3:10.2f} {totals[1] / totals[0]:5.1f}x")


if __name__ == "__main__":
    main()
