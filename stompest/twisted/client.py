"""The Twisted STOMP client: :class:`Stomp` (stompest 2.3's ``stompest.async.Stomp``).

Every STOMP method returns a :class:`~twisted.internet.defer.Deferred`. Behaviour is spread over
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

import functools
import itertools
import logging
import random
import warnings
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from twisted.internet import defer, task
from twisted.python.failure import Failure

from stompest.config import StompConfig
from stompest.error import (
    StompAlreadyConnectedError,
    StompCancelledError,
    StompConnectionError,
    StompConnectTimeout,
    StompNotConnectedError,
    StompProtocolError,
)
from stompest.protocol._transaction import inTransaction
from stompest.protocol.failover import StompFailoverTransport
from stompest.protocol.frame import Headers, StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.session import StompSession
from stompest.protocol.spec import StompSpec
from stompest.twisted.listener import Listener, ReceiptListener, SubscriptionListener, defaultListeners
from stompest.twisted.protocol import StompFactory, StompProtocol
from stompest.twisted.util import EndpointFactory, defaultEndpointFactory, withTimeout

__all__ = ['Stomp']

log = logging.getLogger(__name__)

#: seconds a graceful close may take before the transport is aborted
CLOSE_TIMEOUT = 10.0

_IDLE, _CONNECTING, _CONNECTED, _DISCONNECTING, _RECONNECTING = (
    'idle',
    'connecting',
    'connected',
    'disconnecting',
    'reconnecting',
)


def _brokerText(broker: dict[str, Any] | None) -> str:
    if not broker:
        return '?'
    return f'{broker["protocol"]}://{broker["host"]}:{broker["port"]}'


def _firstError(failure: Failure) -> Failure:
    """The failure of the first Deferred that failed in a ``gatherResults``."""
    return failure.value.subFailure  # type: ignore[union-attr]


def _toNone(result: Any) -> None:
    return None


def _gather(waits: list[defer.Deferred]) -> defer.Deferred:
    """One Deferred for the listeners' Deferreds: the only one, or all of them (first failure wins)."""
    if len(waits) == 1:
        return waits[0]
    return defer.gatherResults(waits, consumeErrors=True).addErrback(_firstError)


#: the listener hooks (see :mod:`stompest.twisted.listener`)
_HOOKS = tuple(name for name in vars(Listener) if name.startswith('on'))


def _overrides(listener: Any, name: str) -> bool:
    """Whether ``listener`` does something on hook ``name`` (the base class's hooks are no-ops)."""
    if isinstance(listener, Listener):
        return getattr(type(listener), name) is not getattr(Listener, name) or name in getattr(listener, '__dict__', ())
    return hasattr(listener, name)


def _ignoresPlainFrames(listener: Any) -> bool:
    """Whether ``listener.onSend`` is :class:`ReceiptListener`'s own, which does nothing with a
    frame that asks for no receipt (so such a frame need not be built for it)."""
    return getattr(type(listener), 'onSend', None) is ReceiptListener.onSend and 'onSend' not in getattr(
        listener, '__dict__', ()
    )


_RECEIPT = StompSpec.RECEIPT_HEADER

_disconnectReceipts = itertools.count(1)

_F = TypeVar('_F', bound=Callable[..., Any])


def _connected(method: _F) -> _F:
    """2.3's ``@connected``: the command raises :class:`~stompest.error.StompConnectionError` at
    once (not in its Deferred) when the client has no connection and is not reconnecting."""

    @functools.wraps(method)
    def checked(self: Stomp, *args: Any, **kwargs: Any) -> Any:
        self._checkConnected()
        return method(self, *args, **kwargs)

    return checked  # type: ignore[return-value]


