"""stompest.twisted against the real brokers (ActiveMQ and RabbitMQ, parametrised by ``broker``).

Every wait is bounded: receipts, and counts with a deadline (:func:`collect`). Each test uses its
own destination and disconnects (or is disconnected) before it ends.
"""

from __future__ import annotations

import random

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task

from stompest.config import StompConfig
from stompest.error import StompCancelledError, StompProtocolError
from stompest.protocol import StompFrame, StompSpec
from stompest.twisted import Stomp
from stompest.twisted.listener import Listener, SubscriptionListener

pytestmark = pytest.mark.broker

WAIT = 15.0  # seconds any single wait may take before the test fails
INDIVIDUAL = {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL}


# -- helpers ---------------------------------------------------------------------------------------


def configFor(broker, version=StompSpec.VERSION_1_2, **overrides) -> StompConfig:
    """A StompConfig for ``broker`` (the fixture's) with another version or options."""
    values = {'uri': broker.uri, 'login': broker.login, 'passcode': broker.passcode, 'version': version}
    values.update(overrides)
    return StompConfig(**values)


@defer.inlineCallbacks
def connected(broker, version=StompSpec.VERSION_1_2, config=None, **connectArgs):
    """A client connected to ``broker`` (with its virtual host as the ``host`` header, if it has one)."""
    arguments = {'host': broker.vhost, 'connectedTimeout': WAIT}
    arguments.update(connectArgs)
    client = Stomp(config or configFor(broker, version), reactor=reactor, receiptTimeout=WAIT)
    yield client.connect(**arguments)
    return client


class AckRecorder(Listener):
    """Records the ack ids of the ACK frames the client sends (1.2: the MESSAGE's ``ack`` header)."""

    def __init__(self):
        self.ids: set[str] = set()

    def onSend(self, connection, frame):
        if frame.command == StompSpec.ACK:
            self.ids.add(frame.headers[StompSpec.ID_HEADER])


class Collector:
    """A message handler that records what it got and can wait, bounded, for a number of messages."""

    def __init__(self, delay=None, fail=None):
        self.frames: list[StompFrame] = []
        self._delay = delay
        self._fail = fail
        self._waiters: list[tuple[int, defer.Deferred]] = []

    def __call__(self, client, frame):
        if self._fail is not None and self._fail(frame):
            raise RuntimeError(f'refusing {frame.body!r}')
        if self._delay is None:
            self._record(frame)
            return None
        return task.deferLater(reactor, self._delay(), self._record, frame)

    def _record(self, frame):
        self.frames.append(frame)
        for waiter in [w for w in self._waiters if len(self.frames) >= w[0]]:
            self._waiters.remove(waiter)
            waiter[1].callback(self.frames)

    def waitFor(self, count, timeout=WAIT) -> defer.Deferred:
        """Fires with the frames once ``count`` arrived; StompCancelled-like TimeoutError after ``timeout``."""
        if len(self.frames) >= count:
            return defer.succeed(self.frames)
        waiter = defer.Deferred()
        self._waiters.append((count, waiter))
        return waiter.addTimeout(timeout, reactor)

    @property
    def bodies(self) -> list[bytes]:
        return [frame.body for frame in self.frames]


@defer.inlineCallbacks
def sendAll(client, destination, bodies, headers=None):
    """Send ``bodies``; the last one with a receipt, so the broker has them all when this fires."""
    for index, body in enumerate(bodies):
        receipt = 'sent-all' if index == len(bodies) - 1 else None
        sending = client.send(destination, body, headers, receipt=receipt)
    yield sending


@defer.inlineCallbacks
def drain(broker, destination, count, timeout=WAIT, headers=None):
    """Consume ``count`` messages from ``destination`` with a fresh client (client-individual, acked)."""
    client = yield connected(broker)
    collector = Collector()
    client.subscribe(destination, dict(INDIVIDUAL, **(headers or {})), listener=SubscriptionListener(collector))
    try:
        yield collector.waitFor(count, timeout)
    finally:
        yield client.disconnect(receipt='drained', timeout=WAIT)
    return collector.frames


@defer.inlineCallbacks
def nextBodyIs(broker, destination, marker):
    """Send ``marker`` and read the queue: the marker must be the first message, so nothing
    unacknowledged is left in front of it (a queue is FIFO for one consumer)."""
    client = yield connected(broker)
    yield client.send(destination, marker, receipt='marker')
    collector = Collector()
    client.subscribe(destination, INDIVIDUAL, listener=SubscriptionListener(collector))
    yield collector.waitFor(1)
    yield client.disconnect(receipt='marker-read', timeout=WAIT)
    return collector.frames[0].body == marker, collector.bodies


# -- connecting ------------------------------------------------------------------------------------


