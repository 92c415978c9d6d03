"""Interpreter discovery: where we look, what we skip and why."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from xbuild.errors import EngineError
from xbuild.host.discover import candidates, discover_interpreters, search_dirs, select
from xbuild.host.interpreter import InterpreterFacts
from xbuild.host.probe import probe_interpreter


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XBUILD_CACHE_DIR", str(tmp_path / "cache"))


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    return path


def test_search_dirs_expand_home_and_globs(tmp_path: Path) -> None:
    (tmp_path / ".pyenv" / "versions" / "3.12.1" / "bin").mkdir(parents=True)
    (tmp_path / ".local" / "share" / "uv" / "python" / "cpython-3.13.0-linux-x86_64-gnu" / "bin").mkdir(
        parents=True
    )
    places = ("/usr/bin", "~/.pyenv/versions/*/bin", "~/.local/share/uv/python/*/bin")
    dirs = search_dirs({"PATH": f"/opt/a:/usr/bin:{tmp_path}/bin"}, tmp_path, places)
    assert dirs[:3] == [Path("/opt/a"), Path("/usr/bin"), tmp_path / "bin"]
    assert tmp_path / ".pyenv" / "versions" / "3.12.1" / "bin" in dirs
    assert any("cpython-3.13.0" in str(d) for d in dirs)
    assert dirs.count(Path("/usr/bin")) == 1


def test_candidates_and_selection(tmp_path: Path) -> None:
    real = touch(tmp_path / "usr" / "bin" / "python3.12")
    (tmp_path / "usr" / "bin" / "python3").symlink_to("python3.12")
    touch(tmp_path / "shims" / "python3")
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (venv / "bin" / "python3").symlink_to(real)
    found = candidates([tmp_path / "usr" / "bin", tmp_path / "shims", venv / "bin"])
    kept, skipped = select(found)
    assert kept == [tmp_path / "usr" / "bin" / "python3", venv / "bin" / "python3"]
    reasons = {s.path.name + ":" + s.path.parent.name: s.reason for s in skipped}
    assert reasons["python3.12:bin"].startswith("same interpreter as")
    assert reasons["python3:shims"].startswith("version-manager shim")


def test_discovery_probes_and_records_skip_reasons(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    good = touch(tmp_path / "a" / "python3")
    bad = touch(tmp_path / "b" / "python3")
    facts = probe_interpreter(Path(sys.executable))

    def probe(path: Path) -> InterpreterFacts:
        if path == bad:
            raise EngineError(f"interpreter {path}: is broken: exited with status 1")
        return facts

    with caplog.at_level(logging.DEBUG, logger="xbuild.host"):
        found = discover_interpreters(
            environ={"PATH": f"{tmp_path}/a:{tmp_path}/b"}, home=tmp_path, places=(), probe=probe
        )
    assert found.interpreters == (facts,)
    assert [(s.path, s.reason) for s in found.skipped] == [(bad, "is broken: exited with status 1")]
    assert f"accepted interpreter {good}" in caplog.text and f"skipped interpreter {bad}" in caplog.text
