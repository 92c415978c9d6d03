"""Time `xbuild plan` against `uv pip compile` (and optionally pip) for a foreign target.

    .venv/bin/python bench/plan_vs_uv.py [--pairs 5] [--set 10] [--set 40] [--target T]...
                                         [--pip] [--profile DIR] [REQ...]

Each tool resolves the same requirements for the same target (wheels only: xbuild with
`--source-policy never`, uv with `--no-build`, pip with `--only-binary=:all:`), from the same index,
in three cache states, each measured as PAIRS back-to-back pairs (xbuild, uv; the order swaps
every pair so neither always runs second):

    cold          each tool gets a new, empty cache directory (XBUILD_CACHE_DIR, UV_CACHE_DIR)
    warm-online   the cache of the last cold run, with the network
    warm-offline  the same cache and `--offline` for both

The ratio of a state is the median of the per-pair xbuild/uv ratios, for wall time and for CPU
time (user + system of the child, from wait4(2)); CPU ratios are steadier on a shared machine.
The requirement sets are the issue's 10 requirements ("10") and 40 popular projects ("40");
positional REQ arguments replace them with one set of their own. The last table checks that
xbuild's pins equal uv's in every run.

uv and pip live in a scratch venv under ~/.cache/xbuild-bench (XBUILD_BENCH_DIR to move it), made
on first use and reused after; xbuild runs from a copy of the package under test installed into a
second one there (install_xbuild), as a user's install runs, without the editable finder. pip and
uv read no config files here, and no index settings come from the environment, so a mirror
configured for the machine does not make one tool look faster.
pip (`--pip`, one cold and one warm run per set) evaluates markers for the interpreter running it,
not for --python-version, so its pins can differ; uv is the reference for what the target gets.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
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
# 40 projects people install together: the 10 above plus 30 more, big pages (scipy, botocore via
# boto3, django) and many small ones, compiled and pure.
REQUIREMENTS_40 = (
    *REQUIREMENTS,
    "scipy",
    "matplotlib",
    "sqlalchemy",
    "httpx",
    "aiohttp",
    "uvicorn",
    "jinja2",
    "click",
    "rich",
    "pyyaml",
    "psycopg2-binary",
    "redis",
    "celery",
    "django",
    "flask",
    "scikit-learn",
    "pyarrow",
    "polars",
    "msgpack",
    "protobuf",
    "grpcio",
    "attrs",
    "tqdm",
    "pytz",
    "python-dateutil",
    "beautifulsoup4",
    "markupsafe",
    "regex",
    "ujson",
    "cffi",
)
SETS = {"10": REQUIREMENTS, "40": REQUIREMENTS_40}
TARGETS = ("x86_64-manylinux2014",)
PYTHON = "3.12"
PYPI = "https://pypi.org/simple"
STATES = ("cold", "warm-online", "warm-offline")
# Settings that are not about where packages come from, so they stay.
KEPT_ENV = frozenset({"PIP_CERT", "PIP_DEFAULT_TIMEOUT"})


@dataclass(frozen=True, kw_only=True)
class Setup:
    python_version: str
    index_url: str
    work: Path  # requirements files, reports and caches of this run
    xbuild: tuple[str, ...]  # argv prefix that runs xbuild
    venv: Path  # the scratch venv with uv and pip


@dataclass(frozen=True, kw_only=True)
class Case:
    tool: str
    target: str
    state: str  # one of STATES
    reqs: str  # name of the requirement set


@dataclass(frozen=True, kw_only=True)
class Sample:
    case: Case
    pair: int
    seconds: float
    cpu: float
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


def install_xbuild(root: Path) -> tuple[str, ...]:
    """The tree under test, installed as a user has it: a copy of the `xbuild` package (the one
    PYTHONPATH picks, else the checkout) in the site-packages of root/xbuild-venv, compiled as
    `pip install` compiles it, with this venv's site-packages on a plain .pth line for the
    dependencies. Not this venv itself: its editable install imports a path finder (pathlib,
    importlib.util, fnmatch, urllib.parse) at every interpreter start-up, 7-10 ms that no
    installed xbuild pays, and a third of a replayed plan."""
    venv = root / "xbuild-venv"
    if not _bin(venv, "python").exists():
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--clear", str(venv)], check=True)
    site = Path(
        subprocess.run(
            [str(_bin(venv, "python")), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    (site / "xbuild-bench-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    copy = site / "xbuild"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(Path(xbuild.__file__).parent, copy, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(copy)], check=True, stdout=subprocess.DEVNULL
    )
    return (str(_bin(venv, "python")), "-m", "xbuild")


def version_of(argv: Sequence[str]) -> str:
    result = subprocess.run([*argv, "--version"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).strip().splitlines()[0] if result.returncode == 0 else "?"


# --- the commands --------------------------------------------------------------------------------


def pip_platforms(target: str, python_version: str) -> tuple[str, ...]:
    """Every manylinux tag the target accepts, spelt out: pip takes them as they are given."""
    resolved = resolve_target(target, python_version, None)
    assert resolved is not None
    return resolved.platform_tags


def command(setup: Setup, case: Case, run_dir: Path) -> list[str]:
    reqs = setup.work / f"requirements-{case.reqs}.in"
    offline = ["--offline"] if case.state == "warm-offline" else []
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
            *offline,
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
            *offline,
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
        *(["--no-index"] if offline else []),
        "-r",
        str(reqs),
    ]


def environment(tool: str, cache: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k in KEPT_ENV or not (k.startswith(("PIP_", "UV_", "XBUILD_")) or k == "PYTHONPATH")
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


@dataclass(frozen=True, kw_only=True)
class Measured:
    seconds: float
    cpu: float
    max_rss_mib: float
    stdout: str


def measure(argv: Sequence[str], env: dict[str, str], run_dir: Path) -> Measured:
    """Wall and CPU seconds, peak RSS and stdout of one child; raises BenchError when it fails."""
    out_path, err_path = run_dir / "stdout", run_dir / "stderr"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        # One working directory for every run, as a user re-running a command has one: xbuild
        # replays an unchanged offline plan only where it was recorded. Outputs go to run_dir.
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=run_dir.parent)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = err_path.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise BenchError(f"exit {process.returncode}: {' '.join(argv)}\n{tail}")
    # Linux reports KiB, macOS bytes.
    rss = usage.ru_maxrss / (1 << 20 if sys.platform == "darwin" else 1 << 10)
    return Measured(
        seconds=seconds,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_mib=rss,
        stdout=out_path.read_text(encoding="utf-8"),
    )


def run_case(setup: Setup, case: Case, cache: Path, pair: int) -> Sample:
    run_dir = setup.work / "runs" / f"{case.reqs}-{case.target}-{case.tool}-{case.state}-{pair}"
    run_dir.mkdir(parents=True)
    argv = command(setup, case, run_dir)
    got = measure(argv, environment(case.tool, cache), run_dir)
    sample = Sample(
        case=case,
        pair=pair,
        seconds=got.seconds,
        cpu=got.cpu,
        max_rss_mib=got.max_rss_mib,
        pins=pins_of(case.tool, got.stdout, run_dir),
    )
    print(
        f"  {case.reqs:>3} {case.target:<22} {case.state:<12} {case.tool:<6} {got.seconds:6.2f} s wall"
        f" {got.cpu:6.2f} s CPU {got.max_rss_mib:6.1f} MiB {len(sample.pins):3d} pins",
        file=sys.stderr,
    )
    return sample


def bench_set(setup: Setup, reqs: str, target: str, pairs: int, pip: bool) -> list[Sample]:
    """PAIRS pairs per state; cold pairs get new caches, warm ones reuse the last cold pair's."""
    samples: list[Sample] = []
    caches: dict[str, Path] = {}
    tools = ("xbuild", "uv")
    for state in STATES:
        for pair in range(pairs):
            order = tools if pair % 2 == 0 else tools[::-1]
            for tool in order:
                if state == "cold":
                    caches[tool] = Path(tempfile.mkdtemp(prefix=f"{tool}-cache-", dir=setup.work))
                case = Case(tool=tool, target=target, state=state, reqs=reqs)
                samples.append(run_case(setup, case, caches[tool], pair))
    if pip:
        pip_cache = Path(tempfile.mkdtemp(prefix="pip-cache-", dir=setup.work))
        for state in ("cold", "warm-online"):
            samples.append(
                run_case(setup, Case(tool="pip", target=target, state=state, reqs=reqs), pip_cache, 0)
            )
    return samples


