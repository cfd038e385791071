"""SIGINT and SIGTERM as a request to stop gracefully.

The blocking commands (``send``, ``listen``, ``bench``) must not be interrupted at a random
bytecode: an exception raised between a ``recv`` and the parser, or in the middle of a
``sendall``, would leave a half-read or half-written frame, and the command could not say
goodbye. So the first signal only sets :attr:`StopSignals.signum`; the commands wait in short
slices (:data:`POLL_INTERVAL`) and look at it between two frames, then disconnect. A second
signal raises :class:`Stopped` at once, wherever the command is (for a command stuck in a send
that the broker's flow control blocks).

``demo`` runs the Twisted reactor and installs its own handlers (see :mod:`stompest._demo`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = ['POLL_INTERVAL', 'STOP_SIGNALS', 'StopSignals', 'Stopped', 'exitStatus']

#: Seconds a command waits at most before it looks at a stop request again.
POLL_INTERVAL = 0.1
#: The signals that stop a command.
STOP_SIGNALS: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)


class Stopped(KeyboardInterrupt):
    """The command stopped because of a signal (a :class:`KeyboardInterrupt`, as Ctrl-C is).

    :param forced: raised by a second signal, wherever the command was (no goodbye then).
    """

    def __init__(self, signum: int, *, forced: bool = False) -> None:
        super().__init__(signum)
        self.signum = signum
        self.forced = forced


def exitStatus(exc: KeyboardInterrupt) -> int:
    """128 plus the signal's number, as shells report it: 130 for SIGINT, 143 for SIGTERM."""
    return 128 + (exc.signum if isinstance(exc, Stopped) else signal.SIGINT)


class StopSignals:
    """Records the first stop signal; raises :class:`Stopped` on the second.

    Use :meth:`installed` around a command; outside the main thread (where Python cannot install
    signal handlers, e.g. a test calling :func:`stompest.cli.command.main` from a thread) nothing is
    installed and only :meth:`request` stops the command.
    """

    def __init__(self) -> None:
        #: The first stop signal received, or ``None``.
        self.signum: int | None = None
        self._interruptible = 0

    @property
    def requested(self) -> bool:
        """Whether the command was asked to stop."""
        return self.signum is not None

    def request(self, signum: int = signal.SIGINT) -> None:
        """Ask the command to stop, as the first signal does (a second request raises)."""
        if self.signum is not None:
            raise Stopped(signum, forced=True)
        self.signum = signum
        if self._interruptible:
            raise Stopped(signum)

    def check(self) -> None:
        """Raise :class:`Stopped` if a stop was requested (commands catch it where they can
        still disconnect, and let a ``forced`` one through)."""
        if self.signum is not None:
            raise Stopped(self.signum)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """A block that the first signal may interrupt at once (raising :class:`Stopped`): one
        that waits for something else than the broker, e.g. the next line of stdin."""
        self.check()
        self._interruptible += 1
        try:
            yield
        finally:
            self._interruptible -= 1

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.request(signum)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Handle SIGINT and SIGTERM while the block runs; restore the previous handlers after."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous: dict[int, Any] = {}
        try:
            for signum in STOP_SIGNALS:
                previous[signum] = signal.signal(signum, self._handle)
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
