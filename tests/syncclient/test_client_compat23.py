"""What a stompest 2.3 program relies on in the blocking client (no real broker, no sleeps)."""

from __future__ import annotations

import logging

import pytest

import stompest.sync.transport
from stompest.error import (
    StompAlreadyConnectedError,
    StompConnectionError,
    StompError,
    StompNotConnectedError,
    StompProtocolError,
)
from stompest.protocol.frame import StompFrame
from stompest.protocol.session import StompSession
from stompest.sync.transport import MAX_WAIT, StompFrameTransport, clampWait
from tests.syncclient.fakes import FakeClock, FakeNetwork, connected, makeClient, wire

MESSAGE = wire('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1', 'subscription': '0', 'ack': 'a1'}, b'hello')
ANY_MESSAGE = StompFrame('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1', 'subscription': '0'})


@pytest.fixture
def network():
    network = FakeNetwork()
    yield network
    network.close()


def connectedClient(network, version='1.2', heartBeat=None, heartBeats=None, **kwargs):
    network.plan.insert(0, connected(version, heartBeat=heartBeat))
    client, _, clock = makeClient(network, version=version, **kwargs)
    client.connect(heartBeats=heartBeats)
    peer = network.peers[-1]
    peer.frames()  # the CONNECT
    return client, peer, clock


# --- not connected ------------------------------------------------------------------------------

COMMANDS = {
    'send': lambda c: c.send('/queue/a', b'x'),
    'subscribe': lambda c: c.subscribe('/queue/a'),
    'unsubscribe': lambda c: c.unsubscribe(('id', '/queue/a')),
    'ack': lambda c: c.ack(ANY_MESSAGE),
    'nack': lambda c: c.nack(ANY_MESSAGE),
    'begin': lambda c: c.begin('tx'),
    'abort': lambda c: c.abort('tx'),
    'commit': lambda c: c.commit('tx'),
    'transaction': lambda c: c.transaction('tx').__enter__(),
    'disconnect': lambda c: c.disconnect(),
    'disconnectWithReceipt': lambda c: c.disconnect(receipt='r'),
    'beat': lambda c: c.beat(),
    'canRead': lambda c: c.canRead(0),
    'receiveFrame': lambda c: c.receiveFrame(),
    'sendFrame': lambda c: c.sendFrame(StompFrame('SEND', {'destination': '/queue/a'})),
}


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_everyCommandBeforeConnectRaisesNotConnected(network, command):
    client, _, _ = makeClient(network, version='1.2')
    with pytest.raises(StompNotConnectedError, match='Not connected') as info:
        COMMANDS[command](client)
    assert isinstance(info.value, StompConnectionError)  # what 2.3 raised (before any state check)
    assert network.attempts == []


@pytest.mark.parametrize('command', sorted(COMMANDS))
def test_everyCommandAfterALostConnectionRaisesNotConnected(network, command):
    client, peer, _ = connectedClient(network)
    peer.close()
    with pytest.raises(StompConnectionError):
        client.receiveFrame()
    with pytest.raises(StompNotConnectedError):
        COMMANDS[command](client)


def test_connectWhileConnectedRaisesAlreadyConnected(network):
    client, _, _ = connectedClient(network)
    with pytest.raises(StompAlreadyConnectedError, match='Already connected to tcp://broker.test:61613') as info:
        client.connect()
    assert isinstance(info.value, StompConnectionError)
    assert len(network.attempts) == 1


def test_connectWhileWaitingForTheDisconnectReceiptRaisesAlreadyConnected(network):
    client, _, _ = connectedClient(network)
    client.disconnect(receipt='bye')
    with pytest.raises(StompAlreadyConnectedError):
        client.connect()


# --- message() and receipt() --------------------------------------------------------------------


def test_messageGivesTheSubscriptionToken(network):
    client, peer, _ = connectedClient(network)
    token = client.subscribe('/queue/a', {'id': '0'})
    peer.write(MESSAGE)
    assert client.message(client.receiveFrame()) == token
    other = StompFrame('MESSAGE', {'destination': '/queue/b', 'message-id': 'm2', 'subscription': '9'})
    with pytest.raises(StompProtocolError, match='No such subscription'):
        client.message(other)


def test_receiptGivesTheIdAlsoAfterReceiveFrameMatchedIt(network):
    client, peer, _ = connectedClient(network)
    client.send('/queue/a', b'x', receipt='r1')
    peer.write(wire('RECEIPT', {'receipt-id': 'r1'}))
    frame = client.receiveFrame()
    assert client.session.receipts == frozenset()  # matched by receiveFrame()
    assert client.receipt(frame) == 'r1'  # as a 2.3 program asks for it
    with pytest.raises(StompProtocolError, match='r1'):
        client.receipt(frame)  # only once, as in 2.3
    with pytest.raises(StompProtocolError, match='nobody'):
        client.receipt(StompFrame('RECEIPT', {'receipt-id': 'nobody'}))


# --- lastSent / lastReceived --------------------------------------------------------------------


def test_lastSentAndLastReceivedReadTheWallClockDeadlinesTheMonotonicOne(network):
    wall = FakeClock(1_700_000_000.0)
    client, peer, clock = connectedClient(
        network, heartBeat='0,1000', heartBeats=(1000, 0), wallClock=wall, clock=FakeClock(5.0)
    )
    assert (client.lastSent, client.lastReceived) == (wall.now, wall.now)
    wall.advance(-3600)  # the wall clock is set back: deadlines do not care
    clock.advance(1.0)
    assert client.canRead(0) is False
    assert peer.read() == b'\n'  # the beat owed after 1 s on the monotonic clock
    assert client.lastSent == wall.now
    peer.write(b'\n')
    wall.advance(1)
    assert client.canRead(0) is False
    assert client.lastReceived == wall.now


