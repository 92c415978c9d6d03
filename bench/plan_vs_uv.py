"""Time `xbuild plan` against `uv pip compile` and `pip install --dry-run` for a foreign target.

    .venv/bin/python bench/plan_vs_uv.py [--cold 1] [--warm 3] [--target T]... [--profile DIR] [REQ...]

Each tool resolves the same requirements for the same target (wheels only: xbuild with
`--source-policy never`, uv with `--no-build`, pip with `--only-binary=:all:`), from the same index.
A cold run gets an empty cache directory of its own (XBUILD_CACHE_DIR, UV_CACHE_DIR,
PIP_CACHE_DIR); warm runs reuse the directory of the last cold run. Runs of the three tools are
interleaved so that a slow minute of the network hurts all of them alike.

Wall time comes from the parent's clock, peak RSS from wait4(2) on the child. uv and pip live in
a scratch venv under ~/.cache/xbuild-bench (XBUILD_BENCH_DIR to move it), made on first use and
reused after. pip and uv read no config files here, and no index settings come from the
environment, so a mirror configured for the machine does not make one tool look faster.

pip evaluates markers for the interpreter running it, not for --python-version, so its pins can
differ from the other two; uv is the reference for what the target should get.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import xbuild
from xbuild.cli.options import resolve_target

REQUIREMENTS = (
    "numpy",
    "pandas",
    "pydantic",
    "fastapi",
    "boto3",
    "cryptography",
    "orjson",
    "requests",
    "lxml",
    "pillow",
)
TARGETS = ("x86_64-manylinux2014", "aarch64-manylinux_2_28")
PYTHON = "3.12"
PYPI = "https://pypi.org/simple"
TOOLS = ("xbuild", "uv", "pip")
# Settings that are not about where packages come from, so they stay.
KEPT_ENV = frozenset({"PIP_CERT", "PIP_DEFAULT_TIMEOUT"})


@dataclass(frozen=True, kw_only=True)
class Setup:
    requirements: tuple[str, ...]
    python_version: str
    index_url: str
    work: Path  # requirements file, reports and caches of this run
    xbuild: tuple[str, ...]  # argv prefix that runs xbuild
    venv: Path  # the scratch venv with uv and pip


@dataclass(frozen=True, kw_only=True)
class Case:
    tool: str
    target: str
    state: str  # cold | warm


@dataclass(frozen=True, kw_only=True)
class Sample:
    case: Case
    seconds: float
    max_rss_mib: float
    pins: dict[str, str]


class BenchError(Exception):
    pass


# --- the scratch venv ----------------------------------------------------------------------------


def bench_dir() -> Path:
    override = os.environ.get("XBUILD_BENCH_DIR", "").strip()
    return Path(override) if override else Path.home() / ".cache" / "xbuild-bench"


def ensure_venv(root: Path) -> Path:
    """root/venv with uv and pip, made once and reused while both are there."""
    venv = root / "venv"
    if not (_bin(venv, "uv").exists() and _bin(venv, "pip").exists()):
        print(f"making {venv} with uv and pip", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        pip = [str(_bin(venv, "python")), "-m", "pip", "install", "--quiet", "--upgrade"]
        subprocess.run([*pip, "pip", "uv"], check=True)
    return venv


def _bin(venv: Path, name: str) -> Path:
    return venv / ("Scripts" if sys.platform == "win32" else "bin") / name


def xbuild_argv() -> tuple[str, ...]:
    script = Path(sys.executable).with_name("xbuild")
    return (str(script),) if script.exists() else (sys.executable, "-m", "xbuild")


def version_of(argv: Sequence[str]) -> str:
    result = subprocess.run([*argv, "--version"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else "?"


# --- the three commands --------------------------------------------------------------------------


def pip_platforms(target: str, python_version: str) -> tuple[str, ...]:
    """Every manylinux tag the target accepts, spelt out: pip takes them as they are given."""
    resolved = resolve_target(target, python_version, None)
    assert resolved is not None
    return resolved.platform_tags


def command(setup: Setup, case: Case, run_dir: Path) -> list[str]:
    reqs = setup.work / "requirements.in"
    if case.tool == "xbuild":
        return [
            *setup.xbuild,
            "plan",
            "-r",
            str(reqs),
            "--python-platform",
            case.target,
            "--python-version",
            setup.python_version,
            "--source-policy",
            "never",
            "--index-url",
            setup.index_url,
            "--format",
            "json",
        ]
    if case.tool == "uv":
        return [
            str(_bin(setup.venv, "uv")),
            "pip",
            "compile",
            "--no-config",
            "--no-python-downloads",
            "--python",
            str(_bin(setup.venv, "python")),
            "--no-build",
            "--python-platform",
            case.target,
            "--python-version",
            setup.python_version,
            "--index-url",
            setup.index_url,
            "--no-header",
            "--no-annotate",
            str(reqs),
        ]
    platforms = [f"--platform={tag}" for tag in pip_platforms(case.target, setup.python_version)]
    return [
        str(_bin(setup.venv, "python")),
        "-m",
        "pip",
        "install",
        "--dry-run",
        "--quiet",
        "--ignore-installed",
        "--report",
        str(run_dir / "pip-report.json"),
        "--only-binary=:all:",
        "--target",
        str(run_dir / "pip-target"),
        *platforms,
        "--implementation",
        "cp",
        "--python-version",
        setup.python_version,
        "--index-url",
        setup.index_url,
        "-r",
        str(reqs),
    ]


def environment(tool: str, cache: Path) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k in KEPT_ENV or not k.startswith(("PIP_", "UV_", "XBUILD_"))
    }
    env.update(
        PIP_CONFIG_FILE=os.devnull,
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        PIP_NO_INPUT="1",
        UV_NO_CONFIG="1",
        UV_PYTHON_DOWNLOADS="never",
    )
    variable = {"xbuild": "XBUILD_CACHE_DIR", "uv": "UV_CACHE_DIR", "pip": "PIP_CACHE_DIR"}[tool]
    env[variable] = str(cache)
    return env


def pins_of(tool: str, stdout: str, run_dir: Path) -> dict[str, str]:
    """name -> version as the tool resolved it."""
    if tool == "xbuild":
        return {d["name"]: d["version"] for d in json.loads(stdout)["distributions"]}
    if tool == "uv":
        lines = (line.split("==") for line in stdout.splitlines() if "==" in line)
        return {name.strip(): version.strip() for name, version in lines}
    report = json.loads((run_dir / "pip-report.json").read_text(encoding="utf-8"))
    return {_canonical(i["metadata"]["name"]): i["metadata"]["version"] for i in report["install"]}


def _canonical(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


# --- measuring -----------------------------------------------------------------------------------


def measure(argv: Sequence[str], env: dict[str, str], run_dir: Path) -> tuple[float, float, str]:
    """(wall seconds, peak RSS in MiB, stdout) of one child; raises BenchError when it fails."""
    out_path, err_path = run_dir / "stdout", run_dir / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=run_dir)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = err_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BenchError(f"exit {process.returncode}: {' '.join(argv)}\n{tail}")
    # Linux reports KiB, macOS bytes.
    rss = usage.ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    return seconds, rss, out_path.read_text(encoding="utf-8")


def run_case(setup: Setup, case: Case, cache: Path, index: int) -> Sample:
    run_dir = setup.work / "runs" / f"{case.target}-{case.tool}-{case.state}-{index}"
    run_dir.mkdir(parents=True)
    argv = command(setup, case, run_dir)
    seconds, rss, stdout = measure(argv, environment(case.tool, cache), run_dir)
    sample = Sample(case=case, seconds=seconds, max_rss_mib=rss, pins=pins_of(case.tool, stdout, run_dir))
    print(
        f"  {case.target:<24} {case.tool:<6} {case.state:<4} {seconds:7.2f} s {rss:7.1f} MiB"
        f" {len(sample.pins):3d} pins",
        file=sys.stderr,
    )
    return sample


def bench_target(setup: Setup, target: str, cold: int, warm: int) -> list[Sample]:
    """Cold runs in fresh cache dirs, then warm runs in the last one; the tools take turns."""
    samples: list[Sample] = []
    caches: dict[str, Path] = {}
    for i in range(cold):
        for tool in TOOLS:
            caches[tool] = Path(tempfile.mkdtemp(prefix=f"{tool}-cache-", dir=setup.work))
            samples.append(run_case(setup, Case(tool=tool, target=target, state="cold"), caches[tool], i))
    for i in range(warm):
        for tool in TOOLS:
            samples.append(run_case(setup, Case(tool=tool, target=target, state="warm"), caches[tool], i))
    return samples


# --- reporting -----------------------------------------------------------------------------------


def median_of(samples: Sequence[Sample], pick: Callable[[Sample], float], case: Case) -> float | None:
    values = [pick(s) for s in samples if s.case == case]
    return statistics.median(values) if values else None


def _seconds(s: Sample) -> float:
    return s.seconds


def _rss(s: Sample) -> float:
    return s.max_rss_mib


def table(samples: Sequence[Sample], targets: Sequence[str]) -> list[str]:
    lines = [
        f"{'target':<24} {'state':<5} {'tool':<6} {'runs':>4} {'median s':>9} {'min s':>7} "
        f"{'max s':>7} {'peak RSS MiB':>12} {'pins':>4}"
    ]
    for target in targets:
        for state in ("cold", "warm"):
            for tool in TOOLS:
                case = Case(tool=tool, target=target, state=state)
                mine = [s for s in samples if s.case == case]
                if not mine:
                    continue
                secs = [s.seconds for s in mine]
                lines.append(
                    f"{target:<24} {state:<5} {tool:<6} {len(mine):>4} {statistics.median(secs):>9.2f} "
                    f"{min(secs):>7.2f} {max(secs):>7.2f} {statistics.median(_rss(s) for s in mine):>12.1f} "
                    f"{len(mine[-1].pins):>4}"
                )
    return lines


def ratios(samples: Sequence[Sample], targets: Sequence[str]) -> list[str]:
    lines = [
        f"{'target':<24} {'state':<5} {'time xbuild/uv':>14} {'time xbuild/pip':>15} "
        f"{'RSS xbuild/uv':>13} {'RSS xbuild/pip':>14}"
    ]
    for target in targets:
        for state in ("cold", "warm"):
            cells = []
            for pick in (_seconds, _rss):
                ours = median_of(samples, pick, Case(tool="xbuild", target=target, state=state))
                for other in ("uv", "pip"):
                    theirs = median_of(samples, pick, Case(tool=other, target=target, state=state))
                    cells.append(f"{ours / theirs:.2f}x" if ours and theirs else "-")
            lines.append(
                f"{target:<24} {state:<5} {cells[0]:>14} {cells[1]:>15} {cells[2]:>13} {cells[3]:>14}"
            )
    return lines


def agreement(samples: Sequence[Sample], targets: Sequence[str]) -> list[str]:
    """Where xbuild's pins differ from uv's and pip's (last run of each)."""
    lines = []
    for target in targets:
        last = {s.case.tool: s.pins for s in samples if s.case.target == target}
        ours = last.get("xbuild", {})
        for other in ("uv", "pip"):
            theirs = last.get(other, {})
            diff = sorted(
                f"{n}: {ours.get(n, '-')} vs {theirs.get(n, '-')}"
                for n in set(ours) | set(theirs)
                if ours.get(n) != theirs.get(n)
            )
            verdict = "same pins" if not diff else f"{len(diff)} differ: " + "; ".join(diff)
            lines.append(f"{target:<24} xbuild vs {other:<3} {verdict}")
    return lines


