"""The blocking client against a fake broker at the socket level (no real broker, no sleeps)."""

from __future__ import annotations

import logging
import ssl
import time

import pytest

from stompest.error import (
    StompConnectionError,
    StompConnectTimeout,
    StompHeartBeatTimeout,
    StompProtocolError,
)
from stompest.protocol.frame import StompFrame
from stompest.protocol.session import StompSession
from tests.syncclient.fakes import FakeNetwork, connected, makeClient, wire

MESSAGE = wire('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1', 'subscription': '0', 'ack': 'a1'}, b'hello')


@pytest.fixture
def network():
    network = FakeNetwork()
    yield network
    network.close()


def commands(frames):
    return [frame.command if isinstance(frame, StompFrame) else 'EOL' for frame in frames]


# --- connect ------------------------------------------------------------------------------------


def test_connectSendsConnectAndNegotiatesVersionAndHeartBeats(network):
    network.plan = [connected('1.1', heartBeat='3000,500')]
    client, sleeps, _ = makeClient(network, login='user', passcode='secret', version='1.2')
    client.connect(heartBeats=(1000, 2000), connectTimeout=4)
    [connect] = network.peers[0].frames()
    assert connect.command == 'CONNECT'
    assert connect.headers['accept-version'] == '1.0,1.1,1.2'
    assert connect.headers['host'] == 'broker.test'
    assert connect.headers['heart-beat'] == '1000,2000'
    assert (connect.headers['login'], connect.headers['passcode']) == ('user', 'secret')
    assert network.attempts == [(('broker.test', 61613), 4)]
    assert client.session.state == StompSession.CONNECTED
    assert client.session.version == '1.1'
    assert (client.clientHeartBeat, client.serverHeartBeat) == (1000, 3000)
    assert sleeps == []


def test_connectOffering10OnlySendsNoHostHeader(network):
    network.plan = [connected('1.0')]
    client, _, _ = makeClient(network)
    client.connect()
    [connect] = network.peers[0].frames()
    assert 'host' not in connect.headers
    assert client.session.version == '1.0'


def test_connectUsesGivenHost(network):
    client, _, _ = makeClient(network, version='1.2')
    client.connect(host='/')
    assert network.peers[0].frames()[0].headers['host'] == '/'


def test_connectTwiceRaises(network):
    client, _, _ = makeClient(network, version='1.2')
    client.connect()
    with pytest.raises(StompConnectionError, match='Already connected'):
        client.connect()


def test_failoverWalksBrokersSleepingEachDelay(network, caplog):
    refused = ConnectionRefusedError(111, 'Connection refused')
    network.plan = [refused, refused, refused, connected('1.2')]
    uri = 'failover:(tcp://a:1,tcp://b:2)?randomize=false,initialReconnectDelay=100,startupMaxReconnectAttempts=5'
    client, sleeps, _ = makeClient(network, uri=uri, version='1.2')
    with caplog.at_level(logging.INFO, logger='stompest.sync.client'):
        client.connect()
    assert [address for (address, _) in network.attempts] == [('a', 1), ('b', 2), ('a', 1), ('b', 2)]
    assert sleeps == [0.1, 0.2, 0.4]
    connecting = [r.getMessage() for r in caplog.records if r.getMessage().startswith('Connecting to')]
    assert connecting == ['Connecting to tcp://a:1 ...', 'Connecting to tcp://b:2 ...'] * 2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 and all('Connection refused' in w for w in warnings)
    assert client.session.state == StompSession.CONNECTED


def test_givingUpRaisesConnectTimeoutChainedFromLastError(network):
    refused = ConnectionRefusedError(111, 'Connection refused')
    network.plan = [refused, refused]
    client, sleeps, _ = makeClient(
        network, uri='failover:(tcp://a:1)?startupMaxReconnectAttempts=1,initialReconnectDelay=50'
    )
    with pytest.raises(StompConnectTimeout) as info:
        client.connect()
    assert isinstance(info.value.__cause__, StompConnectionError)
    assert 'Connection refused' in str(info.value.__cause__)
    assert sleeps == [0.05]
    assert client.session.state == StompSession.DISCONNECTED
    with pytest.raises(StompConnectionError, match='Not connected'):
        client.canRead(0)


def test_connectedTimeoutClosesSocketAndGivesUp(network):
    network.plan = [b'']  # accepts the TCP connection, never answers
    client, _, _ = makeClient(network, uri='failover:(tcp://a:1)?startupMaxReconnectAttempts=0')
    with pytest.raises(StompConnectTimeout) as info:
        client.connect(connectedTimeout=0)
    assert 'No CONNECTED frame' in str(info.value.__cause__)
    assert network.peers[0].closedByClient()
    assert client.session.state == StompSession.DISCONNECTED


