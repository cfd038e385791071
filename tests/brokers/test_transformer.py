"""stompest.twisted.transformer on the real brokers: handlers that finish out of order, and a
graceful stop in the middle of the run.

The handler answers each input after a pseudo-random delay of 0-15 ms, so handlers finish in
another order than their inputs arrived: that is the case where ActiveMQ's cumulative acks (one
ACK per transaction, the transformer's default there) would acknowledge an input not yet written
if the transformer did not keep arrival order. The client is stopped gracefully after about
half the inputs are committed, with handlers still running; then every number must be either on
OUT (once) or back on IN, never both and never neither.
"""

from __future__ import annotations

import random
import shutil
import subprocess

import pytest
import pytest_twisted
from twisted.internet import reactor, task, threads

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.transformer import Output, TransactionalTransformer
from tests.brokers.conftest import STATE
from tests.brokers.rawstomp import drain, preload
from tests.brokers.test_transformer_faults import until

pytestmark = pytest.mark.broker

COUNT = 3_000
BATCH = 50


@pytest_twisted.inlineCallbacks
def test_outOfOrderHandlersAndAStopLoseAndRepeatNothing(broker, destination, record_property):
    source, target = destination + '.in', destination + '.out'
    preload(broker, source, COUNT)
    delays = random.Random(20261201)

    def handler(client, frame):
        output = Output(target, frame.body, {'seq': frame.headers['seq']})
        return task.deferLater(reactor, delays.random() * 0.015, lambda: output)

    transformer = TransactionalTransformer(handler, batch=BATCH, linger=20)
    uri = f'tcp://{broker.host}:{broker.port}'
    config = StompConfig(uri, login=broker.login, passcode=broker.passcode, version=StompSpec.VERSION_1_2)
    client = yield Stomp(config, reactor=reactor, receiptTimeout=30).connect(host=broker.vhost)
    yield client.subscribe(source, {StompSpec.ID_HEADER: 'in'}, listener=transformer)
    ackMode = transformer.ackMode
    yield until(lambda: transformer.committed >= COUNT // 2, 120, f'{COUNT // 2} committed')
    running = transformer.handling
    yield client.disconnect(timeout=30)
    yield client.disconnected
    committed = transformer.committed
    out = drain(broker, target, COUNT, idle=1.0)
    back = drain(broker, source, COUNT, idle=1.0)
    for key, value in {
        'broker': broker.name,
        'ackMode': ackMode,
        'committed': committed,
        'runningAtStop': running,
        'onOut': out.received,
        'backOnIn': back.received,
    }.items():
        record_property(key, value)
    assert ackMode == ('client' if broker.name == 'activemq' else 'client-individual')
    assert running > 0  # the stop did cut handlers off
    assert out.duplicates == 0 and back.duplicates == 0
    assert out.seqs.isdisjoint(back.seqs), sorted(out.seqs & back.seqs)[:10]
    assert out.seqs | back.seqs == set(range(COUNT))
    assert out.received == committed  # what the transformer counted done is exactly what is on OUT


def liveMessageDispatches(pid: int) -> int:
    """Live ``MessageDispatch`` objects in the ActiveMQ JVM ``pid`` (``jcmd GC.class_histogram``
    runs a full GC first and counts what is still reachable)."""
    jcmd = shutil.which('jcmd')
    assert jcmd, 'jcmd not found: the JDK (openjdk-17-jdk-headless) is needed to count the broker heap'
    histogram = subprocess.run([jcmd, str(pid), 'GC.class_histogram'], capture_output=True, text=True, timeout=60)
    assert histogram.returncode == 0, histogram.stdout + histogram.stderr
    for line in histogram.stdout.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[3] == 'org.apache.activemq.command.MessageDispatch':
            return int(fields[1])
    return 0


@pytest_twisted.inlineCallbacks
def test_theBrokerDoesNotKeepEveryMessageAckedInATransaction(activemq, destination, record_property):
    """ActiveMQ 5.17 keeps every ``client-individual`` message ACKed in a transaction in a list
    of the subscription that it never empties, and scans that list for every dispatched message
    at each COMMIT. With the transformer's default on ActiveMQ (cumulative acks) the broker must
    hold no more dispatches than the prefetch lets it send, however many inputs went through:
    after 5,000 inputs at most 1,500 live ``MessageDispatch`` objects (prefetch 500). Measured
    here with ``client-individual`` acks instead: 5,000, one per input."""
    count = 5_000
    source, target = destination + '.in', destination + '.out'
    preload(activemq, source, count)
    transformer = TransactionalTransformer(
        lambda client, frame: Output(target, frame.body, {'seq': frame.headers['seq']}),
        batch=100,
    )
    config = StompConfig(f'tcp://{activemq.host}:{activemq.port}', version=StompSpec.VERSION_1_2)
    client = yield Stomp(config, reactor=reactor).connect(host=activemq.vhost)
    yield client.subscribe(source, {StompSpec.ID_HEADER: 'in'}, listener=transformer)
    yield until(lambda: transformer.committed >= count, 120, f'{count} committed')
    pid = int((STATE / 'activemq' / 'broker.pid').read_text().strip())
    live = yield threads.deferToThread(liveMessageDispatches, pid)  # still subscribed
    yield client.disconnect(timeout=30)
    record_property('ackMode', transformer.ackMode)
    record_property('liveMessageDispatches', live)
    assert drain(activemq, target, count, idle=1.0).missing == 0
    assert live <= 1_500, f'{live} MessageDispatch objects live in the broker after {count} inputs'