# --- profiling -----------------------------------------------------------------------------------

# Plumbing between a caller and the work it waits for; the frame above it names the work.
_PLUMBING = ("_Memo.", "_fill ")
_WAITING = ("acquire (", "wait (", "result (")
PACKAGE = Path(xbuild.__file__).resolve().parent


def ensure_py_spy(venv: Path) -> Path:
    """py-spy samples every thread, idle ones included; cProfile would see only the main thread."""
    spy = _bin(venv, "py-spy")
    if not spy.exists():
        subprocess.run([str(_bin(venv, "python")), "-m", "pip", "install", "--quiet", "py-spy"], check=True)
    return spy


def profile(setup: Setup, target: str, out_dir: Path, top: int) -> list[str]:
    """xbuild once cold and once warm under py-spy; where each thread's wall time went."""
    spy = ensure_py_spy(setup.venv)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="xbuild-profile-cache-", dir=setup.work))
    lines = []
    for state in ("cold", "warm"):
        run_dir = setup.work / "runs" / f"profile-{target}-{state}"
        run_dir.mkdir(parents=True)
        raw = out_dir / f"xbuild-{target}-{state}.txt"
        argv = command(setup, Case(tool="xbuild", target=target, state=state), run_dir)
        record = [str(spy), "record", "--idle", "--threads", "--nonblocking", "--full-filenames"]
        record += ["--rate", "100", "--format", "raw", "--output", str(raw), "--", *argv]
        seconds, _, _ = measure(record, environment("xbuild", cache), run_dir)
        lines.append(f"--- xbuild {target} {state} under py-spy: {seconds:.2f} s wall; stacks in {raw}")
        lines += summarize_stacks(raw.read_text(encoding="utf-8"), top)
    return lines


