"""The in-memory broker for tests of the Twisted client, on a fake or a real reactor.

Two ways to reach a :class:`~stompest.testing.broker.MemoryBroker`:

* :class:`MemoryEndpoints`, an ``endpointFactory`` for :class:`stompest.twisted.Stomp`: no
  sockets at all. Bytes move between the client and the broker when the reactor runs its
  pending calls, so a test on a :class:`~twisted.internet.testing.MemoryReactorClock` (or any
  :class:`~twisted.internet.task.Clock` that also records nothing else) says when time passes::

      reactor = MemoryReactorClock()
      broker = MemoryBroker(clock=reactor.seconds)
      client = Stomp(StompConfig('tcp://broker.test:61613'), reactor=reactor,
                     endpointFactory=MemoryEndpoints(broker, reactor))
      connected = client.connect()
      reactor.advance(0)            # CONNECT reaches the broker, CONNECTED comes back

  Heart-beats, timeouts and handler delays all run on that clock: ``reactor.advance(5)`` is five
  seconds of broker and client life, in no time.

* :class:`BrokerFactory`, a protocol factory to ``listenTCP`` on 127.0.0.1 when a test runs a
  real reactor (for example the asyncio one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from twisted.internet import defer
from twisted.internet.error import ConnectionDone, ConnectionLost, ConnectionRefusedError
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from stompest.testing.broker import MemoryBroker
from stompest.testing.connection import BrokerConnection

__all__ = ['BrokerFactory', 'BrokerProtocol', 'MemoryEndpoints', 'MemoryLink']


class BrokerProtocol(Protocol):
    """A Twisted protocol that is the broker's end of one connection.

    :param broker: the broker it belongs to.
    :param reactor: an ``IReactorTime`` that runs the broker's heart-beat timers (``None``: the broker negotiates
        heart-beats but neither sends them nor drops a silent client).
    """

    def __init__(self, broker: MemoryBroker, reactor: Any = None) -> None:
        self.broker = broker
        self.reactor = reactor
        self.connection: BrokerConnection | None = None
        self._timer: Any = None

    def connectionMade(self) -> None:
        self.connection = self.broker.connect(self._write, self._loseConnection)
        self.connection.onThaw = self.schedule

    def dataReceived(self, data: bytes) -> None:
        assert self.connection is not None
        self.connection.receive(data)
        self.schedule()

    def connectionLost(self, reason: Failure | None = None) -> None:
        self._cancelTimer()
        if self.connection is not None:
            self.connection.lost()

    def schedule(self) -> None:
        """Set the heart-beat timer to the connection's next deadline (after anything that may
        have moved it: a frame in or out, freeze, thaw)."""
        if self.reactor is None or self.connection is None:
            return
        self._cancelTimer()
        deadline = self.connection.nextDeadline()
        if deadline is not None:
            self._timer = self.reactor.callLater(max(deadline - self.broker.clock(), 0.0), self._tick)

    def _tick(self) -> None:
        self._timer = None
        assert self.connection is not None
        self.connection.tick()
        self.schedule()

    def _cancelTimer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _write(self, data: bytes) -> None:
        transport: Any = self.transport
        transport.write(data)

    def _loseConnection(self) -> None:
        self._cancelTimer()
        transport: Any = self.transport
        transport.loseConnection()


class BrokerFactory(Factory):
    """Builds a :class:`BrokerProtocol` per accepted connection, for ``reactor.listenTCP``::

        port = reactor.listenTCP(0, BrokerFactory(broker, reactor), interface='127.0.0.1')

    Keep the interface a loopback address: the broker checks no credentials unless told to.
    """

    def __init__(self, broker: MemoryBroker, reactor: Any = None) -> None:
        self.broker = broker
        self.reactor = reactor

    def buildProtocol(self, addr: Any) -> BrokerProtocol:
        protocol = BrokerProtocol(self.broker, self.reactor)
        protocol.factory = self
        return protocol


class _Transport(StringTransport):
    """One end of a :class:`MemoryLink`: what is written is moved by the link's pump."""

    def __init__(self, link: MemoryLink) -> None:
        super().__init__()
        self._link = link

    def write(self, data: bytes) -> None:
        super().write(data)
        self._link.schedulePump()

    def loseConnection(self) -> None:
        super().loseConnection()
        self._link.schedulePump()

    def abortConnection(self) -> None:
        self._link.drop()


