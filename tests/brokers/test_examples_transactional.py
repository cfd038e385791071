"""examples/twisted_transactional_transformer.py in the examples' pipeline, on the real brokers.

producer -> /in -> transactional transformer -> /out -> consumer, 10,000 messages, every 500th
marked poison (it lands on the error destination, inside the transaction). Stopped with SIGTERM,
it must exit cleanly; every expected ``seq`` arrives once.
"""

from __future__ import annotations

import os
import signal
import uuid

import pytest

from tests.brokers.conftest import exampleEnvironment
from tests.brokers.test_examples_twisted import COUNT, DEADLINE, POISON_EVERY, ROOT, finish, recorded, start

pytestmark = pytest.mark.broker


def test_transactionalTransformerExampleDeliversEveryMessageOnce(broker, tmp_path):
    run = uuid.uuid4().hex[:12]
    env = exampleEnvironment(broker, os.environ)
    env.update(
        {
            'PYTHONPATH': ROOT + os.pathsep + env.get('PYTHONPATH', ''),
            'STOMPEST_DEMO_IN': f'/queue/stompest.test.tx.in.{run}',
            'STOMPEST_DEMO_OUT': f'/queue/stompest.test.tx.out.{run}',
            'STOMPEST_DEMO_ERROR': f'/queue/stompest.test.tx.error.{run}',
            'STOMPEST_DEMO_POISON_EVERY': str(POISON_EVERY),
            'STOMPEST_DEMO_IDLE': '30',
        }
    )
    poison = list(range(POISON_EVERY, COUNT + 1, POISON_EVERY))
    good = sorted(set(range(1, COUNT + 1)) - set(poison))

    transformer = start('twisted_transactional_transformer.py', env)
    consumer = start('twisted_consumer.py', dict(env, STOMPEST_DEMO_RECORD=str(tmp_path / 'out.txt')), str(len(good)))
    try:
        code, out, err = finish(start('twisted_producer.py', env, str(COUNT)), DEADLINE)
        assert code == 0, err[-3000:]
        code, out, err = finish(consumer, DEADLINE)
        assert code == 0, err[-3000:]
        assert f'received {len(good)} messages' in out, out + err[-3000:]
    finally:
        if transformer.poll() is None:
            transformer.send_signal(signal.SIGTERM)  # must commit what is complete and stop cleanly
        if consumer.poll() is None:
            consumer.kill()
            consumer.communicate()
    code, out, err = finish(transformer, 30)
    assert code == 0, err[-3000:]
    assert f'stopped: {COUNT} messages committed' in err, err[-3000:]
    assert recorded(str(tmp_path / 'out.txt')) == good

    errorEnv = dict(
        env,
        STOMPEST_DEMO_OUT=env['STOMPEST_DEMO_ERROR'],
        STOMPEST_DEMO_RECORD=str(tmp_path / 'error.txt'),
        STOMPEST_DEMO_IDLE='10',
    )
    code, out, err = finish(start('twisted_consumer.py', errorEnv, str(len(poison))), 30)
    assert code == 0, err[-3000:]
    assert recorded(str(tmp_path / 'error.txt')) == poison
