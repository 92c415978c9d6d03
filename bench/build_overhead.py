"""Time `xbuild build` of one sdist against a bare `docker run` of the same build in the same image.

    .venv/bin/python bench/build_overhead.py [--runs 3] [--markupsafe [REQ]] [--profile DIR] [--json F]

For each case (the tiny C extension of tests/build_helpers.py, and with --markupsafe the real
MarkupSafe sdist from PyPI built with --no-binary) the bench measures:

  xbuild full-cold      `xbuild build` with an empty XBUILD_CACHE_DIR, once, for information: it
                        also resolves and downloads the build environment's wheels. Its cache is
                        the warm cache W of every later run.
  xbuild cold           `xbuild build` with W minus its built-wheel cache (W/built removed before
                        each run): build-environment wheels, sdists, index pages, metadata and host
                        probes stay warm, so this measures orchestration, not downloads.
  bare same-steps       `docker run --rm --network none` of the same image with the same wheels
                        (W/buildenv/<key>, the very directory xbuild mounts) and the same sdist
                        mounted, running in ONE `sh -c` the same commands xbuild runs through
                        separate execs: venv, pip upgrade, pip install of the build requirements,
                        unpack, `python -m build --wheel --no-isolation`, auditwheel repair. Same
                        environment variables and paths, so the wheel should be byte-identical.
  bare by-hand          what a careful user scripts: the same minus xbuild's arch check and its
                        separate `pip install --upgrade pip` (one pip install of the build deps).
  bare lean             (--lean) a faster recipe for the same wheel: `venv --without-pip`, pip
                        run from its mounted wheel, `pip install --no-compile` of the build deps.
  xbuild cached         `xbuild build` again: served from W/built, no container.
  xbuild cached offline the same with --offline.
  xbuild plan [offline] `xbuild plan` with the same arguments and W: the planning share of `cached`.
  xbuild build --help   interpreter start-up plus what `xbuild build` imports before it runs: the
                        floor of the command.

Runs of the heavy kinds rotate their order each round, so a slow minute hurts all of them alike.
Ratios use medians; "overhead" is xbuild cold minus the bare run. The goals of the issue are
checked: cold overhead under 20 % of the bare same-steps run, cached under one second.

The last cold xbuild run and the last bare run of each case also get an engine-side timeline
from `docker events` (container create/start, each exec, kill, destroy), which shows where the
time outside the container goes. --profile DIR adds cProfile runs (cold and cached) and
`-X importtime` of the CLI.

Every container the bench starts is named and labelled, removed by --rm, and removed by name if a
run is interrupted; containers of xbuild runs are checked by their run label afterwards.
Work files go to a temporary directory under ~/.cache/xbuild-bench/build-overhead
(XBUILD_BENCH_DIR moves the root), removed at the end unless --keep.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.util
import itertools
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from xbuild.build.buildenv import environment_folder, environment_requirements
from xbuild.build.in_container import image_python, repair_platform, source_root
from xbuild.cli.options import resolve_target
from xbuild.images import find_image
from xbuild.target import Target

REPO = Path(__file__).resolve().parent.parent
TARGET = "debian-bullseye-x86_64"
MARKUPSAFE = "markupsafe==3.0.2"
BENCH_LABEL = "io.xbuild.bench"
XBUILD_RUN_LABEL = "io.xbuild.run"  # xbuild.build.container.LABEL_RUN
SOURCE_DATE_EPOCH = 315532800  # xbuild.build.orchestrate.BuildSettings.source_date_epoch
# The container side, with xbuild's own paths so that the wheels compare byte for byte (the build
# directory ends up in the extension's debug info).
SRC, WHEELS, OUT = "/xbuild/src", "/xbuild/wheels", "/xbuild/out"
VENV = "/tmp/xbuild-frontend"
CONTAINER_ENV = {
    "SOURCE_DATE_EPOCH": str(SOURCE_DATE_EPOCH),
    "PIP_NO_INDEX": "1",
    "PIP_FIND_LINKS": WHEELS,
    "HOME": "/tmp",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PIP_NO_CACHE_DIR": "1",
}

FULL_COLD = "xbuild full-cold"
COLD = "xbuild cold"
SAME = "bare same-steps"
HAND = "bare by-hand"
LEAN = "bare lean"
CACHED = "xbuild cached"
CACHED_OFFLINE = "xbuild cached offline"
PLAN = "xbuild plan"
PLAN_OFFLINE = "xbuild plan offline"
START = "xbuild build --help"
KINDS = (FULL_COLD, COLD, SAME, HAND, LEAN, CACHED, CACHED_OFFLINE, PLAN, PLAN_OFFLINE, START)
HEAVY = (COLD, SAME, HAND)
BARE_NAMES = {SAME: "same", HAND: "hand", LEAN: "lean"}
LIGHT = (CACHED, CACHED_OFFLINE, PLAN, PLAN_OFFLINE, START)
COLD_GOAL = 0.20
CACHED_GOAL = 1.0


class BenchError(Exception):
    pass


@dataclass(frozen=True, kw_only=True)
class Case:
    name: str
    project: str  # canonical name, as in the sdist's file name
    args: tuple[str, ...]  # requirement and source options, shared by `build` and `plan`
    links: Path | None  # the find-links directory holding the sdist, if it is local


@dataclass(frozen=True, kw_only=True)
class Sample:
    case: str
    kind: str
    round: int
    seconds: float
    cpu_seconds: float  # user + system of the child and what it waited for (not the engine's)


@dataclass(frozen=True, kw_only=True)
class Event:
    seconds: float  # since the child started
    action: str


@dataclass(frozen=True, kw_only=True)
class Timeline:
    kind: str
    total: float
    events: tuple[Event, ...]


@dataclass(frozen=True, kw_only=True)
class Baseline:
    """Everything the bare run needs, taken from the warm cache and the plan xbuild carried out."""

    image: str
    image_id: str
    python: str
    arch: str
    sdist: Path
    root: str  # the sdist's top-level directory
    wheels: Path  # W/buildenv/<key>: the wheels xbuild mounts
    requirements: tuple[str, ...]
    repair: str | None  # auditwheel policy
    wheel_name: str  # what xbuild placed
    wheel_sha256: str


@dataclass
class Bench:
    work: Path
    xbuild: tuple[str, ...]
    target_name: str  # as given on the command line
    target: Target
    token: str
    env: dict[str, str]
    started: list[str]  # names of bare containers, checked at the end

    def environment(self, cache: Path) -> dict[str, str]:
        return {**self.env, "XBUILD_CACHE_DIR": str(cache)}


# --- running and timing --------------------------------------------------------------------------


def bench_dir() -> Path:
    override = os.environ.get("XBUILD_BENCH_DIR", "").strip()
    return (Path(override) if override else Path.home() / ".cache" / "xbuild-bench") / "build-overhead"


def xbuild_argv() -> tuple[str, ...]:
    script = Path(sys.executable).with_name("xbuild")
    return (str(script),) if script.exists() else (sys.executable, "-m", "xbuild")


def timed(argv: Sequence[str], env: dict[str, str], run_dir: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, start as time.time()) of one child; BenchError when it fails."""
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "argv").write_text(shlex.join(argv) + "\n", encoding="utf-8")
    with (run_dir / "stdout").open("wb") as out, (run_dir / "stderr").open("wb") as err:
        wall_start = time.time()
        start = time.perf_counter()
        process = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=run_dir)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()  # Ctrl-C reached the child too; do not leave it running
            process.wait()
            raise
        seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code
    if code != 0:
        tail = (run_dir / "stderr").read_text(encoding="utf-8", errors="replace")[-3000:]
        raise BenchError(f"exit {code}: {shlex.join(argv)}\n{tail}")
    return seconds, usage.ru_utime + usage.ru_stime, wall_start


