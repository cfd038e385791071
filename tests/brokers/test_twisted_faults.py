"""The documented Twisted transformer (``examples/twisted_transformer.py``: autoReconnect,
client-individual acks, the input acked after the output's RECEIPT, ``persistent:true``) while
the broker is killed and frozen, and while it is told to stop with messages in flight.

The transformer runs as a subprocess, as a daemon would. Messages carry a ``seq`` header; after
the faults the test reads the output queue and counts every seq: missing ones are lost, repeated
ones duplicates. Figures are recorded with ``record_property`` (``--junitxml`` shows them).
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from stompest.config import StompConfig
from stompest.error import StompConnectionError
from stompest.sync import Stomp
from tests.brokers.conftest import exampleEnvironment

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / 'examples'
PREFETCH = 100  # the transformer's activemq.prefetchSize / prefetch-count
FAULT_COUNT = 20_000
KILLS = 3
FREEZE = 5.0  # seconds; the transformer asks for 1 s heart-beats, tolerance 3.0: dropped after 3 s
RECONNECTED = re.compile(r'Reconnected to ')
#: headers every SEND and SUBSCRIBE of the pipeline carries, per broker. RabbitMQ's classic queues
#: lose acknowledgements they had confirmed when the broker is SIGKILLed (measured: 2,000 of 2,000
#: acked messages came back, the last ACK with a RECEIPT); its quorum queues keep them.
DURABLE_QUEUE_HEADERS = {'activemq': {}, 'activemq2': {}, 'rabbitmq': {'x-queue-type': 'quorum'}}


def _environment(broker, run: str) -> dict[str, str]:
    env = exampleEnvironment(broker, os.environ)
    env.update(
        {
            'PYTHONPATH': str(ROOT) + os.pathsep + env.get('PYTHONPATH', ''),
            # reconnect quickly and forever; a second per attempt at most
            'STOMP_URI': broker.failoverUri(initialReconnectDelay=100, maxReconnectDelay=1000, maxReconnectAttempts=-1),
            'STOMPEST_DEMO_IN': f'/queue/stompest.test.faults.in.{run}',
            'STOMPEST_DEMO_OUT': f'/queue/stompest.test.faults.out.{run}',
            'STOMPEST_DEMO_ERROR': f'/queue/stompest.test.faults.error.{run}',
            'STOMPEST_DEMO_HEADERS': ','.join(f'{k}:{v}' for k, v in DURABLE_QUEUE_HEADERS[broker.name].items()),
        }
    )
    return env


def _produce(env: dict[str, str], count: int) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / 'twisted_producer.py'), str(count)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr[-3000:]


class Transformer:
    """examples/twisted_transformer.py as a subprocess, its log in a file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._file = open(log, 'w')  # noqa: SIM115 (closed in stop())
        self.process = subprocess.Popen(
            [sys.executable, str(EXAMPLES / 'twisted_transformer.py')],
            env=env,
            cwd=ROOT,
            stdout=self._file,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def text(self) -> str:
        return self.log.read_text(errors='replace')

    def waitFor(self, pattern: str | re.Pattern[str], count: int = 1, timeout: float = 60.0) -> float:
        """Wait until ``pattern`` occurs ``count`` times in the log; the monotonic time then."""
        deadline = time.monotonic() + timeout
        while True:
            if len(re.findall(pattern, self.text())) >= count:
                return time.monotonic()
            exited = self.process.poll()
            assert exited is None, f'transformer exited ({exited}):\n{self.text()[-3000:]}'
            assert time.monotonic() < deadline, f'no {pattern!r} x{count} within {timeout} s:\n{self.text()[-3000:]}'
            time.sleep(0.05)

    def stop(self, timeout: float = 60.0) -> int:
        """SIGTERM (graceful disconnect), then its exit code."""
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                return self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f'transformer did not stop within {timeout} s:\n{self.text()[-3000:]}') from None
        finally:
            self._file.close()


def _readAll(broker, destination: str, expected: int, timeout: float, idle: float = 2.0) -> Counter[int]:
    """Read ``destination`` (auto ack) until ``expected`` distinct seqs came and it stayed quiet
    ``idle`` s; the count of each seq seen."""
    config = StompConfig(broker.uri, login=broker.login, passcode=broker.passcode, version='1.2')
    client = Stomp(config)
    client.connect(host=broker.vhost, connectTimeout=5, connectedTimeout=10)
    seen: Counter[int] = Counter()
    try:
        client.subscribe(destination, {**DURABLE_QUEUE_HEADERS[broker.name], 'id': 'read', 'ack': 'auto'})
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not client.canRead(idle):
                if len(seen) >= expected:
                    break
                continue
            frame = client.receiveFrame()
            if frame.command == 'MESSAGE':
                seen[int(frame.headers['seq'])] += 1
        client.disconnect()
    except StompConnectionError:
        client.close()
        raise
    return seen