class MemoryLink:
    """A connection between a client protocol and a :class:`BrokerProtocol`, in memory.

    Written bytes move on the reactor's next turn (``reactor.advance(0)``), in order, and a
    transport closed by either side is closed for both once what it wrote has arrived, as TCP
    does. A client whose transport is paused (back-pressure) gets nothing until it resumes.
    """

    def __init__(self, client: Protocol, broker: BrokerProtocol, reactor: Any) -> None:
        self.client = client
        self.broker = broker
        self.reactor = reactor
        self.clientTransport = _Transport(self)
        self.brokerTransport = _Transport(self)
        self.closed = False
        #: Stop moving bytes in both directions (see :meth:`freeze`).
        self.frozen = False
        self._pending: Any = None
        broker.makeConnection(self.brokerTransport)
        client.makeConnection(self.clientTransport)

    @property
    def connection(self) -> BrokerConnection:
        """The broker's :class:`~stompest.testing.connection.BrokerConnection` of this link."""
        assert self.broker.connection is not None
        return self.broker.connection

    def schedulePump(self) -> None:
        if self._pending is None and not self.closed:
            self._pending = self.reactor.callLater(0, self.pump)

    def pump(self) -> None:
        """Move bytes both ways until nothing moves (also callable by hand)."""
        self._pending = None
        while not self.closed and not self.frozen:
            moved = False
            data = self.clientTransport.value()
            if data:
                self.clientTransport.clear()
                self.broker.dataReceived(data)
                moved = True
            data = self.brokerTransport.value()
            paused = self.clientTransport.producerState == 'paused'
            if data and not paused and not self.clientTransport.disconnecting:
                self.brokerTransport.clear()
                self.client.dataReceived(data)
                moved = True
            if not moved:
                if self.clientTransport.disconnecting or self.brokerTransport.disconnecting:
                    self.close()
                return

    def freeze(self) -> None:
        """The network stops carrying bytes (both ways) but the connection stays open, as when a
        cable is pulled: only the client's heart-beat checks can notice."""
        self.frozen = True

    def thaw(self) -> None:
        """The network works again: what was written meanwhile arrives."""
        self.frozen = False
        self.schedulePump()

    def drop(self, reason: Failure | None = None) -> None:
        """The connection breaks now: both sides get ``connectionLost`` (unsent bytes are lost)."""
        self.close(reason or Failure(ConnectionLost('Connection dropped by the test')))

    def close(self, reason: Failure | None = None) -> None:
        """Both sides hear that the connection is gone (``ConnectionDone`` by default)."""
        if self.closed:
            return
        self.closed = True
        if self._pending is not None and self._pending.active():
            self._pending.cancel()
        self._pending = None
        reason = reason or Failure(ConnectionDone())
        self.broker.connectionLost(reason)
        self.client.connectionLost(reason)


class MemoryEndpoints:
    """An ``endpointFactory`` for :class:`stompest.twisted.Stomp` whose connections end in a
    :class:`~stompest.testing.broker.MemoryBroker`.

    Every broker of a failover URI reaches the same broker (unless :meth:`refuse` says otherwise).
    A connect completes on the reactor's next turn.

    :param broker: where the connections go.
    :param reactor: moves the bytes and runs the broker's heart-beat timers; use the client's.
    """

    def __init__(self, broker: MemoryBroker, reactor: Any) -> None:
        self.broker = broker
        self.reactor = reactor
        #: Every link made, oldest first.
        self.links: list[MemoryLink] = []
        #: Every connect attempt, as ``(host, port)``.
        self.attempts: list[tuple[str, int]] = []
        self._refusals: list[Callable[[dict[str, Any]], bool]] = []

    @property
    def link(self) -> MemoryLink:
        """The newest link (fails when there is none)."""
        if not self.links:
            raise LookupError('The client has not connected')
        return self.links[-1]

    def refuse(self, count: int | None = 1, host: str | None = None, port: int | None = None) -> None:
        """Refuse the next ``count`` connect attempts (``None``: all from now on), only to this
        host or port when given, with :class:`~twisted.internet.error.ConnectionRefusedError`."""
        remaining = [count]

        def applies(broker: dict[str, Any]) -> bool:
            if (host is not None and broker.get('host') != host) or (port is not None and broker.get('port') != port):
                return False
            if remaining[0] is None:
                return True
            if remaining[0] <= 0:
                return False
            remaining[0] -= 1
            return True

        self._refusals.append(applies)

    def accept(self) -> None:
        """Forget every :meth:`refuse`."""
        self._refusals.clear()

    def __call__(self, broker: dict[str, Any], timeout: float | None = None) -> _Endpoint:
        return _Endpoint(self, broker)

    def _connect(self, broker: dict[str, Any], factory: Any) -> defer.Deferred[Protocol]:
        self.attempts.append((broker.get('host', ''), broker.get('port', 0)))
        refused = any([applies(broker) for applies in self._refusals])
        deferred: defer.Deferred[Protocol] = defer.Deferred()

        def complete() -> None:
            if refused:
                deferred.errback(ConnectionRefusedError(f'{broker.get("host")}:{broker.get("port")}'))
                return
            client = factory.buildProtocol(None)
            link = MemoryLink(client, BrokerProtocol(self.broker, self.reactor), self.reactor)
            self.links.append(link)
            deferred.callback(client)

        call = self.reactor.callLater(0, complete)
        deferred.addErrback(lambda failure: _cancelled(call, failure))
        return deferred


def _cancelled(call: Any, failure: Failure) -> Failure:
    if call.active():
        call.cancel()
    return failure


class _Endpoint:
    def __init__(self, owner: MemoryEndpoints, broker: dict[str, Any]) -> None:
        self._owner = owner
        self._broker = broker

    def connect(self, factory: Any) -> defer.Deferred[Protocol]:
        return self._owner._connect(self._broker, factory)
