"""The sync examples, run as they are (subprocesses) against ActiveMQ, so they cannot rot."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.brokers.conftest import exampleEnvironment

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLES = os.path.join(ROOT, 'examples')


def run(script, env, *args, timeout=60):
    done = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES, script), *map(str, args)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f'{script} exited with {done.returncode}\n{done.stdout}\n{done.stderr}'
    return done.stderr  # the examples log to stderr


def environment(broker, destination, **extra):
    env = exampleEnvironment(broker, os.environ)
    env['PYTHONPATH'] = ROOT + os.pathsep + env.get('PYTHONPATH', '')
    env['STOMPEST_DEMO_QUEUE'] = destination
    env['STOMPEST_DEMO_IDLE'] = '10'
    env.update(extra)
    return env


def test_producerThenConsumer(activemq, destination):
    env = environment(activemq, destination)
    assert 'Sent 5 messages to ' + destination in run('sync_producer.py', env, 5)
    output = run('sync_consumer.py', env, 5)
    assert [line.split('Received ', 1)[1] for line in output.splitlines() if 'Received message' in line] == [
        f'message {seq}' for seq in range(5)
    ]
    assert 'Consumed 5 messages' in output
    # everything was acknowledged: a second consumer finds the queue empty and stops when idle
    env['STOMPEST_DEMO_IDLE'] = '1'
    assert 'Consumed 0 messages' in run('sync_consumer.py', env)


def test_sslConsumer(activemq, destination):
    run('sync_producer.py', environment(activemq, destination), 3)
    env = environment(activemq, destination, STOMP_URI=activemq.sslUri, STOMP_CA=activemq.caFile)
    output = run('sync_ssl_consumer.py', env, 3)
    assert 'Consumed 3 messages over TLS' in output
    assert f'Connected to ssl://localhost:{activemq.sslPort}' in output
