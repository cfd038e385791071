"""stompest.cli.send: bodies from the command line, a file or stdin; a graceful stop."""

from __future__ import annotations

import os
import signal

import pytest

from stompest.cli.command import EXIT_ERROR

from .fakebroker import FakeBroker
from .helpers import closedPort, runMain


@pytest.fixture
def broker():
    broker = FakeBroker()
    yield broker
    broker.close()


def sent(broker: FakeBroker) -> list[tuple[str, bytes]]:
    return [(frame.headers.get('persistent', ''), frame.body) for frame in broker.frames if frame.command == 'SEND']


def test_sendsOneMessagePerLineOfStdinAndDisconnectsWithAReceipt(broker):
    status, stdout, stderr = runMain(
        'send', '/queue/a', '--uri', broker.uri, '--persistent', stdin=b'one\ntwo\r\nthree'
    )
    assert (status, stdout) == (0, b'')
    assert stderr == "stompest: sent 3 messages to '/queue/a'\n"
    assert sent(broker) == [('true', b'one'), ('true', b'two'), ('true', b'three')]
    assert broker.commands()[-1] == 'DISCONNECT' and 'receipt' in broker.frames[-1].headers


def test_sendsAFileAsOneBinaryBody(broker, tmp_path):
    path = tmp_path / 'body.bin'
    path.write_bytes(b'\x00\xff\x00')
    status, _, _ = runMain('send', '/queue/a', '--file', str(path), '--uri', broker.uri, '--receipt')
    assert status == 0
    assert sent(broker) == [('', b'\x00\xff\x00')]


def test_unreadableFileGivesOneErrorLineBeforeConnecting(tmp_path):
    missing = tmp_path / 'missing.bin'
    status, _, stderr = runMain('send', '--file', str(missing), '--uri', f'tcp://127.0.0.1:{closedPort()}', '/queue/a')
    assert status == EXIT_ERROR
    assert stderr.startswith(f"stompest: error: Cannot read {str(missing)!r}")
    assert stderr.count('\n') == 1


class SignallingStdin:
    """Lines of stdin; sends this process ``signum`` when the test's last line was read, so the
    next read (a wait for input that the first signal interrupts) ends the command."""

    def __init__(self, lines: list[bytes], signum: int) -> None:
        self._lines = list(lines)
        self._signum = signum

    def __iter__(self):
        return self

    def __next__(self) -> bytes:
        if not self._lines:
            os.kill(os.getpid(), self._signum)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])  # the handler runs here, inside the wait
            raise AssertionError('the stop signal did not end the wait for stdin')
        return self._lines.pop(0)


def test_sigtermWhileWaitingForStdinDisconnectsAndExits143(broker):
    status, _, stderr = runMain(
        'send', '/queue/a', '--uri', broker.uri, stdin=SignallingStdin([b'one\n', b'two\n'], signal.SIGTERM)
    )
    assert status == 128 + signal.SIGTERM
    assert stderr == "stompest: sent 2 messages to '/queue/a'\n"
    assert [body for _, body in sent(broker)] == [b'one', b'two']
    assert broker.commands()[-1] == 'DISCONNECT'
