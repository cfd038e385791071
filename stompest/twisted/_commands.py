"""The STOMP commands of :class:`~stompest.twisted.Stomp` and how frames go out (part of the
client, split out of ``client.py``): send, subscribe, unsubscribe, transactions, back-pressure."""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.error import StompConnectionError
from stompest.protocol.frame import Headers, StompFrame, StompHeartBeat
from stompest.protocol.spec import StompSpec
from stompest.twisted._lifecycle import CONNECTING, DISCONNECTING, IDLE, RECONNECTING, ClientState, connected, toNone
from stompest.twisted._registry import gather
from stompest.twisted.listener import Listener, SubscriptionListener

__all__ = ['Commands']

log = logging.getLogger('stompest.twisted.client')

_RECEIPT = StompSpec.RECEIPT_HEADER


class Commands(ClientState):
    """What the client sends."""

    def pauseReading(self, key: Any) -> None:
        """Stop reading from the connection until every ``key`` that paused called
        :meth:`resumeReading` (ignored while disconnecting: the DISCONNECT receipt must get
        through). Frames already read are still handled; nothing more is read from the socket."""
        if self._phase == DISCONNECTING or self._protocol is None:
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

    def _transmitNow(self, frame: StompFrame) -> defer.Deferred[Any] | None:
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
            result = listener.onSend(self, frame)  # type: ignore[arg-type]  # self is the client
            if result is not None and isinstance(result, defer.Deferred):
                if waits is None:
                    waits = [result]
                else:
                    waits.append(result)
        try:
            self.sendFrame(frame)
        except Exception:
            failure = Failure()
            for waiting in waits or ():
                waiting.addErrback(toNone)
                if not waiting.called:
                    waiting.cancel()
            return defer.fail(failure)
        if waits is None:
            return None
        return gather(waits).addCallback(toNone)

    def _transmit(self, frame: StompFrame) -> defer.Deferred[Any]:
        waiting = self._transmitNow(frame)
        return defer.succeed(None) if waiting is None else waiting

    def _later(self, build: Callable[[], StompFrame]) -> defer.Deferred[Any]:
        """Build and transmit a frame once the client is usable (after a reconnect)."""
        return self._whenUsable().addCallback(lambda _: self._transmit(build()))

    @connected
    def send(
        self, destination: str, body: bytes | str = b'', headers: Headers | None = None, receipt: str | None = None
    ) -> defer.Deferred[Any]:
        """Send a message; fires after it was written (after its RECEIPT, with ``receipt``).
        While reconnecting, the message waits for the new connection."""
        if self._phase == RECONNECTING:
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

    @connected
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

    @connected
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
        if self._phase == IDLE or (self._phase == CONNECTING and self._protocol is None):
            raise StompConnectionError(f'Not connected [{self._config.uri}]', broker=self._broker)

    @connected
    @defer.inlineCallbacks
    def begin(self, transaction: str | None = None, receipt: str | None = None) -> Any:
        """Begin a transaction; fires with its id (a uuid4 when ``transaction`` is ``None``)."""
        yield self._whenUsable()
        frame = self.session.begin(transaction, receipt)
        yield self._transmit(frame)
        return frame.headers[StompSpec.TRANSACTION_HEADER]

    @connected
    @defer.inlineCallbacks
    def commit(self, transaction: str, receipt: str | None = None) -> Any:
        """Commit a transaction."""
        yield self._whenUsable()
        yield self._transmit(self.session.commit(transaction, receipt))

    @connected
    @defer.inlineCallbacks
    def abort(self, transaction: str, receipt: str | None = None) -> Any:
        """Abort a transaction."""
        yield self._whenUsable()
        yield self._transmit(self.session.abort(transaction, receipt))
