"""The Twisted STOMP client: :class:`Stomp` (stompest 2.3's ``stompest.async.Stomp``).

The client is the connection machine (this module: connect, disconnect, reconnect, incoming
frames; its phases in :mod:`stompest.twisted._lifecycle`), plus the listener registry
(:mod:`stompest.twisted._registry`), the commands (:mod:`stompest.twisted._commands`) and the
acknowledgement bookkeeping (:mod:`stompest.twisted._acks`).

Every STOMP method returns a :class:`~twisted.internet.defer.Deferred[Any]`. Behaviour is spread over
listeners (:mod:`stompest.twisted.listener`), as in 2.3; the client owns the connection, the
session, the failover walk and the graceful shutdown.

Beyond 2.3 (all opt-in):

* ``autoReconnect=True``: after an unexpected loss (a :class:`~stompest.error.StompConnectionError`:
  connection lost, heart-beat timeout) the client walks the failover URI again (its delays and
  attempt limits; each attempt is TCP connect plus CONNECTED), replays the subscriptions, and
  tells the listeners (``onReconnecting(connection, broker, delay, attempt)``,
  ``onReconnected(connection, broker)``). STOMP calls made meanwhile **wait**: their Deferred
  fires after the frame was sent on the new connection, or fails with
  :class:`~stompest.error.StompConnectionError` when reconnecting gives up; then
  :attr:`Stomp.disconnected` fails with that error too. ERROR frames and graceful disconnects
  never reconnect.
* No stale acknowledgements: ACK/NACK of a MESSAGE received on an earlier connection is not sent
  (the broker would refuse it, or ack a redelivery); a WARNING is logged and the Deferred fires
  with ``None`` without sending anything.
* ``maxInFlight``: see :class:`~stompest.twisted.listener.SubscriptionListener` (at most that
  many unfinished handlers per subscription; further messages wait in a bounded queue, and only
  when that overflows does the client stop reading from the connection).
* ``heartBeatTolerance``: how many server heart-beat intervals of silence are tolerated.
* :meth:`Stomp.dropConnection`: close at once, without DISCONNECT.

The session's ``lastSent``/``lastReceived`` are readings of the reactor's clock
(``reactor.seconds``), so one ``task.Clock`` drives timers and session in tests.
"""

from __future__ import annotations

import itertools
import logging
import random
import weakref
from collections.abc import Callable, Iterable
from typing import Any

from twisted.internet import defer, task
from twisted.python.failure import Failure

from stompest.config import StompConfig
from stompest.error import (
    StompAlreadyConnectedError,
    StompCancelledError,
    StompConnectionError,
    StompConnectTimeout,
    StompNotConnectedError,
)
from stompest.protocol.failover import StompFailoverTransport
from stompest.protocol.frame import Headers, StompFrame
from stompest.protocol.parser import StompParser
from stompest.protocol.session import StompSession
from stompest.protocol.spec import StompSpec
from stompest.twisted._acks import AckBook
from stompest.twisted._commands import Commands
from stompest.twisted._incoming import Incoming
from stompest.twisted._lifecycle import (
    CONNECTED,
    CONNECTING,
    DISCONNECTING,
    IDLE,
    RECONNECTING,
    Lifecycle,
    brokerText,
)
from stompest.twisted._registry import HOOKS, ListenerRegistry
from stompest.twisted.listener import Listener, ReceiptListener, defaultListeners
from stompest.twisted.protocol import StompFactory, StompProtocol
from stompest.twisted.util import EndpointFactory, defaultEndpointFactory, withTimeout

__all__ = ['Stomp']

log = logging.getLogger(__name__)

#: seconds a graceful close may take before the transport is aborted
CLOSE_TIMEOUT = 10.0

_disconnectReceipts = itertools.count(1)