def summarize_stacks(raw: str, top: int) -> list[str]:
    """Samples per thread group, by the innermost xbuild function on the stack."""
    groups: dict[str, dict[str, int]] = {"main thread": {}, "worker threads": {}}
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        # py-spy does not always know a thread's name; a worker's stack starts in threading.
        worker = any(f.startswith("Thread._bootstrap ") for f in frames[1:3])
        group = "worker threads" if worker else "main thread"
        bucket = groups[group]
        label = _stack_label(frames[1:])
        bucket[label] = bucket.get(label, 0) + int(count)
    lines = []
    for group, counts in groups.items():
        total = sum(counts.values()) or 1
        lines.append(f"  {group}: {total} samples")
        for label, n in sorted(counts.items(), key=lambda kv: kv[1], reverse=True)[:top]:
            lines.append(f"    {100 * n / total:5.1f}%  {label}")
    return lines


def _stack_label(frames: Sequence[str]) -> str:
    if not frames:
        return "no Python frame"
    mark = f"({PACKAGE}/"
    ours = [f for f in frames if mark in f and not f.startswith(_PLUMBING)]
    if not ours:
        if any("_find_and_load" in f for f in frames):
            return "importing modules"
        return "idle in the thread pool" if any("_worker" in f for f in frames) else frames[-1]
    where = ours[-1].split(":")[0].replace(mark, "(xbuild/") + ")"
    if any(w in frames[-1] for w in _WAITING):
        return f"waiting in {where}"
    if any("_find_and_load" in f for f in frames[frames.index(ours[-1]) :]):
        return f"importing modules for {where}"
    return where


