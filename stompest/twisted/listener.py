"""Listeners: the pluggable behaviour of :class:`stompest.twisted.Stomp` (stompest 2.3's design).

The client tells every listener it holds about each event by calling the hook ``on`` + event.
A hook may return a :class:`~twisted.internet.defer.Deferred[Any]`; where the client waits for an
event (connect, send with a receipt, subscribe, disconnect) it waits for all of them, and the
first failure is the failure of the whole operation.

Hooks (all no-ops in :class:`Listener`; ``connection`` is the client):

===============================================  ===================================================
hook                                             when
===============================================  ===================================================
``onAdd(connection)``                            the listener was added
``onConnect(connection, frame, connectedTimeout)``  CONNECT is about to be sent
``onConnected(connection, frame)``               CONNECTED was received and read by the session
``onReconnecting(connection, broker, delay, attempt)``  (autoReconnect) an attempt is scheduled
``onReconnected(connection, broker)``            (autoReconnect) connected again, subscriptions replayed
``onSend(connection, frame)``                    a frame is about to be sent
``onSubscribe(connection, frame, context)``      SUBSCRIBE is about to be sent (``context``: its listener)
``onUnsubscribe(connection, frame, context)``    UNSUBSCRIBE is about to be sent
``onMessage(connection, frame, context)``        a MESSAGE arrived for the subscription ``context``
``onReceipt(connection, frame, receiptId)``      a RECEIPT arrived
``onError(connection, frame)``                   an ERROR arrived
``onFrame(connection, frame)``                   any frame arrived (heart-beats too), before the
                                                 hook for its command (called only when overridden)
``onDisconnect(connection, failure, timeout)``   a graceful disconnect started (``failure``: the reason)
``onConnectionLost(connection, reason)``         the connection is gone (``reason``: a Failure, or
                                                 ``None`` after a clean disconnect)
``onCleanup(connection)``                        right before all listeners are removed
===============================================  ===================================================

:func:`defaultListeners` returns a fresh set of the default listeners; the client calls it (or
your ``listenersFactory``) for every connection. :class:`SubscriptionListener` instances are
added per subscription by :meth:`Stomp.subscribe <stompest.twisted.Stomp.subscribe>` and are
kept (as the subscription's context) for replay after a reconnect.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.error import StompCancelledError, StompConnectionError, StompHeartBeatTimeout, StompProtocolError
from stompest.protocol import commands, heartbeat
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from stompest.twisted._listenerbase import Listener
from stompest.twisted.subscription import SubscriptionListener
from stompest.twisted.util import sendToErrorDestination, sendToErrorDestinationAndRaise, withTimeout

if TYPE_CHECKING:
    from stompest.twisted.client import Stomp

__all__ = [
    'Listener',
    'ConnectListener',
    'DisconnectListener',
    'ErrorListener',
    'HeartBeatListener',
    'ReceiptListener',
    'SubscriptionListener',
    'defaultListeners',
    'sendToErrorDestination',
    'sendToErrorDestinationAndRaise',
]

log = logging.getLogger(__name__)

#: a timer's slack when comparing clock readings (float sums of task.Clock steps are not exact)
_EPSILON = 1e-9


class ConnectListener(Listener):
    """Makes :meth:`Stomp.connect` wait for CONNECTED, at most ``connectedTimeout`` seconds
    (then :class:`~stompest.error.StompCancelledError`, as in 2.3). A lost connection or an
    ERROR frame (as the reason the connection was dropped) fail the wait instead."""

    def __init__(self) -> None:
        self._waiting: defer.Deferred[Any] | None = None

    def onConnect(self, connection: Stomp, frame: StompFrame, connectedTimeout: float | None) -> defer.Deferred[Any]:
        self._waiting = waiting = defer.Deferred[Any]()

        def cancelled() -> Exception:
            return StompCancelledError(f'CONNECTED frame not received in time [connectedTimeout={connectedTimeout}]')

        return withTimeout(waiting, connectedTimeout, connection.reactor, cancelled)

    def onConnected(self, connection: Stomp, frame: StompFrame) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None and not waiting.called:
            waiting.callback(connection)

    def onConnectionLost(self, connection: Stomp, reason: Failure | None) -> None:
        waiting, self._waiting = self._waiting, None
        if waiting is not None and not waiting.called:
            waiting.errback(reason or Failure(StompConnectionError('Connection closed before CONNECTED')))


class DisconnectListener(Listener):
    """Logs how each connection ended: INFO for a clean disconnect, WARNING otherwise."""

    def onConnectionLost(self, connection: Stomp, reason: Failure | None) -> None:
        if reason is None:
            log.info('Disconnected')
        else:
            log.warning('Disconnected: %s', reason.getErrorMessage())


class ErrorListener(Listener):
    """Handles a broker ERROR frame: the connection is closed at once (no DISCONNECT, no waiting
    for handlers: per the specification the broker closes it anyway, and RabbitMQ keeps a refused
    login's socket open for seconds) with :class:`~stompest.error.StompProtocolError` carrying the
    frame, which :attr:`Stomp.disconnected` (or a pending :meth:`Stomp.connect`) errs back with.
    Subclass and override :meth:`onError` to treat some ERRORs differently."""

    def onError(self, connection: Stomp, frame: StompFrame) -> None:
        message = commands.error(frame)
        log.error('Received ERROR frame: %s', frame.info())
        connection.dropConnection(StompProtocolError(f'Received ERROR frame: {message!r}', frame=frame))


class HeartBeatListener(Listener):
    """Sends heart-beats when due and drops a broker that stays silent.

    The intervals are the session's negotiated ones. A heart-beat (EOL) goes out whenever
    ``clientHeartBeat`` ms passed since the last frame sent. When nothing at all arrived for
    ``serverHeartBeat`` ms times the client's ``heartBeatTolerance``, the connection is dropped
    with :class:`~stompest.error.StompHeartBeatTimeout`. While reading is paused (back-pressure)
    the broker cannot be heard, so the silence is counted from the moment reading resumed.
    Timers run on the client's reactor and stop with the connection.

    :param thresholds: 2.3's tolerances, relative to the negotiated periods:
        ``{'client': 0.8, 'server': 2.5}`` sends a heart-beat after 80 % of ``clientHeartBeat``
        without a frame sent, and drops the broker after 250 % of ``serverHeartBeat`` of silence.
        A missing key (or ``None``) keeps the default: ``client`` 1.0, ``server`` the client's
        ``heartBeatTolerance``.
    """

    def __init__(self, thresholds: dict[str, float] | None = None) -> None:
        self._thresholds = dict(thresholds or {})
        self._sendCall: Any = None
        self._checkCall: Any = None

    def onConnected(self, connection: Stomp, frame: StompFrame) -> None:
        self._stop()
        session = connection.session
        client = self._thresholds.get('client', 1.0)
        server = self._thresholds.get('server', connection.heartBeatTolerance)
        if session.clientHeartBeat:
            self._scheduleSend(connection, heartbeat.interval(session.clientHeartBeat, client))
        if session.serverHeartBeat:
            self._scheduleCheck(connection, heartbeat.interval(session.serverHeartBeat, server))

    def onConnectionLost(self, connection: Stomp, reason: Failure | None) -> None:
        self._stop()

    def onCleanup(self, connection: Stomp) -> None:
        self._stop()

    def _stop(self) -> None:
        for call in (self._sendCall, self._checkCall):
            if call is not None and call.active():
                call.cancel()
        self._sendCall = self._checkCall = None

    def _scheduleSend(self, connection: Stomp, interval: float) -> None:
        now = connection.reactor.seconds()
        last = connection.session.lastSent
        due = now if last is None else last + interval
        self._sendCall = connection.reactor.callLater(max(0.0, due - now), self._send, connection, interval)

    def _send(self, connection: Stomp, interval: float) -> None:
        self._sendCall = None
        if not connection.session.clientHeartBeat:
            return  # the session no longer asks for heart-beats (2.3's tests turn them off so)
        last = connection.session.lastSent
        if last is None or connection.reactor.seconds() - last >= interval - _EPSILON:
            try:
                connection.sendFrame(connection.session.beat())
            except Exception as exc:
                log.warning('Could not send heart-beat: %s', exc)
                return
        self._scheduleSend(connection, interval)

    def _scheduleCheck(self, connection: Stomp, limit: float) -> None:
        now = connection.reactor.seconds()
        due = self._heardAt(connection, now) + limit
        self._checkCall = connection.reactor.callLater(max(0.0, due - now), self._check, connection, limit)

    def _heardAt(self, connection: Stomp, now: float) -> float:
        if connection.readingPaused:
            return now
        last = connection.session.lastReceived
        candidates = [value for value in (last, connection.resumedAt) if value is not None]
        return max(candidates) if candidates else now

    def _check(self, connection: Stomp, limit: float) -> None:
        self._checkCall = None
        now = connection.reactor.seconds()
        silence = now - self._heardAt(connection, now)
        if silence >= limit - _EPSILON:
            session = connection.session
            log.warning(
                'Broker silent for %.3f s: dropping the connection [serverHeartBeat=%d ms, heartBeatTolerance=%s]',
                silence,
                session.serverHeartBeat,
                connection.heartBeatTolerance,
            )
            connection.dropConnection(
                StompHeartBeatTimeout(
                    f'Broker heart-beat timeout: silent for {silence:.3f} s [serverHeartBeat='
                    f'{session.serverHeartBeat} ms, heartBeatTolerance={connection.heartBeatTolerance}]',
                    broker=connection.broker,
                )
            )
            return
        self._scheduleCheck(connection, limit)


class ReceiptListener(Listener):
    """Makes operations that asked for a receipt wait for the RECEIPT.

    :param timeout: seconds to wait for each receipt before the operation fails with
        :class:`~stompest.error.StompCancelledError`; ``None`` takes the client's
        ``receiptTimeout`` (``None`` there too: wait as long as the connection lives).

    A receipt still awaited when the connection goes fails with the reason of the loss.
    """

    def __init__(self, timeout: float | None = None) -> None:
        self._timeout = timeout
        self._waiting: dict[str, defer.Deferred[Any]] = {}

    def onSend(self, connection: Stomp, frame: StompFrame) -> defer.Deferred[Any] | None:
        receipt = frame.headers.get(StompSpec.RECEIPT_HEADER)
        if receipt is None:
            return None
        timeout = self._timeout if self._timeout is not None else connection.receiptTimeout
        waiting: defer.Deferred[Any] = defer.Deferred()
        self._waiting[receipt] = waiting

        def forget(result: Any) -> Any:
            if self._waiting.get(receipt) is waiting:
                del self._waiting[receipt]
            return result

        def cancelled() -> Exception:
            return StompCancelledError(
                f'Receipt not received in time: {receipt!r} [receiptTimeout={timeout}, {frame.command} frame]'
            )

        waiting.addBoth(forget)
        return withTimeout(waiting, timeout, connection.reactor, cancelled)

    def onReceipt(self, connection: Stomp, frame: StompFrame, receiptId: str) -> None:
        waiting = self._waiting.pop(receiptId, None)
        if waiting is not None and not waiting.called:
            waiting.callback(receiptId)

    def onConnectionLost(self, connection: Stomp, reason: Failure | None) -> None:
        waiting, self._waiting = self._waiting, {}
        for receipt, deferred in waiting.items():
            if not deferred.called:
                deferred.errback(
                    reason or Failure(StompConnectionError(f'Connection closed before receipt {receipt!r}'))
                )


def defaultListeners() -> list[Listener]:
    """A fresh set of the default listeners (2.3): connect, disconnect, error, heart-beat and
    receipt handling. A ``listenersFactory`` usually starts from this list."""
    return [ConnectListener(), DisconnectListener(), ErrorListener(), HeartBeatListener(), ReceiptListener()]
