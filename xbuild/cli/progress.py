"""Progress of a build, on stderr: a live board on a terminal, event lines everywhere else.

CI logs are not terminals, and a silent minute there looks like a hang. So when stderr is not a
TTY every event is one line (`started`, `finished ... in 12.3s`, `failed ... after 3.1s`), and a
`still running` line follows at least every `heartbeat` seconds while something runs.

    with progress.reporter() as report:
        carry_out(plan, client, host, BuildSettings(..., progress=report))

`report(name, route, state)` is the `BuildSettings.progress` callback: state is "running" when a
package starts, then "done" or "failed"; other states are printed as they come.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from xbuild.cli import console

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

Report = Callable[[str, str, str], None]
HEARTBEAT = 15.0


@dataclass
class _Row:
    route: str
    started: float
    state: str
    ended: float | None = None

    def elapsed(self, now: float) -> float:
        return (self.ended or now) - self.started


class Tracker:
    """What is running, since when; shared by both displays, safe across build threads."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.rows: dict[str, _Row] = {}
        self.lock = threading.Lock()
        self.clock = clock

    def update(self, name: str, route: str, state: str) -> _Row:
        with self.lock:
            now = self.clock()
            row = self.rows.get(name)
            if row is None or state == "running":
                row = self.rows[name] = _Row(route=route, started=now, state=state)
            else:
                row.route, row.state = route, state
            if state != "running":
                row.ended = now
            return row

    def running(self) -> list[tuple[str, _Row]]:
        with self.lock:
            return [(n, r) for n, r in self.rows.items() if r.state == "running"]


def event_line(name: str, row: _Row, now: float) -> str:
    """One line per event, for logs: the package, what happened, how long, by which route."""
    if row.state == "running":
        return f"started  {name} ({row.route})"
    if row.state == "done":
        return f"finished {name} in {row.elapsed(now):.1f}s ({row.route})"
    if row.state == "failed":
        return f"failed   {name} after {row.elapsed(now):.1f}s ({row.route})"
    return f"{row.state:<8} {name} ({row.route})"


def heartbeat_line(running: list[tuple[str, _Row]], now: float) -> str:
    parts = [f"{name} ({row.route}, {row.elapsed(now):.0f}s)" for name, row in running]
    return "still running: " + ", ".join(parts)


@contextmanager
def reporter(
    stderr: Console | None = None, *, heartbeat: float = HEARTBEAT, live: bool | None = None
) -> Iterator[Report]:
    """The progress callback for one run: the live board when `stderr` is a terminal (or `live`)."""
    err = stderr if stderr is not None else console.err
    tracker = Tracker()
    show_board = err.is_terminal if live is None else live
    with _board(err, tracker) if show_board else _lines(err, tracker, heartbeat) as report:
        yield report


@contextmanager
def _lines(err: Console, tracker: Tracker, heartbeat: float) -> Iterator[Report]:
    stop = threading.Event()

    def report(name: str, route: str, state: str) -> None:
        row = tracker.update(name, route, state)
        err.print(event_line(name, row, tracker.clock()))

    def beat() -> None:
        while not stop.wait(heartbeat):
            running = tracker.running()
            if running:
                err.print(heartbeat_line(running, tracker.clock()))

    thread = threading.Thread(target=beat, name="xbuild-heartbeat", daemon=True)
    thread.start()
    try:
        yield report
    finally:
        stop.set()
        thread.join()


@contextmanager
def _board(err: Console, tracker: Tracker) -> Iterator[Report]:
    from rich.live import Live

    # The table is re-rendered on every refresh, so running rows' elapsed time keeps moving.
    with Live(console=err, get_renderable=lambda: _table(tracker), refresh_per_second=4) as live:

        def report(name: str, route: str, state: str) -> None:
            tracker.update(name, route, state)
            live.refresh()

        yield report


def _table(tracker: Tracker) -> Table:
    from rich.table import Table

    table = Table("package", "route", "elapsed", "state", box=None)
    now = tracker.clock()
    with tracker.lock:
        for name, row in tracker.rows.items():
            table.add_row(name, row.route, f"{row.elapsed(now):5.1f}s", row.state)
    return table
