"""The kit's loopback server with the real blocking client: every feature of the broker over a
real socket on 127.0.0.1. Waits are bounded reads (``canRead(timeout)``), never sleeps."""

from __future__ import annotations

import socket
import time

import pytest

from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompHeartBeatTimeout, StompProtocolError
from stompest.protocol import StompSpec
from stompest.sync import Stomp
from stompest.testing import DEAD_LETTER_QUEUE, MemoryBroker
from stompest.testing.sync import LoopbackServer

QUEUE = '/queue/in'
WAIT = 5.0  # seconds a frame may take to arrive (it takes milliseconds)


@pytest.fixture
def server():
    with LoopbackServer() as server:
        yield server


def client(server: LoopbackServer, **connect: object) -> Stomp:
    stomp = Stomp(StompConfig(server.uri, version='1.2'))
    stomp.connect(connectedTimeout=WAIT, **connect)  # type: ignore[arg-type]
    return stomp


def receive(stomp: Stomp):
    assert stomp.canRead(WAIT), 'no frame arrived'
    return stomp.receiveFrame()


def finish(stomp: Stomp) -> None:
    stomp.disconnect(receipt='bye')
    assert receive(stomp).headers['receipt-id'] == 'bye'


def test_serverListensOnLoopbackAndStops():
    server = LoopbackServer().start()
    assert server.uri == f'tcp://127.0.0.1:{server.port}'
    stomp = client(server)
    server.stop()
    with pytest.raises(StompConnectionError):
        stomp.canRead(WAIT)
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', server.port), timeout=1).close()


def test_sendSubscribeReceiveAck(server):
    stomp = client(server)
    stomp.send(QUEUE, b'hello', {'correlation-id': 'c1'}, receipt='r1')
    assert receive(stomp).command == 'RECEIPT'
    stomp.subscribe(QUEUE, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 's'})
    message = receive(stomp)
    assert (message.body, message.headers['correlation-id']) == (b'hello', 'c1')
    stomp.ack(message, receipt='a1')
    assert receive(stomp).headers['receipt-id'] == 'a1'
    assert server.broker.connection.unacked() == [] and server.broker.pending(QUEUE) == []
    finish(stomp)


def test_theTestThreadCanFeedTheBrokerWhileTheClientWaits(server):
    stomp = client(server)
    stomp.subscribe('/topic/t', {StompSpec.ID_HEADER: 't'}, receipt='s')
    receive(stomp)
    server.broker.send('/topic/t', b'pushed')
    assert receive(stomp).body == b'pushed'
    finish(stomp)


def test_clientAckIsCumulativeAndTheRestIsRedeliveredAfterClose(server):
    stomp = client(server)
    stomp.subscribe(QUEUE, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT, StompSpec.ID_HEADER: 's'})
    for body in (b'1', b'2', b'3'):
        server.broker.send(QUEUE, body)
    frames = [receive(stomp) for _ in range(3)]
    stomp.ack(frames[1], receipt='a')
    receive(stomp)
    stomp.close()  # without DISCONNECT: '3' is still unacknowledged
    again = client(server)
    again.subscribe(QUEUE, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 's'})
    redelivered = receive(again)
    assert (redelivered.body, redelivered.headers['redelivered'], redelivered.headers['x-delivery-count']) == (
        b'3',
        'true',
        '1',
    )
    again.ack(redelivered)
    finish(again)


def test_nackRequeuesThenDeadLettersAfterMaxRedeliveries():
    with LoopbackServer(MemoryBroker(maxRedeliveries=1)) as server:
        stomp = client(server)
        stomp.subscribe(QUEUE, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 's'})
        server.broker.send(QUEUE, b'poison')
        first = receive(stomp)
        stomp.nack(first)
        second = receive(stomp)
        assert second.headers['redelivered'] == 'true'
        stomp.nack(second, receipt='n')
        assert receive(stomp).command == 'RECEIPT'
        assert server.broker.bodies(DEAD_LETTER_QUEUE) == [b'poison']
        finish(stomp)


