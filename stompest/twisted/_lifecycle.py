"""The phases of :class:`~stompest.twisted.Stomp`'s connection and every move between them, as one
table (:data:`TRANSITIONS`) and one place that moves the phase and refuses an illegal move
(:meth:`Lifecycle.move`), in the manner of h11's ``_state.py``.

=================  =================  =================  ==============================================
phase              event              next phase         when
=================  =================  =================  ==============================================
``idle``           ``connect``        ``connecting``     :meth:`~stompest.twisted.Stomp.connect`
``connecting``     ``connected``      ``connected``      CONNECTED arrived, subscriptions replayed
``connecting``     ``connectFailed``  ``idle``           the failover schedule gave up, no CONNECTED in
                                                         time, an ERROR, the connection lost, or
                                                         :meth:`~stompest.twisted.Stomp.disconnect`
``connected``      ``disconnect``     ``disconnecting``  :meth:`~stompest.twisted.Stomp.disconnect`,
                                                         or ``dropConnection()`` without a reason
``connected``      ``lost``           ``reconnecting``   (``autoReconnect``) the connection was lost
                                                         or the broker fell silent
``connected``      ``closed``         ``idle``           the connection ended (an ERROR, a loss
                                                         without ``autoReconnect``)
``disconnecting``  ``closed``         ``idle``           the connection is closed
``reconnecting``   ``reconnected``    ``connected``      a broker answered, subscriptions replayed
``reconnecting``   ``closed``         ``idle``           reconnecting gave up, or ``disconnect()``
                                                         cancelled it
=================  =================  =================  ==============================================

While ``reconnecting``, commands wait for the new connection; in ``idle`` (and in ``connecting``
before the transport is up) they raise :class:`~stompest.error.StompConnectionError` at once.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from twisted.internet import defer

from stompest.error import StompProtocolError
from stompest.protocol.failover import brokerUri

if TYPE_CHECKING:
    from stompest.config import StompConfig
    from stompest.protocol.failover import StompFailoverTransport
    from stompest.protocol.frame import StompFrame
    from stompest.protocol.session import StompSession
    from stompest.twisted.listener import Listener
    from stompest.twisted.protocol import StompFactory, StompProtocol

__all__ = ['IDLE', 'CONNECTING', 'CONNECTED', 'DISCONNECTING', 'RECONNECTING', 'TRANSITIONS', 'Lifecycle']

IDLE, CONNECTING, CONNECTED, DISCONNECTING, RECONNECTING = (
    'idle',
    'connecting',
    'connected',
    'disconnecting',
    'reconnecting',
)

#: ``(phase, event) -> next phase``: every legal move of the client's connection
TRANSITIONS: dict[tuple[str, str], str] = {
    (IDLE, 'connect'): CONNECTING,
    (CONNECTING, 'connected'): CONNECTED,
    (CONNECTING, 'connectFailed'): IDLE,
    (CONNECTED, 'disconnect'): DISCONNECTING,
    (CONNECTED, 'lost'): RECONNECTING,
    (CONNECTED, 'closed'): IDLE,
    (DISCONNECTING, 'closed'): IDLE,
    (RECONNECTING, 'reconnected'): CONNECTED,
    (RECONNECTING, 'closed'): IDLE,
}


class Lifecycle:
    """The current phase; :meth:`move` is the only way to change it."""

    def __init__(self) -> None:
        self.phase = IDLE
        #: the last 20 moves, ``(phase, event, next phase)``, oldest first (for logs and tests)
        self.history: list[tuple[str, str, str]] = []

    def move(self, event: str) -> str:
        """Apply ``event``; the new phase. An event the table has no move for in this phase is a
        :class:`~stompest.error.StompProtocolError` (a bug in the client, never the broker's)."""
        try:
            new = TRANSITIONS[(self.phase, event)]
        except KeyError:
            legal = sorted(phase for phase, name in TRANSITIONS if name == event)
            raise StompProtocolError(
                f'Cannot handle event {event!r} in phase {self.phase!r} (only in phases {", ".join(map(repr, legal))})'
            ) from None
        self.history.append((self.phase, event, new))
        del self.history[:-20]
        self.phase = new
        return new


def brokerText(broker: dict[str, Any] | None) -> str:
    if not broker:
        return '?'
    return brokerUri(broker)


def toNone(result: Any) -> None:
    return None


_F = TypeVar('_F', bound=Callable[..., Any])


def connected(method: _F) -> _F:
    """2.3's ``@connected``: the command raises :class:`~stompest.error.StompConnectionError` at
    once (not in its Deferred) when the client has no connection and is not reconnecting."""

    @functools.wraps(method)
    def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
        self._checkConnected()
        return method(self, *args, **kwargs)

    return checked  # type: ignore[return-value]


class ClientState:
    """The state the parts of the client share (declared here for the type checker; the client's
    ``__init__`` sets it)."""

    _lifecycle: Lifecycle
    _config: StompConfig
    _reactor: Any
    _listenersFactory: Callable[[], Iterable[Listener]]
    _receiptTimeout: float | None
    _autoReconnect: bool
    _maxInFlight: int | None
    _heartBeatTolerance: float
    _failover: StompFailoverTransport
    _factory: StompFactory
    session: StompSession
    _listeners: list[Listener]
    _hooks: dict[str, list[Listener]]
    _plainFrames: bool
    _lostListeners: list[Listener]
    _protocol: StompProtocol | None
    _broker: dict[str, Any] | None
    _pauses: set[Any]
    _resumedAt: float | None
    _clientAckTokens: set[Any]
    _unacked: weakref.WeakValueDictionary[int, StompFrame]
    _staleFrames: weakref.WeakValueDictionary[int, StompFrame]
    _forwards: dict[int, tuple[StompFrame, defer.Deferred[Any]]]
    _factoryListeners: list[Listener]

    _disconnected: defer.Deferred[Any] | None

    @property
    def _phase(self) -> str:
        return self._lifecycle.phase

    @property
    def phase(self) -> str:
        """The connection's phase (see :data:`~stompest.twisted._lifecycle.TRANSITIONS`)."""
        return self._lifecycle.phase

    @property
    def reactor(self) -> Any:
        """The reactor (and clock) this client runs on."""
        return self._reactor

    @property
    def broker(self) -> dict[str, Any] | None:
        """The broker of the current (or last) connection."""
        return self._broker

    @property
    def receiptTimeout(self) -> float | None:
        return self._receiptTimeout

    @property
    def maxInFlight(self) -> int | None:
        return self._maxInFlight

    @property
    def heartBeatTolerance(self) -> float:
        return self._heartBeatTolerance

    @property
    def readingPaused(self) -> bool:
        """Whether reading is paused for back-pressure."""
        return bool(self._pauses)

    @property
    def resumedAt(self) -> float | None:
        """When reading was last resumed (reactor time)."""
        return self._resumedAt

    @property
    def disconnected(self) -> defer.Deferred[Any] | None:
        """A Deferred for the end of the connection made by the last successful :meth:`connect`:
        it fires with ``None`` after a clean disconnect and errs back with the cause otherwise
        (:class:`~stompest.error.StompProtocolError` with the ERROR frame,
        :class:`~stompest.error.StompConnectionError` on loss,
        :class:`~stompest.error.StompHeartBeatTimeout`, the ``reason`` given to :meth:`disconnect`).
        With ``autoReconnect`` it only fires when the client stops for good. ``None`` before the
        first connection."""
        return self._disconnected

    if TYPE_CHECKING:

        def _notify(self, name: str, *args: Any, listeners: list[Listener] | None = None) -> defer.Deferred[Any]: ...

        def _notifyEach(
            self, name: str, args: tuple[Any, ...], listeners: list[Listener] | None = None
        ) -> list[Any] | None: ...

        def add(self, listener: Listener) -> None: ...

        def remove(self, listener: Listener) -> None: ...

        def _whenUsable(self) -> defer.Deferred[Any]: ...

        def _transmit(self, frame: StompFrame) -> defer.Deferred[Any]: ...

        def _transmitNow(self, frame: StompFrame) -> defer.Deferred[Any] | None: ...

        def _later(self, build: Callable[[], StompFrame]) -> defer.Deferred[Any]: ...

        def _checkConnected(self) -> None: ...

        def _drop(self, protocol: StompProtocol, reason: BaseException | None) -> None: ...
