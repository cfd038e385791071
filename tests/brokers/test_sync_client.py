"""The blocking client against real brokers (ActiveMQ and RabbitMQ): versions, acks, transactions,
receipts, bodies, header escaping, ERROR frames and heart-beats. Every wait is bounded and
synchronised with receipts."""

from __future__ import annotations

import time

import pytest

from stompest.config import StompConfig
from stompest.protocol import commands
from stompest.protocol.spec import StompSpec
from stompest.sync import Stomp

TIMEOUT = 15.0


def makeClient(broker, version='1.2', uri=None, **kwargs):
    config = StompConfig(uri or broker.uri, login=broker.login, passcode=broker.passcode, version=version, **kwargs)
    return Stomp(config)


def connect(client, broker, **kwargs):
    kwargs.setdefault('connectTimeout', 5)
    kwargs.setdefault('connectedTimeout', 10)
    client.connect(host=broker.vhost, **kwargs)
    return client


def receive(client, timeout=TIMEOUT):
    """The next frame, or fail after ``timeout`` seconds."""
    assert client.canRead(timeout), f'no frame within {timeout} s'
    return client.receiveFrame()


def expectReceipt(client, receipt, timeout=TIMEOUT):
    frame = receive(client, timeout)
    assert (frame.command, frame.headers.get('receipt-id')) == ('RECEIPT', receipt), frame.info()


def closeQuietly(client):
    if client.session.state == 'connected':
        client.disconnect(receipt='bye')
        for _ in client:
            pass
    else:
        client.close()


@pytest.fixture
def clients():
    made = []
    yield made
    for client in made:
        try:
            closeQuietly(client)
        except Exception:  # noqa: BLE001 - teardown of a test that already failed
            client.close()


@pytest.mark.parametrize('version', ['1.0', '1.1', '1.2'])
def test_connectsWithEachVersion(broker, clients, version):
    client = connect(makeClient(broker, version), broker)
    clients.append(client)
    assert client.session.version == version
    assert client.session.state == 'connected'
    client.disconnect(receipt='bye')
    assert [frame.command for frame in client] == ['RECEIPT']
    assert client.session.state == 'disconnected'


def collect(client, receipts=(), messages=0, timeout=TIMEOUT):
    """Receive until every receipt in ``receipts`` and ``messages`` MESSAGE frames arrived (in
    whatever order the broker interleaves them); return the MESSAGE frames."""
    missing, got = set(receipts), []
    deadline = time.monotonic() + timeout
    while missing or len(got) < messages:
        frame = receive(client, max(deadline - time.monotonic(), 0.0))
        if frame.command == 'RECEIPT':
            assert frame.headers['receipt-id'] in missing, frame.info()
            missing.discard(frame.headers['receipt-id'])
        else:
            assert frame.command == 'MESSAGE', frame.info()
            got.append(frame)
    return got


def sendAll(client, destination, bodies, headers=None, messages=0):
    """Send each body with a receipt; wait for the receipts (and ``messages`` MESSAGEs, returned)."""
    receipts = []
    for index, body in enumerate(bodies):
        receipts.append(f'send-{index}-{time.monotonic_ns()}')
        client.send(destination, body, headers, receipt=receipts[-1])
    return collect(client, receipts, messages)


def subscribeFenced(client, destination, headers=None):
    client.subscribe(destination, headers, receipt='sub')
    expectReceipt(client, 'sub')


@pytest.mark.parametrize('ackMode', ['auto', 'client', 'client-individual'])
def test_ackModes(broker, clients, destination, ackMode):
    client = connect(makeClient(broker), broker)
    clients.append(client)
    subscribeFenced(client, destination, {'ack': ackMode})
    messages = sendAll(client, destination, [b'one', b'two'], messages=2)
    assert [m.body for m in messages] == [b'one', b'two']
    if ackMode == 'client':
        client.ack(messages[-1], receipt='ack')  # cumulative
        expectReceipt(client, 'ack')
    elif ackMode == 'client-individual':
        for index, message in enumerate(messages):
            client.ack(message, receipt=f'ack-{index}')
            expectReceipt(client, f'ack-{index}')
    client.disconnect(receipt='bye')
    list(client)
    # nothing acknowledged comes back: the first message a new subscriber gets is a fresh marker
    second = connect(makeClient(broker), broker)
    clients.append(second)
    subscribeFenced(second, destination, {'ack': 'auto'})
    assert [m.body for m in sendAll(second, destination, [b'marker'], messages=1)] == [b'marker']


