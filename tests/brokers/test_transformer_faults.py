"""The transactional transformer while the broker is SIGKILLed and restarted (store kept).

20,000 numbered persistent messages go from IN to OUT through a
:class:`~stompest.twisted.transformer.TransactionalTransformer` (batches of 100, autoReconnect)
while the broker is killed 3 times. Then OUT is drained and its ``seq`` numbers counted.

* ActiveMQ: a transaction's SENDs and ACKs commit or roll back together, so OUT must hold every
  number exactly once: 0 lost, 0 duplicates.
* RabbitMQ: a transaction's frames are applied one by one at COMMIT, not atomically across a
  crash, so the guarantee is at least once: 0 lost, duplicates counted and reported.

The figures go into the JUnit report as properties (``lost``, ``duplicates``, ``seconds`` ...).
"""

from __future__ import annotations

import logging
import time
import uuid

import pytest
import pytest_twisted
from twisted.internet import defer, reactor, task, threads

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.transformer import Output, TransactionalTransformer
from tests.brokers.conftest import STATE
from tests.brokers.rawstomp import drain, preload

pytestmark = pytest.mark.broker

log = logging.getLogger(__name__)

COUNT = 20_000
KILLS = 3
BATCH = 100
DEADLINE = 240.0  # seconds the whole run may take before the test fails


