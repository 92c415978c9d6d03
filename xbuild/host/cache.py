"""The cache directory: probe results keyed by what would change them, and each run's scratch space.

Scratch space of a run (`work/<run>`, `bundle-wheels/<run>`, temp dirs beside outputs) is tied to
a lock file held while the run lives; the next run sweeps the scratch of every run whose lock is
free again, i.e. whose process is gone (killed, crashed, power cut).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock, Timeout

from xbuild.util.atomic import write_text_atomic
from xbuild.util.signals import after_interrupt

log = logging.getLogger("xbuild.host")

RUN_ID = uuid.uuid4().hex[:12]
# Per-run folders under the cache root that only that run uses; swept once the run is gone.
RUN_FOLDERS = ("work", "bundle-wheels")
# What else a dead run may have left outside the cache (its containers), removed by run id.
# A hook gets the dead run's id and the engines it used besides the default one (its record).
SweepHook = Callable[[str, tuple[str, ...]], object]
_SWEEP_HOOKS: dict[str, SweepHook] = {}
# Engines (other than DOCKER_HOST's) this process started containers on.
_ENGINES: dict[str, None] = {}


def on_sweep(name: str, hook: SweepHook) -> None:
    """Register a hook called with each dead run's id (and engines) when its leftovers are swept."""
    _SWEEP_HOOKS[name] = hook


def note_engine(url: str) -> None:
    """Record that this run starts containers on the engine at `url` (call before starting one),
    so that if the run is killed the next one can remove them there too."""
    with _SCRATCH_GUARD:
        if url in _ENGINES:
            return
        _ENGINES[url] = None
        scratches = list(_SCRATCH.values())
    for scratch in scratches:
        scratch.record_engines((url,))


def probe_key(path: Path, script: str) -> str | None:
    """Key for one interpreter's probe; None when the file cannot be stat'ed.

    (realpath, size, mtime) changes when the binary is replaced. The path as invoked is part of
    the key too: a venv's python is a symlink to the base binary, yet reports a different prefix.
    The script's digest invalidates every entry when the probe itself changes. A wrapper script
    is keyed by itself, not by the binary it execs: replacing only that binary needs a cache clear.
    """
    try:
        real = path.resolve()
        st = real.stat()
    except OSError:
        return None
    material = json.dumps(
        [
            str(path.absolute()),
            str(real),
            st.st_size,
            st.st_mtime_ns,
            hashlib.sha256(script.encode()).hexdigest(),
        ]
    )
    return hashlib.sha256(material.encode()).hexdigest()[:32]


class ProbeCache:
    """One JSON file per key under `<cache dir>/probe/`; any I/O problem is a cache miss."""

    def __init__(self, root: Path) -> None:
        self.root = root / "probe"

    def get(self, key: str) -> str | None:
        try:
            return (self.root / f"{key}.json").read_text(encoding="utf-8")
        except OSError:
            return None

    def put(self, key: str, text: str) -> None:
        # A read-only or full cache only costs a re-probe next time; it must not fail the command.
        try:
            write_text_atomic(self.root / f"{key}.json", text, make_parents=True)
        except OSError as exc:
            log.debug("cannot write probe cache %s: %s", self.root, exc)


class RunScratch:
    """This run's scratch space under `<cache>/runs/`: a held lock and the list of temp paths.

    `track` records a temp path outside the cache (e.g. `.xbuild-bundle-*` beside an output) before
    it is created, so a killed run's leftovers can be found later without guessing from names.
    """

    def __init__(self, root: Path, run_id: str = RUN_ID) -> None:
        self.root = root
        self.run_id = run_id
        self.runs = root / "runs"
        self._lock: FileLock | None = None
        self._guard = threading.Lock()

    def claim(self) -> None:
        """Hold this run's lock (idempotent), then sweep what dead runs left behind."""
        with self._guard:
            if self._lock is not None:
                return
            try:
                self.runs.mkdir(parents=True, exist_ok=True)
                lock = _lock(self.runs / f"{self.run_id}.lock")
                lock.acquire(timeout=0)
            except (OSError, Timeout) as exc:  # a read-only cache: nothing to sweep, nothing to track
                log.debug("cannot claim run scratch in %s: %s", self.runs, exc)
                return
            self._lock = lock
            # A run that ends normally leaves nothing to sweep: not even its lock file.
            atexit.register(self.release)
        self.record_engines(tuple(_ENGINES))
        sweep(self.root, keep=self.run_id)

    def record_engines(self, urls: tuple[str, ...]) -> None:
        if not urls or self._lock is None:
            return
        try:
            with (self.runs / f"{self.run_id}.engines").open("a", encoding="utf-8") as sink:
                sink.writelines(f"{url}\n" for url in urls)
        except OSError as exc:
            log.debug("cannot record engines %s: %s", urls, exc)

    def track(self, path: Path) -> Path:
        """Record a temp path of this run (call before creating it); returns the path."""
        self.claim()
        try:
            with (self.runs / f"{self.run_id}.paths").open("a", encoding="utf-8") as sink:
                sink.write(f"{path.absolute()}\n")
        except OSError as exc:
            log.debug("cannot record %s: %s", path, exc)
        return path

    def clean(self) -> None:
        """Remove everything this run made that is scratch (the run goes on holding its lock)."""
        _remove_run(self.root, self.run_id)

    def release(self) -> None:
        """At exit: remove the scratch, then the lock file, then let go of the lock."""
        with self._guard:
            lock, self._lock = self._lock, None
        if lock is None:
            return
        self.clean()
        with contextlib.suppress(OSError):
            (self.runs / f"{self.run_id}.lock").unlink()
        lock.release()


