"""Fixtures of the test kit's own tests: every test ends with no Deferred failure left unhandled, and a test
that takes ``reactor`` ends with no delayed call left on it."""

from tests.twistedfixtures import noUnhandledErrors, reactor

__all__ = ['noUnhandledErrors', 'reactor']
