"""The programs the docs show are run here, so they cannot rot: the example of docs/testing.rst
(examples/testing_order_handler.py: its tests are collected here, and the file runs on its own as
the page says), and the quickstart and asyncio programs, against the kit's loopback server."""

from __future__ import annotations

import os
import subprocess
import sys

from examples.testing_order_handler import (  # noqa: F401 (collected by pytest from this module)
    test_blockingWorkerOnALoopbackServer,
    test_orderBecomesAnInvoiceAndIsAcknowledged,
    test_orderIsNotLostWhenTheInvoiceNeverArrives,
    test_unreadableOrderGoesToTheFailedQueue,
)
from stompest.testing.sync import LoopbackServer

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_theExampleRunsAsAProgram():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, 'examples', 'testing_order_handler.py')],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert '4 passed' in result.stdout


# -- the quickstart and asyncio programs, against the kit's loopback server --------------------------


def runAgainstLoopback(program: str) -> tuple[str, LoopbackServer]:
    with LoopbackServer() as server:
        env = dict(os.environ, STOMP_URI=server.uri, PYTHONPATH=ROOT + os.pathsep + os.environ.get('PYTHONPATH', ''))
        env.pop('STOMP_HOST', None)
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, 'examples', program)],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
            cwd=ROOT,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout, server


def checkEverythingAcknowledged(server: LoopbackServer) -> None:
    [connection] = server.broker.connections
    [subscribe] = connection.framesOf('SUBSCRIBE')
    queue = subscribe.headers['destination']
    assert server.broker.bodies(queue) == [b'message 1', b'message 2', b'message 3']
    assert len(connection.framesOf('ACK')) == 3
    assert server.broker.pending(queue) == []  # nothing came back when the connection closed
    assert connection.commands()[-1] == 'DISCONNECT'


def test_quickstartSyncStopsOnItsOwnAndSaysWhatItDid():
    output, server = runAgainstLoopback('quickstart_sync.py')
    lines = output.splitlines()
    assert lines[0].startswith(f'connected to tcp://127.0.0.1:{server.port} (STOMP 1.2, session session-1)')
    assert [line for line in lines if line.startswith('received')] == [
        f"received 'message {n}' and acknowledged it" for n in (1, 2, 3)
    ]
    assert lines[-1] == 'disconnected after 3 messages'
    checkEverythingAcknowledged(server)


def test_quickstartTwistedStopsOnItsOwnAndSaysWhatItDid():
    output, server = runAgainstLoopback('quickstart_twisted.py')
    lines = output.splitlines()
    assert lines[0].startswith('connected to tcp://127.0.0.1:')
    assert sorted(line for line in lines if line.startswith('handled')) == [f"handled 'message {n}'" for n in (1, 2, 3)]
    assert lines[-1] == 'disconnected after 3 messages'
    checkEverythingAcknowledged(server)


def test_asyncioApplicationRunsTheTwistedClientOnTheAsyncioLoop():
    output, server = runAgainstLoopback('asyncio_app.py')
    lines = output.splitlines()
    assert [line for line in lines if line.startswith('handled')] == [f"handled 'message {n}'" for n in (1, 2, 3)]
    assert lines[-1] == 'disconnected'
    checkEverythingAcknowledged(server)