def docker(*args: str, check: bool = True) -> str:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise BenchError(f"docker {' '.join(args)}: {result.stderr.strip()}")
    return result.stdout


def engine_events(label: str, since: float, until: float, start: float) -> tuple[Event, ...]:
    """Container events of one label between two wall times, relative to the child's start."""
    out = docker(
        "events",
        "--since",
        f"{since - 1:.3f}",
        "--until",
        f"{until + 0.5:.3f}",
        "--filter",
        f"label={label}",
        "--filter",
        "type=container",
        "--format",
        "{{json .}}",
        check=False,
    )
    events = []
    for line in out.splitlines():
        data = json.loads(line)
        events.append(Event(seconds=int(data["timeNano"]) / 1e9 - start, action=str(data["Action"])))
    return tuple(events)


def xbuild_runs(logs: Path) -> set[str]:
    """Run ids of xbuild runs that started a build: each has a log folder named after it."""
    return {p.name for p in logs.iterdir()} if logs.is_dir() else set()


def leftover_xbuild_containers(run_ids: set[str]) -> int:
    """Remove what xbuild runs of this bench left behind (by their own run label); how many."""
    found = 0
    for run_id in sorted(run_ids):
        ids = docker("ps", "-aq", "--filter", f"label={XBUILD_RUN_LABEL}={run_id}", check=False).split()
        for cid in ids:
            docker("rm", "-f", cid, check=False)
        found += len(ids)
    return found


