"""The Twisted producer, transformer and consumer of stompest's README, as a stompest 2.3 user
runs them after the move to Python 3 (``stompest.async`` -> ``stompest.twisted``), against ActiveMQ.

The programs are written here from a small template (not copied): they make exactly the README's
API calls (``Stomp(config).connect()``, ``send(queue, json.dumps(...))``, the older
``subscribe(queue, handler, headers, errorDestination=...)`` form, ``disconnect()``), plus what a
test needs to end them: stop the reactor after ten messages.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.broker

ROOT = Path(__file__).resolve().parents[2]

_COMMON = '''
import json
import logging
import sys

from twisted.internet import defer, reactor, task

from stompest.twisted import Stomp
from stompest.protocol import StompConfig

URI, IN_QUEUE, OUT_QUEUE, ERROR_QUEUE = sys.argv[1:5]
'''

PRODUCER = (
    _COMMON
    + '''
class Producer(object):
    QUEUE = IN_QUEUE

    def __init__(self, config=None):
        self.config = config or StompConfig(URI)

    @defer.inlineCallbacks
    def run(self):
        stomp = yield Stomp(self.config).connect()
        try:
            for j in range(10):
                stomp.send(self.QUEUE, json.dumps({'count': j}))
        finally:
            yield task.deferLater(reactor, 1, stomp.disconnect)
        print('sent 10')


def stop(result):
    reactor.stop()
    return result

if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO)
    Producer().run().addBoth(stop)
    reactor.run()
'''
)

_SUBSCRIBER = (
    _COMMON
    + '''
class {name}(object):
    def __init__(self, config=None):
        self.config = config or StompConfig(URI)
        self.handled = 0

    @defer.inlineCallbacks
    def run(self):
        client = yield Stomp(self.config).connect()
        headers = {{
            'ack': 'client-individual',
            'activemq.prefetchSize': 100,
        }}
        client.subscribe({queue}, self.handle, headers, errorDestination=ERROR_QUEUE)

    def handle(self, client, frame):
        data = json.loads(frame.body)
{body}
        self.handled += 1
        if self.handled == 10:
            reactor.callLater(0.5, self.stop, client)

    @defer.inlineCallbacks
    def stop(self, client):
        yield client.disconnect()
        reactor.stop()


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO)
    {name}().run().addErrback(lambda failure: (print(failure), reactor.stop()))
    reactor.run()
'''
)

TRANSFORMER = _SUBSCRIBER.format(
    name='IncrementTransformer',
    queue='IN_QUEUE',
    body="""        data['count'] += 1
        client.send(OUT_QUEUE, json.dumps(data))""",
)

CONSUMER = _SUBSCRIBER.format(
    name='Consumer',
    queue='OUT_QUEUE',
    body="""        print('Received frame with count %d' % data['count'])""",
)


def _run(program: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(program), *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
    )


def test_readmeTwistedProgramsRunAgainstActiveMQ(activemq, tmp_path, record_property):
    queues = [f'/queue/stompest.test.readme.{uuid.uuid4().hex}.{name}' for name in ('in', 'out', 'error')]
    args = (activemq.uri, *queues)
    programs = {}
    for name, text in (('producer', PRODUCER), ('transformer', TRANSFORMER), ('consumer', CONSUMER)):
        programs[name] = tmp_path / f'{name}.py'
        programs[name].write_text(textwrap.dedent(text))
    produced = _run(programs['producer'], *args)
    assert produced.returncode == 0, produced.stderr[-3000:]
    assert produced.stdout.strip() == 'sent 10'
    transformed = _run(programs['transformer'], *args)
    assert transformed.returncode == 0, transformed.stderr[-3000:]
    assert 'Unhandled error' not in transformed.stderr
    consumed = _run(programs['consumer'], *args)
    assert consumed.returncode == 0, consumed.stderr[-3000:]
    lines = consumed.stdout.splitlines()
    assert sorted(lines) == sorted(f'Received frame with count {count}' for count in range(1, 11)), consumed.stdout
    for result in (produced, transformed, consumed):
        assert 'Unhandled error' not in result.stderr
    record_property('messages', len(lines))
