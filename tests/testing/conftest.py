"""Fixtures of the test kit's own tests: no Deferred failure may be left unhandled."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.logger import globalLogPublisher


@pytest.fixture(autouse=True)
def noUnhandledErrors() -> Iterator[list[Any]]:
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
