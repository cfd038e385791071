"""The seed README's blocking producer and consumer, as a stompest 2.3 user runs them on ActiveMQ.

The two programs below are this project's own, written with exactly the API calls of the
README's sync examples (``from stompest.protocol import StompConfig``, ``Stomp(config)``,
``connect()``, ``send(queue, str)``, ``subscribe(queue, {'ack': 'client'})``, an endless
``receiveFrame()``/``ack(frame)`` loop, ``disconnect()``) and only Python 3 syntax; the broker
URI and queue come from the command line so the test can point them at its broker.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import sys
import time

from stompest.protocol.spec import StompSpec
from tests.brokers.test_sync_client import collect, connect, makeClient, sendAll

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PRODUCER = '''\
import sys

from stompest.protocol import StompConfig
from stompest.sync import Stomp

uri, queue = sys.argv[1:3]
client = Stomp(StompConfig(uri))
client.connect()
client.send(queue, 'seed message one')
client.send(queue, 'seed message two')
client.disconnect()
'''

CONSUMER = '''\
import sys

from stompest.protocol import StompConfig
from stompest.sync import Stomp

uri, queue = sys.argv[1:3]
client = Stomp(StompConfig(uri))
client.connect()
client.subscribe(queue, {'ack': 'client'})

while True:
    frame = client.receiveFrame()
    print('Got %s' % frame.info())
    client.ack(frame)

client.disconnect()
'''


def environment():
    env = dict(os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['PYTHONUNBUFFERED'] = '1'  # the consumer's lines reach the pipe as it prints them
    return env


class LineReader:
    """Lines of a pipe, read with a bounded wait (raw reads: a buffered reader would hide lines
    it already took from the pipe from ``select``)."""

    def __init__(self, pipe, errors):
        self._fd = pipe.fileno()
        self._errors = errors
        self._buffer = b''

    def read(self, count, timeout=30.0):
        """The next ``count`` lines, or fail after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self._fd, selectors.EVENT_READ)
            while self._buffer.count(b'\n') < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f'only {self._buffer!r} within {timeout} s'
                if selector.select(remaining):
                    data = os.read(self._fd, 65536)
                    assert data, f'the consumer ended after {self._buffer!r}: {self._errors.read_text()}'
                    self._buffer += data
        lines = self._buffer.split(b'\n')
        self._buffer = b'\n'.join(lines[count:])
        return [line.decode('utf-8', 'replace') for line in lines[:count]]


def test_seedReadmeProducerAndConsumerRunOnActiveMQ(activemq, destination, tmp_path):
    (tmp_path / 'producer.py').write_text(PRODUCER)
    (tmp_path / 'consumer.py').write_text(CONSUMER)
    env = environment()
    done = subprocess.run(
        [sys.executable, str(tmp_path / 'producer.py'), activemq.uri, destination],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr

    errors = tmp_path / 'consumer.stderr'
    with errors.open('wb') as stderr:
        consumer = subprocess.Popen(
            [sys.executable, str(tmp_path / 'consumer.py'), activemq.uri, destination],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
        )
    lines = LineReader(consumer.stdout, errors)
    try:
        first, second = lines.read(2)
        assert first.startswith('Got MESSAGE frame') and 'seed message one' in first
        assert second.startswith('Got MESSAGE frame') and 'seed message two' in second
        # A third message: once the consumer prints it, its ACK of the second one was sent.
        sender = connect(makeClient(activemq, version='1.0'), activemq)
        sendAll(sender, destination, [b'fence'])
        sender.disconnect()
        [third] = lines.read(1)
        assert 'fence' in third
    finally:
        consumer.kill()
        consumer.wait(30)
        consumer.stdout.close()

    # The consumer's ACKs took effect: the two seed messages are not delivered again.
    checker = connect(makeClient(activemq, version='1.0'), activemq)
    try:
        checker.subscribe(destination, {StompSpec.ACK_HEADER: StompSpec.ACK_AUTO}, receipt='check')
        collect(checker, ['check'])
        left = []
        while checker.canRead(1.0):
            left.append(checker.receiveFrame().body)
        assert left in ([], [b'fence']), left  # the fence's own ACK may not have landed before the kill
    finally:
        checker.disconnect()
