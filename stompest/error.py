"""The exceptions stompest raises.

The tree keeps stompest 2.3's class names and bases, so ``except`` clauses written against 2.3
still catch what they caught then. Newer, finer errors subclass one of the 2.3 classes.

* :class:`StompFrameError`: the bytes from the wire are not a valid STOMP frame (the peer sent
  garbage, or more than a configured limit allows).
* :class:`StompProtocolError`: a command is illegal in this state or version (you misused the
  API), or the broker answered with an ``ERROR`` frame (then :attr:`StompProtocolError.frame`
  holds that frame).
* :class:`StompConnectionError`: the transport failed (refused, lost, timed out, silent broker).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    'StompError',
    'StompConnectionError',
    'StompConnectTimeout',
    'StompHeartBeatTimeout',
    'StompProtocolError',
    'StompEncodingError',
    'StompFrameError',
    'StompFrameLimitError',
    'StompExclusiveOperationError',
    'StompAlreadyRunningError',
    'StompNotRunningError',
    'StompCancelledError',
    'StompAlreadyConnectedError',
    'StompNotConnectedError',
    'StompFailoverUriError',
]


class StompError(Exception):
    """The base of every exception stompest raises on purpose."""


class StompConnectionError(StompError):
    """The connection to the broker could not be made, or was lost.

    :param broker: the broker (a dict with ``protocol``, ``host``, ``port``) this happened with,
        when known.
    """

    def __init__(self, *args: Any, broker: dict[str, Any] | None = None) -> None:
        super().__init__(*args)
        self.broker = broker


class StompConnectTimeout(StompConnectionError):
    """No connection could be made in time (also: the failover URI gave up)."""


class StompHeartBeatTimeout(StompConnectionError):
    """The broker stayed silent for longer than the negotiated heart-beat allows."""


class StompProtocolError(StompError):
    """A STOMP protocol rule was broken.

    Raised when a command is not legal in the session's state or version, and when the broker
    sends an ``ERROR`` frame; in that case :attr:`frame` is that frame.
    """

    def __init__(self, *args: Any, frame: Any = None) -> None:
        super().__init__(*args)
        self.frame = frame


class StompEncodingError(StompProtocolError, UnicodeEncodeError):
    """A frame's headers cannot be encoded in its version's codec (ASCII in STOMP 1.0).

    Also a :class:`UnicodeEncodeError`, which stompest 2.3 raised here, with that error's
    ``encoding``, ``object``, ``start``, ``end`` and ``reason``.

    :param error: the :class:`UnicodeEncodeError` of the codec.
    :param message: what to say instead of the codec's message.
    """

    def __init__(self, error: UnicodeEncodeError, message: str) -> None:
        super().__init__(error.encoding, error.object, error.start, error.end, error.reason)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StompFrameError(StompError):
    """Bytes received from the wire are not a valid STOMP frame."""


class StompFrameLimitError(StompFrameError):
    """A received frame exceeds a configured limit.

    :param limit: the name of the limit (e.g. ``'maxHeaderSize'``), so the reader knows which knob
        to turn.
    :param value: the configured value of that limit.
    """

    def __init__(self, *args: Any, limit: str | None = None, value: int | None = None) -> None:
        super().__init__(*args)
        self.limit = limit
        self.value = value


class StompExclusiveOperationError(StompError):
    """An exclusive operation (one that may run only once at a time) was misused (2.3's base)."""


class StompAlreadyRunningError(StompExclusiveOperationError, KeyError):
    """An operation was started that is already running.

    Also a :class:`KeyError`, as in 2.3 (2.3 kept running operations in a dict keyed by name).
    """

    __str__ = Exception.__str__  # KeyError would print the message in quotes


class StompNotRunningError(StompExclusiveOperationError, KeyError):
    """An operation was waited for or stopped that is not running (also a :class:`KeyError`, as in 2.3)."""

    __str__ = Exception.__str__


class StompCancelledError(StompExclusiveOperationError):
    """An operation was cancelled, typically because its timeout expired."""


class StompAlreadyConnectedError(StompConnectionError, StompAlreadyRunningError):
    """``connect()`` was called on a client that is connected or connecting.

    A :class:`StompConnectionError`, as 2.3 raised (``'Already connected'``), and a
    :class:`StompAlreadyRunningError`, as earlier versions of this package raised.
    """


class StompNotConnectedError(StompConnectionError, StompNotRunningError):
    """A command that needs a connection was called while not connected.

    A :class:`StompConnectionError`, as 2.3's clients raised (``'Not connected'``), and a
    :class:`StompNotRunningError`, as earlier versions of this package raised.
    """


class StompFailoverUriError(StompError, ValueError):
    """A broker URI or failover URI could not be parsed, or one of its options is unknown or invalid.

    It is also a :class:`ValueError`, so code that validates configuration values generically still
    catches it.

    :param uri: the whole URI that was being parsed, when known.
    """

    def __init__(self, *args: Any, uri: str | None = None) -> None:
        super().__init__(*args)
        self.uri = uri
