"""stompest.cli.command: the error line, exit statuses, logging, the passcode, the entry points."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading

import pytest

from stompest.cli import command
from stompest.cli.command import EXIT_ERROR, EXIT_INTERRUPTED

from .fakebroker import FakeBroker, wire
from .helpers import closedPort, runMain

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = 'sup3r-s3cret-passcode'


@pytest.fixture
def refusingBroker():
    broker = FakeBroker(
        refuse=wire(
            'ERROR', {'message': 'Bad CONNECT', 'content-type': 'text/plain'}, b"Access refused for user 'guest'\n"
        )
    )
    yield broker
    broker.close()


def cleanEnvironment() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith('STOMP_')}


def test_unreachableBrokerGivesOneErrorLineLeadingWithTheCause():
    port = closedPort()
    status, stdout, stderr = runMain('send', '--uri', f'tcp://127.0.0.1:{port}', '/queue/a', 'hi')
    assert (status, stdout) == (EXIT_ERROR, b'')
    assert stderr == (f'stompest: error: connection refused by 127.0.0.1:{port} (tried tcp://127.0.0.1:{port} once)\n')


def test_everyFailedAttemptThatIsRetriedPrintsOneLine():
    first, second = closedPort(), closedPort()
    uri = (
        f'failover:(tcp://127.0.0.1:{first},tcp://127.0.0.1:{second})'
        '?randomize=false,startupMaxReconnectAttempts=3,initialReconnectDelay=1,useExponentialBackOff=false'
    )
    status, _, stderr = runMain('send', '--uri', uri, '/queue/a', 'hi')
    lines = stderr.splitlines()
    assert status == EXIT_ERROR
    assert [line.split(';')[0] for line in lines[:-1]] == [
        f'stompest: attempt 1 failed: connection refused by 127.0.0.1:{first}',
        f'stompest: attempt 2 failed: connection refused by 127.0.0.1:{second}',
        f'stompest: attempt 3 failed: connection refused by 127.0.0.1:{first}',
    ]
    assert lines[-1].startswith(f'stompest: error: connection refused by 127.0.0.1:{second} (tried 4 times: ')


@pytest.mark.parametrize('verbose', [[], ['-v']])
def test_mainLeavesTheProcessLoggingAndSignalHandlersAsItFoundThem(verbose):
    logger = logging.getLogger('stompest')
    before = (
        logger.level,
        logger.propagate,
        list(logger.handlers),
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGTERM),
    )
    runMain(*verbose, 'send', '--uri', f'tcp://127.0.0.1:{closedPort()}', '/queue/a', 'hi')
    assert (
        logger.level,
        logger.propagate,
        list(logger.handlers),
        signal.getsignal(signal.SIGINT),
        signal.getsignal(signal.SIGTERM),
    ) == before


def test_refusedLoginGivesOneErrorLineWithTheBrokersReasonAndAHint(refusingBroker):
    status, _, stderr = runMain(
        'listen', '/queue/a', '--uri', refusingBroker.uri, '--login', 'guest', '--passcode', SECRET
    )
    assert status == EXIT_ERROR
    assert stderr == (
        f"stompest: error: 127.0.0.1:{refusingBroker.port} refused the connection: Bad CONNECT: "
        f"Access refused for user 'guest' (tried {refusingBroker.uri} once); "
        "hint: check --login and the passcode ($STOMP_PASSCODE)\n"
    )
    assert SECRET in refusingBroker.received.decode()  # it was sent to the broker ...
    assert SECRET not in stderr  # ... and shown nowhere


def test_passcodeNeverShowsInFrameLogs(refusingBroker):
    status, stdout, stderr = runMain(
        '-v',
        'send',
        '/queue/a',
        'x',
        '--uri',
        refusingBroker.uri,
        environ={'STOMP_LOGIN': 'guest', 'STOMP_PASSCODE': SECRET},
    )
    assert status == EXIT_ERROR
    assert 'DEBUG stompest' in stderr and 'CONNECT frame' in stderr  # -v logged the frames
    assert SECRET not in stderr and SECRET.encode() not in stdout
    assert stderr.splitlines()[-1].startswith('stompest: error: ')


def test_passcodeIsMaskedEvenWhenTheBrokerEchoesIt():
    echoing = FakeBroker(refuse=f'ERROR\nmessage:bad passcode {SECRET}\n\nbad passcode {SECRET}\x00'.encode())
    try:
        status, _, stderr = runMain('-v', 'send', '/queue/a', 'x', '--uri', echoing.uri, '--passcode', SECRET)
    finally:
        echoing.close()
    assert status == EXIT_ERROR
    assert SECRET not in stderr
    assert 'bad passcode ********' in stderr.splitlines()[-1]


def test_keyboardInterruptExits130Quietly(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, 'run', interrupted)
    assert runMain('send', '/queue/a', 'x') == (EXIT_INTERRUPTED, b'', '')


def test_demoRefusesMorePoisonThanMessagesBeforeConnecting():
    status, _, stderr = runMain('demo', '--count', '3', '--poison', '4', '--uri', f'tcp://127.0.0.1:{closedPort()}')
    assert status == EXIT_ERROR
    assert stderr == 'stompest: error: --poison (4) cannot exceed --count (3)\n'


def test_moduleEntryPointPrintsOneLineAndNoTraceback():
    done = subprocess.run(
        [sys.executable, '-m', 'stompest', 'send', '--uri', f'tcp://127.0.0.1:{closedPort()}', '/queue/a', 'hi'],
        cwd=ROOT,
        env=cleanEnvironment(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert done.stdout == ''
    assert done.stderr.startswith('stompest: error: connection refused by ') and done.stderr.count('\n') == 1


def test_moduleEntryPointPrintsItsVersion():
    done = subprocess.run(
        [sys.executable, '-m', 'stompest', '--version'],
        cwd=ROOT,
        env=cleanEnvironment(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    import stompest

    assert (done.returncode, done.stdout, done.stderr) == (0, f'stompest {stompest.__version__}\n', '')


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT], ids=['SIGTERM', 'SIGINT'])
def test_signalToAListeningProcessDisconnectsWithoutATraceback(signum):
    subscribed = threading.Event()
    broker = FakeBroker(onFrame=lambda frame: subscribed.set() if frame.command == 'SUBSCRIBE' else None)
    try:
        process = subprocess.Popen(
            [sys.executable, '-m', 'stompest', 'listen', '/queue/a', '--uri', broker.uri],
            cwd=ROOT,
            env=cleanEnvironment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert subscribed.wait(60), 'the command did not subscribe'
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
    finally:
        broker.close()
    assert (process.returncode, stdout, stderr) == (128 + signum, '', '')
    assert broker.commands() == ['CONNECT', 'SUBSCRIBE', 'DISCONNECT']