# --- the commands --------------------------------------------------------------------------------


def build_argv(bench: Bench, case: Case, out: Path, *, offline: bool) -> list[str]:
    return [
        *bench.xbuild,
        "build",
        *case.args,
        "--python-platform",
        bench.target_name,
        "-o",
        str(out),
        *(["--offline"] if offline else []),
    ]


def plan_argv(bench: Bench, case: Case, *, offline: bool) -> list[str]:
    return [
        *bench.xbuild,
        "plan",
        *case.args,
        "--python-platform",
        bench.target_name,
        *(["--offline"] if offline else []),
    ]


def bare_script(base: Baseline, kind: str) -> str:
    """The in-container commands of one bare kind: SAME, HAND or LEAN (see the module docstring)."""
    venv_python = f"{VENV}/bin/python"
    archive = shlex.quote(f"{SRC}/{base.sdist.name}")
    unpack = (
        f"python3 -m zipfile -e {archive} /tmp/src"
        if base.sdist.name.endswith(".zip")
        else f"tar -xf {archive} -C /tmp/src"
    )
    requirements = shlex.join(base.requirements)
    steps = []
    if kind == SAME:
        steps += [
            f'm=$(uname -m); [ "$m" = "{base.arch}" ] || {{ echo "wrong arch $m" >&2; exit 1; }}',
            f"{base.python} -m venv {VENV}",
            f"{venv_python} -m pip install -q --upgrade pip",
            f"{venv_python} -m pip install -q {requirements}",
        ]
    elif kind == HAND:
        steps += [f"{base.python} -m venv {VENV}", f"{venv_python} -m pip install -q {requirements}"]
    else:  # no ensurepip, pip runs from its mounted wheel, no byte-compiling of the throwaway venv
        steps += [
            f"{base.python} -m venv --without-pip {VENV}",
            f'set -- {WHEELS}/pip-*.whl; {venv_python} "$1/pip" install -q --no-compile {requirements}',
        ]
    steps += [
        f"mkdir -p /tmp/src && {unpack} && mv /tmp/src/{shlex.quote(base.root)} /tmp/src/root",
        f"{venv_python} -m build --wheel --no-isolation --outdir /tmp/dist /tmp/src/root",
        f"PATH={VENV}/bin:$PATH {venv_python} -m auditwheel repair --plat {base.repair} -w {OUT} "
        "/tmp/dist/*.whl"
        if base.repair
        else f"cp /tmp/dist/*.whl {OUT}/",
    ]
    # A time stamp on stderr before each step and at the end (a `date` each, ~1 ms) gives the
    # bare run the same per-step timeline as xbuild's execs.
    lines = ["set -e"]
    for step in steps:
        lines += [_mark(step_label(step)), step]
    return "\n".join([*lines, _mark(END_MARK)])


MARK = "@@xbuild-bench-step"
END_MARK = "end"


def _mark(label: str) -> str:
    return f'printf "{MARK} %s %s\\n" "$(date +%s.%N)" {shlex.quote(label)} >&2'


def step_label(command: str) -> str:
    """A short name for one build step, the same for xbuild's exec and the bare script's line."""
    for needle, label in (
        ("uname -m", "arch check"),
        (" -m venv ", "venv"),
        ("--upgrade pip", "pip upgrade"),
        ("pip install", "install build deps"),
        ('/pip" install', "install build deps"),
        ("tar -xf", "unpack"),
        ("zipfile -e", "unpack"),
        (" -m build ", "build wheel"),
        ("auditwheel", "repair"),
    ):
        if needle in command:
            return label
    return command[:40]


def step_events(stderr: Path, start: float) -> list[Event]:
    """The bare script's time stamps as exec_start/exec_die pairs, like xbuild's execs."""
    marks = []
    for line in stderr.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(MARK + " "):
            _, stamp, label = line.split(" ", 2)
            marks.append((float(stamp) - start, label))
    events = []
    for (t, label), (t_next, _) in itertools.pairwise(marks):
        events += [Event(seconds=t, action=f"exec_start: {label}"), Event(seconds=t_next, action="exec_die")]
    return events


