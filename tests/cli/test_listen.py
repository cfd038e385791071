"""stompest.cli.listen: print, then acknowledge; stop gracefully on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import os
import signal

from stompest.cli.command import EXIT_ERROR

from .fakebroker import FakeBroker
from .helpers import runMain


def queued(broker: FakeBroker, *bodies: bytes) -> FakeBroker:
    for body in bodies:
        broker.queues['/queue/a'].append(({'destination': '/queue/a'}, body))
    return broker


def test_printsThenAcknowledgesEachMessageAndAsksForPrefetchOfCount():
    broker = queued(FakeBroker(), b'one', b'two', b'three')
    try:
        status, stdout, stderr = runMain('listen', '/queue/a', '--count', '2', '--json', '--uri', broker.uri)
    finally:
        broker.close()
    assert (status, stderr) == (0, '')
    assert [json.loads(line)['body'] for line in stdout.splitlines()] == ['one', 'two']
    subscribe = next(frame for frame in broker.frames if frame.command == 'SUBSCRIBE')
    assert (subscribe.headers['ack'], subscribe.headers['activemq.prefetchSize']) == ('client-individual', '2')
    assert broker.commands()[-3:] == ['ACK', 'ACK', 'DISCONNECT']


def test_countNotReachedWithinTimeoutIsAnError():
    broker = FakeBroker()
    try:
        status, _, stderr = runMain('listen', '/queue/a', '--count', '1', '--timeout', '0.2', '--uri', broker.uri)
    finally:
        broker.close()
    assert status == EXIT_ERROR
    assert stderr == "stompest: error: Only 0 of 1 messages arrived on '/queue/a' [--timeout=0.2]\n"


def test_sigintWhileListeningDisconnectsGracefullyAndExits130():
    def onFrame(frame):
        if frame.command == 'ACK':  # the first message was printed: now the user presses Ctrl-C
            os.kill(os.getpid(), signal.SIGINT)

    broker = queued(FakeBroker(onFrame=onFrame), b'one')
    try:
        status, stdout, stderr = runMain('listen', '/queue/a', '--uri', broker.uri)
    finally:
        broker.close()
    assert (status, stderr) == (130, '')
    assert stdout.startswith(b'destination:/queue/a\n') and stdout.endswith(b'message-id:m1\nack:a1\n\none\n\n')
    assert broker.commands() == ['CONNECT', 'SUBSCRIBE', 'ACK', 'DISCONNECT']
