"""The :class:`SubscriptionListener`: runs a message handler for one subscription (acks, error
destinations, the poison-pill rule, limits on messages in flight). Importable from
:mod:`stompest.twisted.listener`, as in 2.3."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from types import CoroutineType
from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.error import StompCancelledError
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from stompest.twisted._listenerbase import Listener
from stompest.twisted.util import sendToErrorDestination, withTimeout

if TYPE_CHECKING:
    from stompest.twisted.client import Stomp

__all__ = ['SubscriptionListener']

log = logging.getLogger('stompest.twisted.listener')


def _poisonPill(
    connection: Stomp, failure: BaseException, frame: StompFrame, errorDestination: str | None
) -> defer.Deferred[None] | None:
    """The default ``onMessageFailed``: forward to the error destination
    (:func:`~stompest.twisted.util.sendToErrorDestination`); without one, raise the handler's
    exception, so the listener disconnects gracefully and leaves the message unacknowledged (the
    broker redelivers it; 2.3 acked it and went on, losing it)."""
    if not errorDestination:
        raise failure
    return sendToErrorDestination(connection, failure, frame, errorDestination)


class SubscriptionListener(Listener):
    """Runs a message handler for one subscription.

    :param handler: ``handler(connection, frame)``; it may return a Deferred or a coroutine (the
        message counts as in flight until it finishes).
    :param ack: ACK the message when the handler succeeded (only when the subscription's ack mode
        is ``client`` or ``client-individual``; without an ``ack`` header the subscription gets
        :attr:`DEFAULT_ACK_MODE`, as in 2.3).
    :param errorDestination: where the default ``onMessageFailed`` forwards messages whose
        handler failed (they are ACKed once the broker confirmed the copy).
    :param onMessageFailed: ``onMessageFailed(connection, exc, frame, errorDestination)``, called
        with the handler's exception (2.3's signature). The default forwards the message to
        ``errorDestination`` (:func:`~stompest.twisted.util.sendToErrorDestination`) or, without
        one, raises ``exc``. When it returns (or its Deferred fires) the message is ACKed (with
        ``ack``; after the copy :func:`~stompest.twisted.util.sendToErrorDestination` sent was
        confirmed). When it raises (or its Deferred fails) the client disconnects gracefully with
        that exception as the reason; the message is ACKed only if a copy was confirmed (as with
        :func:`~stompest.twisted.util.sendToErrorDestinationAndRaise`), else the broker
        redelivers it.
    :param maxInFlight: at most this many messages of this subscription are handled at once
        (``None``: the client's ``maxInFlight``; 0 or ``None`` there: no limit). Further messages
        wait in a queue, first in first out, and are started as handlers finish.
    :param maxQueued: how many messages may wait in that queue (``None``: as many as
        ``maxInFlight``). When more arrive, the client stops reading from the connection
        (back-pressure) until the queue is down to half of it. Every other frame (RECEIPT,
        ERROR, heart-beats) is handled at once whatever the limits, so a handler waiting for a
        RECEIPT (e.g. it sends its output with ``receipt=`` and lets the message be ACKed after)
        gets it, as long as reading is not paused.

    Set the broker's prefetch to at most ``maxInFlight``: ActiveMQ ``activemq.prefetchSize``,
    RabbitMQ ``prefetch-count`` as SUBSCRIBE headers (:attr:`StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER`,
    :attr:`StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER`) with an ack mode of ``client`` or
    ``client-individual``. Then the broker never has more unacknowledged messages out than the
    handlers may run, nothing is ever queued, reading is never paused and receipts always flow.
    With a larger prefetch (more than ``maxInFlight + maxQueued``) reading may pause, and while
    it is paused the frames behind the queued messages are not read: handlers waiting for such a
    RECEIPT then wait until a handler finishes for another reason (or a receipt timeout).

    A lost connection is not a handler failure: a message whose connection went away while its
    handler ran (the handler's sends or receipts then fail with
    :class:`~stompest.error.StompConnectionError`, or it failed for any other reason) is neither
    forwarded nor ACKed, and ``onMessageFailed`` is not called: the broker redelivers it, and the
    client goes on (reconnecting, with ``autoReconnect``).

    Queued messages are never started once the connection is gone or a graceful disconnect began:
    they are dropped without an ACK, and the broker redelivers them. When a graceful disconnect's
    ``timeout`` expires with handlers still running, the disconnect goes on without them (as in
    2.3 they are not cancelled); their messages are neither ACKed nor forwarded.
    """

    #: the ack mode a subscription gets when its headers name none (2.3)
    DEFAULT_ACK_MODE = StompSpec.ACK_CLIENT_INDIVIDUAL

    def __init__(
        self,
        handler: Callable[..., Any],
        ack: bool = True,
        errorDestination: str | None = None,
        onMessageFailed: Callable[..., Any] | None = None,
        maxInFlight: int | None = None,
        *,
        maxQueued: int | None = None,
    ) -> None:
        if maxQueued is not None and maxQueued < 0:
            raise ValueError(f'maxQueued must not be negative [maxQueued={maxQueued}]')
        self._handler = handler
        self._ack = ack
        self._errorDestination = errorDestination
        self._onMessageFailed: Callable[..., Any] = onMessageFailed or _poisonPill
        #: the headers of the SUBSCRIBE frame (2.3 kept them too)
        self._headers: dict[str, str] | None = None
        self._forwardFailure: BaseException | None = None
        self._maxInFlight = maxInFlight
        self._maxQueued = maxQueued
        self._limit: int | None = maxInFlight
        self._queueLimit = maxQueued if maxQueued is not None else (maxInFlight or 0)
        self._clientAck = False
        self._handling: set[defer.Deferred[Any]] = set()
        self._inFlight = 0
        self._queue: deque[StompFrame] = deque()
        self._idleWaiters: list[defer.Deferred[Any]] = []
        self._pausing = False
        self._starting = False

    @property
    def inFlight(self) -> int:
        """How many messages of this subscription are being handled."""
        return self._inFlight

    @property
    def queued(self) -> int:
        """How many messages of this subscription wait for a handler slot."""
        return len(self._queue)

    def onSubscribe(self, connection: Stomp, frame: StompFrame, context: Any) -> None:
        if context is not self:
            return
        ackMode = frame.headers.setdefault(StompSpec.ACK_HEADER, self.DEFAULT_ACK_MODE)
        self._headers = frame.headers
        self._clientAck = ackMode in StompSpec.CLIENT_ACK_MODES
        self._limit = self._maxInFlight if self._maxInFlight is not None else connection.maxInFlight
        self._queueLimit = self._maxQueued if self._maxQueued is not None else (self._limit or 0)

    def onMessage(self, connection: Stomp, frame: StompFrame, context: Any) -> None:
        if context is not self:
            return
        if self._queue or (self._limit and self._inFlight >= self._limit):
            self._queue.append(frame)
            if len(self._queue) > self._queueLimit and not self._pausing:
                self._pausing = True
                connection.pauseReading(self)
            return
        self._start(connection, frame)

    def onDisconnect(
        self, connection: Stomp, failure: BaseException | None, timeout: float | None
    ) -> defer.Deferred[Any] | None:
        self._dropQueued(connection, 'disconnecting')
        if not self._inFlight:
            return None
        idle: defer.Deferred[Any] = defer.Deferred(canceller=self._forgetWaiter)
        self._idleWaiters.append(idle)
        count = self._inFlight

        def cancelled() -> Exception:
            return StompCancelledError(f'Message handlers still running: {count} [timeout={timeout}]')

        def abandon(failure: Failure) -> Failure:
            if failure.check(StompCancelledError):
                log.warning('Disconnecting without %d message handler(s) still running (timeout)', len(self._handling))
            return failure

        return withTimeout(idle, timeout, connection.reactor, cancelled).addErrback(abandon)

    def onConnectionLost(self, connection: Stomp, reason: Failure | None) -> None:
        self._dropQueued(connection, 'connection lost')

    def _dropQueued(self, connection: Stomp, why: str) -> None:
        # The client withdrew every pause itself (disconnect, teardown); only our flag is left.
        self._pausing = False
        if not self._queue:
            return
        dropped, self._queue = self._queue, deque()
        log.info(
            'Not handling %d queued message(s) (%s): not acknowledged, the broker redelivers them', len(dropped), why
        )
        for frame in dropped:
            connection._forgetMessage(frame)

    def _forgetWaiter(self, waiter: defer.Deferred[Any]) -> None:
        if waiter in self._idleWaiters:
            self._idleWaiters.remove(waiter)

    # -- one message -------------------------------------------------------------------------------
    # The common case runs without a Deferred: a handler returning a plain value is ACKed at once.

    def _start(self, connection: Stomp, frame: StompFrame) -> None:
        self._inFlight += 1
        try:
            result = self._handler(connection, frame)
        except BaseException:
            result = Failure()
        if result is None:  # the common case first (isinstance on Deferred, an ABC, is slow)
            self._succeeded(connection, frame)
            return
        if type(result) is CoroutineType:
            result = defer.Deferred.fromCoroutine(result)
        if isinstance(result, defer.Deferred):
            self._handling.add(result)
            result.addBoth(self._handled, connection, frame, result)
        elif isinstance(result, Failure):
            self._failed(connection, frame, result)
        else:
            self._succeeded(connection, frame)

    def _handled(self, result: Any, connection: Stomp, frame: StompFrame, handling: defer.Deferred[Any]) -> None:
        self._handling.discard(handling)
        if isinstance(result, Failure):
            self._failed(connection, frame, result)
        else:
            self._succeeded(connection, frame)

    def _succeeded(self, connection: Stomp, frame: StompFrame) -> None:
        if self._ack and self._clientAck:
            try:
                acking = connection._ackNow(frame)
            except Exception:
                self._logFailure(Failure(), frame)
            else:
                if acking is not None:
                    acking.addErrback(self._logFailure, frame).addBoth(self._doneCallback, connection)
                    return
        self._done(connection)

    def _failed(self, connection: Stomp, frame: StompFrame, failure: Failure) -> None:
        self._recover(connection, frame, failure).addErrback(self._logFailure, frame).addBoth(
            self._doneCallback, connection
        )

    @defer.inlineCallbacks
    def _recover(self, connection: Stomp, frame: StompFrame, failure: Failure) -> Any:
        if failure.check(defer.CancelledError):
            log.warning('Message handler cancelled, message not acknowledged: %s', frame.info())
            return
        if self._clientAck and connection._lostWith(frame):
            log.warning(
                'Message handler ended after its connection was lost (%s): not forwarded, not acknowledged, '
                'the broker redelivers it [%s]',
                failure.getErrorMessage(),
                frame.info(),
            )
            return
        exc: BaseException = failure.value  # type: ignore[assignment]
        log.error('Message handler failed: %s [%s]', failure.getErrorMessage(), frame.info(), exc_info=exc)
        try:
            yield defer.maybeDeferred(self._onMessageFailed, connection, exc, frame, self._errorDestination)
        except Exception as reason:
            if (yield self._forwarded(connection, frame)) and self._ack and self._clientAck:
                yield connection.ack(frame)
            if self._clientAck and connection._lostWith(frame):
                return  # the connection went away meanwhile: the broker redelivers it
            log.error('Disconnecting: message could not be handled (%s) [%s]', reason, frame.info())
            connection.disconnect(reason=reason).addErrback(lambda _: None)  # the reason reaches `disconnected`
            return
        forwarded = yield self._forwarded(connection, frame)
        if forwarded is False:
            if self._clientAck and connection._lostWith(frame):
                return
            log.error('Disconnecting: message could not be forwarded [%s]', frame.info())
            connection.disconnect(reason=self._forwardFailure).addErrback(lambda _: None)
            return
        if self._ack and self._clientAck:
            yield connection.ack(frame)

    @defer.inlineCallbacks
    def _forwarded(self, connection: Stomp, frame: StompFrame) -> Any:
        """``None``: no copy was sent to an error destination; ``True``: it was confirmed;
        ``False``: sending it failed (the reason in ``_forwardFailure``)."""
        sending = connection._takeForwarding(frame)
        if sending is None:
            return None
        outcome = yield sending
        if outcome is True:
            return True
        log.error('Forwarding to the error destination failed: %s [%s]', outcome, frame.info())
        self._forwardFailure = outcome
        return False

    def _logFailure(self, failure: Failure, frame: StompFrame) -> None:
        log.error('Message processing failed: %s [%s]', failure.getErrorMessage(), frame.info())

    def _doneCallback(self, result: Any, connection: Stomp) -> None:
        self._done(connection)

    def _done(self, connection: Stomp) -> None:
        self._inFlight -= 1
        if self._queue and not self._starting:
            self._startQueued(connection)
        if self._pausing and len(self._queue) <= self._queueLimit // 2:
            self._pausing = False
            connection.resumeReading(self)
        if not self._inFlight and not self._queue:
            waiters, self._idleWaiters = self._idleWaiters, []
            for waiter in waiters:
                waiter.callback(None)

    def _startQueued(self, connection: Stomp) -> None:
        # A loop, not recursion: a synchronous handler finishes (and calls _done) inside _start.
        self._starting = True
        try:
            while self._queue and not (self._limit and self._inFlight >= self._limit):
                self._start(connection, self._queue.popleft())
        finally:
            self._starting = False
