"""A fully cached `xbuild build` beside uv's and pip's cached equivalents, in one run.

    .venv/bin/python bench/cached_build.py [--runs 11] [--goal 0.5]

Each tool first fetches the same two wheels for the same Lambda target once (warm-up, network);
then every measured run puts them into a fresh directory from its cache alone:

- `xbuild build idna certifi -p aws-lambda-python3.12-x86_64 --offline -o DIR`
  (plan from the cache, wheels from the cache, each verified against the target, manifest);
- `uv pip install --target DIR --offline --no-deps --python-platform x86_64-manylinux_2_28
  --python-version 3.12 idna certifi` (uv's cache; it installs, and verifies nothing);
- `pip download -d DIR --no-index --find-links WHEELS --no-deps --only-binary :all:
  --platform manylinux2014_x86_64 --python-version 3.12 idna certifi` (pip has no offline mode
  for its HTTP cache; a local find-links directory is its fastest cached path).

Runs take turns, the median wall time is printed with ratios to uv and pip. Exit 1 when
xbuild's median is over `--goal` seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REQS = ("idna", "certifi")
BIN = Path(sys.executable).parent


def _uv() -> str:
    return str(BIN / "uv") if (BIN / "uv").exists() else shutil.which("uv") or "uv"


def commands(work: Path, out: Path) -> dict[str, list[str]]:
    return {
        "xbuild build": [
            str(BIN / "xbuild"),
            "build",
            *REQS,
            "-p",
            "aws-lambda-python3.12-x86_64",
            "--offline",
            "-o",
            str(out),
        ],
        "uv pip install --target": [
            _uv(),
            "pip",
            "install",
            "--target",
            str(out),
            "--offline",
            "--no-deps",
            "--quiet",
            "--python-platform",
            "x86_64-manylinux_2_28",
            "--python-version",
            "3.12",
            "--python",
            sys.executable,
            *REQS,
        ],
        "pip download": _pip_download(out, "--no-index", "--find-links", str(work / "wheels")),
    }


def _pip_download(dest: Path, *source: str) -> list[str]:
    """pip's fetch of the same wheels for the same target (the index, or `source` options)."""
    return [
        str(BIN / "pip"), "download", "-q", "-d", str(dest), *source, "--no-deps", "--only-binary",
        ":all:", "--platform", "manylinux2014_x86_64", "--python-version", "3.12", *REQS,
    ]  # fmt: skip


def _env(work: Path) -> dict[str, str]:
    return {
        **os.environ,
        "XBUILD_CACHE_DIR": str(work / "xbuild-cache"),
        "UV_CACHE_DIR": str(work / "uv-cache"),
        "UV_PYTHON_DOWNLOADS": "never",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def warm(work: Path) -> None:
    env = _env(work)
    online = commands(work, work / "warm-x")
    subprocess.run(
        [a for a in online["xbuild build"] if a != "--offline"], env=env, check=True, capture_output=True
    )
    uv = [a for a in online["uv pip install --target"] if a != "--offline"]
    subprocess.run(uv, env=env, check=True, capture_output=True)
    subprocess.run(
        _pip_download(work / "wheels"),
        env=env,
        check=True,
        capture_output=True,
    )


def measure(work: Path, runs: int) -> dict[str, list[float]]:
    env = _env(work)
    times: dict[str, list[float]] = {}
    for n in range(runs):
        for label, argv in commands(work, work / f"out-{n}").items():
            out = Path(
                argv[argv.index("-o") + 1]
                if "-o" in argv
                else argv[argv.index("-d") + 1]
                if "-d" in argv
                else argv[argv.index("--target") + 1]
            )
            shutil.rmtree(out, ignore_errors=True)
            started = time.perf_counter()
            subprocess.run(argv, env=env, check=True, capture_output=True)
            times.setdefault(label, []).append(time.perf_counter() - started)
            shutil.rmtree(out, ignore_errors=True)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--goal", type=float, default=0.5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="xbuild-bench-cached-") as tmp:
        work = Path(tmp)
        warm(work)
        times = measure(work, args.runs)
    medians = {label: statistics.median(t) for label, t in times.items()}
    uv, pip = medians["uv pip install --target"], medians["pip download"]
    print(f"{args.runs} runs each, interleaved; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'command':<26} {'median':>7} {'min':>7} {'/ uv':>7} {'/ pip':>7}")
    for label, median in medians.items():
        print(f"{label:<26} {median:7.3f} {min(times[label]):7.3f} {median / uv:6.2f}x {median / pip:6.2f}x")
    ours = medians["xbuild build"]
    print(f"xbuild build: {'ok' if ours <= args.goal else 'OVER'} the {args.goal:.2f} s goal")
    return 0 if ours <= args.goal else 1


if __name__ == "__main__":
    sys.exit(main())