class Stomp:
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
        self._hooks: dict[str, list[Listener]] = {name: [] for name in _HOOKS}
        # whether the onSend listeners ignore a frame that asks for no receipt (_transmitNow, _ackNow)
        self._plainFrames = True
        self._lostListeners: list[Listener] = []
        self._phase = _IDLE
        self._protocol: StompProtocol | None = None
        self._broker: dict[str, Any] | None = None
        self._generation = 0
        self._pending: defer.Deferred | None = None
        self._connectArgs: dict[str, Any] = {}
        self._disconnected: defer.Deferred | None = None
        self._closeWaiters: list[defer.Deferred] = []
        self._disconnectReason: BaseException | None = None
        self._usableWaiters: list[defer.Deferred] = []
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

    # -- read-only state ------------------------------------------------------------------------

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
    def disconnected(self) -> defer.Deferred | None:
        """A Deferred for the end of the connection made by the last successful :meth:`connect`:
        it fires with ``None`` after a clean disconnect and errs back with the cause otherwise
        (:class:`~stompest.error.StompProtocolError` with the ERROR frame,
        :class:`~stompest.error.StompConnectionError` on loss,
        :class:`~stompest.error.StompHeartBeatTimeout`, the ``reason`` given to :meth:`disconnect`).
        With ``autoReconnect`` it only fires when the client stops for good. ``None`` before the
        first connection."""
        return self._disconnected

    # -- listeners --------------------------------------------------------------------------------

    def add(self, listener: Listener) -> None:
        """Add a listener (once). A :class:`~stompest.twisted.listener.ReceiptListener` added by
        the caller replaces the default one (as in 2.3, where the defaults had none)."""
        if isinstance(listener, ReceiptListener) and not any(listener is each for each in self._factoryListeners):
            for each in list(self._listeners):
                if isinstance(each, ReceiptListener) and any(each is own for own in self._factoryListeners):
                    self.remove(each)
        if listener not in self._listeners:
            self._listeners.append(listener)
            self._rebuildHooks()
            listener.onAdd(self)

    def remove(self, listener: Listener) -> None:
        """Remove a listener (no error if it is not there)."""
        if listener in self._listeners:
            self._listeners.remove(listener)
            self._rebuildHooks()

    def _rebuildHooks(self) -> None:
        # Per hook, only the listeners that override it: the base class's no-ops are never called
        # (most frames concern one or two of the default listeners). A new dict on every change,
        # so a notification loop holding the old lists can tell that listeners changed under it.
        self._hooks = {name: [each for each in self._listeners if _overrides(each, name)] for name in _HOOKS}
        self._plainFrames = all(_ignoresPlainFrames(each) for each in self._hooks['onSend'])

    def _notify(self, name: str, *args: Any, listeners: list[Listener] | None = None) -> defer.Deferred:
        """Call hook ``name`` with ``(self, *args)`` on the listeners overriding it; a Deferred for
        the Deferreds they returned (the first failure wins)."""
        waits = self._notifyEach(name, args, listeners)
        if waits is None:
            return defer.succeed(None)
        return _gather(waits)

    def _notifyEach(self, name: str, args: tuple[Any, ...], listeners: list[Listener] | None = None) -> list | None:
        if listeners is not None:
            hooks = [each for each in listeners if _overrides(each, name)]
        else:
            hooks = self._hooks[name]
        waits = None
        current = self._hooks
        for listener in hooks:
            if listeners is None and self._hooks is not current and listener not in self._listeners:
                continue  # removed by an earlier listener's reaction
            result = getattr(listener, name)(self, *args)
            if result is not None and isinstance(result, defer.Deferred):  # (None first: Deferred is an ABC)
                if waits is None:
                    waits = [result]
                else:
                    waits.append(result)
        return waits

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
        if self._phase != _IDLE:
            raise StompAlreadyConnectedError(f'Already {self._phase} [{self._config.uri}]')
        self._connectArgs = {
            'headers': headers,
            'versions': versions,
            'host': host,
            'heartBeats': heartBeats,
            'connectTimeout': connectTimeout,
            'connectedTimeout': connectedTimeout,
        }
        self._phase = _CONNECTING
        self._disconnectReason = None
        self._pending = self._establish(reconnect=False)
        try:
            yield self._pending
        except BaseException:
            self._phase = _IDLE
            if self._inConnectionLost:
                # Failed inside the transport's connectionLost (a refused TLS handshake, say):
                # let the transport finish it before the caller hears, so the reactor is clean.
                self._pending = None
                yield task.deferLater(self._reactor, 0, lambda: None)
            raise
        finally:
            self._pending = None
        self._phase = _CONNECTED
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
                log.info('Connecting to %s in %.3f s (attempt %d) ...', _brokerText(broker), delay, attempt)
                yield task.deferLater(self._reactor, delay, lambda: None)
            else:
                log.info('Connecting to %s (attempt %d) ...', _brokerText(broker), attempt)
            try:
                protocol = yield self._connectTransport(broker, args['connectTimeout'])
            except defer.CancelledError:
                raise
            except Exception as exc:
                lastError = exc
                log.warning('Connection attempt %d to %s failed: %s', attempt, _brokerText(broker), exc)
                continue
            if not reconnect:
                yield self._handshake(protocol, broker)
                return broker
            try:
                yield self._handshake(protocol, broker)
            except (StompConnectionError, StompCancelledError) as exc:
                lastError = exc
                log.warning('Reconnect attempt %d to %s failed: %s', attempt, _brokerText(broker), exc)
                continue
            return broker

    def _notifyReconnecting(self, broker: dict[str, Any], delay: float, attempt: int) -> None:
        self._notify('onReconnecting', broker, delay, attempt, listeners=self._lostListeners)

    def _connectTransport(self, broker: dict[str, Any], timeout: float | None) -> defer.Deferred:
        try:
            endpoint: Any = self._endpointFactory(broker, timeout=timeout)
            connecting = endpoint.connect(self._factory)
        except Exception as exc:
            return defer.fail(StompConnectionError(f'Could not connect: {exc} [{_brokerText(broker)}]', broker=broker))

        def timedOut() -> Exception:
            return StompConnectTimeout(
                f'Connect timeout: {_brokerText(broker)} [connectTimeout={timeout}]', broker=broker
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
            _brokerText(broker),
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
        if self._phase == _IDLE:
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
        if self._phase == _CONNECTING:
            log.info('Disconnect requested while connecting: cancelling the connect')
            if self._pending is not None:
                self._pending.cancel()
            return None
        if self._phase == _RECONNECTING:
            log.info('Disconnect requested while reconnecting: giving up reconnecting')
            closed = self._waitClosed()
            if self._pending is not None:
                self._pending.cancel()
            result = yield self._closedBut(closed, reason)
            return result
        if self._phase == _DISCONNECTING:
            result = yield self._closedBut(self._waitClosed(), reason)
            return result
        if self._phase != _CONNECTED:
            raise StompNotConnectedError(f'Not connected [{self._config.uri}]')
        self._phase = _DISCONNECTING
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

    def _waitClosed(self) -> defer.Deferred:
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
            if self._phase == _CONNECTED:
                self._phase = _DISCONNECTING
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
        clean = clean or (deliberate is None and self._phase == _DISCONNECTING and protocol.closed)
        if deliberate is not None:
            outcome: BaseException | None = deliberate
        elif clean:
            outcome = self._disconnectReason
        else:
            outcome = StompConnectionError(
                f'Connection lost: {reason.getErrorMessage()} [{_brokerText(self._broker)}]', broker=self._broker
            )
            outcome.__cause__ = reason.value
        flush = clean and self._disconnectReason is None
        self._teardown(protocol, outcome, flush)
        if self._phase == _CONNECTED and self._autoReconnect and isinstance(outcome, StompConnectionError):
            self._startReconnect(outcome)
        elif self._phase in (_CONNECTED, _DISCONNECTING):
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
        self._phase = _IDLE
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
        self._phase = _RECONNECTING
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
        self._phase = _CONNECTED
        log.info('Reconnected to %s', _brokerText(result))
        self._notify('onReconnected', result)
        waiters, self._usableWaiters = self._usableWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def _whenUsable(self) -> defer.Deferred:
        if self._phase != _RECONNECTING:
            return defer.succeed(None)
        waiter: defer.Deferred[Any] = defer.Deferred(canceller=self._forgetUsableWaiter)
        self._usableWaiters.append(waiter)
        return waiter

    def _forgetUsableWaiter(self, waiter: defer.Deferred[Any]) -> None:
        if waiter in self._usableWaiters:
            self._usableWaiters.remove(waiter)

    # -- incoming frames --------------------------------------------------------------------------

    def _onFrame(self, frame: StompFrame | StompHeartBeat) -> None:
        if self._hooks['onFrame']:
            self._notifyEach('onFrame', (frame,))
        if isinstance(frame, StompHeartBeat):
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug('Received %s', frame.info())
        try:
            command = frame.command
            if command == StompSpec.MESSAGE:
                self._onMessage(frame)
            elif command == StompSpec.RECEIPT:
                self._onReceipt(frame)
            elif command == StompSpec.ERROR:
                self._notify('onError', frame)
            elif command == StompSpec.CONNECTED:
                self._onConnected(frame)
            else:
                raise StompProtocolError(f'Unexpected frame from the broker: {command!r}', frame=frame)
        except Exception as exc:
            log.error('Dropping the connection: %s', exc)
            if self._protocol is not None:
                self._drop(self._protocol, exc)

    def _onConnected(self, frame: StompFrame) -> None:
        self.session.connected(frame)
        if self._protocol is not None:
            self._protocol.parser.version = self.session.version
        self._notify('onConnected', frame)

    def _onMessage(self, frame: StompFrame) -> None:
        if self._phase == _DISCONNECTING or self.session.state == StompSession.DISCONNECTING:
            log.info('Ignoring message (disconnecting): %s', frame.info())
            return
        try:
            token = self.session.message(frame)
            context = self.session.subscription(token)
        except StompProtocolError as exc:
            log.error('Dropping message: %s [%s]', exc, frame.info())
            return
        if token in self._clientAckTokens:
            self._unacked[id(frame)] = frame
        if context is None:
            log.warning('No handler for subscription %r: message left to the caller [%s]', token, frame.info())
        hooks = self._hooks
        for listener in hooks['onMessage']:  # the hottest loop: no getattr, no argument tuple
            if self._hooks is not hooks and listener not in self._listeners:
                continue
            listener.onMessage(self, frame, context)

    def _onReceipt(self, frame: StompFrame) -> None:
        try:
            receiptId = self.session.receipt(frame)
        except StompProtocolError as exc:
            log.warning('Ignoring receipt: %s', exc)
            return
        self._notifyEach('onReceipt', (frame, receiptId))

    # -- back-pressure ----------------------------------------------------------------------------

    def pauseReading(self, key: Any) -> None:
        """Stop reading from the connection until every ``key`` that paused called
        :meth:`resumeReading` (ignored while disconnecting: the DISCONNECT receipt must get
        through). Frames already read are still handled; nothing more is read from the socket."""
        if self._phase == _DISCONNECTING or self._protocol is None:
            return
        if not self._pauses:
            log.info('Pausing reading (too many messages queued for their handlers)')
        self._pauses.add(key)
        self._protocol.pauseReading()

    def resumeReading(self, key: Any) -> None:
        """Withdraw ``key``'s pause; reading resumes when no pause is left."""
        if key not in self._pauses:
            return
        self._pauses.discard(key)
        if not self._pauses:
            self._resumeProtocol()

    def _clearPauses(self) -> None:
        if self._pauses:
            self._pauses.clear()
            self._resumeProtocol()

    def _resumeProtocol(self) -> None:
        self._resumedAt = self._reactor.seconds()
        if self._protocol is not None:
            log.info('Resuming reading')
            self._protocol.resumeReading()

    # -- outgoing frames --------------------------------------------------------------------------

    def sendFrame(self, frame: StompFrame | StompHeartBeat) -> None:
        """Write a frame (or heart-beat) now. Raises :class:`~stompest.error.StompConnectionError`
        when there is no connection."""
        protocol = self._protocol
        if protocol is None or protocol.closed:
            raise StompConnectionError(f'Not connected [{self._config.uri}]', broker=self._broker)
        if log.isEnabledFor(logging.DEBUG):
            log.debug('Sending %s', frame.info())
        protocol.send(frame)
        self.session.sent()

    def _transmitNow(self, frame: StompFrame) -> defer.Deferred | None:
        """Tell the ``onSend`` listeners, write ``frame``. ``None`` when nothing is left to wait for
        (the common case: no receipt); else a Deferred for what the listeners wait for (fires
        with ``None``). A frame that cannot be written: a failed Deferred."""
        waits = None
        hooks = self._hooks
        # Listeners that only wait for receipts are not called for a frame that asks for none.
        watchers = () if self._plainFrames and _RECEIPT not in frame.headers else hooks['onSend']
        for listener in watchers:  # as _notifyEach, unrolled for the hot path
            if self._hooks is not hooks and listener not in self._listeners:
                continue
            result = listener.onSend(self, frame)
            if result is not None and isinstance(result, defer.Deferred):
                if waits is None:
                    waits = [result]
                else:
                    waits.append(result)
        try:
            protocol = self._protocol  # sendFrame(), inlined on the hot path
            if protocol is None or protocol.closed:
                raise StompConnectionError(f'Not connected [{self._config.uri}]', broker=self._broker)
            if log.isEnabledFor(logging.DEBUG):
                log.debug('Sending %s', frame.info())
            protocol.send(frame)
            self.session.sent()
        except Exception:
            failure = Failure()
            for waiting in waits or ():
                waiting.addErrback(_toNone)
                if not waiting.called:
                    waiting.cancel()
            return defer.fail(failure)
        if waits is None:
            return None
        return _gather(waits).addCallback(_toNone)

    def _transmit(self, frame: StompFrame) -> defer.Deferred:
        waiting = self._transmitNow(frame)
        return defer.succeed(None) if waiting is None else waiting

    def _later(self, build: Callable[[], StompFrame]) -> defer.Deferred:
        """Build and transmit a frame once the client is usable (after a reconnect)."""
        return self._whenUsable().addCallback(lambda _: self._transmit(build()))

    @_connected
    def send(
        self, destination: str, body: bytes | str = b'', headers: Headers | None = None, receipt: str | None = None
    ) -> defer.Deferred:
        """Send a message; fires after it was written (after its RECEIPT, with ``receipt``).
        While reconnecting, the message waits for the new connection."""
        if self._phase == _RECONNECTING:
            return self._later(lambda: self.session.send(destination, body, headers, receipt))
        try:
            frame = self.session.send(destination, body, headers, receipt)
        except Exception:
            return defer.fail()
        return self._transmit(frame)

    def subscribe(
        self,
        destination: str,
        headers: Headers | Callable[..., Any] | None = None,
        receipt: Any = None,
        listener: Listener | None = None,
        **listenerOptions: Any,
    ) -> defer.Deferred[Any]:
        """Subscribe; fires with the subscription token. ``listener`` (usually a
        :class:`~stompest.twisted.listener.SubscriptionListener`) handles its messages and is
        kept for replay after a reconnect.

        The older form of stompest's README, ``subscribe(destination, handler, headers,
        errorDestination=..., onMessageFailed=...)`` (a callable where ``headers`` is), still
        works: it means ``subscribe(destination, headers,
        listener=SubscriptionListener(handler, errorDestination=..., onMessageFailed=...))``,
        with a :class:`DeprecationWarning`.
        """
        if callable(headers) and not isinstance(headers, Mapping):
            warnings.warn(
                'subscribe(destination, handler, headers, errorDestination=..., onMessageFailed=...) is deprecated: '
                'use subscribe(destination, headers, listener=SubscriptionListener(handler, '
                'errorDestination=..., onMessageFailed=...))',
                DeprecationWarning,
                stacklevel=2,
            )
            if listener is not None:
                raise TypeError('subscribe(destination, handler, ...) takes no listener')
            handler, headers, receipt = headers, receipt, listenerOptions.pop('receipt', None)
            listener = SubscriptionListener(handler, **listenerOptions)
        elif listenerOptions:
            raise TypeError(f'subscribe() got unexpected keyword arguments: {", ".join(sorted(listenerOptions))}')
        return self._subscribeWhenUsable(destination, headers, receipt, listener)

    @_connected
    @defer.inlineCallbacks
    def _subscribeWhenUsable(self, destination: str, headers: Any, receipt: str | None, listener: Any) -> Any:
        yield self._whenUsable()
        token = yield self._subscribe(destination, headers, receipt, listener)
        return token

    @defer.inlineCallbacks
    def _subscribe(self, destination: str, headers: Headers | None, receipt: str | None, listener: Any) -> Any:
        frame, token = self.session.subscribe(destination, headers, receipt, listener)
        if isinstance(listener, Listener):
            self.add(listener)
        waiting = self._notify('onSubscribe', frame, listener)  # may set the ack header
        if frame.headers.get(StompSpec.ACK_HEADER, StompSpec.ACK_AUTO) in StompSpec.CLIENT_ACK_MODES:
            self._clientAckTokens.add(token)
        yield waiting
        yield self._transmit(frame)
        return token

    @_connected
    @defer.inlineCallbacks
    def unsubscribe(self, token: Any, receipt: str | None = None) -> Any:
        """Unsubscribe (``token`` as :meth:`subscribe` returned it)."""
        yield self._whenUsable()
        context = self.session.subscription(token)
        frame = self.session.unsubscribe(token, receipt)
        self._clientAckTokens.discard(token)
        yield self._notify('onUnsubscribe', frame, context)
        if isinstance(context, Listener):
            self.remove(context)
        yield self._transmit(frame)

    def _checkConnected(self) -> None:
        if self._phase == _IDLE or (self._phase == _CONNECTING and self._protocol is None):
            raise StompConnectionError(f'Not connected [{self._config.uri}]', broker=self._broker)

    def _forwarding(self, frame: StompFrame, sending: defer.Deferred[Any]) -> None:
        """:func:`~stompest.twisted.util.sendToErrorDestination` sent a copy of ``frame``."""
        outcome: defer.Deferred[Any] = defer.Deferred()

        def settle(result: Any) -> Any:
            outcome.callback(result.value if isinstance(result, Failure) else True)
            return result

        self._forwards[id(frame)] = (frame, outcome)
        sending.addBoth(settle)

    def _takeForwarding(self, frame: StompFrame) -> defer.Deferred[Any] | None:
        """The outcome of the copy of ``frame`` sent to an error destination, if one was sent."""
        entry = self._forwards.get(id(frame))
        if entry is None or entry[0] is not frame:
            return None
        del self._forwards[id(frame)]
        return entry[1]

    def _lostWith(self, frame: StompFrame) -> bool:
        """Whether the connection ``frame`` came on is gone (its ACK would be stale)."""
        return self._protocol is None or self._staleFrames.get(id(frame)) is frame

    def _retireUnacked(self) -> None:
        """The connection changed: what was received so far can no longer be acknowledged."""
        if self._unacked:
            self._staleFrames.update(self._unacked)
            self._unacked = weakref.WeakValueDictionary()

    def _isStale(self, frame: StompFrame) -> bool:
        key = id(frame)
        if self._staleFrames.get(key) is frame:  # kept: every later ACK/NACK of it is stale too
            log.warning('Not acknowledging a message received on an earlier connection [%s]', frame.info())
            return True
        if self._unacked.get(key) is frame:
            del self._unacked[key]
        return False

    @_connected
    def ack(self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None) -> defer.Deferred:
        """ACK a received MESSAGE (not sent, only logged, if it came on an earlier connection);
        inside the open ``transaction`` when given (it then takes effect at COMMIT)."""
        return self._acknowledge(self.session.ack, frame, receipt, transaction)

    @_connected
    def nack(self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None) -> defer.Deferred:
        """NACK a received MESSAGE (STOMP 1.1+; same stale and ``transaction`` rules as :meth:`ack`)."""
        return self._acknowledge(self.session.nack, frame, receipt, transaction)

    def _acknowledge(
        self,
        build: Callable[[StompFrame, str | None], StompFrame],
        frame: StompFrame,
        receipt: str | None,
        transaction: str | None = None,
    ) -> defer.Deferred:
        if self._isStale(frame):
            return defer.succeed(None)
        if transaction is not None:
            build = inTransaction(self.session, build, transaction)
        if self._phase == _RECONNECTING:
            return self._later(lambda: build(frame, receipt))
        try:
            ackFrame = build(frame, receipt)
        except Exception:
            return defer.fail()
        return self._transmit(ackFrame)

    def _ackNow(self, frame: StompFrame) -> defer.Deferred | None:
        """ACK for :class:`~stompest.twisted.listener.SubscriptionListener`: ``None`` when the ACK
        was written (or is stale) and nothing is left to wait for, else a Deferred as :meth:`ack`'s.
        May raise (the listener logs it)."""
        if self._phase == _DISCONNECTING and self.session.state != StompSession.CONNECTED:
            # DISCONNECT went out (a handler finishing after the disconnect timeout): an ACK now
            # would come too late; the broker redelivers the message.
            log.warning('Not acknowledging a message after DISCONNECT [%s]', frame.info())
            return None
        key = id(frame)
        if self._unacked.get(key) is frame and self._phase != _RECONNECTING:
            del self._unacked[key]  # fresh: _isStale()'s answer without its calls
        elif self._isStale(frame):
            return None
        elif self._phase == _RECONNECTING:
            return self.ack(frame)
        if not self._plainFrames or log.isEnabledFor(logging.DEBUG):
            return self._transmitNow(self.session.ack(frame))
        # Nobody looks at an ACK without a receipt on its way out (the default ReceiptListener
        # ignores it): its bytes are written without building it when the session can (no
        # transaction); what _transmitNow() would do, otherwise.
        ack = self.session._ackFast(frame)
        if type(ack) is not bytes:
            return self._transmitNow(ack)  # type: ignore[arg-type]
        protocol = self._protocol
        if protocol is None or protocol.closed:
            try:
                raise StompConnectionError(f'Not connected [{self._config.uri}]', broker=self._broker)
            except StompConnectionError:
                return defer.fail()
        protocol.sendBytes(ack)
        self.session.sent()
        return None

    def _forgetMessage(self, frame: StompFrame) -> None:
        """A MESSAGE that will never be acknowledged (dropped before its handler started)."""
        self._unacked.pop(id(frame), None)
        self._staleFrames.pop(id(frame), None)

    @_connected
    @defer.inlineCallbacks
    def begin(self, transaction: str | None = None, receipt: str | None = None) -> Any:
        """Begin a transaction; fires with its id (a uuid4 when ``transaction`` is ``None``)."""
        yield self._whenUsable()
        frame = self.session.begin(transaction, receipt)
        yield self._transmit(frame)
        return frame.headers[StompSpec.TRANSACTION_HEADER]

    @_connected
    @defer.inlineCallbacks
    def commit(self, transaction: str, receipt: str | None = None) -> Any:
        """Commit a transaction."""
        yield self._whenUsable()
        yield self._transmit(self.session.commit(transaction, receipt))

    @_connected
    @defer.inlineCallbacks
    def abort(self, transaction: str, receipt: str | None = None) -> Any:
        """Abort a transaction."""
        yield self._whenUsable()
        yield self._transmit(self.session.abort(transaction, receipt))

    def __repr__(self) -> str:
        return f'Stomp({self._config!r}, phase={self._phase!r})'