@defer.inlineCallbacks
def until(condition, timeout, what):
    """Poll ``condition`` every 50 ms on the reactor; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout} s waiting for {what}')
        yield task.deferLater(reactor, 0.05, lambda: None)


@pytest.mark.parametrize(
    ('name', 'exactlyOnce'), [('activemq', True), ('rabbitmq', False)], ids=['activemq', 'rabbitmq']
)
@pytest_twisted.inlineCallbacks
def test_transformerThroughBrokerKills(name, exactlyOnce, request, brokerControl, record_property):
    broker = request.getfixturevalue(name)
    queue = uuid.uuid4().hex
    source, target, errors = (f'/queue/stompest.faults.{queue}.{part}' for part in ('in', 'out', 'errors'))
    loaded = preload(broker, source, COUNT)

    handled = []

    def handler(client, frame):
        handled.append(reactor.seconds())
        return Output(target, frame.body, {'seq': frame.headers['seq']})

    transformer = TransactionalTransformer(handler, batch=BATCH, linger=20, errorDestination=errors)
    uri = (
        f'failover:(tcp://{broker.host}:{broker.port})?randomize=false,initialReconnectDelay=250,'
        'maxReconnectDelay=1000,useExponentialBackOff=false,maxReconnectAttempts=240'
    )
    config = StompConfig(uri, login=broker.login, passcode=broker.passcode, version=StompSpec.VERSION_1_2)
    client = Stomp(config, reactor=reactor, autoReconnect=True, receiptTimeout=30)
    started = time.monotonic()
    yield client.connect(host=broker.vhost, connectTimeout=5, connectedTimeout=15)
    try:
        yield client.subscribe(source, {StompSpec.ID_HEADER: 'in'}, listener=transformer)
        for kill in range(1, KILLS + 1):
            mark = kill * COUNT // (KILLS + 1)
            yield until(lambda mark=mark: transformer.committed >= mark, DEADLINE, f'{mark} committed')
            log.info('kill %d of %s at %d committed', kill, name, transformer.committed)
            yield threads.deferToThread(brokerControl.kill, broker)
            yield threads.deferToThread(brokerControl.start, broker)
        # Done when the client is connected again and nothing was handled for 3 s.
        yield until(
            lambda: client.session.state == 'connected' and handled and reactor.seconds() - handled[-1] > 3.0,
            DEADLINE,
            'the transformer to go idle',
        )
    finally:
        yield client.disconnect(timeout=30).addErrback(lambda failure: log.warning('%s', failure.getErrorMessage()))
    seconds = time.monotonic() - started
    out = drain(broker, target, COUNT)
    left = drain(broker, source, 0, idle=1.0)
    failed = drain(broker, errors, 0, idle=0.5)
    for key, value in {
        'broker': name,
        'messages': COUNT,
        'kills': KILLS,
        'batch': BATCH,
        'lost': out.missing,
        'duplicates': out.duplicates,
        'distinct': out.distinct,
        'received': out.received,
        'seconds': round(seconds, 1),
        'preloadSeconds': round(loaded, 1),
        'handlerCalls': len(handled),
        'committed': transformer.committed,
        'leftOnIn': left.received,
        'errors': failed.received,
    }.items():
        record_property(key, value)
    print(
        f'\n{name}: lost {out.missing}, duplicates {out.duplicates}, distinct {out.distinct} of {COUNT}, '
        f'{len(handled)} handler calls, {seconds:.1f} s through {KILLS} kills'
    )
    assert left.received == 0 and failed.received == 0
    assert out.missing == 0
    if exactlyOnce:
        assert out.duplicates == 0


def _transaction(raw, name, target, count):
    """Receive ``count`` MESSAGEs and build one transaction that forwards and ACKs them all."""
    parts = [f'BEGIN\ntransaction:{name}\n\n\x00'.encode()]
    while len(parts) < 2 * count + 1:
        frame = raw.next(30)
        assert frame is not None, f'only {(len(parts) - 1) // 2} of {count} inputs arrived'
        if frame.command != 'MESSAGE':
            continue
        ackId = frame.headers['ack'].replace(':', '\\c')
        parts.append(
            f'SEND\ndestination:{target}\npersistent:true\nseq:{frame.headers["seq"]}\ntransaction:{name}\n'
            f'content-length:{len(frame.body)}\n\n'.encode()
            + frame.body
            + b'\x00'
        )
        parts.append(f'ACK\nid:{ackId}\ntransaction:{name}\n\n\x00'.encode())
    return b''.join(parts)


def _mainPids(broker):
    """The broker process to SIGKILL first (ActiveMQ's JVM, RabbitMQ's beam), then its wrapper."""
    state = STATE / broker.name
    names = ('beam.pid', 'wrapper.pid') if broker.name == 'rabbitmq' else ('broker.pid',)
    return [int((state / each).read_text().strip()) for each in names if (state / each).exists()]


@pytest.mark.parametrize(
    ('name', 'atomic', 'size', 'when'),
    # ActiveMQ pages at most maxPageSize (200) messages of a queue in: more than that cannot be
    # dispatched to one transaction before it commits.
    [('activemq', True, 150, 0.5), ('rabbitmq', False, 5_000, 0.5), ('rabbitmq', False, 5_000, 0.9)],
    ids=['activemq', 'rabbitmq-half', 'rabbitmq-late'],
)
def test_crashWhileALargeTransactionCommits(name, atomic, size, when, request, brokerControl, record_property):
    """What a SIGKILL in the middle of a COMMIT does. A first raw transaction (``size`` SENDs and
    ACKs) measures how long its COMMIT takes; a second one is SIGKILLed ``when`` times that long
    after its COMMIT went out. Afterwards every ``seq`` must be on OUT or back on IN (nothing lost) and none
    twice on either; ActiveMQ must show the second transaction all or nothing, and RabbitMQ's
    split (outputs applied, inputs back: the duplicates of at least once) is recorded."""
    import os
    import signal

    from tests.brokers.rawstomp import RawStomp

    broker = request.getfixturevalue(name)
    queue = uuid.uuid4().hex
    source, target = (f'/queue/stompest.crash.{queue}.{part}' for part in ('in', 'out'))
    preload(broker, source, 2 * size)
    raw = RawStomp.to(broker)
    raw.send(
        f'SUBSCRIBE\nid:0\ndestination:{source}\nack:client-individual\nactivemq.prefetchSize:{size}\n'
        f'prefetch-count:{size}\n\n\x00'.encode()
    )
    raw.send(_transaction(raw, 'first', target, size))
    started = time.monotonic()
    raw.send(b'COMMIT\ntransaction:first\nreceipt:first\n\n\x00')
    raw.waitReceipt('first', 60)
    commitSeconds = time.monotonic() - started
    raw.send(_transaction(raw, 'second', target, size))
    brokerControl.touched.append(broker.name)  # restored (started) after the test whatever happens
    pids = _mainPids(broker)
    raw.send(b'COMMIT\ntransaction:second\nreceipt:second\n\n\x00')
    time.sleep(commitSeconds * when)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    receipt = False
    try:
        while (frame := raw.next(5)) is not None:
            receipt = receipt or (frame.command == 'RECEIPT' and frame.headers.get('receipt-id') == 'second')
    except (ConnectionError, OSError):
        pass
    raw.sock.close()
    brokerControl.start(broker)
    out = drain(broker, target, 2 * size, idle=1.5)
    back = drain(broker, source, 2 * size, idle=1.5)
    lost = 2 * size - len(out.seqs | back.seqs)
    secondOutputs = out.received - size
    for key, value in {
        'broker': name,
        'inputs': size,
        'killAfterSeconds': round(commitSeconds * when, 3),
        'commitSeconds': round(commitSeconds, 3),
        'secondOutputsAfterCrash': secondOutputs,
        'secondInputsBackAfterCrash': back.received,
        'secondReceipt': receipt,
        'lost': lost,
    }.items():
        record_property(key, value)
    print(
        f'\n{name}: COMMIT of {size} takes {commitSeconds:.3f} s; killed {commitSeconds * when:.3f} s into the next: '
        f'{secondOutputs} of its outputs on OUT, {back.received} of its inputs back on IN, '
        f'receipt {"received" if receipt else "not received"}'
    )
    assert out.duplicates == 0 and back.duplicates == 0
    assert lost == 0
    if atomic:
        assert (secondOutputs, back.received) in ((0, size), (size, 0))
