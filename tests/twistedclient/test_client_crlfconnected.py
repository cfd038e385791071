"""A client offering 1.2 accepts a CONNECTED frame whose lines end in CR LF (STOMP 1.2: every EOL
may be CR LF), although its parser reads with 1.0's rules until the version is known."""

from __future__ import annotations

from stompest.protocol.spec import StompSpec

from .helpers import FakeBroker, makeClient, successOf


def crlfLines(wire: bytes) -> bytes:
    """``wire`` (one frame) with CR LF line ends in its head, and CR LF after its NUL."""
    head, _, body = wire.partition(b'\n\n')
    return head.replace(b'\n', b'\r\n') + b'\r\n\r\n' + body.rstrip(b'\n') + b'\r\n'


def test_connectSucceedsWithACrlfConnectedFrame(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(heartBeats=(0, 0), connectedTimeout=5)
    link = endpoints.attempts[0].succeed(FakeBroker(), pump=False)
    link.broker.dataReceived(link.clientTransport.value())  # the CONNECT
    link.clientTransport.clear()
    connected = link.brokerTransport.value()
    link.brokerTransport.clear()
    assert connected.startswith(b'CONNECTED\n') and b'\nversion:1.2\n' in connected
    link.client.dataReceived(crlfLines(connected))
    assert successOf(connecting) is client
    assert client.session.version == StompSpec.VERSION_1_2
    assert client.session.id == 'session-1'
    assert client.session.server == 'fake/1.0'
    reactor.advance(10)  # past the CONNECTED timeout: nothing left to fire
    disconnecting = client.disconnect()
    link.pump()
    assert link.broker.commands() == ['CONNECT', 'DISCONNECT']
    assert successOf(disconnecting) is None
