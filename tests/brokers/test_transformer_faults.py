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
    uri = (f'failover:(tcp://{broker.host}:{broker.port})?randomize=false,initialReconnectDelay=250,'
           'maxReconnectDelay=1000,useExponentialBackOff=false,maxReconnectAttempts=240')
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
        'broker': name, 'messages': COUNT, 'kills': KILLS, 'batch': BATCH, 'lost': out.missing,
        'duplicates': out.duplicates, 'distinct': out.distinct, 'received': out.received,
        'seconds': round(seconds, 1), 'preloadSeconds': round(loaded, 1), 'handlerCalls': len(handled),
        'committed': transformer.committed, 'leftOnIn': left.received, 'errors': failed.received,
    }.items():
        record_property(key, value)
    print(f'\n{name}: lost {out.missing}, duplicates {out.duplicates}, distinct {out.distinct} of {COUNT}, '
          f'{len(handled)} handler calls, {seconds:.1f} s through {KILLS} kills')
    assert left.received == 0 and failed.received == 0
    assert out.missing == 0
    if exactlyOnce:
        assert out.duplicates == 0