class Stomp(Incoming, Commands, AckBook, ListenerRegistry):
    """A Twisted STOMP client.

    :param config: a :class:`~stompest.config.StompConfig` (broker or failover URI, login, version).
    :param listenersFactory: returns the listeners for each new connection (default
        :func:`~stompest.twisted.listener.defaultListeners`).
    :param endpointFactory: ``endpointFactory(broker, timeout=None)`` returns an
        ``IStreamClientEndpoint`` for a broker dict (default: TCP/TLS endpoints on ``reactor``,
        see :func:`stompest.twisted.util.defaultEndpointFactory` for TLS rules).
    :param reactor: the reactor for connections and timers (default: the global reactor,
        looked up when the client is created). Tests pass a ``MemoryReactorClock``.
    :param receiptTimeout: seconds to wait for a RECEIPT (``None``: no limit) before the operation
        fails with :class:`~stompest.error.StompCancelledError`.
    :param autoReconnect: reconnect after an unexpected loss (see the module documentation).
    :param maxInFlight: the default per-subscription limit of concurrently handled messages
        (see :class:`~stompest.twisted.listener.SubscriptionListener`).
    :param heartBeatTolerance: drop the connection after ``serverHeartBeat`` times this much silence.
    :param rng: the failover schedule's randomness (``random.Random(seed)`` for repeatable walks).
    :param isLocalHost: passed to :class:`~stompest.protocol.failover.StompFailoverTransport`.
    :param parserFactory: builds each connection's parser (e.g. to change its limits).
    """

    def __init__(
        self,
        config: StompConfig,
        listenersFactory: Callable[[], Iterable[Listener]] | None = None,
        endpointFactory: EndpointFactory | None = None,
        *,
        reactor: Any = None,
        receiptTimeout: float | None = None,
        autoReconnect: bool = False,
        maxInFlight: int | None = None,
        heartBeatTolerance: float = StompSpec.DEFAULT_HEART_BEAT_TOLERANCE,
        rng: random.Random | None = None,
        isLocalHost: Callable[[str], bool] | None = None,
        parserFactory: Callable[[], StompParser] = StompParser,
    ) -> None:
        if reactor is None:
            from twisted.internet import reactor as defaultReactor  # noqa: N812  (installed on first use)

            reactor = defaultReactor
        self._config = config
        self._reactor = reactor
        self._listenersFactory = listenersFactory or defaultListeners
        self._endpointFactory = endpointFactory or defaultEndpointFactory(reactor, config.sslContext)
        self._receiptTimeout = receiptTimeout
        self._autoReconnect = autoReconnect
        self._maxInFlight = maxInFlight
        self._heartBeatTolerance = heartBeatTolerance
        self._failover = StompFailoverTransport(config.uri, rng=rng, isLocalHost=isLocalHost)
        self._factory = StompFactory(parserFactory)
        #: the STOMP session (state, version, subscriptions, heart-beat clocks)
        self.session = StompSession(config.version, config.check, clock=reactor.seconds)
        self._listeners: list[Listener] = []
        self._hooks: dict[str, list[Listener]] = {name: [] for name in HOOKS}
        # whether the onSend listeners ignore a frame that asks for no receipt (_transmitNow, _ackNow)
        self._plainFrames = True
        self._lostListeners: list[Listener] = []
        self._lifecycle = Lifecycle()
        self._protocol: StompProtocol | None = None
        self._broker: dict[str, Any] | None = None
        self._generation = 0
        self._pending: defer.Deferred[Any] | None = None
        self._connectArgs: dict[str, Any] = {}
        self._disconnected: defer.Deferred[Any] | None = None
        self._closeWaiters: list[defer.Deferred[Any]] = []
        self._disconnectReason: BaseException | None = None
        self._usableWaiters: list[defer.Deferred[Any]] = []
        self._pauses: set[Any] = set()
        self._resumedAt: float | None = None
        self._closeCall: Any = None
        self._clientAckTokens: set[Any] = set()
        # Client-acked MESSAGEs by id(): those received on the current connection, and those of
        # earlier connections (whose ACK/NACK would be stale). Weak, so a frame the application
        # dropped without acknowledging (ack=False, cumulative 'client' acks) is not kept alive.
        self._unacked: weakref.WeakValueDictionary[int, StompFrame] = weakref.WeakValueDictionary()
        self._staleFrames: weakref.WeakValueDictionary[int, StompFrame] = weakref.WeakValueDictionary()
        # Copies sent to an error destination, by id() of the original MESSAGE: the Deferred
        # the SubscriptionListener waits for before it ACKs the original (True: confirmed).
        self._forwards: dict[int, tuple[StompFrame, defer.Deferred[Any]]] = {}
        # the listeners of the current connection that came from the listenersFactory
        self._factoryListeners: list[Listener] = []
        self._inConnectionLost = False

    # -- connecting -------------------------------------------------------------------------------

    @defer.inlineCallbacks
    def connect(
        self,
        headers: Headers | None = None,
        versions: Iterable[str] | None = None,
        host: str | None = None,
        heartBeats: tuple[int, int] | None = None,
        connectTimeout: float | None = None,
        connectedTimeout: float | None = None,
    ) -> Any:
        """Connect (walking the failover URI for the TCP/TLS connection), log in, wait for
        CONNECTED, replay the subscriptions kept from an earlier connection. Fires with the client.

        :param headers: extra CONNECT headers; ``versions``: versions to offer (default: up to
            ``config.version``); ``host``: the ``host`` header (default: the broker's host name);
            ``heartBeats``: ``(cx, cy)`` in ms.
        :param connectTimeout: seconds per TCP connection attempt
            (:class:`~stompest.error.StompConnectTimeout` when the failover schedule is used up).
        :param connectedTimeout: seconds to wait for CONNECTED
            (:class:`~stompest.error.StompCancelledError`).
        """
        if self._phase != IDLE:
            raise StompAlreadyConnectedError(f'Already {self._phase} [{self._config.uri}]')
        self._connectArgs = {
            'headers': headers,
            'versions': versions,
            'host': host,
            'heartBeats': heartBeats,
            'connectTimeout': connectTimeout,
            'connectedTimeout': connectedTimeout,
        }
        self._lifecycle.move('connect')
        self._disconnectReason = None
        self._pending = self._establish(reconnect=False)
        try:
            yield self._pending
        except BaseException:
            self._lifecycle.move('connectFailed')
            if self._inConnectionLost:
                # Failed inside the transport's connectionLost (a refused TLS handshake, say):
                # let the transport finish it before the caller hears, so the reactor is clean.
                self._pending = None
                yield task.deferLater(self._reactor, 0, lambda: None)
            raise
        finally:
            self._pending = None
        self._lifecycle.move('connected')
        self._disconnected = defer.Deferred()
        return self

    @defer.inlineCallbacks
    def _establish(self, reconnect: bool) -> Any:
        """Walk the failover schedule until a connection (and, when reconnecting, a STOMP
        session) is up. A first connect does the STOMP handshake once, after the TCP connection."""
        args = self._connectArgs
        lastError: BaseException | None = None
        schedule = iter(self._failover)
        attempt = 0
        while True:
            try:
                broker, delay = next(schedule)
            except StompConnectTimeout as exc:
                if lastError is not None:
                    exc.__cause__ = lastError
                log.error('Giving up connecting: %s', exc)
                raise
            attempt += 1
            if reconnect:  # the listeners of the lost connection hear about the attempts
                self._notifyReconnecting(broker, delay, attempt)
            if delay > 0:
                log.info('Connecting to %s in %.3f s (attempt %d) ...', brokerText(broker), delay, attempt)
                yield task.deferLater(self._reactor, delay, lambda: None)
            else:
                log.info('Connecting to %s (attempt %d) ...', brokerText(broker), attempt)
            try:
                protocol = yield self._connectTransport(broker, args['connectTimeout'])
            except defer.CancelledError:
                raise
            except Exception as exc:
                lastError = exc
                log.warning('Connection attempt %d to %s failed: %s', attempt, brokerText(broker), exc)
                continue
            if not reconnect:
                yield self._handshake(protocol, broker)
                return broker
            try:
                yield self._handshake(protocol, broker)
            except (StompConnectionError, StompCancelledError) as exc:
                lastError = exc
                log.warning('Reconnect attempt %d to %s failed: %s', attempt, brokerText(broker), exc)
                continue
            return broker

    def _notifyReconnecting(self, broker: dict[str, Any], delay: float, attempt: int) -> None:
        self._notify('onReconnecting', broker, delay, attempt, listeners=self._lostListeners)

    def _connectTransport(self, broker: dict[str, Any], timeout: float | None) -> defer.Deferred[Any]:
        try:
            endpoint: Any = self._endpointFactory(broker, timeout=timeout)
            connecting = endpoint.connect(self._factory)
        except Exception as exc:
            return defer.fail(StompConnectionError(f'Could not connect: {exc} [{brokerText(broker)}]', broker=broker))

        def timedOut() -> Exception:
            return StompConnectTimeout(
                f'Connect timeout: {brokerText(broker)} [connectTimeout={timeout}]', broker=broker
            )

        return withTimeout(connecting, timeout, self._reactor, timedOut)

    @defer.inlineCallbacks
    def _handshake(self, protocol: StompProtocol, broker: dict[str, Any]) -> Any:
        args = self._connectArgs
        self._attach(protocol, broker)
        ownReceipts = any(isinstance(each, ReceiptListener) for each in self._listeners)
        self._factoryListeners = []
        for listener in self._listenersFactory():
            if ownReceipts and isinstance(listener, ReceiptListener):
                continue  # the caller's ReceiptListener does that job
            self._factoryListeners.append(listener)
            self.add(listener)
        try:
            frame = self.session.connect(
                self._config.login,
                self._config.passcode,
                args['headers'],
                args['versions'],
                args['host'] or self.session.defaultHost(broker['host'], args['versions']),
                args['heartBeats'],
            )
            waiting = self._notify('onConnect', frame, args['connectedTimeout'])
            self.sendFrame(frame)
            yield waiting
        except BaseException as exc:
            if self._protocol is protocol:
                self._drop(protocol, exc if isinstance(exc, Exception) else StompCancelledError('Connect cancelled'))
            raise
        self._failover.connected()
        log.info(
            'Connected to %s (session %s, version %s, server %s)',
            brokerText(broker),
            self.session.id,
            self.session.version,
            self.session.server,
        )
        for destination, headers, receipt, context in self.session.replay():
            log.info('Replaying subscription to %s', destination)
            yield self._subscribe(destination, headers, receipt, context)

    def _attach(self, protocol: StompProtocol, broker: dict[str, Any]) -> None:
        self._protocol = protocol
        self._broker = broker
        self._generation += 1
        self._retireUnacked()
        protocol.onFrame = self._onFrame
        protocol.onDataReceived = self.session.received
        protocol.onConnectionLost = self._onConnectionLost

    # -- disconnecting ----------------------------------------------------------------------------

    def disconnect(
        self, receipt: str | None = None, reason: Any = None, timeout: float | None = None, *, failure: Any = None
    ) -> defer.Deferred[Any]:
        """Disconnect gracefully: stop dispatching messages, wait for the handlers in flight (at
        most ``timeout`` seconds), send DISCONNECT with a receipt (``receipt``, or one of ours)
        and wait for the RECEIPT (at most ``timeout`` seconds, 10 s when ``None``), so every
        ACK sent before took effect; then close. Fires with ``None`` when the connection is
        closed, or errs back with what went wrong while disconnecting; when handlers were still
        running at the ``timeout`` (or the RECEIPT for your ``receipt`` did not come) it errs back
        with :class:`~stompest.error.StompCancelledError` (as in 2.3). ``reason`` is not an
        error of this Deferred: :attr:`disconnected` errs back with it (as in 2.3). A pending connect or
        reconnect is cancelled. Raises :class:`~stompest.error.StompNotConnectedError` at once
        when there is nothing to disconnect.

        :param reason: why (an exception or Failure), as in 2.3. ``failure`` is accepted too.
        """
        if self._phase == IDLE:
            raise StompNotConnectedError(f'Not connected [{self._config.uri}]', broker=self._broker)
        return self._disconnect(receipt, reason, timeout, failure)

    @defer.inlineCallbacks
    def _disconnect(self, receipt: str | None, reason: Any, timeout: float | None, failure: Any) -> Any:
        if reason is None:
            reason = failure
        if isinstance(reason, Failure):
            reason = reason.value
        if reason is not None and self._disconnectReason is None:
            self._disconnectReason = reason
        if self._phase == CONNECTING:
            log.info('Disconnect requested while connecting: cancelling the connect')
            if self._pending is not None:
                self._pending.cancel()
            return None
        if self._phase == RECONNECTING:
            log.info('Disconnect requested while reconnecting: giving up reconnecting')
            closed = self._waitClosed()
            if self._pending is not None:
                self._pending.cancel()
            result = yield self._closedBut(closed, reason)
            return result
        if self._phase == DISCONNECTING:
            result = yield self._closedBut(self._waitClosed(), reason)
            return result
        if self._phase != CONNECTED:
            raise StompNotConnectedError(f'Not connected [{self._config.uri}]')
        self._lifecycle.move('disconnect')
        closed = self._waitClosed()
        log.info('Disconnecting%s ...', f' ({reason})' if reason is not None else '')
        self._clearPauses()
        drainError: Exception | None = None
        try:
            yield self._notify('onDisconnect', reason, timeout)
        except Exception as exc:
            log.warning('Disconnecting anyway: %s', exc)
            drainError = exc
        protocol = self._protocol
        if protocol is not None:
            askedReceipt = receipt is not None
            if receipt is None:
                receipt = f'stompest-disconnect-{next(_disconnectReceipts)}'
            bound = CLOSE_TIMEOUT if timeout is None else timeout
            try:
                frame = self.session.disconnect(receipt)
                yield withTimeout(
                    self._transmit(frame),
                    bound,
                    self._reactor,
                    lambda: StompCancelledError(f'DISCONNECT receipt not received in time [timeout={bound}]'),
                )
            except StompCancelledError as exc:
                log.warning('DISCONNECT not confirmed: %s', exc)
                if askedReceipt and drainError is None:
                    drainError = exc  # the caller's receipt did not come (2.3: disconnect() errs back)
            except Exception as exc:
                log.warning('DISCONNECT not confirmed: %s', exc)
                if self._disconnectReason is None and not isinstance(exc, StompConnectionError):
                    self._disconnectReason = exc
            if self._protocol is protocol:
                protocol.close()
                self._closeCall = self._reactor.callLater(CLOSE_TIMEOUT, self._abortClose, protocol)
        result = yield self._closedBut(closed, reason)
        if drainError is not None:
            raise drainError
        return result

    def _closedBut(self, closed: defer.Deferred[Any], reason: Any) -> defer.Deferred[Any]:
        """``closed``, except that the ``reason`` the caller gave is not an error of
        :meth:`disconnect` itself (2.3: only :attr:`disconnected` errs back with it)."""

        def given(failure: Failure) -> Any:
            if reason is not None and failure.value is reason:
                return None
            return failure

        return closed.addErrback(given)

    def _abortClose(self, protocol: StompProtocol) -> None:
        self._closeCall = None
        log.warning('Connection not closed after %s s: aborting it', CLOSE_TIMEOUT)
        transport: Any = protocol.transport
        if transport is not None and hasattr(transport, 'abortConnection'):
            transport.abortConnection()
        protocol.connectionLost(Failure(StompConnectionError('Close timed out')))

    def _waitClosed(self) -> defer.Deferred[Any]:
        waiter: defer.Deferred[Any] = defer.Deferred()
        self._closeWaiters.append(waiter)
        return waiter

    def dropConnection(self, reason: BaseException | None = None) -> None:
        """Close the connection at once, without DISCONNECT and without waiting for handlers
        (beyond 2.3; the ErrorListener and HeartBeatListener use it). ``reason`` becomes the
        outcome of :attr:`disconnected`; ``None`` means a clean close."""
        if self._protocol is not None:
            self._drop(self._protocol, reason)

    def _drop(self, protocol: StompProtocol, reason: BaseException | None) -> None:
        if reason is None:
            if self._phase == CONNECTED:
                self._lifecycle.move('disconnect')
            protocol.close()
            self._closeCall = self._closeCall or self._reactor.callLater(CLOSE_TIMEOUT, self._abortClose, protocol)
        else:
            protocol.close(reason, abort=True)  # reports the loss at once (see StompProtocol.close)

    def _onConnectionLost(self, protocol: StompProtocol, reason: Failure) -> None:
        if protocol is not self._protocol:
            return
        self._inConnectionLost = protocol.inTransportLoss
        try:
            self._connectionLost(protocol, reason)
        finally:
            self._inConnectionLost = False

    def _connectionLost(self, protocol: StompProtocol, reason: Failure) -> None:
        deliberate = protocol.closeReason
        clean = deliberate is None and self.session.state == StompSession.DISCONNECTING
        clean = clean or (deliberate is None and self._phase == DISCONNECTING and protocol.closed)
        if deliberate is not None:
            outcome: BaseException | None = deliberate
        elif clean:
            outcome = self._disconnectReason
        else:
            outcome = StompConnectionError(
                f'Connection lost: {reason.getErrorMessage()} [{brokerText(self._broker)}]', broker=self._broker
            )
            outcome.__cause__ = reason.value
        flush = clean and self._disconnectReason is None
        self._teardown(protocol, outcome, flush)
        if self._phase == CONNECTED and self._autoReconnect and isinstance(outcome, StompConnectionError):
            self._startReconnect(outcome)
        elif self._phase in (CONNECTED, DISCONNECTING):
            self._finish(outcome)

    def _teardown(self, protocol: StompProtocol, outcome: BaseException | None, flush: bool) -> None:
        self._protocol = None
        protocol.onFrame = protocol.onDataReceived = None
        protocol.onConnectionLost = None
        if self._closeCall is not None:
            if self._closeCall.active():
                self._closeCall.cancel()
            self._closeCall = None
        self._generation += 1
        self._retireUnacked()
        if self.session.state != StompSession.DISCONNECTED:
            self.session.close(flush=flush)
        if flush:
            self._clientAckTokens.clear()
        self._pauses.clear()
        reason = None if outcome is None else Failure(outcome)
        self._notify('onConnectionLost', reason)
        self._notify('onCleanup')
        self._lostListeners = list(self._listeners)
        del self._listeners[:]
        self._rebuildHooks()

    def _finish(self, outcome: BaseException | None) -> None:
        self._lifecycle.move('closed')
        waiters, self._closeWaiters = self._closeWaiters, []
        usable, self._usableWaiters = self._usableWaiters, []
        for waiter in usable:
            waiter.errback(
                StompConnectionError(
                    f'Not connected any more: {outcome}' if outcome else 'Disconnected', broker=self._broker
                )
            )
        disconnected = self._disconnected
        for deferred in ([disconnected] if disconnected is not None and not disconnected.called else []) + waiters:
            if outcome is None:
                deferred.callback(None)
            else:
                deferred.errback(Failure(outcome))

    # -- reconnecting -----------------------------------------------------------------------------

    def _startReconnect(self, cause: BaseException) -> None:
        log.warning('Connection lost (%s): reconnecting', cause)
        self._lifecycle.move('lost')
        self._pending = self._establish(reconnect=True)
        self._pending.addBoth(self._reconnectDone)

    def _reconnectDone(self, result: Any) -> None:
        self._pending = None
        if isinstance(result, Failure):
            if result.check(defer.CancelledError):
                outcome = self._disconnectReason
            else:
                outcome = result.value
                if not isinstance(outcome, StompConnectionError):
                    outcome = StompConnectionError(f'Reconnecting failed: {outcome}', broker=self._broker)
                    outcome.__cause__ = result.value
            log.error('Reconnecting stopped: %s', outcome)
            self._finish(outcome)
            return
        self._lifecycle.move('reconnected')
        log.info('Reconnected to %s', brokerText(result))
        self._notify('onReconnected', result)
        waiters, self._usableWaiters = self._usableWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _whenUsable(self) -> defer.Deferred[Any]:
        if self._phase != RECONNECTING:
            return defer.succeed(None)
        waiter: defer.Deferred[Any] = defer.Deferred(canceller=self._forgetUsableWaiter)
        self._usableWaiters.append(waiter)
        return waiter

    def _forgetUsableWaiter(self, waiter: defer.Deferred[Any]) -> None:
        if waiter in self._usableWaiters:
            self._usableWaiters.remove(waiter)

    def __repr__(self) -> str:
        return f'Stomp({self._config!r}, phase={self._phase!r})'