@pytest.mark.parametrize('version', StompSpec.VERSIONS)
@pytest_twisted.inlineCallbacks
def test_connectsWithEachVersion(broker, version):
    client = yield connected(broker, version)
    assert client.session.version == version
    assert client.session.server  # the broker named itself
    yield client.disconnect(receipt='bye' if version != StompSpec.VERSION_1_0 else None, timeout=WAIT)
    result = yield client.disconnected
    assert result is None


@pytest.mark.parametrize('version', StompSpec.VERSIONS)
@pytest_twisted.inlineCallbacks
def test_sendSubscribeAndReceiptsRoundTrip(broker, destination, version):
    client = yield connected(broker, version)
    bodies = [b'first', 'zweite \u00e9'.encode(), b'\x00binary\x00\xff']
    for index, body in enumerate(bodies):
        receiptId = yield client.send(destination, body, {'seq': index}, receipt=f'send-{index}')
        assert receiptId is None or receiptId == f'send-{index}'
    collector = Collector()
    headers = {} if version == StompSpec.VERSION_1_0 else dict(INDIVIDUAL)
    if version != StompSpec.VERSION_1_0:
        headers[StompSpec.ID_HEADER] = 'sub-1'
    yield client.subscribe(destination, headers, receipt='subscribed', listener=SubscriptionListener(collector))
    frames = yield collector.waitFor(len(bodies))
    assert [frame.body for frame in frames] == bodies
    assert [frame.headers['seq'] for frame in frames] == ['0', '1', '2']
    assert all(frame.headers[StompSpec.DESTINATION_HEADER] == destination for frame in frames)
    yield client.disconnect(receipt='bye', timeout=WAIT)
    # acknowledged (or auto-acked): nothing is left in front of a marker
    first, seen = yield nextBodyIs(broker, destination, b'marker')
    assert first, seen


# -- failing handlers ------------------------------------------------------------------------------


@pytest_twisted.inlineCallbacks
def test_failedMessageGoesToErrorDestinationWithTheFailureRecorded(broker, destination):
    errorDestination = destination + '.error'
    client = yield connected(broker)
    yield sendAll(client, destination, [b'ok-1', b'poison', b'ok-2'])
    collector = Collector(fail=lambda frame: frame.body == b'poison')
    listener = SubscriptionListener(collector, ack=True, errorDestination=errorDestination)
    client.subscribe(destination, INDIVIDUAL, listener=listener)
    yield collector.waitFor(2)
    # the listener forwarded the failed message (and then acked it: see the marker below)
    failed = yield drain(broker, errorDestination, 1)
    yield client.disconnect(receipt='bye', timeout=WAIT)
    assert client.disconnected.called
    assert collector.bodies == [b'ok-1', b'ok-2']
    (frame,) = failed
    assert frame.body == b'poison'
    assert "refusing b'poison'" in frame.headers[StompSpec.ERROR_DESTINATION_FAILURE_HEADER]
    assert frame.headers[StompSpec.ORIGINAL_DESTINATION_HEADER] == destination
    first, seen = yield nextBodyIs(broker, destination, b'marker')
    assert first, seen


@pytest_twisted.inlineCallbacks
def test_failedMessageWithoutErrorDestinationDisconnectsAndIsRedelivered(broker, destination):
    client = yield connected(broker)
    yield sendAll(client, destination, [b'poison'])
    collector = Collector(fail=lambda frame: True)
    client.subscribe(destination, INDIVIDUAL, listener=SubscriptionListener(collector, ack=True))
    # the poison pill: the client disconnects gracefully, with the handler's error as the reason
    with pytest.raises(RuntimeError, match="refusing b'poison'"):
        yield client.disconnected.addTimeout(WAIT, reactor)
    assert collector.frames == []
    # not acknowledged, so the next subscriber gets it again
    (again,) = yield drain(broker, destination, 1)
    assert again.body == b'poison'


@pytest_twisted.inlineCallbacks
def test_disconnectTimeoutUnderLoadLosesNothing(broker, destination):
    count = 2000
    producer = yield connected(broker)
    yield sendAll(producer, destination, [str(seq).encode() for seq in range(count)])
    yield producer.disconnect(receipt='produced', timeout=WAIT)

    rng = random.Random(20261122)
    slow = Collector(delay=lambda: rng.uniform(0.005, 0.4))
    client = yield connected(broker)
    acks = AckRecorder()
    client.add(acks)
    prefetch = {StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: 300, StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER: 300}
    listener = SubscriptionListener(slow, ack=True, maxInFlight=200)
    client.subscribe(destination, dict(INDIVIDUAL, **prefetch), listener=listener)
    yield slow.waitFor(300, timeout=60)
    # some handlers are running and more messages are buffered: give them 0.2 s, then go without
    # the rest (as in 2.3 they are not cancelled, but what they finish later is not acknowledged)
    try:
        yield client.disconnect(receipt='bye', timeout=0.2)
    except StompCancelledError:
        pass
    result = yield client.disconnected
    assert result is None
    # the messages whose ACK went out before the DISCONNECT (a handler finishing later is refused)
    done = [frame for frame in slow.frames if frame.headers[StompSpec.ACK_HEADER] in acks.ids]
    processed = {int(frame.body) for frame in done}
    assert len(processed) == len(done)  # no message handled twice on one connection

    rest = yield drain(broker, destination, count - len(processed), timeout=60)
    redelivered = {int(frame.body) for frame in rest}
    assert not processed & redelivered, 'acknowledged messages came back'
    lost = set(range(count)) - processed - redelivered
    assert not lost, f'lost {len(lost)}: {sorted(lost)[:20]}'