def _brokerPid(broker) -> int:
    pids = broker.pids
    return pids[-1] if pids else 0


def test_transformerSurvivesKillsAndAFreezeWithNothingLost(broker, brokerControl, tmp_path, record_property):
    rng = random.Random(int(os.environ.get('STOMPEST_FAULT_SEED', '20260')))
    run = uuid.uuid4().hex[:12]
    env = _environment(broker, run)
    started = time.monotonic()
    _produce(env, FAULT_COUNT)
    record_property('produce_s', round(time.monotonic() - started, 1))

    transformer = Transformer(env, tmp_path / 'transformer.log')
    downtimes, reconnects = [], []
    try:
        transformer.waitFor('transforming ')
        for kill in range(KILLS):
            time.sleep(rng.uniform(0.5, 2.0))  # a random moment of the flow
            killedAt = time.monotonic()
            brokerControl.kill(broker)
            time.sleep(rng.uniform(1.0, 3.0))
            brokerControl.start(broker)  # returns once the broker answers CONNECT again
            readyAt = time.monotonic()
            back = transformer.waitFor(RECONNECTED, kill + 1, timeout=90)
            downtimes.append(round(back - killedAt, 2))
            reconnects.append(round(back - readyAt, 2))
        time.sleep(rng.uniform(0.5, 2.0))
        frozenAt = time.monotonic()
        brokerControl.freeze(broker)
        time.sleep(FREEZE)
        brokerControl.thaw(broker)
        back = transformer.waitFor(RECONNECTED, KILLS + 1, timeout=90)
        downtimes.append(round(back - frozenAt, 2))
        reconnects.append(round(back - frozenAt - FREEZE, 2))
        seen = _readAll(broker, env['STOMPEST_DEMO_OUT'], FAULT_COUNT, timeout=240)
        stillRunning = transformer.process.poll() is None
    finally:
        code = transformer.stop()
    log = transformer.text()
    leftover = _readAll(broker, env['STOMPEST_DEMO_IN'], 0, timeout=10, idle=1.0)
    errors = _readAll(broker, env['STOMPEST_DEMO_ERROR'], 0, timeout=10, idle=1.0)

    lost = sorted(set(range(1, FAULT_COUNT + 1)) - set(seen))
    duplicates = sum(seen.values()) - len(seen)
    faults = KILLS + 1
    for name, value in (
        ('broker', broker.name),
        ('messages', FAULT_COUNT),
        ('faults', faults),
        ('lost', len(lost)),
        ('duplicates', duplicates),
        ('downtime_s', downtimes),
        ('reconnect_after_broker_ready_s', reconnects),
        ('left_on_input', sum(leftover.values())),
        ('on_error_destination', sum(errors.values())),
        ('total_s', round(time.monotonic() - started, 1)),
    ):
        record_property(name, value)
    assert stillRunning, log[-3000:]
    assert code == 0, log[-3000:]
    assert 'Unhandled error' not in log, log[-5000:]
    assert 'Reconnecting stopped' not in log, log[-3000:]
    assert lost == [], f'{len(lost)} lost, e.g. {lost[:10]}'
    assert not leftover and not errors
    assert duplicates <= PREFETCH * faults, f'{duplicates} duplicates for {faults} faults'


def test_sigtermWithMessagesInFlightLosesAndRepeatsNothing(activemq, tmp_path, record_property):
    broker = activemq
    count = 1_000
    run = uuid.uuid4().hex[:12]
    env = _environment(broker, run)
    _produce(env, count)
    first = Transformer(env, tmp_path / 'first.log')
    try:
        first.waitFor('transforming ')
        time.sleep(0.2)  # well into the flow: the prefetch is out, handlers and ACKs in flight
    finally:
        assert first.stop() == 0, first.text()[-3000:]
    second = Transformer(env, tmp_path / 'second.log')  # the rest
    try:
        second.waitFor('transforming ')
        seen = _readAll(broker, env['STOMPEST_DEMO_OUT'], count, timeout=120)
    finally:
        assert second.stop() == 0, second.text()[-3000:]
    lost = sorted(set(range(1, count + 1)) - set(seen))
    duplicates = sum(seen.values()) - len(seen)
    record_property('lost', len(lost))
    record_property('duplicates', duplicates)
    for log in (first.text(), second.text()):
        assert 'Unhandled error' not in log, log[-3000:]
        assert 'DISCONNECT not confirmed' not in log, log[-3000:]
    assert lost == [] and duplicates == 0, f'lost {len(lost)}, duplicates {duplicates}'
