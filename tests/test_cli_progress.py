"""Progress on stderr: event lines and a heartbeat when it is not a terminal, a live board when it is."""

from __future__ import annotations

import io
import threading
import time

from rich.console import Console

from xbuild.cli.progress import Tracker, event_line, heartbeat_line, reporter


def _console(*, terminal: bool) -> tuple[Console, io.StringIO]:
    sink = io.StringIO()
    return Console(file=sink, force_terminal=terminal, width=100, markup=False, highlight=False), sink


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_event_lines_say_what_happened_and_how_long() -> None:
    clock = _Clock()
    tracker = Tracker(clock)
    assert event_line("numpy", tracker.update("numpy", "container", "running"), clock()) == (
        "started  numpy (container)"
    )
    clock.now += 12.34
    assert heartbeat_line(tracker.running(), clock()) == "still running: numpy (container, 12s)"
    assert event_line("numpy", tracker.update("numpy", "container", "done"), clock()) == (
        "finished numpy in 12.3s (container)"
    )
    tracker.update("lxml", "emulated", "running")
    clock.now += 3.0
    assert event_line("lxml", tracker.update("lxml", "emulated", "failed"), clock()) == (
        "failed   lxml after 3.0s (emulated)"
    )
    assert tracker.running() == []


def test_not_a_terminal_prints_lines_and_a_heartbeat() -> None:
    err, sink = _console(terminal=False)
    with reporter(err, heartbeat=0.05) as report:
        report("markupsafe", "emulated", "running")
        time.sleep(0.3)
        report("markupsafe", "emulated", "done")
        report("idna", "download", "running")
        report("idna", "download", "failed")
    lines = sink.getvalue().splitlines()
    assert lines[0] == "started  markupsafe (emulated)"
    assert any(line.startswith("still running: markupsafe (emulated, ") for line in lines)
    assert lines[-3].startswith("finished markupsafe in ") and lines[-3].endswith("s (emulated)")
    assert lines[-2:] == ["started  idna (download)", lines[-1]]
    assert lines[-1].startswith("failed   idna after ")


def test_heartbeat_is_quiet_when_nothing_runs_and_stops_with_the_run() -> None:
    err, sink = _console(terminal=False)
    with reporter(err, heartbeat=0.02):
        time.sleep(0.1)
    assert sink.getvalue() == ""
    assert not any(t.name == "xbuild-heartbeat" for t in threading.enumerate())


def test_terminal_gets_the_board_from_build_threads() -> None:
    err, sink = _console(terminal=True)
    with reporter(err) as report:
        workers = [
            threading.Thread(target=report, args=(f"pkg{i}", "container", "running")) for i in range(4)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        report("pkg0", "container", "done")
    screen = sink.getvalue()
    assert "package" in screen and "pkg3" in screen and "done" in screen
    assert "started" not in screen
