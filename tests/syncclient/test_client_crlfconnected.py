"""A client offering 1.2 accepts a CONNECTED frame whose lines end in CR LF (STOMP 1.2: every EOL
may be CR LF), although its parser reads with 1.0's rules until the version is known."""

from __future__ import annotations

import pytest

from stompest.protocol.session import StompSession
from tests.syncclient.fakes import FakeNetwork, makeClient, wire

CRLF_CONNECTED = b'CONNECTED\r\nversion:1.2\r\nsession:crlf-1\r\nserver:crlf/1.0\r\nheart-beat:0,0\r\n\r\n\x00\r\n'


@pytest.fixture
def network():
    network = FakeNetwork()
    yield network
    network.close()


def test_connectSucceedsWithACrlfConnectedFrame(network):
    message = wire('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1', 'subscription': '0', 'ack': 'a1'}, b'hi')
    network.plan = [CRLF_CONNECTED + message]
    client, sleeps, _ = makeClient(network, version='1.2')
    client.connect(connectTimeout=4, connectedTimeout=4)
    assert client.session.state == StompSession.CONNECTED
    assert client.session.version == '1.2'
    assert client.session.id == 'crlf-1'
    assert client.session.server == 'crlf/1.0'
    assert client.canRead(0)
    frame = client.receiveFrame()  # the stream goes on under 1.2 after the CR LF after the NUL
    assert (frame.command, frame.body, frame.headers['message-id']) == ('MESSAGE', b'hi', 'm1')
    assert sleeps == []
    client.disconnect()
    assert [frame.command for frame in network.peers[0].frames()] == ['CONNECT', 'DISCONNECT']