def bare_argv(bench: Bench, base: Baseline, out: Path, name: str, kind: str) -> list[str]:
    user = [] if os.getuid() == 0 else ["--user", f"{os.getuid()}:{os.getgid()}"]
    mounts = (
        (base.sdist.parent, SRC, True),
        (base.wheels, WHEELS, True),
        (out, OUT, False),
    )
    mount_args = [
        a
        for source, target, ro in mounts
        for a in ("--mount", f"type=bind,source={source},target={target}" + (",readonly" if ro else ""))
    ]
    env_args = [a for k, v in CONTAINER_ENV.items() for a in ("-e", f"{k}={v}")]
    return [
        "docker",
        "run",
        "--rm",
        "--name",
        name,
        "--label",
        f"{BENCH_LABEL}={bench.token}",
        "--label",
        f"{BENCH_LABEL}.name={name}",
        "--network",
        "none",
        *user,
        *mount_args,
        *env_args,
        base.image,
        "sh",
        "-c",
        bare_script(base, kind),
    ]


# --- one measured run of each kind ---------------------------------------------------------------


def manifest_wheel(out: Path) -> dict[str, str]:
    data = json.loads((out / "xbuild-manifest.json").read_text(encoding="utf-8"))
    wheels = data["wheels"]
    if len(wheels) != 1:
        raise BenchError(f"{out}: expected one wheel in the manifest, found {len(wheels)}")
    return {k: str(v) for k, v in wheels[0].items()}


def run_xbuild(
    bench: Bench,
    case: Case,
    kind: str,
    rnd: int,
    cache: Path,
    seen_runs: set[str],
) -> tuple[Sample, dict[str, str] | None, Timeline | None]:
    run_dir = bench.work / case.name / "runs" / f"{rnd}-{kind.replace(' ', '-')}"
    out = run_dir / "out"
    env = bench.environment(cache)
    offline = kind in (CACHED_OFFLINE, PLAN_OFFLINE)
    if kind in (PLAN, PLAN_OFFLINE):
        argv = plan_argv(bench, case, offline=offline)
    elif kind == START:
        argv = [*bench.xbuild, "build", "--help"]
    else:
        argv = build_argv(bench, case, out, offline=offline)
    if kind == COLD:
        shutil.rmtree(cache / "built", ignore_errors=True)
    before = xbuild_runs(cache / "logs")
    try:
        seconds, cpu, wall_start = timed(argv, env, run_dir)
    finally:
        new_runs = xbuild_runs(cache / "logs") - before
        seen_runs.update(new_runs)
        if leftover_xbuild_containers(new_runs):
            print(f"  !! {kind}: xbuild left containers of run {sorted(new_runs)} (removed)", file=sys.stderr)
    sample = Sample(case=case.name, kind=kind, round=rnd, seconds=seconds, cpu_seconds=cpu)
    if kind not in (FULL_COLD, COLD, CACHED, CACHED_OFFLINE):
        return sample, None, None
    wheel = manifest_wheel(out)
    want = "built" if kind in (FULL_COLD, COLD) else "cache"
    if wheel["origin"] != want:
        raise BenchError(f"{case.name} {kind}: the wheel's origin is {wheel['origin']}, expected {want}")
    timeline = None
    if len(new_runs) == 1:
        label = f"{XBUILD_RUN_LABEL}={next(iter(new_runs))}"
        events = engine_events(label, wall_start, wall_start + seconds, wall_start)
        timeline = Timeline(kind=kind, total=seconds, events=events)
    return sample, wheel, timeline


def run_bare(bench: Bench, case: Case, kind: str, rnd: int, base: Baseline) -> tuple[Sample, Timeline, str]:
    run_dir = bench.work / case.name / "runs" / f"{rnd}-{kind.replace(' ', '-')}"
    out = run_dir / "out"
    out.mkdir(parents=True)
    name = f"xbuild-bench-{bench.token}-{case.name}-{rnd}-{BARE_NAMES[kind]}"
    argv = bare_argv(bench, base, out, name, kind)
    bench.started.append(name)
    try:
        seconds, cpu, wall_start = timed(argv, dict(os.environ), run_dir)
    except BaseException:
        docker("rm", "-f", name, check=False)  # interrupted: `docker run --rm` may not have
        raise
    wheels = sorted(out.glob("*.whl"))
    if [w.name for w in wheels] != [base.wheel_name]:
        raise BenchError(f"{case.name} {kind}: produced {[w.name for w in wheels]}, xbuild {base.wheel_name}")
    same = "identical to xbuild's" if sha256_file(wheels[0]) == base.wheel_sha256 else "differs from xbuild's"
    events = engine_events(f"{BENCH_LABEL}.name={name}", wall_start, wall_start + seconds, wall_start)
    steps = step_events(run_dir / "stderr", wall_start)
    events = tuple(sorted((*events, *steps), key=lambda e: e.seconds))
    sample = Sample(case=case.name, kind=kind, round=rnd, seconds=seconds, cpu_seconds=cpu)
    return sample, Timeline(kind=kind, total=seconds, events=events), same