def test_defaultClocksAreTimeTimeAndTimeMonotonic():
    import inspect
    import time

    from stompest.sync import Stomp

    parameters = inspect.signature(Stomp).parameters
    assert parameters['wallClock'].default is time.time
    assert parameters['clock'].default is time.monotonic


# --- who keeps the heart-beat -------------------------------------------------------------------


def test_clientBeatsWhileWaitingUntilTheProgramBeatsItself(network):
    client, peer, clock = connectedClient(network, heartBeat='0,1000', heartBeats=(1000, 0))
    clock.advance(1.0)
    assert client.canRead(0) is False
    assert peer.read() == b'\n'  # automatic
    client.beat()  # the program takes over, as 2.3 programs do
    assert peer.read() == b'\n'
    clock.advance(5.0)
    assert client.canRead(0) is False
    assert peer.read() == b''  # no more automatic beats: a program that stops beating is dropped
    assert client.beatIfDue() is True  # asked for explicitly, still sent
    assert peer.read() == b'\n'


def test_autoHeartBeatFalseNeverBeatsAndTrueAlwaysDoes(network):
    client, peer, clock = connectedClient(network, heartBeat='0,1000', heartBeats=(1000, 0), autoHeartBeat=False)
    clock.advance(10.0)
    assert client.canRead(0) is False
    assert peer.read() == b''
    network.plan = []
    client, peer, clock = connectedClient(network, heartBeat='0,1000', heartBeats=(1000, 0), autoHeartBeat=True)
    client.beat()
    peer.read()
    clock.advance(1.0)
    assert client.canRead(0) is False
    assert peer.read() == b'\n'


# --- absurd heart-beats and timeouts ------------------------------------------------------------


def test_absurdServerHeartBeatNeverReachesSelectAsOverflow(network):
    network.plan = [connected('1.2', heartBeat='99999999999999999999999,0')]
    client, _, _ = makeClient(network, version='1.2')
    try:
        client.connect(heartBeats=(0, 1000))
    except StompError as exc:  # the protocol layer may refuse the value: a typed error, socket closed
        assert isinstance(exc, StompProtocolError)
        assert network.peers[0].closedByClient()
        return
    assert client.canRead(0) is False  # select got a sane timeout
    network.peers[0].write(MESSAGE)
    assert client.receiveFrame().body == b'hello'


@pytest.mark.parametrize('timeout', [1e20, float('inf'), 10.0**10])
def test_transportCanReadTakesAnyTimeout(network, timeout):
    network.plan = [wire('MESSAGE', {'destination': '/queue/a'}, b'x')]
    transport = network.transportFactory('broker.test', 61613, None)
    transport.connect(timeout)  # also the connect timeout: clamped before settimeout
    assert network.attempts[0][1] == MAX_WAIT
    assert transport.canRead(timeout) is True
    assert transport.receive().body == b'x'


def test_transportWaitsPastOneMaxWaitUntilItsDeadline(network, monkeypatch):
    waits = []

    def fakeSelect(readers, writers, errors, timeout):
        waits.append(timeout)
        return (readers, [], []) if len(waits) == 3 else ([], [], [])

    network.plan = [wire('MESSAGE', {'destination': '/queue/a'}, b'x')]
    transport = network.transportFactory('broker.test', 61613, None)
    transport.connect()
    monkeypatch.setattr(stompest.sync.transport.select, 'select', fakeSelect)
    assert transport.canRead(None) is True
    assert waits == [MAX_WAIT] * 3


@pytest.mark.parametrize(('given', 'clamped'), [(-1.0, 0.0), (float('nan'), 0.0), (0.5, 0.5), (1e30, MAX_WAIT)])
def test_clampWait(given, clamped):
    assert clampWait(given) == clamped


# --- 2.3's transport contract -------------------------------------------------------------------


def test_transportReceiveReadsWithoutSelect(network):
    network.plan = [wire('MESSAGE', {'destination': '/queue/a'}, b'x') + wire('MESSAGE', {'destination': '/queue/b'})]
    transport = network.transportFactory('broker.test', 61613, None)
    transport.connect()
    assert transport.receive().body == b'x'
    assert transport.receive().headers['destination'] == '/queue/b'
    network.peers[0].close()
    with pytest.raises(StompConnectionError, match='Connection closed'):
        transport.receive()
    assert not transport.connected


def test_transportSendWhenClosedRaises():
    transport = StompFrameTransport('broker.test', 61613)
    with pytest.raises(StompConnectionError, match='Not connected'):
        transport.send(StompFrame('SEND', {'destination': '/queue/a'}))
    with pytest.raises(StompConnectionError, match='Not connected'):
        transport.receive()


def test_errorFrameOnConnectStillRaisesWithTheFrame(network, caplog):
    network.plan = [wire('ERROR', {'message': 'Access refused'}, version='1.0')]
    client, _, _ = makeClient(network, version='1.2')
    with caplog.at_level(logging.INFO, logger='stompest.sync.client'), pytest.raises(StompProtocolError) as info:
        client.connect()
    assert info.value.frame.headers['message'] == 'Access refused'
    assert client.session.state == StompSession.DISCONNECTED
