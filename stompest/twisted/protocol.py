"""The Twisted protocol under :class:`stompest.twisted.Stomp`: bytes in, frames out, nothing more.

:class:`StompProtocol` feeds what the transport delivers to a
:class:`~stompest.protocol.parser.StompParser` and hands every frame (and heart-beat) to a
callback. It knows nothing about sessions, listeners or timeouts; the client does.

Two properties matter to the client:

* **Re-entrancy.** A frame callback may close the connection, pause reading, or even cause more
  bytes to be delivered (a test pump does that). Frames are always handed over one at a time and
  in order: bytes that arrive while a frame is being handled are buffered and picked up by the
  loop already running; nothing is handed over after the connection was closed.
* **Back-pressure.** :meth:`StompProtocol.pauseReading` asks the transport to stop reading
  (``pauseProducing``); :meth:`StompProtocol.resumeReading` undoes it. Frames already read keep
  being handed over while paused: one of them may be the RECEIPT a handler waits for, and holding
  it back would deadlock the handlers the pause waits for. What is buffered is at most what one
  read delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure

from stompest.error import StompFrameError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser

__all__ = ['StompProtocol', 'StompFactory']

log = logging.getLogger(__name__)

FrameCallback = Callable[['StompFrame | StompHeartBeat'], None]
LostCallback = Callable[['StompProtocol', Failure], None]


class StompProtocol(Protocol):
    """A STOMP connection seen as a stream of frames.

    :param parserFactory: builds the parser (default :class:`StompParser` with its default limits).

    The owner sets :attr:`onFrame` (called with each frame or heart-beat) and
    :attr:`onConnectionLost` (called once with this protocol and the reason).
    """

    def __init__(self, parserFactory: Callable[[], StompParser] = StompParser) -> None:
        self._parser = parserFactory()
        self.onFrame: FrameCallback | None = None
        #: called (without arguments) whenever bytes arrive: any byte is a sign of life
        self.onDataReceived: Callable[[], None] | None = None
        self.onConnectionLost: LostCallback | None = None
        #: why we closed the connection ourselves (replaces the transport's reason), if we did
        self.closeReason: BaseException | None = None
        self._dispatching = False
        #: while frames are handed over: what the handlers wrote, written at once afterwards
        self._outgoing: list[bytes] | None = None
        self._paused = False
        self._closed = False
        self._lost = False
        #: True while the transport's connectionLost is reporting the loss to the owner
        self.inTransportLoss = False

    # -- Twisted's side ---------------------------------------------------------------------------

    def dataReceived(self, data: bytes) -> None:
        if self._closed:
            return
        if self.onDataReceived is not None:
            self.onDataReceived()
        try:
            self._parser.add(data)
        except StompFrameError as exc:
            # The frames completed before the bad bytes still count (a RECEIPT, a MESSAGE the
            # application may process): deliver them, then close.
            self._drain()
            if not self._closed:
                self.close(exc, abort=True)
            return
        self._drain()

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        if self._lost:
            return
        self._lost = self._closed = True
        self.inTransportLoss = True
        try:
            self._report(Failure(self.closeReason) if self.closeReason is not None else reason)
        finally:
            self.inTransportLoss = False

    def _report(self, reason: Failure) -> None:
        callback, self.onConnectionLost = self.onConnectionLost, None
        self.onFrame = self.onDataReceived = None
        if callback is not None:
            callback(self, reason)

    # -- the owner's side -------------------------------------------------------------------------

    @property
    def parser(self) -> StompParser:
        """The parser (the client sets its :attr:`~StompParser.version` after CONNECTED)."""
        return self._parser

    @property
    def paused(self) -> bool:
        """Whether reading is paused (:meth:`pauseReading`)."""
        return self._paused

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called or the connection is gone."""
        return self._closed

    def send(self, frame: StompFrame | StompHeartBeat) -> None:
        """Write one frame (or heart-beat) to the transport. While received frames are being
        handed over, what is sent is collected and written in one go when that is done (the
        ACKs for a read full of MESSAGEs go out together); order is kept."""
        if self._outgoing is not None:
            self._outgoing.append(bytes(frame))
        else:
            transport: Any = self.transport
            transport.write(bytes(frame))

    def sendBytes(self, data: bytes) -> None:
        """:meth:`send` for a frame already serialised (the same collecting of writes)."""
        if self._outgoing is not None:
            self._outgoing.append(data)
        else:
            transport: Any = self.transport
            transport.write(data)

    def _flush(self) -> None:
        outgoing = self._outgoing
        if outgoing:
            self._outgoing = []
            transport: Any = self.transport
            transport.write(outgoing[0] if len(outgoing) == 1 else b''.join(outgoing))

    def close(self, reason: BaseException | None = None, abort: bool = False) -> None:
        """Close the connection; no frame is handed over any more.

        :param reason: why; the first reason given wins. ``None`` means a deliberate, clean close:
            :attr:`onConnectionLost` is called when the transport reports the connection closed.
            With a reason it is called at once, with that reason (a connection closed because of
            an error is over for the owner now; what the transport reports later is ignored).
        :param abort: drop the connection without flushing what is still buffered for writing
            (used when the peer is dead or spoke garbage).
        """
        if reason is not None and self.closeReason is None:
            self.closeReason = reason
        if not self._closed:
            self._closed = True
            transport: Any = self.transport
            if transport is not None:
                if abort and hasattr(transport, 'abortConnection'):
                    transport.abortConnection()
                else:
                    self._flush()  # what the handlers sent before the close goes out first
                    transport.loseConnection()
        if reason is not None:
            self._report(Failure(self.closeReason))

    def loseConnection(self) -> None:
        """Close the transport as if the peer had gone (stompest 2.3's ``StompProtocol`` had this):
        the client sees an unexpected loss (and reconnects, with ``autoReconnect``)."""
        transport: Any = self.transport
        if transport is not None and not self._closed:
            transport.loseConnection()

    def pauseReading(self) -> None:
        """Stop reading from the transport (back-pressure); frames already read are still handed over."""
        if self._paused:
            return
        self._paused = True
        if not self._closed and self.transport is not None:
            self.transport.pauseProducing()

    def resumeReading(self) -> None:
        """Undo :meth:`pauseReading`."""
        if not self._paused:
            return
        self._paused = False
        if not self._closed and self.transport is not None:
            self.transport.resumeProducing()

    # -- internals --------------------------------------------------------------------------------

    def _drain(self) -> None:
        if self._dispatching:  # the loop further up the stack picks the new frames up, in order
            return
        self._dispatching = True
        self._outgoing = []
        try:
            while not self._closed:
                try:
                    frame = self._parser.get()
                except StompFrameError as exc:
                    self.close(exc, abort=True)
                    return
                if frame is StompParser.SENTINEL:
                    return
                callback = self.onFrame
                if callback is None:
                    return
                callback(frame)
        finally:
            self._dispatching = False
            if not self._closed:
                self._flush()
            self._outgoing = None


class StompFactory(Factory):
    """Builds one :class:`StompProtocol` per connection (what endpoints' ``connect`` wants).

    :param parserFactory: passed on to each protocol.
    """

    protocol = StompProtocol

    def __init__(self, parserFactory: Callable[[], StompParser] = StompParser) -> None:
        self._parserFactory = parserFactory

    def buildProtocol(self, addr: Any) -> StompProtocol:
        protocol = StompProtocol(self._parserFactory)
        protocol.factory = self
        return protocol