def baseline_for(bench: Bench, case: Case, cache: Path, wheel: dict[str, str]) -> Baseline:
    image = wheel["image"]
    sdist = _sdist(case, cache)
    repair = repair_platform(bench.target)
    requirements = environment_requirements(sdist, repair=repair is not None)
    wheels = environment_folder(cache, wheel["image_id"], bench.target, image, requirements)
    if not (wheels / ".complete").is_file():
        raise BenchError(f"{case.name}: no complete build-environment wheel directory at {wheels}")
    return Baseline(
        image=image,
        image_id=wheel["image_id"],
        python=image_python(find_image(image), bench.target),
        arch=str(bench.target.arch),
        sdist=sdist,
        root=source_root(sdist),
        wheels=wheels,
        requirements=requirements,
        repair=repair,
        wheel_name=wheel["filename"],
        wheel_sha256=wheel["sha256"],
    )


def _sdist(case: Case, cache: Path) -> Path:
    """The sdist xbuild built: in the find-links folder, else the one it downloaded to W/sdists."""
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    folder = case.links or cache / "sdists"
    found = []
    for path in folder.iterdir():
        with contextlib.suppress(InvalidSdistFilename):
            if parse_sdist_filename(path.name)[0] == case.project:
                found.append(path)
    if len(found) != 1:
        raise BenchError(f"{case.name}: expected one sdist of {case.project} in {folder}, found {found}")
    return found[0]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def rotated(kinds: Sequence[str], rnd: int) -> list[str]:
    k = rnd % len(kinds)
    return [*kinds[k:], *kinds[:k]]


@dataclass
class CaseResult:
    case: Case
    samples: list[Sample]
    timelines: dict[str, Timeline]
    bare_wheels: dict[str, str]
    baseline: Baseline


def bench_case(bench: Bench, case: Case, runs: int, heavy: Sequence[str], seen_runs: set[str]) -> CaseResult:
    cache = bench.work / case.name / "cache"
    cache.mkdir(parents=True)
    samples: list[Sample] = []
    timelines: dict[str, Timeline] = {}
    bare_wheels: dict[str, str] = {}

    def note(sample: Sample) -> None:
        samples.append(sample)
        print(
            f"  {case.name:<10} round {sample.round} {sample.kind:<22} {sample.seconds:7.2f} s wall"
            f" {sample.cpu_seconds:6.2f} s cpu",
            file=sys.stderr,
        )

    sample, wheel, timeline = run_xbuild(bench, case, FULL_COLD, 0, cache, seen_runs)
    note(sample)
    assert wheel is not None
    if timeline is not None:
        timelines[FULL_COLD] = timeline
    base = baseline_for(bench, case, cache, wheel)
    print(
        f"  {case.name}: image {base.image} ({base.image_id[:19]}), {base.python}, sdist {base.sdist.name},"
        f" {len(list(base.wheels.glob('*.whl')))} build-env wheels in {base.wheels}",
        file=sys.stderr,
    )
    for rnd in range(1, runs + 1):
        for kind in rotated(heavy, rnd):
            if kind == COLD:
                sample, _, timeline = run_xbuild(bench, case, kind, rnd, cache, seen_runs)
            else:
                sample, timeline, bare_wheels[kind] = run_bare(bench, case, kind, rnd, base)
            if timeline is not None:
                timelines[kind] = timeline
            note(sample)
        for kind in rotated(LIGHT, rnd):
            sample, _, _ = run_xbuild(bench, case, kind, rnd, cache, seen_runs)
            note(sample)
    return CaseResult(case=case, samples=samples, timelines=timelines, bare_wheels=bare_wheels, baseline=base)


# --- reporting -----------------------------------------------------------------------------------


def median(samples: Sequence[Sample], case: str, kind: str) -> float | None:
    values = [s.seconds for s in samples if s.case == case and s.kind == kind]
    return statistics.median(values) if values else None


