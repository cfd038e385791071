"""Fixtures of the test kit's own tests: every test ends with no Deferred failure left unhandled."""

from tests.twistedfixtures import noUnhandledErrors

__all__ = ['noUnhandledErrors']
