"""stompest.cli.signals: the first SIGINT/SIGTERM asks to stop, the second stops at once."""

from __future__ import annotations

import os
import signal

import pytest

from stompest.cli.signals import Stopped, StopSignals, exitStatus


def test_firstRequestIsRecordedAndTheSecondRaisesForced():
    stop = StopSignals()
    stop.request(signal.SIGTERM)
    assert stop.requested and stop.signum == signal.SIGTERM
    with pytest.raises(Stopped) as stopped:
        stop.request(signal.SIGINT)
    assert stopped.value.forced


def test_checkRaisesOnlyAfterARequest():
    stop = StopSignals()
    stop.check()
    stop.request(signal.SIGINT)
    with pytest.raises(Stopped) as stopped:
        stop.check()
    assert not stopped.value.forced


def test_firstRequestInsideAnInterruptibleBlockRaisesAtOnce():
    stop = StopSignals()
    with pytest.raises(Stopped), stop.interruptible():
        stop.request(signal.SIGINT)
    assert stop.requested


def test_installedHandlesRealSignalsAndRestoresThePreviousHandlers():
    before = (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM))
    with StopSignals().installed() as stop:
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pthread_sigmask(signal.SIG_BLOCK, [])  # a C call: the handler has run once this returns
        assert stop.signum == signal.SIGTERM
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


@pytest.mark.parametrize(
    ('exc', 'status'),
    [
        (Stopped(signal.SIGINT), 130),
        (Stopped(signal.SIGTERM), 143),
        (KeyboardInterrupt(), 130),
    ],
)
def test_exitStatusIs128PlusTheSignal(exc, status):
    assert exitStatus(exc) == status