def table(result: CaseResult) -> list[str]:
    lines = [f"{'kind':<22} {'runs':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'cpu s':>6}"]
    for kind in KINDS:
        mine = [s for s in result.samples if s.kind == kind]
        if not mine:
            continue
        secs = [s.seconds for s in mine]
        cpu = statistics.median(s.cpu_seconds for s in mine)
        lines.append(
            f"{kind:<22} {len(mine):>4} {statistics.median(secs):>9.2f} {min(secs):>7.2f} "
            f"{max(secs):>7.2f} {cpu:>6.2f}"
        )
    return lines


def verdicts(result: CaseResult) -> list[str]:
    name = result.case.name

    def m(kind: str) -> float:
        value = median(result.samples, name, kind)
        assert value is not None
        return value

    cold, same = m(COLD), m(SAME)
    lines = []
    for kind in (SAME, HAND, LEAN):
        bare = median(result.samples, name, kind)
        if bare is None:
            continue
        paired = [
            c.seconds / b.seconds
            for c in result.samples
            if c.kind == COLD
            for b in result.samples
            if b.kind == kind and b.round == c.round
        ]
        lines.append(
            f"cold: xbuild / {kind:<16} {cold / bare:5.2f}x  (overhead {cold - bare:+6.2f} s, "
            f"{100 * (cold / bare - 1):+5.1f} %; median of per-round ratios {statistics.median(paired):.2f}x)"
        )
    goal = "met" if cold / same - 1 < COLD_GOAL else "MISSED"
    lines.append(f"goal cold overhead < {100 * COLD_GOAL:.0f} % of bare same-steps: {goal}")
    for kind in (CACHED, CACHED_OFFLINE):
        verdict = "met" if m(kind) < CACHED_GOAL else "MISSED"
        lines.append(f"goal {kind} < {CACHED_GOAL:.0f} s: {m(kind):.2f} s, {verdict}")
    start = m(START)
    for build, plan in ((CACHED, PLAN), (CACHED_OFFLINE, PLAN_OFFLINE)):
        lines.append(
            f"{build:<22} {m(build):5.2f} s = start-up+imports {start:5.2f} s + planning "
            f"{m(plan) - start:5.2f} s + the rest {m(build) - m(plan):5.2f} s   ({plan} {m(plan):.2f} s)"
        )
    lines.append(
        f"estimate from medians: cold overhead {cold - same:+.2f} s vs same-steps ~ "
        f"planning+start-up {m(PLAN):.2f} s + "
        f"cache/verify/place {m(CACHED) - m(PLAN):+.2f} s + engine/exec residue "
        f"{cold - m(CACHED) - same:+.2f} s"
    )
    lines.append("wheels: " + "; ".join(f"{k} {v}" for k, v in result.bare_wheels.items()))
    return lines


def timeline_lines(t: Timeline) -> list[str]:
    """Events relative to the child's start, exec steps with their durations."""
    lines = [f"{t.kind} (last run, {t.total:.2f} s wall; engine events, s since the command started):"]
    if not t.events:
        return [*lines, "  no engine events (docker events returned nothing)"]
    first, last = t.events[0].seconds, t.events[-1].seconds
    lines.append(f"  {0.0:7.2f}  command started; {first:.2f} s before the first container event")
    exec_start: float | None = None
    exec_label = ""
    exec_total = 0.0
    for e in t.events:
        action = e.action
        if action.startswith("exec_start"):
            exec_start, exec_label = e.seconds, step_label(action.partition(": ")[2])
            continue
        if action.startswith("exec_create"):
            continue
        if action == "exec_die" and exec_start is not None:
            exec_total += e.seconds - exec_start
            lines.append(f"  {e.seconds:7.2f}  {exec_label:<18} done in {e.seconds - exec_start:6.2f} s")
            exec_start = None
            continue
        lines.append(f"  {e.seconds:7.2f}  container {action}")
    lines.append(f"  {t.total:7.2f}  command exited; {t.total - last:.2f} s after the last container event")
    summary = f"  host before the container {first:.2f} s, container events span {last - first:.2f} s"
    if exec_total:
        summary += f" (steps {exec_total:.2f} s, between/around steps {last - first - exec_total:.2f} s)"
    lines.append(summary + f", host after {t.total - last:.2f} s")
    return lines


# --- profiling -----------------------------------------------------------------------------------


