"""Fixtures for every test folder that runs Twisted code, written once and imported by the folders'
conftests: the test fails if any Deferred failure was left unhandled (Twisted logs it as "Unhandled
error in Deferred"), and a test that takes ``reactor`` fails if it leaves a timer ticking."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet.testing import MemoryReactorClock
from twisted.logger import globalLogPublisher


@pytest.fixture(autouse=True)
def noUnhandledErrors() -> Iterator[list[Any]]:
    """Collect Twisted log events carrying a failure (e.g. "Unhandled error in Deferred");
    the test fails if any was logged."""
    events: list[Any] = []

    def observer(event: dict[str, Any]) -> None:
        if event.get('log_failure') is not None or event.get('isError'):
            events.append(event)

    globalLogPublisher.addObserver(observer)
    try:
        yield events
        gc.collect()
    finally:
        globalLogPublisher.removeObserver(observer)
    assert not events, [str(event.get('log_failure') or event) for event in events]


@pytest.fixture
def reactor() -> Iterator[MemoryReactorClock]:
    """The reactor a test's clients run on: a :class:`MemoryReactorClock` (it records ``connectTCP``
    calls and is a ``task.Clock``). At teardown the test fails if a delayed call is left on it,
    i.e. something is still ticking: the cleanup ``makeReconnector`` registers in Twisted's
    ``twisted/application/test/test_internet.py``. A test that means "nothing is scheduled at this
    moment" before doing more still asserts ``reactor.getDelayedCalls() == []`` itself."""
    clock = MemoryReactorClock()
    yield clock
    left = clock.getDelayedCalls()
    assert left == [], f'the test left {len(left)} delayed call(s) on the reactor: {left!r}'