def test_connectedTimeoutMovesOnToTheNextBroker(network):
    network.plan = [b'', connected('1.0')]
    client, sleeps, _ = makeClient(network, uri='failover:(tcp://a:1,tcp://b:2)?randomize=false')
    client.connect(connectedTimeout=0)
    assert [address for (address, _) in network.attempts] == [('a', 1), ('b', 2)]
    assert network.peers[0].closedByClient() and not network.peers[1].closedByClient()
    assert sleeps == [0.01]


def test_connectionLostDuringConnectTriesTheNextBroker(network):
    network.plan = [(b'CONNEC', FakeNetwork.CLOSE), connected('1.0')]
    client, _, _ = makeClient(network, uri='failover:(tcp://a:1,tcp://b:2)?randomize=false')
    client.connect()
    assert len(network.attempts) == 2
    assert client.session.state == StompSession.CONNECTED


def test_errorOnConnectRaisesProtocolErrorClosesAtOnceAndTriesNoOtherBroker(network):
    refusal = wire('ERROR', {'message': 'Bad CONNECT'}, b"Virtual host 'x' access refused\n", version='1.0')
    network.plan = [refusal, connected()]
    client, _, _ = makeClient(network, uri='failover:(tcp://a:1,tcp://b:2)?randomize=false', version='1.2')
    with pytest.raises(StompProtocolError) as info:
        client.connect()
    assert info.value.frame.command == 'ERROR'
    assert "Bad CONNECT: Virtual host 'x' access refused" in str(info.value)
    assert len(network.attempts) == 1
    assert network.peers[0].closedByClient()
    assert client.session.state == StompSession.DISCONNECTED


def test_sslBrokerGetsDefaultVerifyingContext():
    seen = []

    class Recorder:
        def __init__(self, host, port, sslContext, **kwargs):
            seen.append((host, port, sslContext))

        def connect(self, timeout):
            raise StompConnectionError('stop here')

    from stompest.config import StompConfig
    from stompest.sync import Stomp

    config = StompConfig('failover:(ssl://a:1,tcp://b:2)?randomize=false')
    client = Stomp(config, transportFactory=Recorder, sleep=lambda s: None)
    with pytest.raises(StompConnectTimeout):
        client.connect()
    (host, port, context), (_, _, plain) = seen
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert plain is None

    mine = ssl.create_default_context()
    seen.clear()
    client = Stomp(StompConfig('ssl://a:1', sslContext=mine), transportFactory=Recorder, sleep=lambda s: None)
    with pytest.raises(StompConnectTimeout):
        client.connect()
    assert seen[0][2] is mine


# --- receiving ----------------------------------------------------------------------------------


def connectedClient(network, version='1.2', heartBeat=None, heartBeats=None, **kwargs):
    network.plan.insert(0, connected(version, heartBeat=heartBeat))
    client, sleeps, clock = makeClient(network, version=version, **kwargs)
    client.connect(heartBeats=heartBeats)
    peer = network.peers[-1]
    peer.frames()  # the CONNECT
    return client, peer, clock


def test_receiveFrameReturnsFramesAndConsumesHeartBeats(network):
    client, peer, clock = connectedClient(network)
    clock.advance(5)
    peer.write(b'\n\n' + MESSAGE + b'\n')
    frame = client.receiveFrame()
    assert frame.command == 'MESSAGE' and frame.body == b'hello'
    assert frame.headers['destination'] == '/queue/a'
    assert client.lastReceived == clock.now
    assert client.canRead(0) is False


def test_canReadKeepsAPartialFrameBufferedAcrossTimeouts(network):
    client, peer, _ = connectedClient(network)
    peer.write(MESSAGE[:20])
    assert client.canRead(0) is False
    peer.write(MESSAGE[20:])
    assert client.canRead(0) is True
    assert client.receiveFrame().body == b'hello'


def test_canReadNeverBlocksLongerThanAsked(network):
    client, _, _ = connectedClient(network)
    started = time.monotonic()
    assert client.canRead(0.05) is False
    assert time.monotonic() - started < 1.0


def test_binaryBodyWithNulsArrivesIntact(network):
    client, peer, _ = connectedClient(network)
    body = bytes(range(256)) * 4096  # 1 MiB with NULs
    headers = {'destination': '/queue/a', 'message-id': 'm', 'subscription': '0'}
    writer = peer.writeInBackground(wire('MESSAGE', headers, body))
    assert client.receiveFrame().body == body
    writer.join(5)


