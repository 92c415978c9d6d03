"""Run scratch: what a dead run left is swept by the next run; a live run's scratch is not."""

from __future__ import annotations

from pathlib import Path

from xbuild.host.cache import RUN_ID, RunScratch, on_sweep, scratch_dir, sweep
from xbuild.host.cacheroot import default_cache_dir


def _dead_run(root: Path, run_id: str, beside: Path) -> list[Path]:
    """Leftovers of a run whose process is gone: its lock file exists, nobody holds it."""
    (root / "runs").mkdir(parents=True, exist_ok=True)
    (root / "runs" / f"{run_id}.lock").touch()
    made = [
        root / "work" / run_id / "pkg-1.0",
        root / "bundle-wheels" / run_id,
        root / "built" / f".abc.{run_id}",
        beside / f".xbuild-bundle-{run_id} [x]",
    ]
    for path in made:
        path.mkdir(parents=True)
    (root / "runs" / f"{run_id}.paths").write_text(f"{made[-1]}\n{beside / 'user data'}\n")
    return made


def test_dead_runs_are_swept_and_live_ones_kept(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    beside = tmp_path / "output's parent"
    (beside / "user data").mkdir(parents=True)
    alive = RunScratch(root, "alive001")
    alive.claim()
    dead = _dead_run(root, "dead0001", beside)
    (root / "work" / "alive001").mkdir(parents=True)
    (root / "runs" / "dead0001.engines").write_text("ssh://arm-1\ntcp://arm-2:2376\nssh://arm-1\n")
    hooked: list[tuple[str, tuple[str, ...]]] = []
    on_sweep("test", lambda run_id, engines: hooked.append((run_id, engines)))
    try:
        swept = sweep(root, keep=RUN_ID)
    finally:
        on_sweep("test", lambda run_id, engines: None)
    assert swept == ["dead0001"]
    assert hooked == [("dead0001", ("ssh://arm-1", "tcp://arm-2:2376"))]
    assert not (root / "runs" / "dead0001.engines").exists()
    assert not any(p.exists() for p in dead)
    assert (root / "work" / "alive001").is_dir()
    # A recorded path that xbuild does not name as its own is never removed.
    assert (beside / "user data").is_dir()
    assert not (root / "runs" / "dead0001.lock").exists()


def test_run_folders_without_any_lock_are_orphans(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    (root / "work" / "old-run").mkdir(parents=True)
    (root / "bundle-wheels" / "old-run").mkdir(parents=True)
    assert sorted(sweep(root, keep=RUN_ID)) == ["old-run", "old-run"]
    assert not any((root / "work").iterdir())


def test_claim_sweeps_and_scratch_dir_is_recorded_then_removed(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    dead = _dead_run(root, "dead0002", tmp_path)
    with scratch_dir(tmp_path, "bundle", root) as path:
        assert path.is_dir() and path.name.startswith(f".xbuild-bundle-{RUN_ID}-")
        assert str(path) in (root / "runs" / f"{RUN_ID}.paths").read_text()
    assert not path.exists()
    assert not any(p.exists() for p in dead)


def test_default_cache_dir_honours_override(tmp_path: Path) -> None:
    root = tmp_path / "my [cache] ünï"
    assert default_cache_dir({"XBUILD_CACHE_DIR": str(root)}) == root
    assert default_cache_dir({}).name.lower() == "xbuild"
    assert default_cache_dir({"XBUILD_CACHE_DIR": "  "}).name.lower() == "xbuild"
