"""The first Ctrl-C or SIGTERM stops what the run started, then unwinds as one exception.

Modules that start things the interpreter cannot stop on its own (containers, subprocess
groups) register a stopper with `on_interrupt`. The handler runs every stopper once, so threads
blocked on those things wake up, and raises `Interrupted` in the main thread: `finally` blocks
then remove temp data as on any error. Further signals while unwinding are ignored, so a second
Ctrl-C cannot cut the cleanup short.

`Interrupted` is a SystemExit carrying 130 (SIGINT) or 143 (SIGTERM): no `except Exception` in
library code swallows it, click does not turn it into "Aborted!", and the CLI's entry point
returns its code as it does for any SystemExit.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

Stopper = Callable[[], object]
_STOPPERS: dict[str, Stopper] = {}
_CLEANUPS: dict[str, Stopper] = {}
_STOPPING = threading.Event()
_DEPTH = [0]


class Interrupted(SystemExit):
    """SIGINT or SIGTERM arrived; exit with 128 + the signal number (130 or 143)."""

    def __init__(self, signum: int) -> None:
        super().__init__(128 + signum)
        self.signum = signum

    @property
    def signal_name(self) -> str:
        return signal.Signals(self.signum).name


def on_interrupt(name: str, stopper: Stopper) -> None:
    """Register (or replace) the stopper called `name`; it must be quick and never raise."""
    _STOPPERS[name] = stopper


def after_interrupt(name: str, cleanup: Stopper) -> None:
    """Register a cleanup that runs once the interrupted run has unwound (temp data removal)."""
    _CLEANUPS[name] = cleanup


def stopping() -> bool:
    """True once a signal arrived: workers check it before starting anything new."""
    return _STOPPING.is_set()


def check() -> None:
    """Raise Interrupted in a worker thread once the run is stopping."""
    if _STOPPING.is_set():
        raise Interrupted(signal.SIGINT)


def stop_everything() -> None:
    _STOPPING.set()
    _run_all(_STOPPERS)


def _run_all(callbacks: dict[str, Stopper]) -> None:
    for name, callback in list(callbacks.items()):
        try:
            callback()
        except Exception as exc:  # one failing callback must not keep the others from running
            log.debug("interrupt callback %s: %s", name, exc)


def _handle(signum: int, frame: FrameType | None) -> None:
    if _LOST:  # the first raise landed where Python drops exceptions: raise it here instead
        raise Interrupted(_LOST.pop())
    if _STOPPING.is_set():
        return  # already unwinding from the first signal
    stop_everything()
    raise Interrupted(signum)


_LOST: list[int] = []


def _redeliver(signum: int) -> None:
    # From another thread, a moment later: a signal raised at once would be handled inside the
    # hook (or Thread.start's wait), where it is dropped again.
    time.sleep(0.005)
    signal.raise_signal(signum)


def _unraisable(info: sys.UnraisableHookArgs) -> None:
    """A signal handler runs between any two bytecodes, also inside a weakref callback or a
    `__del__`, where Python prints the exception as "Exception ignored" and carries on. Such an
    Interrupted is sent again, so that it unwinds the run from the next ordinary frame."""
    if isinstance(info.exc_value, Interrupted):
        _LOST.append(info.exc_value.signum)
        threading.Thread(target=_redeliver, args=(info.exc_value.signum,), daemon=True).start()
        return
    sys.__unraisablehook__(info)


@contextmanager
def trapped(*, final: bool = False) -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted inside this block (main thread; nesting is fine).

    The `after_interrupt` cleanups run when the outermost block ends by an interrupt, after the
    stack has unwound. With `final` (the process's entry point), the outermost block ends by
    ignoring both signals instead of restoring the default: the work is done and its output
    placed, so a signal in the last milliseconds before exit must not kill the process with it.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    outermost = _DEPTH[0] == 0
    previous = {}
    previous_hook = sys.unraisablehook
    if outermost:
        _STOPPING.clear()
        _LOST.clear()
        previous = {s: signal.signal(s, _handle) for s in (signal.SIGINT, signal.SIGTERM)}
        sys.unraisablehook = _unraisable
    _DEPTH[0] += 1
    try:
        yield
    except (KeyboardInterrupt, Interrupted) as exc:
        if not outermost:
            raise
        if not _STOPPING.is_set():
            stop_everything()  # a KeyboardInterrupt raised without our handler (e.g. tests)
        _run_all(_CLEANUPS)
        interrupted = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
        log.warning(
            "interrupted (%s): stopped this run's containers and removed its temp data",
            interrupted.signal_name,
        )
        if interrupted is exc:
            raise
        raise interrupted from None
    finally:
        _DEPTH[0] -= 1
        if outermost:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_IGN if final else handler)
            sys.unraisablehook = previous_hook