def test_connectionLostMidFrameRaisesClosesAndKeepsSubscriptions(network):
    client, peer, _ = connectedClient(network)
    client.subscribe('/queue/a', {'ack': 'client'})
    peer.write(MESSAGE[:30])
    peer.close()
    with pytest.raises(StompConnectionError, match='tcp://broker.test:61613'):
        client.receiveFrame()
    assert peer.closedByClient()
    assert client.session.state == StompSession.DISCONNECTED
    with pytest.raises(StompConnectionError, match='Not connected'):
        client.canRead(0)


def test_subscriptionsAreReplayedOnReconnect(network, caplog):
    client, peer, _ = connectedClient(network)
    token = client.subscribe('/queue/a', {'ack': 'client-individual'})
    client.subscribe('/queue/b')
    peer.close()
    with pytest.raises(StompConnectionError):
        client.receiveFrame()
    network.plan = [connected('1.2', session='s2')]
    with caplog.at_level(logging.INFO, logger='stompest.sync.client'):
        client.connect()
    frames = network.peers[-1].frames()
    assert commands(frames) == ['CONNECT', 'SUBSCRIBE', 'SUBSCRIBE']
    assert frames[1].headers == {'destination': '/queue/a', 'ack': 'client-individual', 'id': token[1]}
    assert frames[2].headers['destination'] == '/queue/b'
    assert sum('Replaying subscription' in r.getMessage() for r in caplog.records) == 2
    assert client.session.id == 's2'
    client.unsubscribe(token)  # the replayed subscription is known under the same token


def test_errorFrameIsReturnedAndTheConnectionLeftToTheBroker(network, caplog):
    client, peer, _ = connectedClient(network)
    peer.write(wire('ERROR', {'message': 'Invalid transaction id'}, b'stack trace'))
    with caplog.at_level(logging.WARNING, logger='stompest.sync.client'):
        frame = client.receiveFrame()
    assert (frame.command, frame.headers['message']) == ('ERROR', 'Invalid transaction id')
    assert "ERROR frame: 'Invalid transaction id: stack trace'" in caplog.text
    assert client.session.state == StompSession.CONNECTED
    peer.write(MESSAGE)  # a broker that keeps the connection open (ActiveMQ after a bad COMMIT)
    assert client.receiveFrame().command == 'MESSAGE'
    peer.write(wire('ERROR', {'message': 'bye'}))
    peer.close()  # the usual case: ERROR, then the broker closes
    assert client.receiveFrame().command == 'ERROR'
    with pytest.raises(StompConnectionError):
        client.receiveFrame()
    assert client.session.state == StompSession.DISCONNECTED


# --- heart-beats --------------------------------------------------------------------------------


def test_owedHeartBeatIsSentWhileWaiting(network):
    client, peer, clock = connectedClient(network, heartBeat='0,1000', heartBeats=(1000, 0))
    assert client.clientHeartBeat == 1000
    clock.advance(0.9)
    assert client.beatIfDue() is False
    assert client.canRead(0) is False
    assert peer.read() == b''
    clock.advance(0.1)
    assert client.canRead(0) is False
    assert peer.read() == b'\n'
    assert client.lastSent == clock.now
    assert client.beatIfDue() is False
    clock.advance(1.0)
    assert client.beatIfDue() is True
    assert peer.read() == b'\n'


def test_sendingAFramePostponesTheNextBeat(network):
    client, peer, clock = connectedClient(network, heartBeat='0,1000', heartBeats=(1000, 0))
    clock.advance(0.8)
    client.send('/queue/a', b'x')
    clock.advance(0.8)
    assert client.beatIfDue() is False
    assert peer.read() == b'SEND\ndestination:/queue/a\n\nx\x00'


def test_silentBrokerRaisesHeartBeatTimeoutAfterTolerance(network):
    client, peer, clock = connectedClient(network, heartBeat='1000,0', heartBeats=(0, 1000))
    assert client.serverHeartBeat == 1000
    clock.advance(2.0)
    peer.write(b'\n')  # a beat: the broker is alive
    assert client.canRead(0) is False
    clock.advance(2.9)
    assert client.canRead(0) is False
    clock.advance(0.2)
    expected = r'silent for 3\.100 s \[serverHeartBeat=1000 ms, heartBeatTolerance=3\.0'
    with pytest.raises(StompHeartBeatTimeout, match=expected):
        client.canRead(0)
    assert peer.closedByClient()
    assert client.session.state == StompSession.DISCONNECTED


def test_receiveFrameRaisesHeartBeatTimeoutInsteadOfHanging(network):
    client, _, clock = connectedClient(network, heartBeat='500,0', heartBeats=(0, 500), heartBeatTolerance=2.0)
    clock.advance(1.0)
    with pytest.raises(StompHeartBeatTimeout):
        client.receiveFrame()


