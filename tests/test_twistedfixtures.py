"""The shared Twisted fixtures police the tests that use them: run in a pytest of their own
(pytester), a test that leaves a timer ticking on ``reactor`` fails at teardown, a clean one passes."""

from __future__ import annotations

import pytest

import tests.twistedfixtures  # noqa: F401  (loaded once: pytester's in-process runs must not re-import Twisted)

pytest_plugins = ['pytester']

CONFTEST = """
from tests.twistedfixtures import reactor

__all__ = ['reactor']
"""


def test_reactorFixtureFailsATestThatLeavesADelayedCall(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        def test_leavesATimerTicking(reactor):
            reactor.callLater(5, lambda: None)

        def test_cancelsItsTimer(reactor):
            reactor.callLater(5, lambda: None).cancel()

        def test_runsItsTimer(reactor):
            reactor.callLater(5, lambda: None)
            reactor.advance(5)
        """
    )
    outcome = pytester.runpytest_inprocess('-p', 'no:twisted')  # the inner run needs no real reactor
    outcome.assert_outcomes(passed=3, errors=1)  # the leaky test's call passed, its teardown did not
    outcome.stdout.fnmatch_lines(
        ['*ERROR at teardown of test_leavesATimerTicking*', '*the test left 1 delayed call(s) on the reactor*']
    )


def test_reactorFixtureGivesEachTestItsOwnClock(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        """
        from twisted.internet.testing import MemoryReactorClock

        def test_first(reactor):
            assert isinstance(reactor, MemoryReactorClock)
            reactor.advance(10)

        def test_second(reactor):
            assert reactor.seconds() == 0
        """
    )
    pytester.runpytest_inprocess('-p', 'no:twisted').assert_outcomes(passed=2)