def test_transactionCommitsSendAndAckTogether(server):
    stomp = client(server)
    stomp.subscribe(QUEUE, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 's'})
    server.broker.send(QUEUE, b'order')
    order = receive(stomp)
    with stomp.transaction('t1', receipt='c') as transaction:
        stomp.send('/queue/out', b'invoice', {StompSpec.TRANSACTION_HEADER: transaction})
        order.headers[StompSpec.TRANSACTION_HEADER] = transaction
        stomp.ack(order)
        assert server.broker.bodies('/queue/out') == []
    receipts = [receive(stomp).headers['receipt-id'] for _ in range(2)]
    assert receipts == ['c-begin', 'c-commit']
    assert server.broker.bodies('/queue/out') == [b'invoice'] and server.broker.connection.unacked() == []
    finish(stomp)


def test_transactionAbortDiscards(server):
    stomp = client(server)
    stomp.begin('t1')
    stomp.send('/queue/out', b'never', {StompSpec.TRANSACTION_HEADER: 't1'})
    stomp.abort('t1', receipt='a')
    assert receive(stomp).headers['receipt-id'] == 'a'
    assert server.broker.messages('/queue/out') == []
    finish(stomp)


def test_injectedErrorComesBackAsAnErrorFrameAndTheConnectionCloses(server):
    stomp = client(server)
    server.broker.failNext('SEND', 'Resource allocation failure')
    stomp.send(QUEUE, b'x', receipt='r1')
    error = receive(stomp)  # the blocking client returns ERROR frames, as 2.3 did
    assert error.command == 'ERROR'
    assert (error.headers['message'], error.headers['receipt-id']) == ('Resource allocation failure', 'r1')
    with pytest.raises(StompConnectionError):  # the broker closed the connection after the ERROR
        stomp.canRead(WAIT)
    assert server.broker.messages(QUEUE) == []


def test_droppedConnectionIsAConnectionError(server):
    stomp = client(server)
    server.broker.connection.drop()
    with pytest.raises(StompConnectionError):
        stomp.canRead(WAIT)


def test_frozenBrokerTripsTheHeartBeatTimeout(server):
    stomp = client(server, heartBeats=(0, 50))
    assert receive_beat(stomp)
    server.broker.connection.freeze()
    started = time.monotonic()
    with pytest.raises(StompHeartBeatTimeout):
        stomp.canRead(WAIT)
    assert time.monotonic() - started < WAIT


def receive_beat(stomp: Stomp) -> bool:
    """canRead() consumes heart-beats; a beat shows as lastReceived moving."""
    before = stomp.lastReceived
    deadline = time.monotonic() + WAIT
    while stomp.lastReceived == before and time.monotonic() < deadline:
        stomp.canRead(0.05)
    return stomp.lastReceived != before


def test_brokerClosesASilentClient():
    """A raw socket plays the client: it promises heart-beats and sends none."""
    with LoopbackServer(MemoryBroker(heartBeatTolerance=2.0)) as server:
        with socket.create_connection(('127.0.0.1', server.port), timeout=WAIT) as sock:
            sock.sendall(b'CONNECT\naccept-version:1.2\nhost:h\nheart-beat:50,0\n\n\x00')
            received = b''
            while True:
                data = sock.recv(4096)
                if not data:
                    break
                received += data
            assert received.startswith(b'CONNECTED\n')
        assert server.broker.connection.state == 'closed'
        assert server.broker.connection.heartBeats == (50, 0)


def test_refusedLogin():
    with LoopbackServer(MemoryBroker(users={'app': 'secret'})) as server:
        stomp = Stomp(StompConfig(server.uri, login='app', passcode='wrong', version='1.2'))
        with pytest.raises(StompProtocolError, match='Access refused'):
            stomp.connect(connectedTimeout=WAIT)
