"""The Twisted examples as a pipeline against the real brokers, so they cannot rot.

producer -> /in -> transformer -> /out -> consumer, 10,000 messages, ``client-individual`` acks,
every 500th message marked poison (the transformer refuses it, so it lands on the error
destination). Each run gets its own queues. The consumer records the ``seq`` of every message it
got; the test checks that exactly the expected ones arrived, each once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

import pytest

from tests.brokers.conftest import exampleEnvironment

pytestmark = pytest.mark.broker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, 'examples')
COUNT = 10_000
POISON_EVERY = 500
DEADLINE = 90  # seconds for the whole pipeline; it takes a few seconds when things are well


def _interruptible() -> None:
    # A program started from a terminal gets Ctrl-C; one started in the background of a shell
    # without job control (a CI wrapper) inherits SIGINT ignored, and Python and Twisted then
    # leave it ignored. The tests send SIGINT as Ctrl-C, so give the examples a terminal's default.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(script: str, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, os.path.join(EXAMPLES, script), *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )


def finish(process: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(f'{process.args[1]} did not finish in {timeout} s:\n{err[-3000:]}') from None
    return process.returncode, out, err


def recorded(path: str) -> list[int]:
    with open(path) as record:
        return sorted(int(line) for line in record if line.strip())


def runPipeline(broker, tmp_path, transformerScript: str, name: str, stop: signal.Signals) -> str:
    """producer -> /in -> ``transformerScript`` -> /out -> consumer on ``broker``, then ``stop``
    sent to the transformer: every good ``seq`` must reach the consumer once and every poison one
    the error destination. Returns the transformer's stderr (for the caller's stop line)."""
    run = uuid.uuid4().hex[:12]
    env = exampleEnvironment(broker, os.environ)
    env.update(
        {
            'PYTHONPATH': ROOT + os.pathsep + env.get('PYTHONPATH', ''),
            'STOMPEST_DEMO_IN': f'/queue/stompest.test.{name}.in.{run}',
            'STOMPEST_DEMO_OUT': f'/queue/stompest.test.{name}.out.{run}',
            'STOMPEST_DEMO_ERROR': f'/queue/stompest.test.{name}.error.{run}',
            'STOMPEST_DEMO_POISON_EVERY': str(POISON_EVERY),
            'STOMPEST_DEMO_IDLE': '30',
        }
    )
    poison = list(range(POISON_EVERY, COUNT + 1, POISON_EVERY))
    good = sorted(set(range(1, COUNT + 1)) - set(poison))

    transformer = start(transformerScript, env)
    consumer = start('twisted_consumer.py', dict(env, STOMPEST_DEMO_RECORD=str(tmp_path / 'out.txt')), str(len(good)))
    try:
        code, out, err = finish(start('twisted_producer.py', env, str(COUNT)), DEADLINE)
        assert code == 0, err[-3000:]
        code, out, err = finish(consumer, DEADLINE)
        assert code == 0, err[-3000:]
        assert f'received {len(good)} messages' in out, out + err[-3000:]
    finally:
        if transformer.poll() is None:
            transformer.send_signal(stop)  # the transformer must stop cleanly
        if consumer.poll() is None:
            consumer.kill()
            consumer.communicate()
    code, out, transformerErr = finish(transformer, 30)
    assert code == 0, transformerErr[-3000:]
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
    return transformerErr


def test_examplesPipelineDeliversEveryMessageExactlyOnce(broker, tmp_path):
    err = runPipeline(broker, tmp_path, 'twisted_transformer.py', 'demo', signal.SIGINT)  # Ctrl-C
    assert 'stopped' in err, err[-3000:]
