"""stompest.cli.bench: a bounded number of messages in flight, consuming while producing, and
an empty queue after a stop."""

from __future__ import annotations

import os
import signal

from stompest.cli.command import EXIT_ERROR

from .fakebroker import FakeBroker
from .helpers import runMain


def table(stdout: bytes) -> dict[str, str]:
    return dict(line.rsplit(None, 1) for line in stdout.decode().splitlines())


def test_consumesWhileProducingWithAtMostWindowInFlight():
    broker = FakeBroker()
    try:
        status, stdout, stderr = runMain(
            'bench',
            '--count',
            '100',
            '--size',
            '10',
            '--window',
            '10',
            '--destination',
            '/queue/b',
            '--uri',
            broker.uri,
        )
    finally:
        broker.close()
    assert status == 0, stderr
    rows = table(stdout)
    assert (rows['messages produced'], rows['messages consumed'], rows['bytes consumed']) == ('100', '100', '1,000')
    assert 1 <= int(rows['most in flight']) <= 10
    assert broker.commands().count('SEND') == 100
    assert broker.queues['/queue/b'] == type(broker.queues['/queue/b'])()  # nothing left


def test_sendsNoMoreThanTheWindowBeforeMessagesComeBack():
    broker = FakeBroker(deliverAt=11)  # holds the messages: a bench that kept sending would get them
    try:
        status, stdout, stderr = runMain(
            'bench',
            '--count',
            '50',
            '--window',
            '10',
            '--timeout',
            '0.3',
            '--destination',
            '/queue/b',
            '--uri',
            broker.uri,
        )
    finally:
        broker.close()
    assert status == EXIT_ERROR
    assert stderr.splitlines()[-1] == 'stompest: error: Only 0 of 50 messages came back [--timeout=0.3]'
    assert broker.commands().count('SEND') == 10
    assert table(stdout)['most in flight'] == '10'


def test_sigtermStopsSendingAndConsumesWhatIsLeftBeforeDisconnecting():
    sends = []

    def onFrame(frame):
        if frame.command == 'SEND':
            sends.append(frame)
            if len(sends) == 30:
                os.kill(os.getpid(), signal.SIGTERM)

    broker = FakeBroker(onFrame=onFrame)
    try:
        status, stdout, stderr = runMain(
            'bench', '--count', '100000', '--window', '20', '--destination', '/queue/b', '--uri', broker.uri
        )
    finally:
        broker.close()
    assert status == 128 + signal.SIGTERM
    rows = table(stdout)
    produced = int(rows['messages produced'])
    assert 30 <= produced <= 50
    assert "nothing left on '/queue/b'" in stderr
    assert broker.commands()[-1] == 'DISCONNECT'
    assert rows['messages consumed'] == rows['messages produced']