# -- heart-beats and errors ------------------------------------------------------------------------


@pytest_twisted.inlineCallbacks
def test_heartBeatsKeepAnIdleConnectionAlive(broker, destination):
    client = yield connected(broker, heartBeats=(500, 500))
    assert client.session.clientHeartBeat > 0 and client.session.serverHeartBeat > 0
    start = reactor.seconds()
    # 3 s of silence on our side: a broker that got no beats would have dropped us (after ~1 s)
    yield task.deferLater(reactor, 3.0, lambda: None)
    assert not client.disconnected.called
    assert client.session.lastReceived > start + 1.5  # the broker's beats arrived
    assert client.session.lastSent > start + 2.0  # ours went out
    yield client.send(destination, b'still alive', receipt='alive')
    yield client.disconnect(receipt='bye', timeout=WAIT)


@pytest_twisted.inlineCallbacks
def test_errorFrameFailsDisconnectedWithTheFrame(broker, destination):
    client = yield connected(broker)
    # ACK for a message the broker never sent: both brokers answer with an ERROR frame
    bogus = StompFrame(
        StompSpec.MESSAGE,
        {
            StompSpec.ACK_HEADER: 'no-such-ack',
            StompSpec.MESSAGE_ID_HEADER: 'no-such-id',
            StompSpec.SUBSCRIPTION_HEADER: 'no-such-sub',
            StompSpec.DESTINATION_HEADER: destination,
        },
        version=StompSpec.VERSION_1_2,
    )
    acking = client.ack(bogus, receipt='bogus-ack')
    with pytest.raises(StompProtocolError) as caught:
        yield client.disconnected.addTimeout(WAIT, reactor)
    assert caught.value.frame.command == StompSpec.ERROR
    assert caught.value.frame.headers.get(StompSpec.MESSAGE_HEADER)
    with pytest.raises(StompProtocolError):  # the receipt it asked for will never come
        yield acking


# -- maxInFlight -----------------------------------------------------------------------------------


@pytest.mark.parametrize('prefetch', [50, 100], ids=['prefetch=maxInFlight', 'prefetch=2xmaxInFlight'])
@pytest_twisted.inlineCallbacks
def test_maxInFlightTransformerWaitingForReceiptsDoesNotDeadlock(broker, destination, prefetch):
    # Each handler forwards its message with a receipt and is done (its input ACKed) when the
    # RECEIPT arrives. Up to 2.x's design the client stopped reading at maxInFlight, so those
    # RECEIPTs were never read: nothing moved again.
    count, maxInFlight = 300, 50
    output = destination + '.out'
    producer = yield connected(broker)
    yield sendAll(producer, destination, [str(seq).encode() for seq in range(count)])
    yield producer.disconnect(receipt='produced', timeout=WAIT)

    client = yield connected(broker)
    handled = []
    done = defer.Deferred()
    peak = [0]

    def transform(connection, frame):
        handled.append(int(frame.body))
        peak[0] = max(peak[0], listener.inFlight)
        sending = connection.send(output, frame.body, receipt=f'out-{frame.body.decode()}')
        if len(handled) == count:
            sending.addCallback(lambda _: done.callback(None))
        return sending

    listener = SubscriptionListener(transform, ack=True, maxInFlight=maxInFlight)
    headers = dict(
        INDIVIDUAL,
        **{
            StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: prefetch,
            StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER: prefetch,
        },
    )
    client.subscribe(destination, headers, listener=listener)
    yield done.addTimeout(30, reactor)
    assert sorted(handled) == list(range(count))
    assert peak[0] <= maxInFlight
    assert not client.readingPaused  # the queue absorbed what the prefetch allows beyond maxInFlight
    yield client.disconnect(receipt='bye', timeout=WAIT)
    forwarded = yield drain(broker, output, count, timeout=30)
    assert sorted(int(frame.body) for frame in forwarded) == list(range(count))
    first, seen = yield nextBodyIs(broker, destination, b'marker')  # every input was ACKed
    assert first, seen
