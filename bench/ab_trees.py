"""Alternate `xbuild plan` runs of two or more source trees and compare them round by round.

    .venv/bin/python bench/ab_trees.py [--rounds 16] [--state cold|warm] [--set 10|40] TREE TREE...

Each TREE is a directory holding an `xbuild` package (a copy of `xbuild/` at some commit, e.g.
`git worktree add /tmp/old <rev>`, or `git archive <rev> xbuild | tar -x -C /tmp/old`). Every
round runs each tree once, in alternating order, as `plan_vs_uv.py` runs xbuild (the installed
copy's interpreter, `PYTHONPATH=TREE`, a new `XBUILD_CACHE_DIR` per cold run, index settings of
the machine dropped). It prints each tree's median and, against the first tree, the median of the
per-round ratios: on a shared machine the load drifts by more than one change, and a ratio taken
within one round cancels most of that drift. Trees are byte-compiled first, as an install is.

This is for telling changes apart while working; `plan_vs_uv.py` stays the measure against uv.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import plan_vs_uv


def argv_for(requirements: Path) -> list[str]:
    python = plan_vs_uv.install_xbuild(plan_vs_uv.bench_dir())[0]
    return [
        python,
        "-m",
        "xbuild",
        "plan",
        "-r",
        str(requirements),
        "--python-platform",
        "x86_64-manylinux2014",
        "--python-version",
        "3.12",
        "--source-policy",
        "never",
        "--format",
        "json",
    ]


def run(argv: list[str], tree: Path, cache: Path) -> tuple[float, bytes]:
    env = plan_vs_uv.environment("xbuild", cache)
    env["PYTHONPATH"] = str(tree)
    start = time.perf_counter()
    # Not from the caller's directory: `python -m` puts it first on sys.path, so in a checkout
    # every tree would run the checkout's own xbuild package.
    done = subprocess.run(argv, env=env, cwd=cache.parent, capture_output=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{tree}: exit {done.returncode}\n{done.stderr.decode(errors='replace')[-2000:]}")
    return seconds, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("trees", nargs="+", type=Path, metavar="TREE")
    parser.add_argument("--rounds", type=int, default=16)
    parser.add_argument("--state", choices=("cold", "warm"), default="cold")
    parser.add_argument("--set", choices=sorted(plan_vs_uv.SETS), default="10", dest="reqs")
    args = parser.parse_args()
    trees: list[Path] = [tree.resolve() for tree in args.trees]
    for tree in trees:
        if not (tree / "xbuild" / "__init__.py").is_file():
            sys.exit(f"{tree} holds no xbuild package")
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "xbuild")], check=True)
    with tempfile.TemporaryDirectory(prefix="xbuild-ab-") as scratch:
        work = Path(scratch)
        requirements = work / "requirements.in"
        requirements.write_text("\n".join(plan_vs_uv.SETS[args.reqs]) + "\n", encoding="utf-8")
        argv = argv_for(requirements)
        warm = {tree: Path(tempfile.mkdtemp(dir=work)) for tree in trees}
        if args.state == "warm":
            for tree in trees:
                run(argv, tree, warm[tree])
        seconds: dict[Path, list[float]] = {tree: [] for tree in trees}
        outputs: set[bytes] = set()
        for n in range(args.rounds):
            for tree in trees if n % 2 == 0 else trees[::-1]:
                cache = warm[tree] if args.state == "warm" else Path(tempfile.mkdtemp(dir=work))
                took, out = run(argv, tree, cache)
                seconds[tree].append(took)
                outputs.add(out)
    print(f"set {args.reqs}, {args.state}, {args.rounds} rounds, load {os.getloadavg()[0]:.1f} at the end")
    for tree in trees:
        print(f"  {tree}: median {statistics.median(seconds[tree]):.3f} s, min {min(seconds[tree]):.3f} s")
    first = seconds[trees[0]]
    for tree in trees[1:]:
        ratios = [b / a for a, b in zip(first, seconds[tree], strict=True)]
        print(f"  {tree} / {trees[0]}: {statistics.median(ratios):.3f} (median of per-round ratios)")
    print("  same plan from every tree" if len(outputs) == 1 else "  THE TREES' PLANS DIFFER")


if __name__ == "__main__":
    main()
