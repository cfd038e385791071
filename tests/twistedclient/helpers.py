"""Twisted-specific test helpers: a fake in-memory broker, a pump between two StringTransports,
fake endpoints the test fires by hand, and synchronous Deferred assertions."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.internet.error import ConnectionDone
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.spec import StompSpec

_NOTHING = object()


# -- synchronous Deferred assertions ---------------------------------------------------------------


def successOf(deferred: defer.Deferred) -> Any:
    """The result ``deferred`` already fired with (fails the test otherwise)."""
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, f'{deferred!r} has not fired'
    result = results[0]
    if isinstance(result, Failure):
        result.raiseException()
    return result


def failureOf(deferred: defer.Deferred, *types: type[BaseException]) -> Failure:
    """The Failure ``deferred`` already failed with, checked against ``types`` (consumed)."""
    results: list[Any] = []
    deferred.addBoth(results.append)
    assert results, f'{deferred!r} has not fired'
    result = results[0]
    assert isinstance(result, Failure), f'{deferred!r} succeeded with {result!r}'
    if types:
        assert result.check(*types), f'expected {types}, got {result!r}'
    return result


def assertNoResult(deferred: defer.Deferred) -> None:
    results: list[Any] = []

    def keep(result: Any) -> Any:
        results.append(result)
        return result

    deferred.addBoth(keep)
    assert not results, f'{deferred!r} fired with {results[0]!r}'


# -- a fake broker ---------------------------------------------------------------------------------


class FakeBroker(Protocol):
    """A STOMP broker in memory, built on StompParser and StompFrame.

    It answers CONNECT (negotiating version and heart-beats), RECEIPTs (``answerReceipts``),
    routes SEND to matching SUBSCRIBEs as MESSAGEs and records everything it received in
    :attr:`frames` (heart-beats counted in :attr:`beats`).
    """

    def __init__(
        self,
        version: str = StompSpec.VERSION_1_2,
        heartBeats: tuple[int, int] = (0, 0),
        answerConnect: bool = True,
        answerReceipts: bool = True,
        refuse: str | None = None,
        session: str = 'session-1',
    ) -> None:
        self.version = version
        self.heartBeats = heartBeats
        self.answerConnect = answerConnect
        self.answerReceipts = answerReceipts
        self.refuse = refuse
        self.sessionId = session
        self.parser = StompParser()
        self.frames: list[StompFrame] = []
        self.beats = 0
        self.subscriptions: dict[str, tuple[str, str]] = {}  # id -> (destination, ack mode)
        self.counter = 0
        self.lost = False

    def commands(self) -> list[str]:
        return [frame.command for frame in self.frames]

    def framesOf(self, command: str) -> list[StompFrame]:
        return [frame for frame in self.frames if frame.command == command]

    def dataReceived(self, data: bytes) -> None:
        self.parser.add(data)
        for frame in iter(self.parser.get, self.parser.SENTINEL):
            if isinstance(frame, StompHeartBeat):
                self.beats += 1
                continue
            self.frames.append(frame)
            self.handle(frame)

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost = True

    def write(self, frame: StompFrame | StompHeartBeat) -> None:
        if isinstance(frame, StompFrame) and frame.version is None:
            frame.version = self.version
        self.transport.write(bytes(frame))

    def handle(self, frame: StompFrame) -> None:
        command = frame.command
        if command in (StompSpec.CONNECT, StompSpec.STOMP):
            if self.refuse is not None:
                self.write(StompFrame(StompSpec.ERROR, {'message': self.refuse}, b'refused'))
                return
            if not self.answerConnect:
                return
            offered = frame.headers.get(StompSpec.ACCEPT_VERSION_HEADER, StompSpec.VERSION_1_0).split(',')
            version = max((v for v in offered if v <= self.version), default=StompSpec.VERSION_1_0)
            self.version = version
            self.parser.version = version
            headers = {StompSpec.SESSION_HEADER: self.sessionId, StompSpec.SERVER_HEADER: 'fake/1.0'}
            if version != StompSpec.VERSION_1_0:
                headers[StompSpec.VERSION_HEADER] = version
                headers[StompSpec.HEART_BEAT_HEADER] = f'{self.heartBeats[0]},{self.heartBeats[1]}'
            self.write(StompFrame(StompSpec.CONNECTED, headers))
            return
        if command == StompSpec.SUBSCRIBE:
            subscription = frame.headers.get(StompSpec.ID_HEADER, frame.headers[StompSpec.DESTINATION_HEADER])
            self.subscriptions[subscription] = (
                frame.headers[StompSpec.DESTINATION_HEADER],
                frame.headers.get(StompSpec.ACK_HEADER, 'auto'),
            )
        elif command == StompSpec.UNSUBSCRIBE:
            self.subscriptions.pop(
                frame.headers.get(StompSpec.ID_HEADER, frame.headers.get(StompSpec.DESTINATION_HEADER)), None
            )
        elif command == StompSpec.SEND:
            destination = frame.headers[StompSpec.DESTINATION_HEADER]
            headers = {
                k: v
                for k, v in frame.headers.items()
                if k not in (StompSpec.RECEIPT_HEADER, StompSpec.DESTINATION_HEADER)
            }
            for subscription, (subscribed, _) in list(self.subscriptions.items()):
                if subscribed == destination:
                    self.deliver(subscription, frame.body, headers)
        if self.answerReceipts and StompSpec.RECEIPT_HEADER in frame.headers:
            self.write(
                StompFrame(StompSpec.RECEIPT, {StompSpec.RECEIPT_ID_HEADER: frame.headers[StompSpec.RECEIPT_HEADER]})
            )

    def deliver(
        self, subscription: str, body: bytes = b'', headers: dict[str, str] | None = None, messageId: str | None = None
    ) -> StompFrame:
        """Send a MESSAGE for ``subscription`` (its id, or destination in 1.0)."""
        destination, ackMode = self.subscriptions[subscription]
        self.counter += 1
        messageId = messageId or f'message-{self.counter}'
        allHeaders = dict(headers or {})
        allHeaders.update({StompSpec.DESTINATION_HEADER: destination, StompSpec.MESSAGE_ID_HEADER: messageId})
        if self.version != StompSpec.VERSION_1_0:
            allHeaders[StompSpec.SUBSCRIPTION_HEADER] = subscription
        if self.version == StompSpec.VERSION_1_2 and ackMode != 'auto':
            allHeaders[StompSpec.ACK_HEADER] = f'ack-{messageId}'
        frame = StompFrame(StompSpec.MESSAGE, allHeaders, body, version=self.version)
        self.write(frame)
        return frame


# -- transports, pump, endpoints -------------------------------------------------------------------


class RecordingTransport(StringTransport):
    """A StringTransport that also keeps every ``write`` apart (to count heart-beats: the parser
    reads the first EOL after a frame as part of that frame)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)
        super().write(data)

    def beats(self) -> int:
        return sum(1 for data in self.writes if data == b'\n')