def profile_case(bench: Bench, case: Case, out_dir: Path, top: int) -> list[str]:
    import pstats

    out_dir.mkdir(parents=True, exist_ok=True)
    cache = bench.work / case.name / "cache"
    lines = []
    for kind, offline in ((COLD, False), (CACHED_OFFLINE, True)):
        if kind == COLD:
            shutil.rmtree(cache / "built", ignore_errors=True)
        run_dir = bench.work / case.name / "runs" / f"profile-{kind.replace(' ', '-')}"
        stats_file = out_dir / f"{case.name}-{kind.replace(' ', '-')}.prof"
        argv = build_argv(bench, case, run_dir / "out", offline=offline)
        profiled = [
            sys.executable,
            "-m",
            "cProfile",
            "-o",
            str(stats_file),
            "-m",
            "xbuild",
            *argv[len(bench.xbuild) :],
        ]
        seconds, _, _ = timed(profiled, bench.environment(cache), run_dir)
        lines.append(f"--- {case.name} {kind} under cProfile: {seconds:.2f} s ({stats_file})")
        stats = pstats.Stats(str(stats_file))
        raw: dict[tuple[str, int, str], tuple[int, int, float, float, object]] = stats.stats  # type: ignore[attr-defined]
        package = str(REPO / "xbuild")
        rows = sorted(
            ((k, v) for k, v in raw.items() if k[0].startswith(package) and k[2] != "<module>"),
            key=lambda kv: kv[1][3],
            reverse=True,
        )
        shown = 0
        previous = -1.0
        for (path, line, func), (_, calls, _own, cumulative, _) in rows:
            if abs(cumulative - previous) <= 0.01 * previous:
                continue  # a wrapper around the row above (same time): one line per call chain
            previous = cumulative
            rel = os.path.relpath(path, REPO)
            lines.append(f"  {cumulative:6.2f} s cum {calls:>6} calls  {rel}:{line} {func}")
            shown += 1
            if shown >= top:
                break
    return lines


def import_times(bench: Bench, case: Case, top: int) -> list[str]:
    """`-X importtime` of one cached --offline `xbuild build`: what the run imports, and how long."""
    cache = bench.work / case.name / "cache"
    run_dir = bench.work / case.name / "runs" / "profile-importtime"
    argv = build_argv(bench, case, run_dir / "out", offline=True)
    argv = [sys.executable, "-X", "importtime", "-m", "xbuild", *argv[len(bench.xbuild) :]]
    seconds, _, _ = timed(argv, bench.environment(cache), run_dir)
    rows: list[tuple[int, int, str]] = []  # (cumulative us, depth, module)
    for line in (run_dir / "stderr").read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _, cumulative, field = line.split("|")
        if cumulative.strip().isdigit():
            depth = (len(field) - len(field.lstrip()) - 1) // 2
            rows.append((int(cumulative), depth, field.strip()))
    total = sum(us for us, depth, _ in rows if depth == 0)
    lines = [
        f"--- {case.name} xbuild cached offline under -X importtime: {seconds:.2f} s wall, "
        f"{total / 1e6:.2f} s importing {len(rows)} modules",
        "  top-level imports (cumulative):",
    ]
    lines += [
        f"  {us / 1e6:6.3f} s  {name}"
        for us, _, name in sorted((r for r in rows if r[1] == 0), reverse=True)[:top]
    ]
    lines.append("  xbuild modules (cumulative, nested ones included in their importers):")
    ours = sorted((r for r in rows if r[2].startswith("xbuild.")), reverse=True)[:top]
    lines += [f"  {us / 1e6:6.3f} s  {'  ' * depth}{name}" for us, depth, name in ours]
    return lines


# --- main ----------------------------------------------------------------------------------------


def cext_case(work: Path) -> Case:
    spec = importlib.util.spec_from_file_location("build_helpers", REPO / "tests" / "build_helpers.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    make: Callable[[Path], Path] = module.make_c_extension_sdist
    links = work / "cext" / "links"
    make(links)
    return Case(name="cext", project="xbuild-cext", args=("xbuild-cext", "-f", str(links)), links=links)


def markupsafe_case(requirement: str) -> Case:
    return Case(
        name="markupsafe",
        project="markupsafe",
        args=(requirement, "--no-binary", "markupsafe"),
        links=None,
    )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3, help="measured rounds per case (default 3)")
    parser.add_argument("--target", default=TARGET, help=f"xbuild target (default {TARGET})")
    parser.add_argument(
        "--markupsafe",
        nargs="?",
        const=MARKUPSAFE,
        metavar="REQ",
        help=f"also build the MarkupSafe sdist from PyPI (default requirement {MARKUPSAFE})",
    )
    parser.add_argument("--no-cext", action="store_true", help="skip the C-extension case")
    parser.add_argument(
        "--lean",
        action="store_true",
        help="add the `bare lean` kind: venv --without-pip, pip from its wheel, --no-compile",
    )
    parser.add_argument("--json", type=Path, help="write every sample here")
    parser.add_argument("--profile", type=Path, metavar="DIR", help="also profile xbuild into DIR")
    parser.add_argument("--top", type=int, default=15, help="rows per profile listing (default 15)")
    parser.add_argument("--keep", action="store_true", help="keep the caches and outputs of the runs")
    return parser.parse_args(argv)