# --- reporting -----------------------------------------------------------------------------------


def _groups(samples: Sequence[Sample]) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys((s.case.reqs, s.case.target, s.case.state) for s in samples))


def _of(samples: Sequence[Sample], tool: str, group: tuple[str, str, str]) -> list[Sample]:
    reqs, target, state = group
    return [s for s in samples if s.case == Case(tool=tool, target=target, state=state, reqs=reqs)]


def pair_ratios(samples: Sequence[Sample], group: tuple[str, str, str], cpu: bool) -> list[float]:
    ours = {s.pair: s for s in _of(samples, "xbuild", group)}
    theirs = {s.pair: s for s in _of(samples, "uv", group)}

    def pick(s: Sample) -> float:
        return s.cpu if cpu else s.seconds

    return [pick(ours[p]) / pick(theirs[p]) for p in sorted(ours.keys() & theirs.keys()) if pick(theirs[p])]


def table(samples: Sequence[Sample]) -> list[str]:
    lines = [
        f"{'set':>3} {'target':<22} {'state':<12} {'tool':<6} {'runs':>4} {'median s':>9} {'min s':>6} "
        f"{'max s':>6} {'CPU s':>6} {'RSS MiB':>8} {'pins':>4}"
    ]
    for group in _groups(samples):
        for tool in ("xbuild", "uv", "pip"):
            mine = _of(samples, tool, group)
            if not mine:
                continue
            secs = [s.seconds for s in mine]
            lines.append(
                f"{group[0]:>3} {group[1]:<22} {group[2]:<12} {tool:<6} {len(mine):>4} "
                f"{statistics.median(secs):>9.2f} {min(secs):>6.2f} {max(secs):>6.2f} "
                f"{statistics.median(s.cpu for s in mine):>6.2f} "
                f"{statistics.median(s.max_rss_mib for s in mine):>8.1f} {len(mine[-1].pins):>4}"
            )
    return lines


