"""A bundle killed (SIGINT or SIGTERM) at random moments leaves no temp data beside the output
or in the cache, never a half-written zip, and the next run on the same cache succeeds."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from support.index_server import IndexServer
from support.packages import make_wheel

ROOT = Path(__file__).resolve().parent.parent
XBUILD = str(Path(sys.executable).with_name("xbuild"))
TARGET = ["--python-platform", "x86_64-manylinux_2_28", "--python-version", "3.12"]
PACKAGES = [f"pkg-{n}" for n in range(12)]


@pytest.fixture
def index(index_server: IndexServer) -> IndexServer:
    # Big enough members that downloading, installing and zipping take a moment each.
    for name in PACKAGES:
        module = name.replace("-", "_")
        payload = random.Random(name).randbytes(1_500_000)
        make_wheel(
            index_server.dist_dir,
            name,
            "1.0",
            files={f"{module}/__init__.py": b"", f"{module}/blob.bin": payload},
        )
    return index_server


def _start(index: IndexServer, out: Path, cache: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "XBUILD_CACHE_DIR": str(cache)}
    args = [XBUILD, "bundle", *PACKAGES, "-i", index.index_url, *TARGET, "-o", str(out)]
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _leftovers(out: Path, cache: Path) -> list[Path]:
    beside = [p for p in out.parent.iterdir() if p.name.startswith(".xbuild")]
    in_cache = [p for folder in ("work", "bundle-wheels") for p in (cache / folder).glob("*")]
    return beside + in_cache


def test_kills_at_random_moments_leave_nothing_and_the_next_run_works(
    index: IndexServer, tmp_path: Path
) -> None:
    rng = random.Random(15)
    cache = tmp_path / "cache [ü]"
    out = tmp_path / "out dir" / "function.zip"
    out.parent.mkdir()
    interrupted = 0
    for _ in range(10):
        sig = rng.choice([signal.SIGINT, signal.SIGTERM])
        run = _start(index, out, cache)
        # From its first line on: a signal during interpreter start-up kills any program (it has
        # started nothing yet); what must hold is everything after that.
        assert run.stderr is not None
        run.stderr.readline()
        time.sleep(rng.uniform(0.0, 1.5))
        run.send_signal(sig)
        _, err = run.communicate(timeout=60)
        expected = 130 if sig is signal.SIGINT else 143
        assert run.returncode in (0, expected), err
        assert "Traceback" not in err
        if run.returncode == expected:
            interrupted += 1
            assert "interrupted" in err
            assert not out.exists() or zipfile.is_zipfile(out)  # never half-written
        assert _leftovers(out, cache) == []
    assert interrupted >= 3, "the moments must fall inside the runs, not after them"
    done = _start(index, out, cache)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    with zipfile.ZipFile(out) as zf:
        assert {n.split("/")[0] for n in zf.namelist() if n.endswith("blob.bin")} == {
            p.replace("-", "_") for p in PACKAGES
        }
    assert _leftovers(out, cache) == []
