"""Cold-import gain of `xbuild bundle --compile` on the example Lambda app (examples/lambda).

    .venv/bin/python bench/compile_cold_start.py [--target aws-lambda-python3.12-x86_64] [--runs 31]

The example is bundled twice from the same inputs, with and without `--compile` (wheels come
from the index, so the first run needs the network), and both zips are unpacked. Then
`import handler` runs in fresh processes of the target-matching interpreter (the one `--compile`
itself would choose: a host CPython of exactly the target's X.Y), the two trees taking turns run
by run. PYTHONDONTWRITEBYTECODE=1 stands in for Lambda's read-only /var/task: a bundle without
bytecode compiles its modules again on every cold start, and this keeps the source-only tree
source-only between runs. The interpreter's own stdlib bytecode is used in both cases, as it is
on Lambda.

Printed side by side, medians (min-max): the import time inside the process (perf_counter around
`import handler`), the process wall time (wait4), and the bundle sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from xbuild.bundle.compile import CompileSettings, find_compiler
from xbuild.target import parse_target

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "lambda"
# The import, then the first invocation (idna loads its UTS 46 table lazily, on the first call).
PROBE = (
    "import time; t = time.perf_counter(); import handler; i = time.perf_counter(); "
    "handler.handler({'name': 'x'}, None); print(i - t, time.perf_counter() - t)"
)


def bundle(target: str, out: Path, *, compile_: bool) -> None:
    argv = [sys.executable, "-m", "xbuild", "bundle", "-r", str(EXAMPLE / "requirements.txt")]
    argv += ["--include", str(EXAMPLE / "handler.py"), "--python-platform", target, "-o", str(out)]
    subprocess.run(argv + (["--compile"] if compile_ else []), check=True, capture_output=True)


def unpack(zip_path: Path, dest: Path) -> Path:
    with zipfile.ZipFile(zip_path) as zf:
        zf.extractall(dest)
    return dest


def import_once(python: str, task: Path) -> tuple[float, float, float]:
    """Seconds for `import handler`, for the import plus the first call, and for the process."""
    env = {"PYTHONPATH": str(task), "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")}
    started = time.perf_counter()
    child = subprocess.Popen([python, "-c", PROBE], cwd=task, env=env, stdout=subprocess.PIPE, text=True)
    out, _ = child.communicate()
    wall = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"importing the handler from {task} failed (exit {child.returncode})")
    imported, called = (float(v) for v in out.split())
    return imported, called, wall


def describe(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:7.1f} ms ({min(values) * 1000:.1f}-{max(values) * 1000:.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", default="aws-lambda-python3.12-x86_64")
    parser.add_argument("--runs", type=int, default=31)
    args = parser.parse_args()
    compiler = find_compiler(parse_target(args.target), CompileSettings())
    if compiler.image is not None:
        raise SystemExit(f"no host Python {compiler.python}: install it, or choose another --target")
    with tempfile.TemporaryDirectory(prefix="xbuild-compile-bench-") as scratch:
        work = Path(scratch)
        trees, sizes = {}, {}
        for label, flag in (("source only", False), ("--compile", True)):
            out = work / f"{'compiled' if flag else 'plain'}.zip"
            bundle(args.target, out, compile_=flag)
            trees[label] = unpack(out, work / out.stem)
            manifest = json.loads(out.with_name(out.name + ".manifest.json").read_text())
            sizes[label] = (manifest["zipped_size"], manifest["unzipped_size"])
        samples: dict[str, list[tuple[float, float, float]]] = {label: [] for label in trees}
        for task in trees.values():  # one warm-up each: the OS page cache, not bytecode
            import_once(compiler.interpreter, task)
        for _ in range(args.runs):
            for label, task in trees.items():
                samples[label].append(import_once(compiler.interpreter, task))
    print(f"target {args.target}; Python {compiler.python} at {compiler.interpreter}; {args.runs} runs each")
    heads = ("import handler", "import + first call", "process wall")
    print(f"{'bundle':<12} | " + " | ".join(f"{h:<26}" for h in heads) + " | zipped / unzipped bytes")
    for label, runs in samples.items():
        zipped, unzipped = sizes[label]
        cells = " | ".join(f"{describe([r[i] for r in runs]):<26}" for i in range(3))
        print(f"{label:<12} | {cells} | {zipped:,} / {unzipped:,}")
    for i, what in enumerate(heads[:2]):
        plain, compiled = (statistics.median(r[i] for r in samples[k]) for k in trees)
        print(
            f"{what}: {plain / compiled:.1f}x faster, {(plain - compiled) * 1000:.1f} ms less per cold start"
        )


if __name__ == "__main__":
    main()
