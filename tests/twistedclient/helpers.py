"""Twisted-specific test helpers: a fake in-memory broker, a pump between two StringTransports,
fake endpoints the test fires by hand, clients built on them, and synchronous Deferred assertions."""

from __future__ import annotations

import ipaddress
from typing import Any

from twisted.internet import defer
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IHostnameResolver, IHostResolution
from twisted.internet.protocol import Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from zope.interface import implementer

from stompest.config import StompConfig
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.spec import StompSpec
from stompest.testing import BrokerConnection, MemoryBroker
from stompest.testing.twisted import BrokerProtocol
from stompest.twisted import Stomp

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


# -- a name resolver -----------------------------------------------------------------------------


@implementer(IHostResolution)
class _Resolution:
    def __init__(self, name: str) -> None:
        self.name = name

    def cancel(self) -> None:
        raise AssertionError('resolved synchronously: nothing to cancel')


@implementer(IHostnameResolver)
class StaticResolver:
    """A name resolver for ``MemoryReactorClock.installNameResolver``: each host name resolves,
    at once, to the addresses given for it (IPv4 or IPv6 literals), an unknown one to none."""

    def __init__(self, names: dict[str, list[str]]) -> None:
        self.names = names
        self.asked: list[str] = []

    def resolveHostName(self, receiver, hostName, portNumber=0, addressTypes=None, transportSemantics='TCP'):
        self.asked.append(hostName)
        resolution = _Resolution(hostName)
        receiver.resolutionBegan(resolution)
        for address in self.names.get(hostName, []):
            kind = IPv6Address if ipaddress.ip_address(address).version == 6 else IPv4Address
            receiver.addressResolved(kind('TCP', address, portNumber))
        receiver.resolutionComplete()
        return resolution


# -- a fake broker ---------------------------------------------------------------------------------


class FakeBroker(BrokerProtocol):
    """One connection to its own :class:`stompest.testing.MemoryBroker` (the shipped test kit),
    with the options these tests were written for: every destination routes like a topic (a SEND
    reaches every matching subscription), ACKs are not checked, the CONNECTED ``heart-beat``
    header is ``heartBeats`` as given, and no timers run (the broker sends no heart-beats)."""

    def __init__(
        self,
        version: str = StompSpec.VERSION_1_2,
        heartBeats: tuple[int, int] = (0, 0),
        answerConnect: bool = True,
        answerReceipts: bool = True,
        refuse: str | None = None,
        session: str = 'session-1',
        server: str = 'fake/1.0',
    ) -> None:
        broker = MemoryBroker(
            versions=[v for v in StompSpec.VERSIONS if v <= version],
            heartBeats=heartBeats,
            strictAcks=False,
            topicPrefixes=('',),
            closeOnDisconnect=False,
            frameTrailer=b'',
            server=server,
        )
        broker.answerConnect, broker.answerReceipts, broker.refuse = answerConnect, answerReceipts, refuse
        super().__init__(broker)
        self.sessionId = session

    def connectionMade(self) -> None:
        super().connectionMade()
        self.kit.sessionId = self.sessionId

    @property
    def kit(self) -> BrokerConnection:
        assert self.connection is not None
        return self.connection

    @property
    def frames(self) -> list[StompFrame]:
        return self.kit.frames

    @property
    def answerReceipts(self) -> bool:
        return self.broker.answerReceipts

    @answerReceipts.setter
    def answerReceipts(self, value: bool) -> None:
        self.broker.answerReceipts = value

    @property
    def answerConnect(self) -> bool:
        return self.broker.answerConnect

    @answerConnect.setter
    def answerConnect(self, value: bool) -> None:
        self.broker.answerConnect = value

    @property
    def refuse(self) -> str | None:
        return self.broker.refuse

    @refuse.setter
    def refuse(self, value: str | None) -> None:
        self.broker.refuse = value

    def handle(self, frame: StompFrame) -> None:
        self.kit.handle(frame)

    @property
    def lost(self) -> bool:
        return not self.kit.isOpen

    @property
    def answerReceipts(self) -> bool:
        """Whether the broker answers receipts (settable while the test runs)."""
        return self.broker.answerReceipts

    @answerReceipts.setter
    def answerReceipts(self, value: bool) -> None:
        self.broker.answerReceipts = value

    def commands(self) -> list[str]:
        return self.kit.commands()

    def framesOf(self, command: str) -> list[StompFrame]:
        return self.kit.framesOf(command)

    def write(self, frame: StompFrame | StompHeartBeat) -> None:
        self.kit.sendFrame(frame)

    def deliver(
        self, subscription: str, body: bytes = b'', headers: dict[str, str] | None = None, messageId: str | None = None
    ) -> StompFrame:
        """Send a MESSAGE for ``subscription`` (its id, or destination in 1.0)."""
        return self.kit.deliver(subscription, body, headers, messageId)


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


# -- clients -----------------------------------------------------------------------------------------

URI = 'tcp://broker.invalid:61613'


def makeClient(
    reactor: Any,
    uri: str = URI,
    version: str = '1.2',
    login: str | None = None,
    passcode: str | None = None,
    **options: Any,
) -> tuple[FakeEndpoints, Stomp]:
    """A client on ``reactor`` (the test's ``reactor`` fixture, which fails the test if a timer is
    left ticking) whose connects the test fires by hand: ``endpoints.attempts[0].succeed(...)``."""
    endpoints = FakeEndpoints()
    config = StompConfig(uri, login=login, passcode=passcode, version=version)
    return endpoints, Stomp(config, endpointFactory=endpoints, reactor=reactor, **options)


def connected(
    reactor: Any,
    uri: str = URI,
    version: str = '1.2',
    broker: FakeBroker | None = None,
    heartBeats: tuple[int, int] | None = None,
    **options: Any,
) -> tuple[FakeEndpoints, Stomp, Link]:
    """A :func:`makeClient` client, connected to ``broker`` (a :class:`FakeBroker` of ``version``
    by default)."""
    endpoints, client = makeClient(reactor, uri, version, **options)
    connecting = client.connect(heartBeats=heartBeats)
    link = endpoints.attempts[0].succeed(broker or FakeBroker(version=version))
    successOf(connecting)
    return endpoints, client, link


def sentFrames(transport: StringTransport, version: str = StompSpec.VERSION_1_2) -> list[Any]:
    """What a client wrote to ``transport``, parsed back (heart-beats included)."""
    parser = StompParser(version)
    parser.add(transport.value())
    return list(iter(parser.get, parser.SENTINEL))