class Link:
    """Two StringTransports and a pump between a client protocol and a :class:`FakeBroker`.

    ``pump()`` moves bytes both ways until nothing moves; it does not deliver to a client whose
    transport is paused (back-pressure), and finishes a close that either side asked for.
    """

    def __init__(self, client: Protocol, broker: FakeBroker) -> None:
        self.client = client
        self.broker = broker
        self.clientTransport = RecordingTransport()
        self.brokerTransport = StringTransport()
        self.closed = False
        broker.makeConnection(self.brokerTransport)
        client.makeConnection(self.clientTransport)

    def clientPaused(self) -> bool:
        return self.clientTransport.producerState == 'paused'

    def pump(self) -> None:
        while not self.closed:
            moved = False
            data = self.clientTransport.value()
            if data:
                self.clientTransport.clear()
                self.broker.dataReceived(data)
                moved = True
            data = self.brokerTransport.value()
            if data and not self.clientPaused() and not self.clientTransport.disconnecting:
                self.brokerTransport.clear()
                self.client.dataReceived(data)
                moved = True
            if not moved:
                if self.clientTransport.disconnecting or self.brokerTransport.disconnecting:
                    self.close()  # after flushing what was written before the close, as TCP does
                return

    def close(self, reason: Failure | None = None) -> None:
        """The TCP connection is gone: both sides hear about it."""
        if self.closed:
            return
        self.closed = True
        reason = reason or Failure(ConnectionDone())
        self.broker.connectionLost(reason)
        self.client.connectionLost(reason)


class FakeEndpoints:
    """An ``endpointFactory`` whose endpoints' ``connect()`` return Deferreds the test fires.

    :attr:`attempts` holds one :class:`Attempt` per connect, in order.
    """

    def __init__(self) -> None:
        self.attempts: list[Attempt] = []

    def __call__(self, broker: dict[str, Any], timeout: float | None = None) -> Any:
        return _FakeEndpoint(self, broker, timeout)


class _FakeEndpoint:
    def __init__(self, owner: FakeEndpoints, broker: dict[str, Any], timeout: float | None) -> None:
        self.owner, self.broker, self.timeout = owner, broker, timeout

    def connect(self, factory: Any) -> defer.Deferred:
        attempt = Attempt(self.broker, self.timeout, factory)
        self.owner.attempts.append(attempt)
        return attempt.deferred


class Attempt:
    def __init__(self, broker: dict[str, Any], timeout: float | None, factory: Any) -> None:
        self.broker, self.timeout, self.factory = broker, timeout, factory
        self.cancelled = False
        self.deferred: defer.Deferred = defer.Deferred(self._cancel)
        self.link: Link | None = None

    def _cancel(self, deferred: defer.Deferred) -> None:
        self.cancelled = True

    def succeed(self, broker: FakeBroker | None = None, pump: bool = True) -> Link:
        """Connect the client to ``broker`` (a new FakeBroker by default) and pump."""
        protocol = self.factory.buildProtocol(None)
        self.link = Link(protocol, broker or FakeBroker())
        self.deferred.callback(protocol)
        if pump:
            self.link.pump()
        return self.link

    def fail(self, exc: BaseException | None = None) -> None:
        from twisted.internet.error import ConnectionRefusedError

        self.deferred.errback(exc or ConnectionRefusedError())


def sentFrames(transport: StringTransport, version: str = StompSpec.VERSION_1_2) -> list[Any]:
    """What a client wrote to ``transport``, parsed back (heart-beats included)."""
    parser = StompParser(version)
    parser.add(transport.value())
    return list(iter(parser.get, parser.SENTINEL))