def sweep(root: Path, keep: str = RUN_ID) -> list[str]:
    """Remove the scratch of every run whose lock no process holds; returns the runs swept."""
    runs = root / "runs"
    try:
        locks = sorted(runs.glob("*.lock"))
    except OSError:
        return []
    swept: list[str] = []
    engines: dict[str, tuple[str, ...]] = {}
    for path in locks:
        run_id = path.stem
        if run_id == keep:
            continue
        lock = _lock(path)
        try:
            lock.acquire(timeout=0)
        except (Timeout, OSError):
            continue  # alive (or not ours to judge)
        try:
            engines[run_id] = _engines_of(root, run_id)
            _remove_run(root, run_id)
            with contextlib.suppress(OSError):
                path.unlink()
            swept.append(run_id)
        finally:
            lock.release()
    swept += _orphans(root, keep)
    for run_id in swept:
        for name, hook in list(_SWEEP_HOOKS.items()):
            try:
                hook(run_id, engines.get(run_id, ()))
            except Exception as exc:  # e.g. no engine now: nothing of that kind to remove then
                log.debug("sweeping %s of run %s: %s", name, run_id, exc)
    if swept:
        log.info("removed scratch data left by %d interrupted run(s): %s", len(swept), ", ".join(swept))
    return swept


def _engines_of(root: Path, run_id: str) -> tuple[str, ...]:
    try:
        lines = (root / "runs" / f"{run_id}.engines").read_text(encoding="utf-8").split()
    except OSError:
        return ()
    return tuple(dict.fromkeys(lines))


def _orphans(root: Path, keep: str) -> list[str]:
    """Run folders with no lock file at all: a run claims its lock before making any of them."""
    found = []
    for folder in RUN_FOLDERS:
        try:
            entries = sorted((root / folder).iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.name != keep and not (root / "runs" / f"{entry.name}.lock").exists():
                shutil.rmtree(entry, ignore_errors=True)
                found.append(entry.name)
    return found


@contextlib.contextmanager
def scratch_dir(parent: Path, prefix: str, cache_root: Path) -> Iterator[Path]:
    """A fresh `parent/.xbuild-<prefix>-<run>-<random>`, removed on exit and, if this process is
    killed, by the next run's sweep (it is recorded before it exists)."""
    scratch = run_scratch(cache_root)
    path = scratch.track(parent / f".xbuild-{prefix}-{RUN_ID}-{uuid.uuid4().hex[:8]}")
    path.mkdir()
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def _lock(path: Path) -> FileLock:
    # Not thread-local: the run's lock is taken in one thread and must hold for the whole process.
    return FileLock(str(path), is_singleton=False, thread_local=False)


def _remove_run(root: Path, run_id: str) -> None:
    for folder in RUN_FOLDERS:
        shutil.rmtree(root / folder / run_id, ignore_errors=True)
    for partial in (root / "built").glob(f".*.{run_id}"):
        shutil.rmtree(partial, ignore_errors=True)
    with contextlib.suppress(OSError):
        (root / "runs" / f"{run_id}.engines").unlink()
    record = root / "runs" / f"{run_id}.paths"
    try:
        paths = record.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    for line in paths:
        path = Path(line)
        # Only what xbuild names as its own temp data is removed, whatever the record says.
        if path.is_absolute() and path.name.startswith(".xbuild-"):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                with contextlib.suppress(OSError):
                    path.unlink()
    with contextlib.suppress(OSError):
        record.unlink()


_SCRATCH: dict[Path, RunScratch] = {}
_SCRATCH_GUARD = threading.Lock()


def run_scratch(root: Path) -> RunScratch:
    """The one RunScratch of this process for a cache root."""
    with _SCRATCH_GUARD:
        after_interrupt("run scratch", clean_all_scratch)
        return _SCRATCH.setdefault(root.absolute(), RunScratch(root.absolute()))


def clean_all_scratch() -> None:
    """Remove this run's scratch under every cache root it used (on interrupt)."""
    for scratch in list(_SCRATCH.values()):
        scratch.clean()
