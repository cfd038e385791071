"""Reconnecting the blocking client: what the next connect() reuses, and ACKs of old frames."""

from __future__ import annotations

import gc
import logging

import pytest

from stompest.error import StompConnectionError
from tests.syncclient.fakes import FakeNetwork, connected, makeClient, wire


def message(messageId, ack):
    headers = {'destination': '/queue/a', 'message-id': messageId, 'subscription': 'in', 'ack': ack}
    return wire('MESSAGE', headers, b'body')


@pytest.fixture
def network():
    network = FakeNetwork()
    yield network
    network.close()


def lose(client, peer):
    peer.close()
    with pytest.raises(StompConnectionError):
        client.receiveFrame()


def connectFrame(network):
    [frame] = [f for f in network.peers[-1].frames() if f.command == 'CONNECT']
    return frame


# --- connect() arguments ------------------------------------------------------------------------


def test_reconnectReusesEveryArgumentOfTheLastConnect(network):
    network.plan = [connected('1.1', heartBeat='1000,1000'), connected('1.1', heartBeat='1000,1000', session='s2')]
    client, _, _ = makeClient(network, version='1.2', login='guest', passcode='guest')
    client.connect({'client-id': 'app'}, ['1.0', '1.1'], '/', (1000, 1000), connectTimeout=3, connectedTimeout=4)
    first = connectFrame(network)
    lose(client, network.peers[-1])
    client.connect(connectedTimeout=10)  # the recovery docs/sync.rst shows
    again = connectFrame(network)
    assert again.headers == first.headers
    assert again.headers['host'] == '/' and again.headers['heart-beat'] == '1000,1000'
    assert again.headers['accept-version'] == '1.0,1.1' and again.headers['client-id'] == 'app'
    assert [timeout for (_, timeout) in network.attempts] == [3, 3]
    assert (client.clientHeartBeat, client.serverHeartBeat) == (1000, 1000)


def test_newArgumentsReplaceOnlyThemselves(network):
    client, _, _ = makeClient(network, version='1.2')
    client.connect(host='/', heartBeats=(1000, 1000))
    lose(client, network.peers[-1])
    client.connect(host='vhost2')
    frame = connectFrame(network)
    assert (frame.headers['host'], frame.headers['heart-beat']) == ('vhost2', '1000,1000')
    client.disconnect()
    client.connect(heartBeats=(0, 0))  # also after a clean disconnect; (0, 0) turns heart-beats off
    frame = connectFrame(network)
    assert (frame.headers['host'], frame.headers['heart-beat']) == ('vhost2', '0,0')


def test_failedConnectKeepsItsArgumentsForTheNext(network):
    network.plan = [ConnectionRefusedError(111, 'Connection refused'), connected('1.2')]
    client, _, _ = makeClient(network, uri='failover:(tcp://a:1)?startupMaxReconnectAttempts=0', version='1.2')
    with pytest.raises(StompConnectionError):
        client.connect(host='/')
    client.connect()
    assert connectFrame(network).headers['host'] == '/'


# --- stale ACK/NACK -----------------------------------------------------------------------------


def test_everyAckAndNackOfAFrameFromAnOldConnectionIsDropped(network, caplog):
    client, _, _ = makeClient(network, version='1.2')
    client.connect()
    client.subscribe('/queue/a', {'id': 'in', 'ack': 'client-individual'})
    network.peers[-1].write(message('m1', 'a1'))
    old = client.receiveFrame()
    lose(client, network.peers[-1])
    client.connect()
    peer = network.peers[-1]
    peer.frames()  # CONNECT, replayed SUBSCRIBE
    with caplog.at_level(logging.WARNING, logger='stompest.sync.client'):
        client.ack(old)
        client.ack(old)  # a second ACK (listener, then the program) is dropped too
        client.nack(old, receipt='r')
        client.ack(old, receipt='r')
    assert peer.frames() == []
    warnings = [r.getMessage() for r in caplog.records if 'earlier connection' in r.getMessage()]
    assert [w.split(' ')[2] for w in warnings] == ['ACK', 'ACK', 'NACK', 'ACK']
    assert all(r.levelno == logging.WARNING for r in caplog.records if 'earlier connection' in r.getMessage())
    assert all("[message-id='m1']" in w for w in warnings)
    assert client.session.receipts == frozenset()  # nothing waits for a receipt never asked for
    peer.write(message('m1', 'a2'))  # the redelivered copy is the one to acknowledge
    fresh = client.receiveFrame()
    client.ack(fresh)
    [ack] = peer.frames()
    assert (ack.command, ack.headers) == ('ACK', {'id': 'a2'})


def test_framesOfTwoConnectionsAgoAreStaleToo(network):
    client, _, _ = makeClient(network, version='1.2')
    client.connect()
    client.subscribe('/queue/a', {'id': 'in', 'ack': 'client-individual'})
    network.peers[-1].write(message('m1', 'a1'))
    oldest = client.receiveFrame()
    for _ in range(2):
        lose(client, network.peers[-1])
        client.connect()
    network.peers[-1].frames()
    client.ack(oldest)
    assert network.peers[-1].frames() == []


def test_framesTheProgramBuiltOrDroppedAreNotTracked(network):
    client, _, _ = makeClient(network, version='1.2')
    client.connect()
    client.subscribe('/queue/a', {'id': 'in', 'ack': 'client-individual'})
    network.peers[-1].write(message('m1', 'a1'))
    client.receiveFrame()  # dropped by the program at once
    lose(client, network.peers[-1])
    gc.collect()
    assert len(client._stale) == 0 and all(ref() is None for ref in client._delivered)
    client.connect()
    network.peers[-1].frames()
    from stompest.protocol.frame import StompFrame

    built = StompFrame(
        'MESSAGE', {'destination': '/queue/a', 'message-id': 'm9', 'subscription': 'in', 'ack': 'a9'}, version='1.2'
    )
    client.ack(built)  # never received: sent as asked (2.3 programs and tests do this)
    [ack] = network.peers[-1].frames()
    assert ack.headers == {'id': 'a9'}


def test_theListOfDeliveredFramesStaysBoundedWhileFramesAreDropped(network):
    client, _, _ = makeClient(network, version='1.2')
    client.connect()
    client.subscribe('/queue/a', {'id': 'in', 'ack': 'auto'})
    network.peers[-1].writeInBackground(message('m', 'a') * 5000)
    kept = [client.receiveFrame() for _ in range(10)]  # the program holds on to these
    for _ in range(4990):
        client.receiveFrame()  # and drops these at once
    assert len(client._delivered) < 2 * 1024
    lose(client, network.peers[-1])
    client.connect()
    assert sorted(client._stale) == sorted(id(frame) for frame in kept)
