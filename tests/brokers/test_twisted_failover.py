"""stompest.twisted with ``autoReconnect`` over an ActiveMQ failover URI, while brokers are SIGKILLed.

The two ActiveMQ instances keep separate stores, so a message is only ever where it was sent.
The test drives a transformer (``in`` -> ``out``, ``client-individual``, persistent messages,
ACK after the output's receipt) through two failovers:

1. 2,000 persistent messages are put on the first broker's ``in``; the transformer works on them.
2. A third of the way in, the first broker is SIGKILLed: the transformer fails over to the second.
3. The first broker is started again (its store brings back everything not acknowledged), then the
   second is SIGKILLed: the transformer fails over back to the first and finishes.

Every input must come out at least once; the duplicates (inputs whose ACK or output receipt was lost
with the broker) are counted and recorded as the ``redelivered`` property of the test.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import defer, reactor

from stompest.config import StompConfig
from stompest.error import StompConnectionError
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.listener import Listener, SubscriptionListener, defaultListeners

pytestmark = pytest.mark.broker

COUNT = 2000
WAIT = 30.0
PERSISTENT = {StompSpec.PERSISTENT_HEADER: 'true'}
FAILOVER = (
    'failover:(tcp://127.0.0.1:{},tcp://127.0.0.1:{})?randomize=false,initialReconnectDelay=100,maxReconnectAttempts=-1'
)


class ReconnectWatcher(Listener):
    """Fires a Deferred each time the client reconnected, with the broker it reached."""

    def __init__(self) -> None:
        self.brokers: list[dict] = []
        self._waiting: defer.Deferred | None = None

    def onReconnected(self, connection, broker) -> None:
        self.brokers.append(broker)
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.callback(broker)

    def next(self) -> defer.Deferred:
        self._waiting = defer.Deferred()
        return self._waiting.addTimeout(WAIT, reactor)


class Progress:
    """Counts calls and fires a Deferred when a number is reached (bounded by a timeout)."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self._waiters: list[tuple[int, defer.Deferred]] = []

    def add(self, seq: int) -> None:
        self.seqs.append(seq)
        distinct = len(set(self.seqs))
        for waiter in [w for w in self._waiters if distinct >= w[0]]:
            self._waiters.remove(waiter)
            waiter[1].callback(distinct)

    def reach(self, distinct: int, timeout: float = WAIT) -> defer.Deferred:
        if len(set(self.seqs)) >= distinct:
            return defer.succeed(distinct)
        waiter = defer.Deferred()
        self._waiters.append((distinct, waiter))
        return waiter.addTimeout(timeout, reactor)


@defer.inlineCallbacks
def plainClient(broker):
    client = Stomp(StompConfig(broker.uri, version=StompSpec.VERSION_1_2), reactor=reactor, receiptTimeout=WAIT)
    yield client.connect(connectedTimeout=WAIT)
    return client


@defer.inlineCallbacks
def readAll(broker, destination, progress):
    """Read everything on ``destination`` into ``progress``: an end marker is sent first, and the
    queue is read until the marker comes back (a queue is FIFO for its one consumer)."""
    client = yield plainClient(broker)
    yield client.send(destination, b'end', {'seq': -1}, receipt='end')
    ended = defer.Deferred()

    def read(_, frame):
        seq = int(frame.headers['seq'])
        if seq >= 0:
            progress.add(seq)
        elif not ended.called:
            ended.callback(None)

    headers = {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL}
    client.subscribe(destination, headers, listener=SubscriptionListener(read))
    yield ended.addTimeout(60, reactor)
    yield client.disconnect(receipt='read', timeout=WAIT)


@pytest_twisted.inlineCallbacks
def test_transformerSurvivesKilledBrokersWithoutLoss(activemq, activemq2, brokerControl, destination, record_property):
    source, target = destination + '.in', destination + '.out'
    producer = yield plainClient(activemq)
    for seq in range(COUNT):
        sent = producer.send(
            source,
            f'message {seq}'.encode(),
            dict(PERSISTENT, seq=seq),
            receipt='produced' if seq == COUNT - 1 else None,
        )
    yield sent
    yield producer.disconnect(receipt='bye', timeout=WAIT)

    transformed = Progress()
    watcher = ReconnectWatcher()

    @defer.inlineCallbacks
    def transform(client, frame):
        seq = frame.headers['seq']
        try:
            yield client.send(target, frame.body.upper(), dict(PERSISTENT, seq=seq), receipt=f'out-{seq}')
        except StompConnectionError:
            return  # lost with the broker: not acknowledged either, so the input comes back
        transformed.add(int(seq))

    config = StompConfig(FAILOVER.format(activemq.port, activemq2.port), version=StompSpec.VERSION_1_2)
    client = Stomp(
        config,
        listenersFactory=lambda: defaultListeners() + [watcher],
        reactor=reactor,
        receiptTimeout=WAIT,
        autoReconnect=True,
    )
    yield client.connect(connectedTimeout=WAIT)
    assert client.broker['port'] == activemq.port
    client.subscribe(
        source,
        {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: 50},
        listener=SubscriptionListener(transform, ack=True),
    )
    try:
        yield transformed.reach(COUNT // 3)
        reconnected = watcher.next()
        brokerControl.kill(activemq)  # SIGKILL mid-pipeline
        broker = yield reconnected
        assert broker['port'] == activemq2.port
        progressAtKill = len(set(transformed.seqs))
        assert progressAtKill < COUNT, 'the pipeline finished before the broker was killed'

        brokerControl.start(activemq)  # its store brings back every unacknowledged input
        reconnected = watcher.next()
        brokerControl.kill(activemq2)
        broker = yield reconnected
        assert broker['port'] == activemq.port
        yield transformed.reach(COUNT, timeout=90)
    finally:
        try:
            yield client.disconnect(receipt='bye', timeout=WAIT)
        except Exception:
            pass
    brokerControl.start(activemq2)

    out = Progress()
    yield readAll(activemq, target, out)
    yield readAll(activemq2, target, out)  # nothing is expected there; counted if there is
    assert set(out.seqs) == set(range(COUNT)), f'lost: {sorted(set(range(COUNT)) - set(out.seqs))[:20]}'
    redelivered = len(out.seqs) - COUNT
    record_property('redelivered', redelivered)
    record_property('reconnects', len(watcher.brokers))
    print(
        f'\nfailover: {COUNT} messages through 2 broker kills, {redelivered} duplicates '
        f'(killed after {progressAtKill} transformed)'
    )