def ratios(samples: Sequence[Sample]) -> list[str]:
    lines = [
        f"{'set':>3} {'target':<22} {'state':<12} {'pairs':>5} {'wall xbuild/uv':>14} "
        f"{'(min-max)':>11} {'CPU xbuild/uv':>13}"
    ]
    for group in _groups(samples):
        wall, cpu = pair_ratios(samples, group, cpu=False), pair_ratios(samples, group, cpu=True)
        if not wall:
            continue
        lines.append(
            f"{group[0]:>3} {group[1]:<22} {group[2]:<12} {len(wall):>5} {statistics.median(wall):>13.2f}x "
            f"{min(wall):>5.2f}-{max(wall):<5.2f} {statistics.median(cpu):>12.2f}x"
        )
    return lines


def agreement(samples: Sequence[Sample]) -> list[str]:
    """Whether every xbuild run pinned what the uv run of its pair pinned (pip: its last run)."""
    lines = []
    for reqs, target in dict.fromkeys((s.case.reqs, s.case.target) for s in samples):
        mine = [s for s in samples if (s.case.reqs, s.case.target) == (reqs, target)]
        diffs: set[str] = set()
        for x in (s for s in mine if s.case.tool == "xbuild"):
            uv = next(
                s for s in mine if s.case.tool == "uv" and (s.case.state, s.pair) == (x.case.state, x.pair)
            )
            diffs |= _diff(x.pins, uv.pins)
        runs = sum(s.case.tool == "xbuild" for s in mine)
        verdict = (
            f"same pins in all {runs} pairs"
            if not diffs
            else f"{len(diffs)} differ: " + "; ".join(sorted(diffs))
        )
        lines.append(f"{reqs:>3} {target:<22} xbuild vs uv  {verdict}")
        pips = [s for s in mine if s.case.tool == "pip"]
        if pips:
            last = next(s for s in reversed(mine) if s.case.tool == "xbuild")
            diff = _diff(last.pins, pips[-1].pins)
            verdict = "same pins" if not diff else f"{len(diff)} differ: " + "; ".join(sorted(diff))
            lines.append(f"{reqs:>3} {target:<22} xbuild vs pip {verdict}")
    return lines