def git_state() -> str:
    """HEAD, and how many files under xbuild/ differ from it (others may be editing them)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False
        ).stdout.strip()

    dirty = git("status", "--porcelain", "--", "xbuild").splitlines()
    state = git("rev-parse", "--short", "HEAD") or "?"
    return state + (f" + {len(dirty)} uncommitted files under xbuild/" if dirty else "")


def machine_lines(bench: Bench, state: str) -> list[str]:
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    server = docker("version", "--format", "{{.Server.Version}}", check=False).strip() or "?"
    version = subprocess.run([*bench.xbuild, "--version"], capture_output=True, text=True, check=False)
    return [
        f"{version.stdout.strip()} at {state}; Python {platform.python_version()}; "
        f"{os.cpu_count()} CPUs; load {load}; Docker engine {server}; target {bench.target.name}",
    ]


@contextlib.contextmanager
def work_dir(keep: bool) -> Iterator[Path]:
    root = bench_dir()
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="run-", dir=root))
    try:
        yield work
    finally:
        if keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.runs < 1:
        raise SystemExit("--runs must be at least 1")
    target = resolve_target(args.target, None, None)
    if target is None:
        raise SystemExit(f"unknown target {args.target}")
    token = uuid.uuid4().hex[:8]
    # xbuild's own settings come from the command line only; PIP_*/UV_* stay as the user has them
    # (xbuild's host-side metadata preparation runs pip and reads them like any pip would).
    env = {k: v for k, v in os.environ.items() if not k.startswith("XBUILD_")}
    seen_runs: set[str] = set()
    with work_dir(args.keep) as work:
        bench = Bench(
            work=work,
            xbuild=xbuild_argv(),
            target_name=args.target,
            target=target,
            token=token,
            env=env,
            started=[],
        )
        cases = [] if args.no_cext else [cext_case(work)]
        if args.markupsafe:
            cases.append(markupsafe_case(args.markupsafe))
        state = git_state()
        header = [f"$ {shlex.join([sys.executable, *sys.argv])}", *machine_lines(bench, state)]
        results: list[CaseResult] = []
        profile: list[str] = []
        try:
            for case in cases:
                print(f"{case.name}: {args.runs} rounds", file=sys.stderr)
                heavy = (*HEAVY, LEAN) if args.lean else HEAVY
                results.append(bench_case(bench, case, args.runs, heavy, seen_runs))
            if args.profile:
                for case in cases:
                    profile += profile_case(bench, case, args.profile, args.top)
                profile += import_times(bench, cases[0], args.top)
        finally:
            leaked = docker("ps", "-aq", "--filter", f"label={BENCH_LABEL}={token}", check=False).split()
            for cid in leaked:
                docker("rm", "-f", cid, check=False)
            leaked_xbuild = leftover_xbuild_containers(seen_runs)
        report = [*header, f"load at the end {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
        if git_state() != state:
            report.append(f"!! xbuild changed during the run: now at {git_state()}")
        for result in results:
            base = result.baseline
            report += [
                "",
                f"== {result.case.name}: {shlex.join(result.case.args)} -> {base.wheel_name}",
                f"   image {base.image}, {len(list(base.wheels.glob('*.whl')))} build-env wheels, "
                f"requirements {' '.join(base.requirements)}",
                *table(result),
                "",
                *verdicts(result),
            ]
            for kind in (COLD, SAME, LEAN):
                if kind in result.timelines:
                    report += ["", *timeline_lines(result.timelines[kind])]
        report += ["", *profile] if profile else []
        report.append(
            f"\ncontainers left behind: bare {len(leaked)}, xbuild {leaked_xbuild} "
            f"(of {len(bench.started)} bare runs and {len(seen_runs)} xbuild build runs; all removed)"
        )
        print("\n".join(report))
        if args.json:
            document = {
                "header": header,
                "samples": [asdict(s) for r in results for s in r.samples],
                "timelines": {
                    f"{r.case.name}/{k}": [asdict(e) for e in t.events]
                    for r in results
                    for k, t in r.timelines.items()
                },
            }
            args.json.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
