"""Fixtures of the Twisted client tests: every test ends with no Deferred failure left unhandled."""

from tests.twistedfixtures import noUnhandledErrors

__all__ = ['noUnhandledErrors']
