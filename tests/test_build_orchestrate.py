"""orchestrate's core without Docker or network: recording sources, a real wheel directory.

Each source double writes real wheels (tests/support/packages) into the staging folder it is
given and records what it was asked for; verification is the real one.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from support.packages import make_wheel

from xbuild.build.destinations import MANIFEST, Rejects, WheelDir
from xbuild.build.orchestrate import RunSettings, orchestrate
from xbuild.build.outcome import BuildResult, Origin, Outcome
from xbuild.build.sources import Sources
from xbuild.errors import EngineError, ExitCode
from xbuild.plan.model import Action, Plan, PlannedDist, PlannedFile, RoutePlan, SourcePolicy
from xbuild.target import Target, parse_target
from xbuild.util import signals

TARGET = parse_target("debian-bullseye-x86_64", python_version="3.9", environ={})
HOSTILE = 'it\'s [odd] "ünï" dir'


class Recording:
    """A WheelSource double: writes the wheel with the given tags, or raises the given error."""

    def __init__(
        self, origin: Origin, tags: dict[str, str] | None = None, fail: set[str] | None = None
    ) -> None:
        self.origin = origin
        self.tags = tags or {}
        self.fail = fail or set()
        self.asked: list[str] = []
        self.staged_in: set[Path] = set()
        self._lock = threading.Lock()

    def obtain(self, dist: PlannedDist, staging: Path) -> Outcome:
        with self._lock:
            self.asked.append(dist.name)
            self.staged_in.add(staging)
        if dist.name in self.fail:
            raise EngineError(f"{dist.name}: the build failed", hint="see the log")
        tag = self.tags.get(dist.name, "py3-none-any")
        wheel = make_wheel(staging, dist.name, dist.version, tags=(tag,))
        return Outcome(
            name=dist.name, version=dist.version, wheel=wheel, origin=self.origin, engine="default"
        )


def _dist(name: str, action: Action) -> PlannedDist:
    route = (
        RoutePlan(route="container", image="img", possible=True, reason="r")
        if action is Action.BUILD
        else None
    )
    ext = "tar.gz" if action is Action.BUILD else "whl"
    return PlannedDist(
        name=name,
        version="1.0",
        action=action,
        file=PlannedFile(
            filename=f"{name}-1.0.{ext}", url=f"https://example.invalid/{name}", sha256="0" * 64
        ),
        reason="test",
        requested_by=("user",),
        route=route,
    )


def _plan(target: Target = TARGET) -> Plan:
    dists = (_dist("fetched", Action.WHEEL), _dist("built", Action.BUILD), _dist("other", Action.WHEEL))
    return Plan(target=target, distributions=dists, source_policy=SourcePolicy.PREFER_BINARY)


def _run(
    tmp_path: Path, index: Recording, build: Recording, *, keep_going: bool = False, jobs: int = 1
) -> tuple[BuildResult, Path, Path]:
    out = tmp_path / HOSTILE / "dist"
    rejects = Rejects(root=tmp_path / "cache" / "rejected" / "run")
    result = orchestrate(
        _plan(),
        Sources(index=index, build=build),
        WheelDir(root=out, cache_dir=tmp_path / "cache"),
        rejects,
        RunSettings(jobs=jobs, keep_going=keep_going),
    )
    return result, out, rejects.root


def test_every_wheel_is_placed_with_a_manifest(tmp_path: Path) -> None:
    index, build = Recording(Origin.INDEX), Recording(Origin.BUILT)
    _, out, rejected = _run(tmp_path, index, build, jobs=3)
    assert sorted(index.asked) == ["fetched", "other"] and build.asked == ["built"]
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["built-1.0-py3-none-any.whl", "fetched-1.0-py3-none-any.whl", "other-1.0-py3-none-any.whl", MANIFEST]
    )
    manifest = json.loads((out / MANIFEST).read_text())
    assert {w["name"]: w["origin"] for w in manifest["wheels"]} == {
        "fetched": "index",
        "built": "built",
        "other": "index",
    }
    assert all(w["engine"] == "default" and len(w["sha256"]) == 64 for w in manifest["wheels"])
    assert manifest["failed"] == []
    # Staged beside the output, then gone: no staging folder is left.
    assert all(s.parent == out and not s.exists() for s in index.staged_in | build.staged_in)
    assert not rejected.exists()


def test_one_refused_wheel_places_nothing_and_is_kept_in_rejected(tmp_path: Path) -> None:
    # A backend that stamps a macOS tag on a Linux target's wheel: verification refuses it.
    build = Recording(Origin.BUILT, tags={"built": "cp39-cp39-macosx_11_0_arm64"})
    result, out, rejected = _run(tmp_path, Recording(Origin.INDEX), build)
    assert not result.ok and result.exit_code is ExitCode.REFUSED
    assert not list(out.glob("*.whl")) and not (out / MANIFEST).exists()
    kept = rejected / "built-1.0-cp39-cp39-macosx_11_0_arm64.whl"
    assert kept.is_file()
    findings = json.loads((rejected / f"{kept.name}.findings.json").read_text())
    assert any(f["severity"] == "error" for f in findings)
    [failed] = [o for o in result.outcomes if o.wheel is None]
    assert failed.name == "built" and "kept in" in (failed.error or "") and failed.findings


def test_keep_going_places_the_good_wheels_and_lists_the_failed(tmp_path: Path) -> None:
    build = Recording(Origin.BUILT, fail={"built"})
    result, out, rejected = _run(tmp_path, Recording(Origin.INDEX), build, keep_going=True)
    assert result.exit_code is ExitCode.ENGINE
    assert sorted(p.name for p in out.glob("*.whl")) == [
        "fetched-1.0-py3-none-any.whl",
        "other-1.0-py3-none-any.whl",
    ]
    manifest = json.loads((out / MANIFEST).read_text())
    assert [f["name"] for f in manifest["failed"]] == ["built"]
    assert "TIP see the log" in manifest["failed"][0]["error"]
    assert not rejected.exists()  # a failed build is no wheel to keep


def test_a_failed_build_places_nothing_and_is_exit_3(tmp_path: Path) -> None:
    result, out, _ = _run(tmp_path, Recording(Origin.INDEX), Recording(Origin.BUILT, fail={"built"}), jobs=2)
    assert result.exit_code is ExitCode.ENGINE
    assert list(out.iterdir()) == []


def test_no_manifest_for_a_bundles_wheel_folder(tmp_path: Path) -> None:
    out = tmp_path / "wheels"
    result = orchestrate(
        _plan(),
        Sources(index=Recording(Origin.INDEX), build=Recording(Origin.BUILT)),
        WheelDir(root=out, cache_dir=tmp_path / "cache", manifest=False),
        Rejects(root=tmp_path / "rejected"),
        RunSettings(),
    )
    assert result.ok and len(list(out.glob("*.whl"))) == 3
    assert not (out / MANIFEST).exists()


@pytest.mark.parametrize("jobs", [1, 4])
def test_an_interrupt_places_nothing(tmp_path: Path, jobs: int) -> None:
    class Interrupting(Recording):
        def obtain(self, dist: PlannedDist, staging: Path) -> Outcome:
            raise KeyboardInterrupt

    out = tmp_path / "dist"
    # trapped() is what carry_out runs in: it turns the interrupt into exit 130 after the stop.
    try:
        with pytest.raises(signals.Interrupted), signals.trapped():
            orchestrate(
                _plan(),
                Sources(index=Recording(Origin.INDEX), build=Interrupting(Origin.BUILT)),
                WheelDir(root=out, cache_dir=tmp_path / "cache"),
                Rejects(root=tmp_path / "rejected"),
                RunSettings(jobs=jobs),
            )
    finally:
        with signals.trapped():  # a new run starts un-stopped: later tests are not interrupted
            pass
    assert list(out.iterdir()) == []
