"""The batch scheduler: every task runs once, each item finishes once after its own tasks, results
in item order, the first failure raised and open work closed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from verify_helpers import WheelSpec, binary

from xbuild.errors import InputError
from xbuild.target import parse_target
from xbuild.verify import verify_paths
from xbuild.verify.schedule import Work, run


class _Log:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ran: list[tuple[str, int]] = []
        self.closed: list[str] = []

    def task(self, name: str, n: int) -> Callable[[], None]:
        def go() -> None:
            with self.lock:
                self.ran.append((name, n))

        return go

    def start(self, name: str) -> Work[str]:
        count = len(name)  # "" has no tasks and finishes at once

        def finish() -> str:
            with self.lock:
                mine = sorted(n for who, n in self.ran if who == name)
            assert mine == list(range(count)), "finished before all its tasks ran"
            return f"«{name}» {count}"

        return Work(
            tasks=tuple(self.task(name, n) for n in range(count)),
            finish=finish,
            close=lambda: self.closed.append(name),
        )


@pytest.mark.parametrize("workers", [1, 2, 5])
def test_every_task_once_results_in_item_order(workers: int) -> None:
    log = _Log()
    items = ["a b", "", "ünï 'q' [x]", "z" * 40]
    assert run(items, log.start, workers) == [f"«{i}» {len(i)}" for i in items]
    assert sorted(log.ran) == sorted((i, n) for i in items for n in range(len(i)))
    assert log.closed == []


def test_nothing_to_run() -> None:
    assert run([], _Log().start, 3) == []


@pytest.mark.parametrize("workers", [1, 2])
def test_first_failure_is_raised_and_open_work_closed(workers: int) -> None:
    log = _Log()

    def start(name: str) -> Work[str]:
        work = log.start(name)
        if name != "bad":
            return work

        def boom() -> None:
            raise InputError("cannot read «bad»", hint="x")

        return Work(tasks=(boom, *work.tasks), finish=work.finish, close=work.close)

    with pytest.raises(InputError, match="«bad»"):
        run(["bad", "later one"], start, workers)
    assert "bad" in log.closed


def test_one_big_wheel_and_small_ones_match_serial(tmp_path: Path) -> None:
    # Many batches of one wheel and whole small wheels interleave over the threads.
    target = parse_target("x86_64-manylinux_2_28", python_version="3.12")
    big = {f"big/blob {i} [x].bin": os.urandom(700_000) for i in range(8)}
    big["big/_x.so"] = binary("x86_64-linux-gnu.so")
    WheelSpec(name="big", tags="cp312-cp312-manylinux_2_17_x86_64", files=big).build(tmp_path)
    for i in range(3):
        files = {"small/__init__.py": b"", "small/_x.so": binary("aarch64-macos.11.0.so")}
        WheelSpec(name=f"small{i}", tags="cp312-cp312-manylinux_2_17_x86_64", files=files).build(tmp_path)
    serial = verify_paths([tmp_path], target, 1)
    assert verify_paths([tmp_path], target, 2) == serial
    assert verify_paths([tmp_path], target, 3) == serial
    assert [r.ok for r in serial] == [True, False, False, False]