def _diff(ours: dict[str, str], theirs: dict[str, str]) -> set[str]:
    return {
        f"{n}: {ours.get(n, '-')} vs {theirs.get(n, '-')}"
        for n in ours.keys() | theirs.keys()
        if ours.get(n) != theirs.get(n)
    }


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


def profile(setup: Setup, target: str, reqs: str, out_dir: Path, top: int) -> list[str]:
    """xbuild once per state under py-spy (warm ones reuse its cold cache): where thread time went."""
    spy = ensure_py_spy(setup.venv)
    out_dir.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="xbuild-profile-cache-", dir=setup.work))
    lines = []
    for state in STATES:
        run_dir = setup.work / "runs" / f"profile-{target}-{state}"
        run_dir.mkdir(parents=True)
        raw = out_dir / f"xbuild-{target}-{state}.txt"
        argv = command(setup, Case(tool="xbuild", target=target, state=state, reqs=reqs), run_dir)
        record = [str(spy), "record", "--idle", "--threads", "--nonblocking", "--full-filenames"]
        record += ["--rate", "100", "--format", "raw", "--output", str(raw), "--", *argv]
        seconds = measure(record, environment("xbuild", cache), run_dir).seconds
        lines.append(
            f"--- xbuild {reqs} {target} {state} under py-spy: {seconds:.2f} s wall; stacks in {raw}"
        )
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
    parser.add_argument("requirements", nargs="*", metavar="REQ", help="one set of your own")
    parser.add_argument("--set", action="append", dest="sets", choices=sorted(SETS), help="repeatable")
    parser.add_argument("--target", action="append", dest="targets", metavar="T", help="repeatable")
    parser.add_argument("--python-version", default=PYTHON)
    parser.add_argument("--pairs", type=int, default=5, help="xbuild/uv pairs per state (default 5)")
    parser.add_argument("--pip", action="store_true", help="also run pip once cold and once warm")
    parser.add_argument("--index-url", default=PYPI)
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument(
        "--profile", type=Path, metavar="DIR", help="also profile xbuild with py-spy into DIR"
    )
    parser.add_argument("--keep", action="store_true", help="keep the caches and outputs of the runs")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.pairs < 1:
        raise SystemExit("--pairs must be at least 1")
    targets: list[str] = args.targets or list(TARGETS)
    sets = {"own": tuple(args.requirements)} if args.requirements else {n: SETS[n] for n in args.sets or SETS}
    root = bench_dir()
    venv = ensure_venv(root)
    (root / "work").mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=root / "work"))
    for name, reqs in sets.items():
        (work / f"requirements-{name}.in").write_text("\n".join(reqs) + "\n", encoding="utf-8")
    setup = Setup(
        python_version=args.python_version,
        index_url=args.index_url,
        work=work,
        xbuild=install_xbuild(root),
        venv=venv,
    )
    try:
        samples = [s for n in sets for t in targets for s in bench_set(setup, n, t, args.pairs, args.pip)]
        report = [
            *(f"set {name} ({len(reqs)}): {' '.join(reqs)}" for name, reqs in sets.items()),
            f"python {setup.python_version}, index {setup.index_url}, {args.pairs} pairs per state; "
            f"{os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} at the end",
            f"{version_of(setup.xbuild)}; {version_of([str(_bin(venv, 'uv'))])}",
            "",
            *table(samples),
            "",
            "ratios: median of the per-pair ratios",
            *ratios(samples),
            "",
            *agreement(samples),
        ]
        if args.profile is not None:
            report += ["", *profile(setup, targets[0], next(iter(sets)), args.profile, top=12)]
        print("\n".join(report))
        if args.json is not None:
            rows = [
                {
                    **vars(s.case),
                    "pair": s.pair,
                    "seconds": s.seconds,
                    "cpu": s.cpu,
                    "max_rss_mib": s.max_rss_mib,
                    "pins": s.pins,
                }
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
