"""`xbuild verify` against `auditwheel show` and against the floor of plain decompression.

    .venv/bin/python bench/verify_vs_auditwheel.py [--cache DIR] [--repeat N] [--jobs N]

Downloads once (pip download --only-binary :all: --platform manylinux2014_x86_64
--python-version 3.12 --no-deps) the wheels of numpy, scipy, pandas, pillow, cryptography, lxml,
pydantic-core and orjson into the cache directory, then times, best of --repeat:

- floor: every member of every wheel decompressed once with zipfile, one thread, nothing else;
- xbuild verify in-process, one thread and --jobs threads (and a process pool, for the record);
- the `xbuild verify DIR` command, interpreter start-up included;
- `auditwheel show` run once per wheel, as a CI loop would (interpreter start-up included).

Goals from the verify issues: xbuild at least 10x faster than the auditwheel loop, and within
1.2x of the decompression floor while checking more (issue 13).

Latest run (2 cores shared with other sessions, load average 0.9-1.0; 8 wheels, 84.5 MB
compressed, 272.8 MB uncompressed; --repeat 5, best of 5):

    floor: decompress every member (1 thread)    0.923 s
    xbuild verify, in-process, 1 thread          1.221 s   1.32x the floor
    xbuild verify, in-process, 2 threads         0.727 s   0.79x the floor
    xbuild verify, in-process, 2 processes       0.951 s
    xbuild verify DIR (command)                  1.153 s   (CLI start-up included)
    auditwheel show, once per wheel             24.507 s   21.3x slower than the command

In one thread, beyond the floor: sha256 for RECORD (~0.15 s, which nothing can skip: floor plus
sha256 is already 1.17x), the checks (~0.05 s), the ELF headers and per-member bookkeeping.
Before/after figures and the profile: bench/VERIFY-FIGURES.md.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from xbuild.target import Target, parse_target
from xbuild.verify import WheelReport, verify_paths, verify_wheel

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("numpy", "scipy", "pandas", "pillow", "cryptography", "lxml", "pydantic-core", "orjson")
PIP_TARGET = ("--platform", "manylinux2014_x86_64", "--python-version", "3.12")
TARGET_FLAGS = ("--python-platform", "x86_64-manylinux2014", "--python-version", "3.12")


def ensure_wheels(cache: Path) -> list[Path]:
    wheels = sorted(cache.glob("*.whl"))
    if len(wheels) < len(PACKAGES):
        cache.mkdir(parents=True, exist_ok=True)
        command = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--only-binary",
            ":all:",
            *PIP_TARGET,
            "--no-deps",
            "-d",
            str(cache),
            *PACKAGES,
        ]
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True)
        wheels = sorted(cache.glob("*.whl"))
    return wheels


def timed(repeat: int, action: Callable[[], object]) -> tuple[float, float]:
    """Best and median of `repeat` runs: other jobs share the 2 cores, so the best is the figure
    to compare and the median says how noisy the run was."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def floor(wheels: list[Path]) -> int:
    total = 0
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                total += len(zf.read(info))
    return total


def process_pool(wheels: list[Path], target: Target, jobs: int) -> list[WheelReport]:
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(verify_wheel, wheels, [target] * len(wheels)))


def cli(cache: Path) -> None:
    xbuild = [sys.executable, "-m", "xbuild", "verify", str(cache), *TARGET_FLAGS, "--format", "json"]
    result = subprocess.run(xbuild, capture_output=True, check=False)
    if result.returncode not in (0, 1):
        raise SystemExit(f"xbuild verify failed: {result.stderr.decode()}")


def auditwheel_loop(wheels: list[Path]) -> None:
    for wheel in wheels:
        subprocess.run(
            [sys.executable, "-m", "auditwheel", "show", str(wheel)], capture_output=True, check=True
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cache", type=Path, default=ROOT / ".cache" / "bench-wheels")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    wheels = ensure_wheels(args.cache)
    target = parse_target("x86_64-manylinux2014", python_version="3.12")
    reports = verify_paths([args.cache], target, 1)  # warm-up: policies and data files load once
    size = floor(wheels)
    compressed = sum(w.stat().st_size for w in wheels)
    print(
        f"{len(wheels)} wheels, {compressed / 1e6:.1f} MB compressed, {size / 1e6:.1f} MB uncompressed; "
        f"verdicts: {sum(r.ok for r in reports)} passed, {sum(not r.ok for r in reports)} refused"
    )

    timings = {
        "floor: decompress every member (1 thread)": timed(args.repeat, lambda: floor(wheels)),
        "xbuild verify, in-process, 1 thread": timed(
            args.repeat, lambda: verify_paths([args.cache], target, 1)
        ),
        f"xbuild verify, in-process, {args.jobs} threads": timed(
            args.repeat, lambda: verify_paths([args.cache], target, args.jobs)
        ),
        f"xbuild verify, in-process, {args.jobs} processes": timed(
            args.repeat, lambda: process_pool(wheels, target, args.jobs)
        ),
        "xbuild verify DIR (command)": timed(args.repeat, lambda: cli(args.cache)),
        "auditwheel show, once per wheel": timed(1, lambda: auditwheel_loop(wheels)),
    }
    width = max(len(k) for k in timings)
    print(f"{'':<{width}}     best   median")
    for label, (seconds, median) in timings.items():
        print(f"{label:<{width}}  {seconds:7.3f}  {median:7.3f} s")
    values = [b for b, _ in timings.values()]
    floor_s, one, threads, _procs, command, auditwheel = values
    print(f"\nauditwheel loop / xbuild command:        {auditwheel / command:6.1f}x  (goal >= 10x)")
    print(f"xbuild 1 thread / floor:                 {one / floor_s:6.2f}x  (goal <= 1.2x)")
    print(f"xbuild {args.jobs} threads / floor:                {threads / floor_s:6.2f}x  (goal <= 1.2x)")


if __name__ == "__main__":
    main()
