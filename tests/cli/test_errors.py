"""stompest.cli.errors: causes first, then what was tried, with a hint where one helps."""

from __future__ import annotations

import socket
import ssl

import pytest
from twisted.internet import error

from stompest.cli.errors import (
    HINT_CA,
    HINT_LOGIN,
    HINT_NOT_STOMP,
    HINT_OTHER_CA,
    HINT_TLS_PORT,
    HINT_VHOST,
    CliError,
    ConnectFailed,
    describeCause,
    describeError,
)
from stompest.error import StompConnectionError, StompConnectTimeout, StompProtocolError
from stompest.protocol.frame import StompFrame

BROKER = {'protocol': 'tcp', 'host': '127.0.0.1', 'port': 61613}
TLS_BROKER = {'protocol': 'ssl', 'host': '127.0.0.1', 'port': 61614}


def chained(*errors: BaseException) -> BaseException:
    """``errors[0]`` raised from ``errors[1]`` raised from ..., as the clients chain them."""
    for outer, inner in zip(errors, errors[1:], strict=False):
        outer.__cause__ = inner
    return errors[0]


def giveUp(cause: BaseException) -> BaseException:
    return chained(
        StompConnectTimeout('Reconnect timeout: 1 attempts [startupMaxReconnectAttempts=0, ...]'),
        StompConnectionError('Could not connect to tcp://127.0.0.1:61613: ...'),
        cause,
    )


def test_refusedConnectionLeadsWithTheCause():
    exc = giveUp(ConnectionRefusedError(111, 'Connection refused'))
    assert describeCause(exc, BROKER) == ('connection refused by 127.0.0.1:61613', None)


def test_twistedsRefusedConnectionReadsTheSame():
    exc = chained(StompConnectTimeout('Reconnect timeout: 1 attempts'), error.ConnectionRefusedError())
    assert describeCause(exc, BROKER) == ('connection refused by 127.0.0.1:61613', None)


def test_ipv6BrokerIsBracketed():
    exc = giveUp(ConnectionRefusedError(111, 'Connection refused'))
    assert describeCause(exc, {'protocol': 'tcp', 'host': '::1', 'port': 61613})[0] == (
        'connection refused by [::1]:61613'
    )


@pytest.mark.parametrize(('caGiven', 'hint'), [(False, HINT_CA), (True, HINT_OTHER_CA)])
def test_untrustedCertificateHintsAtCa(caGiven, hint):
    verification = ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed')
    verification.verify_message = 'self-signed certificate'
    cause, given = describeCause(giveUp(verification), TLS_BROKER, caGiven=caGiven)
    assert cause == 'certificate of 127.0.0.1:61614 not trusted: self-signed certificate'
    assert given == hint
    assert '--ca' in HINT_CA


def test_untrustedCertificateOfTheTwistedClientHintsAtCa():
    exc = chained(
        StompConnectTimeout('Reconnect timeout'), Exception("[('SSL routines', '', 'certificate verify failed')]")
    )
    assert describeCause(exc, TLS_BROKER) == ('certificate of 127.0.0.1:61614 not trusted', HINT_CA)


def test_unresolvableHostNamesTheHost():
    exc = giveUp(socket.gaierror(-2, 'Name or service not known'))
    broker = {'protocol': 'tcp', 'host': 'broker.invalid', 'port': 61613}
    assert describeCause(exc, broker) == ("cannot resolve the host name 'broker.invalid'", None)


def test_connectTimeoutNamesTheOption():
    exc = giveUp(TimeoutError('timed out'))
    assert describeCause(exc, BROKER, timeout=2) == (
        'no answer from 127.0.0.1:61613 within 2 s [--connect-timeout]',
        None,
    )


def test_missingConnectedFrameAsksWhetherItIsAStompPort():
    exc = chained(
        StompConnectTimeout('Reconnect timeout'),
        StompConnectTimeout('No CONNECTED frame from tcp://127.0.0.1:61613 [connectedTimeout=10]'),
    )
    assert describeCause(exc, BROKER, timeout=10) == (
        'no CONNECTED frame from 127.0.0.1:61613 within 10 s [--connect-timeout]',
        HINT_NOT_STOMP,
    )


def test_closedConnectionOnPlainTcpHintsAtTls():
    exc = giveUp(StompConnectionError('Connection closed by tcp://127.0.0.1:61614'))
    assert describeCause(exc, BROKER) == ('connection closed by 127.0.0.1:61613', HINT_TLS_PORT)


def test_refusedVirtualHostHintsAtHostSlash():
    frame = StompFrame('ERROR', {'message': 'Bad CONNECT'}, b"Virtual host '127.0.0.1' access denied")
    exc = StompProtocolError("Broker refused the connection: 'Bad CONNECT'", frame=frame)
    assert describeCause(exc, BROKER) == (
        "127.0.0.1:61613 refused the connection: Bad CONNECT: Virtual host '127.0.0.1' access denied",
        HINT_VHOST,
    )
    assert '--host /' in HINT_VHOST


def test_refusedLoginHintsAtTheCredentials():
    frame = StompFrame('ERROR', {'message': 'Bad CONNECT'}, b"Access refused for user 'guest'\nmore\n")
    cause, hint = describeCause(StompProtocolError('refused', frame=frame), BROKER)
    assert cause == "127.0.0.1:61613 refused the connection: Bad CONNECT: Access refused for user 'guest'"
    assert hint == HINT_LOGIN


def test_connectFailedSaysWhatWasTriedAfterTheCause():
    failed = ConnectFailed(
        'connection refused by a:1', ['tcp://a:1', 'tcp://b:2', 'tcp://a:1'], ('startupMaxReconnectAttempts', 2)
    )
    assert describeError(failed) == (
        'connection refused by a:1 (tried 3 times: tcp://a:1, tcp://b:2; the URI allows no more '
        '[startupMaxReconnectAttempts=2])'
    )


def test_hintFollowsTheErrorOnTheSameLine():
    assert describeError(CliError('it failed', hint='do this')) == 'it failed; hint: do this'


def test_describeErrorAddsTheBrokersReasonAndTheCause():
    frame = StompFrame('ERROR', {'message': 'Bad CONNECT'}, b"Access refused for user 'guest'\nstack trace line\n")
    assert describeError(StompProtocolError("Broker refused: 'Bad CONNECT'", frame=frame)) == (
        "Broker refused: 'Bad CONNECT': Access refused for user 'guest'"
    )
    exc = chained(StompConnectionError('Connection lost'), ConnectionResetError(104, 'Connection reset by peer'))
    assert describeError(exc) == 'Connection lost ([Errno 104] Connection reset by peer)'
