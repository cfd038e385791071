"""stompest.cli.options: the parser, its argument types, the defaults and the environment."""

from __future__ import annotations

import pytest

import stompest
from stompest.cli import options
from stompest.cli.command import EXIT_USAGE

from .helpers import parse, runMain


def test_parsesSendWithRepeatedHeadersAndDefaults():
    args = parse('send', '/queue/a', 'hello', '--header', 'a=1', '--header', 'b=x=y', '--persistent', '--receipt')
    assert (args.command, args.destination, args.body) == ('send', '/queue/a', 'hello')
    assert args.headers == [('a', '1'), ('b', 'x=y')]
    assert args.persistent and args.receipt
    assert args.uri == options.DEFAULT_URI
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


@pytest.mark.parametrize('position', ['before', 'after'])
def test_stompVersionIsTheLongOptionOnly(position):
    argv = ['--stomp-version', '1.1', 'send', '/queue/a', 'x']
    if position == 'after':
        argv = ['send', '/queue/a', 'x', '--stomp-version', '1.1']
    assert parse(*argv).version == '1.1'


def test_versionPrintsStompestsVersionAndExits0():
    status, stdout, stderr = runMain('--version')
    assert (status, stdout.decode(), stderr) == (0, f'stompest {stompest.__version__}\n', '')


def test_versionAfterASubcommandIsNoLongerTheStompVersion():
    status, _, stderr = runMain('send', '/queue/a', 'x', '--version', '1.1')
    assert status == EXIT_USAGE
    assert 'unrecognized arguments: --version 1.1' in stderr


def test_environmentSuppliesUriLoginPasscodeAndHost():
    environ = {
        'STOMP_URI': 'failover:(tcp://a:1,tcp://b:2)',
        'STOMP_LOGIN': 'u',
        'STOMP_PASSCODE': 'p',
        'STOMP_HOST': '/',
    }
    args = parse('send', '/queue/a', 'x', environ=environ)
    assert (args.uri, args.login, args.passcode, args.host) == ('failover:(tcp://a:1,tcp://b:2)', 'u', 'p', '/')
    assert parse('--uri', 'tcp://c:3', 'send', '/queue/a', environ=environ).uri == 'tcp://c:3'


def test_benchWindowDefaultsToTheBoundInFlight():
    assert parse('bench').window == options.DEFAULT_BENCH_WINDOW


@pytest.mark.parametrize(
    'argv',
    [
        ['send', '/queue/a', '--header', 'novalue'],
        ['send', '/queue/a', '--heart-beat', '1000'],
        ['send', '/queue/a', '--heart-beat', '-1,0'],
        ['--stomp-version', '2.0', 'send', '/queue/a'],
        ['listen', '/queue/a', '--ack', 'sometimes'],
        ['listen', '/queue/a', '--count', '0'],
        ['listen', '/queue/a', '--timeout', '-3'],
        ['demo', '--count', 'many'],
        ['bench', '--window', '0'],
        ['bogus'],
        [],
    ],
)
def test_badArgumentsExitWithStatus2AndAUsageMessage(argv):
    status, stdout, stderr = runMain(*argv)
    assert status == EXIT_USAGE
    assert stdout == b''
    assert 'usage: stompest' in stderr and 'error:' in stderr
    assert 'Traceback' not in stderr


def test_helpExitsWith0AndListsTheSubcommands():
    status, stdout, _ = runMain('--help')
    assert status == 0
    text = stdout.decode()
    assert all(name in text for name in ('send', 'listen', 'demo', 'bench', '--version', '--stomp-version'))
