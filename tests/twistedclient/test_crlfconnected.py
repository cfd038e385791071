"""A client offering 1.2 accepts a CONNECTED frame whose lines end in CR LF (STOMP 1.2: every EOL
may be CR LF), although its parser reads with 1.0's rules until the version is known."""

from __future__ import annotations

from twisted.internet.testing import MemoryReactorClock

from stompest.config import StompConfig
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from stompest.twisted import Stomp

from .helpers import FakeBroker, FakeEndpoints, successOf

CRLF_CONNECTED = b'CONNECTED\r\nversion:1.2\r\nsession:crlf-1\r\nserver:crlf/1.0\r\nheart-beat:0,0\r\n\r\n\x00\r\n'


class CrlfBroker(FakeBroker):
    """Answers CONNECT with CR LF line ends; everything else as :class:`FakeBroker`."""

    def handle(self, frame: StompFrame) -> None:
        if frame.command != StompSpec.CONNECT:
            super().handle(frame)
            return
        self.version = self.parser.version = StompSpec.VERSION_1_2
        self.transport.write(CRLF_CONNECTED)


def test_connectSucceedsWithACrlfConnectedFrame():
    reactor = MemoryReactorClock()
    endpoints = FakeEndpoints()
    client = Stomp(StompConfig('tcp://broker.invalid:61613', version='1.2'), endpointFactory=endpoints, reactor=reactor)
    connecting = client.connect(heartBeats=(0, 0), connectedTimeout=5)
    link = endpoints.attempts[0].succeed(CrlfBroker())
    assert successOf(connecting) is client
    assert client.session.version == StompSpec.VERSION_1_2
    assert client.session.id == 'crlf-1'
    assert client.session.server == 'crlf/1.0'
    reactor.advance(10)  # past the CONNECTED timeout: nothing left to fire
    disconnecting = client.disconnect()
    link.pump()
    assert link.broker.commands() == ['CONNECT', 'DISCONNECT']
    assert successOf(disconnecting) is None
    assert reactor.getDelayedCalls() == []
