"""The ``stompest`` command without a broker: argument parsing, output formats, the one-line
errors (an unreachable broker on a closed 127.0.0.1 port, a fake broker that refuses the login)
and the passcode, which must never show, not even in ``-v`` frame logs."""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import threading

import pytest

from stompest import cli
from stompest.error import StompConnectTimeout, StompProtocolError
from stompest.protocol.frame import StompFrame

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = 'sup3r-s3cret-passcode'


def parse(*argv: str, environ: dict[str, str] | None = None):
    return cli._resolve(cli.buildParser().parse_args(list(argv)), environ or {})


def closedPort() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def runMain(*argv: str, environ: dict[str, str] | None = None, stdin: bytes = b'') -> tuple[int, bytes, str]:
    stdout, stderr = io.BytesIO(), io.StringIO()
    status = cli.main(list(argv), environ=environ or {}, stdin=io.BytesIO(stdin), stdout=stdout, stderr=stderr)
    return status, stdout.getvalue(), stderr.getvalue()


class FakeBroker:
    """Accepts one connection on 127.0.0.1, reads the CONNECT frame and answers with ``reply``."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.received = b''
        self._server = socket.create_server(('127.0.0.1', 0))
        self._server.settimeout(10)
        self.port = self._server.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        try:
            connection, _ = self._server.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(10)
            while b'\x00' not in self.received:
                data = connection.recv(4096)
                if not data:
                    return
                self.received += data
            connection.sendall(self.reply)

    def close(self) -> None:
        self._server.close()
        self._thread.join(10)


@pytest.fixture
def refusingBroker():
    broker = FakeBroker(b"ERROR\nmessage:Bad CONNECT\ncontent-type:text/plain\n\n"
                        b"Access refused for user 'guest'\n\x00\n")
    yield broker
    broker.close()


# argument parsing

def test_parsesSendWithRepeatedHeadersAndDefaults():
    args = parse('send', '/queue/a', 'hello', '--header', 'a=1', '--header', 'b=x=y', '--persistent', '--receipt')
    assert (args.command, args.destination, args.body) == ('send', '/queue/a', 'hello')
    assert args.headers == [('a', '1'), ('b', 'x=y')]
    assert args.persistent and args.receipt
    assert args.uri == cli.DEFAULT_URI
    assert args.version == '1.2'
    assert (args.login, args.passcode, args.heartBeats, args.host) == (None, None, None, None)


def test_connectionOptionsWorkBeforeAndAfterTheSubcommand():
    before = parse('--uri', 'tcp://a:1', '--heart-beat', '1000,2000', 'listen', '/queue/a')
    after = parse('listen', '/queue/a', '--uri', 'tcp://a:1', '--heart-beat', '1000,2000')
    for args in (before, after):
        assert args.uri == 'tcp://a:1'
        assert args.heartBeats == (1000, 2000)


def test_optionBeforeTheSubcommandIsNotOverwrittenByTheSubcommandsDefault():
    args = parse('--login', 'me', '-v', 'send', '/queue/a', 'x')
    assert args.login == 'me'
    assert args.verbose is True


@pytest.mark.parametrize('option', ['--stomp-version', '--version'])
def test_stompVersionOptionAndItsAlias(option):
    assert parse(option, '1.1', 'send', '/queue/a', 'x').version == '1.1'


def test_environmentSuppliesUriLoginPasscodeAndHost():
    environ = {
        'STOMP_URI': 'failover:(tcp://a:1,tcp://b:2)', 'STOMP_LOGIN': 'u', 'STOMP_PASSCODE': 'p', 'STOMP_HOST': '/',
    }
    args = parse('send', '/queue/a', 'x', environ=environ)
    assert (args.uri, args.login, args.passcode, args.host) == ('failover:(tcp://a:1,tcp://b:2)', 'u', 'p', '/')
    assert parse('--uri', 'tcp://c:3', 'send', '/queue/a', environ=environ).uri == 'tcp://c:3'


@pytest.mark.parametrize('argv', [
    ['send', '/queue/a', '--header', 'novalue'],
    ['send', '/queue/a', '--heart-beat', '1000'],
    ['send', '/queue/a', '--heart-beat', '-1,0'],
    ['--version', '2.0', 'send', '/queue/a'],
    ['listen', '/queue/a', '--ack', 'sometimes'],
    ['listen', '/queue/a', '--count', '0'],
    ['listen', '/queue/a', '--timeout', '-3'],
    ['demo', '--count', 'many'],
    ['bogus'],
    [],
])
def test_badArgumentsExitWithStatus2AndAUsageMessage(argv):
    status, stdout, stderr = runMain(*argv)
    assert status == cli.EXIT_USAGE
    assert stdout == b''
    assert 'usage: stompest' in stderr and 'error:' in stderr
    assert 'Traceback' not in stderr


def test_helpExitsWith0(capsys):
    assert cli.main(['--help']) == 0
    assert 'send' in capsys.readouterr().out


def test_demoRefusesMorePoisonThanMessagesBeforeConnecting():
    status, _, stderr = runMain('demo', '--count', '3', '--poison', '4', '--uri', f'tcp://127.0.0.1:{closedPort()}')
    assert status == cli.EXIT_ERROR
    assert stderr == 'stompest: error: --poison (4) cannot exceed --count (3)\n'


# output formats

def test_jsonOutputKeepsUtf8BodiesAsText():
    frame = StompFrame('MESSAGE', {'destination': '/queue/a', 'x': 'ä'}, 'grüße'.encode())
    record = json.loads(cli.formatMessage(frame, asJson=True))
    assert record == {'headers': {'destination': '/queue/a', 'x': 'ä'}, 'body': 'grüße', 'bodyEncoding': 'utf-8'}


def test_jsonOutputEncodesBinaryBodiesAsBase64():
    frame = StompFrame('MESSAGE', {'destination': '/queue/a'}, b'\xff\x00\x01')
    line = cli.formatMessage(frame, asJson=True)
    assert line.endswith(b'\n') and line.count(b'\n') == 1
    record = json.loads(line)
    assert record['bodyEncoding'] == 'base64'
    assert record['body'] == '/wAB'


def test_textOutputIsHeadersBlankLineBody():
    frame = StompFrame('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1'}, b'hi\x00there')
    assert cli.formatMessage(frame, asJson=False) == b'destination:/queue/a\nmessage-id:m1\n\nhi\x00there\n\n'


def test_tableAlignsColumns():
    assert cli.formatTable([('sent', '10'), ('lost', '0')]) == 'sent  10\nlost   0\n'


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progressBarRedrawsInPlaceAtMostEveryInterval():
    stream, clock = io.StringIO(), FakeClock()
    bar = cli.ProgressBar(stream, 10, width=10, interval=0.1, clock=clock, live=True)
    bar.update(1, 'one')
    bar.update(2, 'two')  # same instant: skipped
    clock.now = 0.2
    bar.update(5, 'five')
    bar.finish(10, 'done')
    assert stream.getvalue() == (
        '\r[#.........]  10.0% one'
        '\r[#####.....]  50.0% five'
        '\r[##########] 100.0% done\n'
    )


def test_progressBarOffATerminalDrawsOnlyTheFinalLine():
    stream = io.StringIO()  # not a terminal
    bar = cli.ProgressBar(stream, 4, width=4)
    for done in range(5):
        bar.update(done, f'{done}')
    bar.finish(4, 'done')
    assert stream.getvalue() == '\r[####] 100.0% done\n'


# errors

def test_describeErrorAddsTheBrokersReasonAndTheCause():
    frame = StompFrame('ERROR', {'message': 'Bad CONNECT'}, b"Access refused for user 'guest'\nstack trace line\n")
    assert cli.describeError(StompProtocolError("Broker refused: 'Bad CONNECT'", frame=frame)) == (
        "Broker refused: 'Bad CONNECT': Access refused for user 'guest'"
    )
    try:
        try:
            raise ConnectionRefusedError(111, 'Connection refused')
        except OSError as cause:
            raise StompConnectTimeout('Reconnect timeout: 1 attempts') from cause
    except StompConnectTimeout as exc:
        assert cli.describeError(exc) == 'Reconnect timeout: 1 attempts ([Errno 111] Connection refused)'


def test_unreachableBrokerGivesOneErrorLineAndStatus1():
    status, stdout, stderr = runMain('send', '--uri', f'tcp://127.0.0.1:{closedPort()}', '/queue/a', 'hi')
    assert status == cli.EXIT_ERROR
    assert stdout == b''
    assert stderr.count('\n') == 1
    assert stderr.startswith('stompest: error: ')
    assert 'Connection refused' in stderr


@pytest.mark.parametrize('verbose', [[], ['-v']])
def test_mainLeavesTheProcessLoggingAsItFoundIt(verbose):
    logger = logging.getLogger('stompest')
    before = (logger.level, logger.propagate, list(logger.handlers))
    runMain(*verbose, 'send', '--uri', f'tcp://127.0.0.1:{closedPort()}', '/queue/a', 'hi')
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


def test_unreadableFileGivesOneErrorLineBeforeConnecting(tmp_path):
    missing = tmp_path / 'missing.bin'
    status, _, stderr = runMain('send', '--file', str(missing), '--uri', f'tcp://127.0.0.1:{closedPort()}', '/queue/a')
    assert status == cli.EXIT_ERROR
    assert stderr.startswith(f"stompest: error: Cannot read {str(missing)!r}")
    assert stderr.count('\n') == 1


def test_refusedLoginGivesOneErrorLineWithTheBrokersReason(refusingBroker):
    status, _, stderr = runMain('listen', '/queue/a', '--uri', f'tcp://127.0.0.1:{refusingBroker.port}',
                                '--login', 'guest', '--passcode', SECRET)
    assert status == cli.EXIT_ERROR
    assert stderr.count('\n') == 1
    assert stderr.startswith('stompest: error: ')
    assert "Access refused for user 'guest'" in stderr
    assert SECRET in refusingBroker.received.decode()  # it was sent to the broker ...
    assert SECRET not in stderr                         # ... and shown nowhere


def test_passcodeNeverShowsInFrameLogs(refusingBroker):
    status, stdout, stderr = runMain('-v', 'send', '/queue/a', 'x', '--uri', f'tcp://127.0.0.1:{refusingBroker.port}',
                                     environ={'STOMP_LOGIN': 'guest', 'STOMP_PASSCODE': SECRET})
    assert status == cli.EXIT_ERROR
    assert 'DEBUG stompest' in stderr and 'CONNECT frame' in stderr  # -v logged the frames
    assert SECRET not in stderr and SECRET.encode() not in stdout
    assert stderr.splitlines()[-1].startswith('stompest: error: ')


def test_passcodeIsMaskedEvenWhenTheBrokerEchoesIt():
    echoing = FakeBroker(f'ERROR\nmessage:bad passcode {SECRET}\n\nbad passcode {SECRET}\x00'.encode())
    try:
        status, _, stderr = runMain('-v', 'send', '/queue/a', 'x', '--uri', f'tcp://127.0.0.1:{echoing.port}',
                                    '--passcode', SECRET)
    finally:
        echoing.close()
    assert status == cli.EXIT_ERROR
    assert SECRET not in stderr
    assert 'bad passcode ********' in stderr.splitlines()[-1]


def test_keyboardInterruptExits130Quietly(monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, 'run', interrupted)
    assert runMain('send', '/queue/a', 'x') == (cli.EXIT_INTERRUPTED, b'', '')


def test_moduleEntryPointPrintsOneLineAndNoTraceback():
    env = {key: value for key, value in os.environ.items() if not key.startswith('STOMP_')}
    done = subprocess.run(
        [sys.executable, '-m', 'stompest', 'send', '--uri', f'tcp://127.0.0.1:{closedPort()}', '/queue/a', 'hi'],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 1
    assert done.stdout == ''
    assert done.stderr.startswith('stompest: error: ') and done.stderr.count('\n') == 1
    assert 'Traceback' not in done.stderr
