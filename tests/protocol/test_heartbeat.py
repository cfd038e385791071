"""The heart-beat deadlines both clients compute (:mod:`stompest.protocol.heartbeat`)."""

from stompest.protocol.heartbeat import interval, receiveDeadline, sendDeadline
from stompest.protocol.spec import StompSpec


def test_intervalIsSecondsTimesTheFactorAndZeroWhenOff() -> None:
    assert interval(1500) == 1.5
    assert interval(1500, 0.8) == 1500 / 1000.0 * 0.8
    assert interval(0, 3.0) == 0.0


def test_sendDeadlineIsOneClientIntervalAfterTheLastFrameSent() -> None:
    assert sendDeadline(10.0, 2000) == 12.0
    assert sendDeadline(10.0, 2000, 0.5) == 11.0
    assert sendDeadline(None, 2000) is None  # nothing sent yet
    assert sendDeadline(10.0, 0) is None  # the client owes no beats


def test_receiveDeadlineAllowsTheToleranceTimesTheServerInterval() -> None:
    assert receiveDeadline(10.0, 2000) == 10.0 + 2.0 * StompSpec.DEFAULT_HEART_BEAT_TOLERANCE
    assert receiveDeadline(10.0, 2000, 1.5) == 13.0
    assert receiveDeadline(None, 2000) is None
    assert receiveDeadline(10.0, 0) is None  # the broker promised no beats


def test_deadlinesAreTheFloatsTheClientsComputedBefore() -> None:
    for last, ms, factor in [(1733050000.123, 1000, 3.0), (0.1, 333, 2.5), (7.7, 47, 1.0)]:
        assert sendDeadline(last, ms) == last + ms / 1000.0
        assert receiveDeadline(last, ms, factor) == last + ms / 1000.0 * factor
