"""The first SIGINT/SIGTERM stops what the run started and unwinds as Interrupted (130/143)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from xbuild.util import signals


def test_sigterm_unwinds_once_with_143() -> None:
    calls: list[str] = []
    signals.on_interrupt("test", lambda: calls.append("stop"))
    signals.after_interrupt("test", lambda: calls.append("clean"))
    before = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(signals.Interrupted) as info:
            _signalled(calls)
    finally:
        signals.on_interrupt("test", lambda: None)
        signals.after_interrupt("test", lambda: None)
    assert info.value.code == 143
    assert calls == ["stop", "unwound", "clean"]
    assert signal.getsignal(signal.SIGTERM) is before


def _signalled(calls: list[str]) -> None:
    with signals.trapped():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises before this ends
        finally:
            # A second signal while unwinding is ignored: the cleanup is not cut short.
            os.kill(os.getpid(), signal.SIGINT)
            calls.append("unwound")


def test_keyboard_interrupt_becomes_130_and_stops_workers() -> None:
    with pytest.raises(signals.Interrupted) as info, signals.trapped():
        raise KeyboardInterrupt
    assert info.value.code == 130
    assert signals.stopping()
    with pytest.raises(signals.Interrupted):
        signals.check()  # a worker thread would stop here
    with signals.trapped():
        assert not signals.stopping()  # a new run starts afresh


class _SignalsInFinalizer:
    """A finalizer during which the signal arrives: Python drops what a finalizer raises."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGTERM)
        total = 0
        for i in range(10_000):  # the handler runs at one of these bytecodes, inside __del__
            total += i


def _finalize_then_wait() -> None:
    with signals.trapped():
        _SignalsInFinalizer()  # collected at once: __del__ runs here
        for _ in range(1000):
            time.sleep(0.001)


def test_a_signal_handled_inside_a_finalizer_still_unwinds_the_run(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(signals.Interrupted) as caught:
        _finalize_then_wait()
    assert caught.value.code == 143
    assert "Exception ignored" not in capfd.readouterr().err
