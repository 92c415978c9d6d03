"""Start-up time of `xbuild --version` and `xbuild --help` beside pip's and uv's `--version`.

    .venv/bin/python bench/startup.py [--runs 21] [--goal 0.15]

Every command runs `--runs` times, the four taking turns run by run so that a busy minute of a
shared machine hurts all of them alike; the table shows the median wall time (with min and max),
the median CPU time (user + system, from wait4: steadier than wall time when other jobs share the
machine) and the ratio of the wall medians to pip's and to uv's. The commands are the console scripts of the
interpreter's environment (`<venv>/bin/xbuild`, `<venv>/bin/pip`, `<venv>/bin/uv`, else uv on
PATH), as a user types them; PYTHONPATH is passed through, so a worktree's code is what runs.
Exit status 1 when an xbuild command's median is over `--goal` seconds.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, kw_only=True)
class Case:
    label: str
    argv: tuple[str, ...]
    ours: bool


def cases() -> list[Case]:
    bindir = Path(sys.executable).parent
    uv = bindir / "uv" if (bindir / "uv").exists() else Path(shutil.which("uv") or "uv")
    return [
        Case(label="xbuild --version", argv=(str(bindir / "xbuild"), "--version"), ours=True),
        Case(label="xbuild --help", argv=(str(bindir / "xbuild"), "--help"), ours=True),
        Case(label="pip --version", argv=(str(bindir / "pip"), "--version"), ours=False),
        Case(label="uv --version", argv=(str(uv), "--version"), ours=False),
    ]


@dataclass(frozen=True, kw_only=True)
class Sample:
    wall: float
    cpu: float  # user + system of the child: what other jobs on a busy machine cannot inflate much


def run_once(argv: tuple[str, ...]) -> Sample:
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode}")
    return Sample(wall=elapsed, cpu=usage.ru_utime + usage.ru_stime)


def measure(all_cases: list[Case], runs: int) -> dict[str, list[Sample]]:
    samples: dict[str, list[Sample]] = {c.label: [] for c in all_cases}
    for case in all_cases:  # one unmeasured run each: page cache and .pyc files warm for everyone
        run_once(case.argv)
    for _ in range(runs):
        for case in all_cases:
            samples[case.label].append(run_once(case.argv))
    return samples


def report(all_cases: list[Case], samples: dict[str, list[Sample]], goal: float) -> bool:
    medians = {label: statistics.median(s.wall for s in runs) for label, runs in samples.items()}
    pip, uv = medians["pip --version"], medians["uv --version"]
    print(f"{'command':<18} {'median':>7} {'min':>7} {'max':>7} {'cpu':>7} {'/ pip':>7} {'/ uv':>7}")
    ok = True
    for case in all_cases:
        walls, median = [s.wall for s in samples[case.label]], medians[case.label]
        cpu = statistics.median(s.cpu for s in samples[case.label])
        verdict = ""
        if case.ours:
            ok = ok and median <= goal
            verdict = "  ok" if median <= goal else f"  OVER the {goal:.2f} s goal"
        print(
            f"{case.label:<18} {median:7.3f} {min(walls):7.3f} {max(walls):7.3f} {cpu:7.3f} "
            f"{median / pip:6.2f}x {median / uv:6.2f}x{verdict}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="measured runs per command (default 21)")
    parser.add_argument("--goal", type=float, default=0.15, help="seconds xbuild's medians must stay under")
    args = parser.parse_args()
    all_cases = cases()
    print(
        f"{args.runs} runs each, interleaved; seconds of wall time; {os.cpu_count()} CPUs, "
        f"load {os.getloadavg()[0]:.1f}"
    )
    ok = report(all_cases, measure(all_cases, args.runs), args.goal)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
