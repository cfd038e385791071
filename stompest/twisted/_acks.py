"""The acknowledgement bookkeeping of :class:`~stompest.twisted.Stomp`: ACK and NACK, which
received MESSAGEs may still be acknowledged (the stale-ACK guard), and the error-destination
copies a SubscriptionListener waits for (part of the client, split out of ``client.py``)."""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.error import StompConnectionError
from stompest.protocol.frame import StompFrame
from stompest.protocol.session import StompSession, inTransaction
from stompest.twisted._lifecycle import DISCONNECTING, RECONNECTING, ClientState, connected

__all__ = ['AckBook']

log = logging.getLogger('stompest.twisted.client')


class AckBook(ClientState):
    """ACK/NACK and what they may refer to."""

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

    @connected
    def ack(
        self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None
    ) -> defer.Deferred[Any]:
        """ACK a received MESSAGE (not sent, only logged, if it came on an earlier connection);
        inside the open ``transaction`` when given (it then takes effect at COMMIT)."""
        return self._acknowledge(self.session.ack, frame, receipt, transaction)

    @connected
    def nack(
        self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None
    ) -> defer.Deferred[Any]:
        """NACK a received MESSAGE (STOMP 1.1+; same stale and ``transaction`` rules as :meth:`ack`)."""
        return self._acknowledge(self.session.nack, frame, receipt, transaction)

    def _acknowledge(
        self,
        build: Callable[[StompFrame, str | None], StompFrame],
        frame: StompFrame,
        receipt: str | None,
        transaction: str | None = None,
    ) -> defer.Deferred[Any]:
        if self._isStale(frame):
            return defer.succeed(None)
        if transaction is not None:
            build = inTransaction(self.session, build, transaction)
        if self._phase == RECONNECTING:
            return self._later(lambda: build(frame, receipt))
        try:
            ackFrame = build(frame, receipt)
        except Exception:
            return defer.fail()
        return self._transmit(ackFrame)

    def _ackNow(self, frame: StompFrame) -> defer.Deferred[Any] | None:
        """ACK for :class:`~stompest.twisted.listener.SubscriptionListener`: ``None`` when the ACK
        was written (or is stale) and nothing is left to wait for, else a Deferred as :meth:`ack`'s.
        May raise (the listener logs it)."""
        if self._phase == DISCONNECTING and self.session.state != StompSession.CONNECTED:
            # DISCONNECT went out (a handler finishing after the disconnect timeout): an ACK now
            # would come too late; the broker redelivers the message.
            log.warning('Not acknowledging a message after DISCONNECT [%s]', frame.info())
            return None
        key = id(frame)
        if self._unacked.get(key) is frame and self._phase != RECONNECTING:
            del self._unacked[key]  # fresh: _isStale()'s answer without its calls
        elif self._isStale(frame):
            return None
        elif self._phase == RECONNECTING:
            return self.ack(frame)
        if not self._plainFrames or log.isEnabledFor(logging.DEBUG):
            return self._transmitNow(self.session.ack(frame))
        # Nobody looks at an ACK without a receipt on its way out (the default ReceiptListener
        # ignores it): its bytes are written without building it when the session can (no
        # transaction); what _transmitNow() would do, otherwise.
        ack = self.session.ackBytes(frame)
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
