"""Native route: the host matches the target, so build here in a fresh venv, then repair."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from xbuild.build.in_container import repair_platform
from xbuild.build.job import BuildJob
from xbuild.host._run import call
from xbuild.sdist import Sdist
from xbuild.target import OS


def extract_sdist(archive: Path, dest: Path) -> Path:
    """Unpack an sdist with traversal protection; return the project root inside dest."""
    return Sdist(archive).extract(dest)


class _Clock:
    """What is left of the job's timeout, for each command in turn."""

    def __init__(self, timeout: float | None) -> None:
        self.deadline = None if timeout is None else time.monotonic() + timeout

    def left(self) -> float | None:
        return None if self.deadline is None else max(0.1, self.deadline - time.monotonic())


def build_native(job: BuildJob) -> Path:
    """The native route: build on this host, which routes/ chose only because it is the target."""
    job.out_dir.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "SOURCE_DATE_EPOCH": str(job.source_date_epoch),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    clock = _Clock(job.timeout)
    with tempfile.TemporaryDirectory(prefix="xbuild-native-") as tmp:
        work = Path(tmp)
        source = job.source if job.source.is_dir() else extract_sdist(job.source, work / "src")
        venv = work / "frontend"
        what = f"{job.name} {job.version}"
        call(
            [f"python{job.target.python}", "-m", "venv", str(venv)],
            log_path=job.log_path,
            env=env,
            timeout=clock.left(),
            what=f"{what}: create the build environment",
        )
        call(
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "build"],
            log_path=job.log_path,
            env=env,
            timeout=clock.left(),
            what=f"{what}: install the build frontend",
        )
        call(
            [
                str(venv / "bin" / "python"),
                "-m",
                "build",
                "--wheel",
                "--outdir",
                str(work / "dist"),
                str(source),
            ],
            log_path=job.log_path,
            env=env,
            timeout=clock.left(),
            what=f"{what}: build the wheel",
        )
        built = next(iter(sorted((work / "dist").glob("*.whl"))))
        return _repair(built, job, env, clock)


def _repair(wheel: Path, job: BuildJob, env: dict[str, str], clock: _Clock) -> Path:
    final = job.out_dir / wheel.name
    platform = repair_platform(job.target)
    if wheel.name.endswith("-none-any.whl") or (platform is None and job.target.os is OS.LINUX):
        os.replace(wheel, final)
        return final
    if job.target.os is OS.MACOS:
        cmd = [sys.executable, "-m", "delocate.cmd.delocate_wheel", "-w", str(job.out_dir), str(wheel)]
    else:
        cmd = [
            sys.executable,
            "-m",
            "auditwheel",
            "repair",
            "--plat",
            str(platform),
            "-w",
            str(job.out_dir),
            str(wheel),
        ]
    call(
        cmd,
        log_path=job.log_path,
        env=env,
        timeout=clock.left(),
        what=f"{job.name} {job.version}: repair the wheel",
    )
    return next(iter(sorted(job.out_dir.glob("*.whl"))))
