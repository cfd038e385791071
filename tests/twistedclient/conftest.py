"""Fixtures of the Twisted client tests: every test ends with no Deferred failure left unhandled."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator
from typing import Any

import pytest
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


@pytest.fixture(autouse=True)
def stompestLogsPropagate() -> Iterator[None]:
    """Tests that read ``caplog`` need the ``stompest`` logger at its defaults; an in-process run
    of the command line (tests/test_cli.py) leaves it silenced (``propagate=False``, level above
    CRITICAL), which would make them depend on the test order."""
    logger = logging.getLogger('stompest')
    saved = logger.propagate, logger.level
    logger.propagate = True
    logger.setLevel(logging.NOTSET)  # (setLevel, not .level: it clears the loggers' level caches)
    try:
        yield
    finally:
        logger.propagate = saved[0]
        logger.setLevel(saved[1])
