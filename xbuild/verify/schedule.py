"""Spread the reading of many archives over a few threads, member batches as the unit of work.

One wheel per thread leaves a core idle while the largest wheel finishes alone (scipy is 40% of
a typical set); one pool per wheel idles at every wheel's end. Here every worker takes the next
batch of the oldest open archive, and opens the next archive (largest first, as the caller
orders them) only when no batch is waiting, so at most about one archive per worker is open and
the threads stay busy to the last batch. Whoever finishes an archive's last batch finishes it
(assembles and checks it), in parallel with the other threads' reading.

zlib and hashlib release the GIL on large buffers, so threads scale on decompression and
hashing; a process pool would pay for pickling and, with `spawn`, interpreter start-up.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, kw_only=True)
class Work(Generic[R]):
    """An opened archive: batches any thread may run, then one `finish` once all have run.

    `finish` releases what the archive holds; `close` does so when it will never be called.
    """

    tasks: tuple[Callable[[], None], ...]
    finish: Callable[[], R]
    close: Callable[[], None] = lambda: None


class _Job(Generic[R]):
    __slots__ = ("done", "index", "left", "queue", "work")

    def __init__(self, index: int, work: Work[R]) -> None:
        self.index = index
        self.work = work
        self.queue = deque(work.tasks)
        self.left = len(work.tasks)  # tasks not yet run to the end
        self.done = False


class _Board(Generic[T, R]):
    """The shared state of one run; plain classes, not dataclasses, as they are private and
    mutable (and cost less to import, which every `xbuild build` pays)."""

    def __init__(self, items: Sequence[T], start: Callable[[T], Work[R]]) -> None:
        self.items = items
        self.start = start
        self.lock = threading.Lock()
        self.pending = deque(range(len(items)))
        self.open: deque[_Job[R]] = deque()
        self.started: list[_Job[R]] = []
        self.results: dict[int, R] = {}
        self.failure: BaseException | None = None

    def work(self) -> None:
        try:
            while (step := self._next()) is not None:
                step()
        except BaseException as exc:  # re-raised by run() in the calling thread
            with self.lock:
                self.failure = self.failure or exc

    def _next(self) -> Callable[[], None] | None:
        with self.lock:
            if self.failure is not None:
                return None
            while self.open:
                job = self.open[0]
                if job.queue:
                    return partial(self._run, job, job.queue.popleft())
                self.open.popleft()
            return partial(self._open, self.pending.popleft()) if self.pending else None

    def _open(self, index: int) -> None:
        work = self.start(self.items[index])
        job = _Job(index, work)
        if not work.tasks:
            self._finish(job)
            return
        with self.lock:
            self.open.append(job)
            self.started.append(job)

    def _run(self, job: _Job[R], task: Callable[[], None]) -> None:
        task()
        with self.lock:
            job.left -= 1
            last = job.left == 0
        if last:
            self._finish(job)

    def _finish(self, job: _Job[R]) -> None:
        job.done = True
        self.results[job.index] = job.work.finish()


def run(items: Sequence[T], start: Callable[[T], Work[R]], workers: int) -> list[R]:
    """`start` each item (in the order given) and run its tasks on `workers` threads, the
    calling thread among them; results come in item order. The first exception any thread
    raises stops the others after their current batch and is raised here."""
    board: _Board[T, R] = _Board(items, start)
    helpers = [
        threading.Thread(target=board.work, name=f"xbuild-verify-{n}", daemon=True)
        for n in range(workers - 1 if items else 0)
    ]
    for thread in helpers:
        thread.start()
    board.work()
    for thread in helpers:
        thread.join()
    if board.failure is not None:
        for job in board.started:
            if not job.done:
                job.work.close()
        raise board.failure
    return [board.results[i] for i in range(len(items))]


def run_tasks(tasks: Sequence[Callable[[], None]], workers: int) -> None:
    """Run independent tasks on `workers` threads (the calling one among them)."""
    run([tuple(tasks)], lambda batch: Work(tasks=batch, finish=lambda: None), workers)
