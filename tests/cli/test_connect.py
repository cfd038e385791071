"""stompest.cli.connect: the walk over the failover URI, one line per failed attempt, receipts."""

from __future__ import annotations

import argparse

import pytest

from stompest.cli.connect import BrokerWalk, connectSync, sleepUnlessStopped
from stompest.cli.errors import HINT_VHOST, ConnectFailed
from stompest.cli.signals import Stopped, StopSignals

from .fakebroker import FakeBroker, wire
from .helpers import closedPort, parse


def refused() -> ConnectionRefusedError:
    return ConnectionRefusedError(111, 'Connection refused')


def test_walkReportsEachFailedAttemptThatIsFollowedByAnother():
    lines: list[str] = []
    walk = BrokerWalk(
        'failover:(tcp://a:1,tcp://b:2)?randomize=false,startupMaxReconnectAttempts=2,'
        'initialReconnectDelay=10,useExponentialBackOff=false',
        lines.append,
    )
    tried = []
    with pytest.raises(ConnectFailed) as failed:
        while True:
            broker, delay = walk.next()
            tried.append((broker['host'], delay))
            walk.failed(broker, refused())
    assert tried == [('a', 0.0), ('b', 0.01), ('a', 0.01)]
    assert lines == [
        'attempt 1 failed: connection refused by a:1; attempt 2 (tcp://b:2) in 0.01 s',
        'attempt 2 failed: connection refused by b:2; attempt 3 (tcp://a:1) in 0.01 s',
    ]
    assert str(failed.value) == (
        'connection refused by a:1 (tried 3 times: tcp://a:1, tcp://b:2; the URI allows no more '
        '[startupMaxReconnectAttempts=2])'
    )


def test_plainUriIsTriedOnceWithoutAnAttemptLine():
    lines: list[str] = []
    walk = BrokerWalk('tcp://127.0.0.1:61613', lines.append)
    broker, _ = walk.next()
    walk.failed(broker, refused())
    with pytest.raises(ConnectFailed) as failed:
        walk.next()
    assert lines == []
    assert str(failed.value) == 'connection refused by 127.0.0.1:61613 (tried tcp://127.0.0.1:61613 once)'


def args(*argv: str) -> argparse.Namespace:
    return parse(*argv, 'send', '/queue/a', 'x')


def test_connectSyncGivesUpOnClosedPortsWithTheCause():
    lines: list[str] = []
    first, second = closedPort(), closedPort()
    uri = f'failover:(tcp://127.0.0.1:{first},tcp://127.0.0.1:{second})?randomize=false,initialReconnectDelay=1'
    with pytest.raises(ConnectFailed) as failed:
        connectSync(args('--uri', uri), StopSignals(), lines.append)
    assert lines == [
        f'attempt 1 failed: connection refused by 127.0.0.1:{first}; attempt 2 (tcp://127.0.0.1:{second}) in 0.001 s'
    ]
    assert str(failed.value).startswith(f'connection refused by 127.0.0.1:{second} (tried 2 times: ')


def test_refusedVirtualHostIsNotRetriedAndHintsAtHostSlash():
    broker = FakeBroker(refuse=wire('ERROR', {'message': 'Bad CONNECT'}, b"Virtual host '127.0.0.1' access denied"))
    try:
        uri = f'failover:(tcp://127.0.0.1:{broker.port},tcp://127.0.0.1:{closedPort()})?randomize=false'
        with pytest.raises(ConnectFailed) as failed:
            connectSync(args('--uri', uri), StopSignals(), [].append)
    finally:
        broker.close()
    assert failed.value.hint == HINT_VHOST
    assert failed.value.attempts == [f'tcp://127.0.0.1:{broker.port}']
    assert broker.commands() == ['CONNECT']


def test_connectSyncReturnsAConnectedClient():
    broker = FakeBroker()
    try:
        client = connectSync(args('--uri', broker.uri), StopSignals(), [].append)
        client.close()
    finally:
        broker.close()
    assert broker.commands()[0] == 'CONNECT'
    assert broker.frames[0].headers['host'] == '127.0.0.1'


def test_sleepBetweenAttemptsEndsAtAStopRequest():
    stop, slept = StopSignals(), []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        stop.request(15)

    with pytest.raises(Stopped) as stopped:
        sleepUnlessStopped(60.0, stop, sleep)
    assert (slept, stopped.value.signum, stopped.value.forced) == ([0.1], 15, False)
