"""A fixture for every test folder that runs Twisted code: the test fails if any Deferred failure
was left unhandled (Twisted logs it as "Unhandled error in Deferred"). The folders' conftests
import it, so it is written once."""

from __future__ import annotations

import gc
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