# --- main ----------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("requirements", nargs="*", default=list(REQUIREMENTS), metavar="REQ")
    parser.add_argument("--target", action="append", dest="targets", metavar="T", help="repeatable")
    parser.add_argument("--python-version", default=PYTHON)
    parser.add_argument("--cold", type=int, default=1, help="cold runs per tool and target (default 1)")
    parser.add_argument("--warm", type=int, default=3, help="warm runs per tool and target (default 3)")
    parser.add_argument("--index-url", default=PYPI)
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="also profile xbuild with py-spy into DIR"
    )
    parser.add_argument("--keep", action="store_true", help="keep the caches and outputs of the runs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.cold < 1:
        raise SystemExit("--cold must be at least 1: warm runs reuse the last cold cache")
    targets: list[str] = args.targets or list(TARGETS)
    root = bench_dir()
    venv = ensure_venv(root)
    (root / "work").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=root / "work"))
    (work / "requirements.in").write_text("\n".join(args.requirements) + "\n", encoding="utf-8")
    setup = Setup(
        requirements=tuple(args.requirements),
        python_version=args.python_version,
        index_url=args.index_url,
        work=work,
        xbuild=xbuild_argv(),
        venv=venv,
    )
    try:
        samples = [s for t in targets for s in bench_target(setup, t, args.cold, args.warm)]
        report = [
            f"requirements: {' '.join(setup.requirements)}",
            f"python {setup.python_version}, index {setup.index_url}, cold runs {args.cold}, "
            f"warm runs {args.warm}",
            f"{version_of(setup.xbuild)}; {version_of([str(_bin(venv, 'uv'))])}; "
            f"{version_of([str(_bin(venv, 'python')), '-m', 'pip']).split(' from ')[0]}",
            "",
            *table(samples, targets),
            "",
            *ratios(samples, targets),
            "",
            *agreement(samples, targets),
        ]
        if args.profile is not None:
            report += ["", *profile(setup, targets[0], args.profile, top=12)]
        print("\n".join(report))
        if args.json is not None:
            rows = [
                {**vars(s.case), "seconds": s.seconds, "max_rss_mib": s.max_rss_mib, "pins": s.pins}
                for s in samples
            ]
            args.json.write_text(json.dumps(rows, indent=1), encoding="utf-8")
    except BenchError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
