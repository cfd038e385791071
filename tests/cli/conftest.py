"""Fixtures of the command-line tests: a test that takes ``reactor`` ends with no delayed call left
on it (the Twisted folders' fixture; the unhandled-error check is not applied here)."""

from tests.twistedfixtures import reactor

__all__ = ['reactor']