def test_nack(broker, clients, destination):
    client = connect(makeClient(broker), broker)
    clients.append(client)
    subscribeFenced(client, destination, {'ack': 'client-individual'})
    [message] = sendAll(client, destination, [b'refused'], messages=1)
    client.nack(message, receipt='nack')
    if broker.quirks['nackRedelivers']:
        frames = [receive(client), receive(client)]
        assert sorted(f.command for f in frames) == ['MESSAGE', 'RECEIPT']
        again = next(f for f in frames if f.command == 'MESSAGE')
        assert again.body == b'refused' and again.headers.get('redelivered') == 'true'
        client.ack(again)
    else:
        expectReceipt(client, 'nack')
        assert [m.body for m in sendAll(client, destination, [b'marker'], messages=1)] == [b'marker']


def test_transactionCommitDeliversAndAbortDiscards(broker, clients, destination):
    client = connect(makeClient(broker), broker)
    clients.append(client)
    subscribeFenced(client, destination)
    with client.transaction(receipt='tx') as transaction:
        client.send(destination, b'committed', {'transaction': transaction})
    assert [m.body for m in collect(client, ['tx-begin', 'tx-commit'], messages=1)] == [b'committed']

    with pytest.raises(RuntimeError):
        with client.transaction(receipt='tx2') as transaction:
            client.send(destination, b'aborted', {'transaction': transaction})
            raise RuntimeError('roll back')
    expectReceipt(client, 'tx2-begin')
    expectReceipt(client, 'tx2-abort')
    assert [m.body for m in sendAll(client, destination, [b'marker'], messages=1)] == [b'marker']


@pytest.mark.parametrize('size', [1024, 1024 * 1024, 8 * 1024 * 1024], ids=['1KiB', '1MiB', '8MiB'])
def test_binaryBodiesArriveByteExact(broker, clients, destination, size):
    body = (bytes(range(256)) * (size // 256 + 1))[:size]
    assert body.count(b'\x00') >= size // 256
    client = connect(makeClient(broker), broker)
    clients.append(client)
    subscribeFenced(client, destination)
    client.send(destination, body, receipt='big')
    [message] = collect(client, ['big'], messages=1, timeout=60)
    assert len(message.body) == size
    assert message.body == body


@pytest.mark.parametrize('version', ['1.1', '1.2'])
def test_utf8AndEscapedHeadersRoundTrip(broker, clients, destination, version):
    headers = {'x-utf8': 'grüße ✓ 日本', 'x-colon': 'a:b:c', 'x-newline': 'line1\nline2', 'x-backslash': 'back\\slash'}
    client = connect(makeClient(broker, version), broker)
    clients.append(client)
    assert client.session.version == version
    subscribeFenced(client, destination)
    [message] = sendAll(client, destination, ['body ✓'.encode()], headers, messages=1)
    for name, value in headers.items():
        assert message.headers[name] == value
    assert message.body == 'body ✓'.encode()


def test_errorFrameComesOutOfReceiveFrame(broker, clients):
    client = connect(makeClient(broker), broker)
    clients.append(client)
    client.sendFrame(commands.commit('never-begun', version=client.session.version))
    error = receive(client)  # returned, as stompest 2.3 did
    assert error.command == StompSpec.ERROR
    assert 'never-begun' in error.headers.get('message', '') + error.body.decode('utf-8', 'replace')


def test_receiptForEveryFrameKind(broker, clients, destination):
    client = connect(makeClient(broker), broker)
    clients.append(client)
    token = client.subscribe(destination, receipt='r-sub')
    expectReceipt(client, 'r-sub')
    client.send(destination, b'x', receipt='r-send')
    assert [m.body for m in collect(client, ['r-send'], messages=1)] == [b'x']
    client.unsubscribe(token, receipt='r-unsub')
    expectReceipt(client, 'r-unsub')
    assert client.session.receipts == frozenset()


def test_heartBeatsFlowBothWays(broker, clients):
    client = connect(makeClient(broker), broker, heartBeats=(500, 500))
    clients.append(client)
    assert client.clientHeartBeat >= 500 and client.serverHeartBeat >= 500
    sentAt, receivedAt = {client.lastSent}, {client.lastReceived}
    watch = 4 * max(client.clientHeartBeat, client.serverHeartBeat) / 1000.0
    deadline = time.monotonic() + watch
    while time.monotonic() < deadline:
        assert not client.canRead(0.1)  # heart-beats only: no frame comes out
        sentAt.add(client.lastSent)
        receivedAt.add(client.lastReceived)
    assert len(receivedAt) >= 3, 'the broker sent fewer than two heart-beats'
    assert len(sentAt) >= 3, 'the client sent fewer than two heart-beats'
    # the broker still considers us alive: a receipt comes back
    client.send('/queue/stompest.test.heartbeat', b'alive', receipt='alive')
    expectReceipt(client, 'alive')