def test_noHeartBeatsNegotiatedMeansNoBeatsAndNoDeadline(network):
    client, peer, clock = connectedClient(network)
    clock.advance(3600)
    assert client.canRead(0) is False
    assert client.beatIfDue() is False
    assert peer.frames() == []


# --- commands -----------------------------------------------------------------------------------


def test_transactionCommitsOnSuccess(network):
    client, peer, _ = connectedClient(network)
    with client.transaction('tx1', receipt='r') as transaction:
        client.send('/queue/a', b'x', {'transaction': transaction})
    frames = peer.frames()
    assert commands(frames) == ['BEGIN', 'SEND', 'COMMIT']
    assert [f.headers.get('transaction') for f in frames] == ['tx1'] * 3
    assert [frames[0].headers['receipt'], frames[2].headers['receipt']] == ['r-begin', 'r-commit']


def test_transactionAbortsOnExceptionAndReraises(network):
    client, peer, _ = connectedClient(network)
    with pytest.raises(KeyError):
        with client.transaction() as transaction:
            client.send('/queue/a', b'x', {'transaction': transaction})
            raise KeyError('boom')
    frames = peer.frames()
    assert commands(frames) == ['BEGIN', 'SEND', 'ABORT']
    assert frames[2].headers['transaction'] == transaction
    assert client.session.transactions == frozenset()


def test_ackAndNackUseTheMessageHeaders(network):
    client, peer, _ = connectedClient(network)
    peer.write(MESSAGE)
    frame = client.receiveFrame()
    client.ack(frame, receipt='a')
    client.nack(frame)
    ack, nack = peer.frames()
    assert (ack.command, ack.headers) == ('ACK', {'id': 'a1', 'receipt': 'a'})
    assert (nack.command, nack.headers) == ('NACK', {'id': 'a1'})


def test_receiptsAreMatchedSoIdsCanBeReused(network):
    client, peer, _ = connectedClient(network)
    client.send('/queue/a', b'x', receipt='r1')
    peer.write(wire('RECEIPT', {'receipt-id': 'r1'}))
    assert client.receiveFrame().headers['receipt-id'] == 'r1'
    assert client.session.receipts == frozenset()
    client.send('/queue/a', b'y', receipt='r1')


def test_debugLogsFramesButNeverThePasscode(network, caplog):
    with caplog.at_level(logging.DEBUG, logger='stompest.sync.client'):
        client, _, _ = connectedClient(network, login='me', passcode='s3cret')
    assert 'Sending CONNECT frame' in caplog.text
    assert 'Received CONNECTED frame' in caplog.text
    assert 's3cret' not in caplog.text


# --- iteration and disconnect -------------------------------------------------------------------


def test_iterationYieldsFramesUntilTheDisconnectReceipt(network):
    client, peer, _ = connectedClient(network)
    peer.write(MESSAGE + MESSAGE)
    client.disconnect(receipt='bye')
    peer.write(wire('RECEIPT', {'receipt-id': 'bye'}))
    assert commands(list(client)) == ['MESSAGE', 'MESSAGE', 'RECEIPT']
    assert commands(peer.frames()) == ['DISCONNECT']
    assert peer.closedByClient()
    assert client.session.state == StompSession.DISCONNECTED


def test_iterationEndsQuietlyWhenTheBrokerClosesAfterDisconnect(network):
    client, peer, _ = connectedClient(network)
    client.disconnect(receipt='bye')
    peer.write(MESSAGE)
    peer.close()
    assert commands(list(client)) == ['MESSAGE']


def test_iterationRaisesOnUnexpectedLoss(network):
    client, peer, _ = connectedClient(network)
    peer.write(MESSAGE)
    peer.close()
    received = []
    with pytest.raises(StompConnectionError):
        for frame in client:
            received.append(frame)
    assert commands(received) == ['MESSAGE']


def test_disconnectWithoutReceiptClosesAtOnceAndForgetsSubscriptions(network):
    client, peer, _ = connectedClient(network)
    client.subscribe('/queue/a')
    client.disconnect()
    assert commands(peer.frames()) == ['SUBSCRIBE', 'DISCONNECT']
    assert peer.closedByClient()
    assert list(client) == []
    network.plan = [connected('1.2')]
    client.connect()
    assert commands(network.peers[-1].frames()) == ['CONNECT']


def test_sendingOnABrokenConnectionRaisesConnectionError(network):
    client, peer, _ = connectedClient(network)
    peer.close()
    with pytest.raises(StompConnectionError):
        for _ in range(100):  # the first writes may still land in the socket buffer
            client.send('/queue/a', b'x' * 65536)
    assert client.session.state == StompSession.DISCONNECTED
