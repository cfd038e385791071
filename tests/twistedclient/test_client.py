"""Connecting: CONNECT/CONNECTED, version and heart-beat negotiation, timeouts, failover, ERROR."""

from __future__ import annotations

import random

from twisted.internet.testing import StringTransport

from stompest.config import StompConfig
from stompest.error import (
    StompAlreadyRunningError,
    StompCancelledError,
    StompConnectionError,
    StompConnectTimeout,
    StompProtocolError,
)
from stompest.protocol.failover import StompFailoverTransport
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from stompest.twisted import Stomp

from . import helpers
from .helpers import FakeBroker, StaticResolver, assertNoResult, failureOf, sentFrames, successOf

URI = 'tcp://broker.invalid:61613'


def makeClient(reactor, uri: str = URI, version: str = '1.2', **kwargs):
    """The shared builder, logging in (the CONNECT and log tests look for the login and passcode)."""
    return helpers.makeClient(reactor, uri, version, login='user', passcode='secret', **kwargs)


def test_connectSendsConnectAndFiresWithTheClientOnConnected(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(heartBeats=(0, 0), host='vhost')
    assertNoResult(connecting)
    assert [a.broker for a in endpoints.attempts] == [{'protocol': 'tcp', 'host': 'broker.invalid', 'port': 61613}]
    link = endpoints.attempts[0].succeed(FakeBroker(version='1.1'))
    assert successOf(connecting) is client
    connect = link.broker.frames[0]
    assert connect.command == StompSpec.CONNECT
    assert connect.headers['accept-version'] == '1.0,1.1,1.2'
    assert connect.headers['host'] == 'vhost'
    assert connect.headers['login'] == 'user'
    assert client.session.version == '1.1'
    assert client.session.id == 'session-1'
    assert client.session.state == client.session.CONNECTED
    assertNoResult(client.disconnected)
    disconnecting = client.disconnect()
    link.pump()
    assert link.broker.commands() == ['CONNECT', 'DISCONNECT']
    assert successOf(disconnecting) is None
    assert successOf(client.disconnected) is None


def test_pure10ConnectCarriesNoDefaultHost(reactor):
    # 1.0 has no host header; RabbitMQ would read one as a virtual host and refuse the broker's name.
    endpoints, client = makeClient(reactor)
    client.connect(versions=[StompSpec.VERSION_1_0])
    link = endpoints.attempts[0].succeed()
    assert 'host' not in link.broker.frames[0].headers
    client.dropConnection()
    link.pump()


def test_hostDefaultsToTheBrokerHostName(reactor):
    endpoints, client = makeClient(reactor)
    client.connect()
    link = endpoints.attempts[0].succeed()
    assert link.broker.frames[0].headers['host'] == 'broker.invalid'
    client.dropConnection()
    link.pump()


def test_connectedTimeoutFailsWithStompCancelledError(reactor):
    # The style guide's example: the default endpoint on a MemoryReactorClock.
    reactor.installNameResolver(StaticResolver({'broker.invalid': ['192.0.2.9']}))
    client = Stomp(StompConfig(URI), reactor=reactor)
    connecting = client.connect(connectedTimeout=5)
    host, port, factory, timeout, bindAddress = reactor.tcpClients[0]
    assert (host, port) == ('192.0.2.9', 61613)
    protocol = factory.buildProtocol(None)
    transport = StringTransport()
    protocol.makeConnection(transport)
    assert transport.value().startswith(b'CONNECT\n')
    reactor.advance(4.9)
    assertNoResult(connecting)
    reactor.advance(0.1)
    failureOf(connecting, StompCancelledError)
    assert transport.disconnecting
    assert client.session.state == client.session.DISCONNECTED
    assert client.disconnected is None


def test_connectTimeoutPerAttemptThenStompConnectTimeoutWhenFailoverIsExhausted(reactor):
    endpoints, client = makeClient(
        reactor,
        'failover:(tcp://a:61613,tcp://b:61613)?randomize=false,maxReconnectAttempts=1,initialReconnectDelay=100',
    )
    connecting = client.connect(connectTimeout=2)
    assert [a.timeout for a in endpoints.attempts] == [2]
    reactor.advance(2)
    assert endpoints.attempts[0].cancelled
    assert len(endpoints.attempts) == 1  # waits initialReconnectDelay before the next one
    reactor.advance(0.099)
    assert len(endpoints.attempts) == 1
    reactor.advance(0.001)
    assert [a.broker['host'] for a in endpoints.attempts] == ['a', 'b']
    reactor.advance(2)
    failure = failureOf(connecting, StompConnectTimeout)
    assert isinstance(failure.value.__cause__, StompConnectTimeout)  # the last attempt's timeout


def test_failoverWalksBrokersWithDelaysUntilOneAccepts(reactor):
    endpoints, client = makeClient(
        reactor,
        'failover:(tcp://a:1,tcp://b:2,tcp://c:3)?initialReconnectDelay=100,startupMaxReconnectAttempts=5',
        rng=random.Random(3),
    )
    connecting = client.connect()
    times = []
    for _ in range(3):
        times.append(reactor.seconds())
        endpoints.attempts[-1].fail()
        reactor.advance(reactor.getDelayedCalls()[0].getTime() - reactor.seconds())
    assert [round(t, 3) for t in times] == [0.0, 0.1, 0.3]
    assert len(endpoints.attempts) == 4
    link = endpoints.attempts[-1].succeed()
    assert successOf(connecting) is client
    # the same seed walks the same brokers
    schedule = StompFailoverTransport(
        'failover:(tcp://a:1,tcp://b:2,tcp://c:3)?initialReconnectDelay=100,startupMaxReconnectAttempts=5',
        rng=random.Random(3),
    )
    expected = [broker['host'] for (broker, delay), _ in zip(schedule, range(4), strict=False)]
    assert [a.broker['host'] for a in endpoints.attempts] == expected
    client.dropConnection()
    link.pump()


def test_disconnectWhileWaitingBetweenAttemptsCancelsTheConnect(reactor):
    endpoints, client = makeClient(
        reactor, 'failover:(tcp://a:1)?initialReconnectDelay=1000,startupMaxReconnectAttempts=-1'
    )
    connecting = client.connect()
    endpoints.attempts[0].fail()
    assert len(reactor.getDelayedCalls()) == 1
    assert successOf(client.disconnect()) is None
    failureOf(connecting)


def test_connectTwiceIsRefused(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    failureOf(client.connect(), StompAlreadyRunningError)
    endpoints.attempts[0].fail()
    failureOf(connecting, StompConnectTimeout)  # one pass over the brokers at startup


def test_heartBeatsAreNegotiated(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(heartBeats=(1000, 2000))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(3000, 500)))
    successOf(connecting)
    assert link.broker.frames[0].headers['heart-beat'] == '1000,2000'
    assert (client.session.clientHeartBeat, client.session.serverHeartBeat) == (1000, 3000)
    client.dropConnection()
    link.pump()


def test_versionOneZeroBrokerWithoutVersionHeader(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(heartBeats=(1000, 1000))
    link = endpoints.attempts[0].succeed(FakeBroker(version='1.0'))
    successOf(connecting)
    assert client.session.version == '1.0'
    assert client.session.clientHeartBeat == 0  # no heart-beats in 1.0
    client.disconnect()
    link.pump()


def test_refusedLoginFailsConnectWithStompProtocolErrorAndClosesAtOnce(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(connectedTimeout=10)
    link = endpoints.attempts[0].succeed(FakeBroker(refuse='Access refused for user'))
    failure = failureOf(connecting, StompProtocolError)
    assert failure.value.frame.command == 'ERROR'
    assert failure.value.frame.headers['message'] == 'Access refused for user'
    assert link.closed  # we closed it ourselves (RabbitMQ would keep it open for 10 s)


def test_errorFrameAfterConnectErrsBackDisconnected(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    link = endpoints.attempts[0].succeed()
    successOf(connecting)
    link.broker.write(StompFrame('ERROR', {'message': 'bad destination'}, b'details'))
    link.pump()
    failure = failureOf(client.disconnected, StompProtocolError)
    assert failure.value.frame.headers['message'] == 'bad destination'
    assert link.closed
    assert client.session.state == client.session.DISCONNECTED


def test_connectionLostErrsBackDisconnectedWithStompConnectionError(reactor):
    endpoints, client = makeClient(reactor)
    successOf_ = client.connect()
    link = endpoints.attempts[0].succeed()
    successOf(successOf_)
    link.close()
    failure = failureOf(client.disconnected, StompConnectionError)
    assert 'Connection lost' in str(failure.value)


def test_garbageFromTheBrokerDropsTheConnectionWithStompFrameError(reactor):
    from stompest.error import StompFrameError

    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    link = endpoints.attempts[0].succeed()
    successOf(connecting)
    link.brokerTransport.write(b'NOT A COMMAND\n\n\x00')
    link.pump()
    failureOf(client.disconnected, StompFrameError)


def test_connectionLostBeforeConnectedFailsConnect(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    link = endpoints.attempts[0].succeed(FakeBroker(answerConnect=False))
    link.close()  # the transport's connectionLost (a refused TLS handshake ends this way)
    assertNoResult(connecting)  # not while the transport is still inside connectionLost ...
    reactor.advance(0)
    failureOf(connecting, StompConnectionError)  # ... but right after it
    assert client.session.state == 'disconnected'


def test_passcodeIsNotInTheLogs(reactor, caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger='stompest')
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    link = endpoints.attempts[0].succeed()
    successOf(connecting)
    assert 'secret' not in caplog.text
    assert 'CONNECT frame' in caplog.text
    client.disconnect()
    link.pump()


def test_sentFramesHelperParsesWhatTheClientWrote(reactor):
    endpoints, client = makeClient(reactor)
    client.connect()
    link = endpoints.attempts[0].succeed(pump=False)
    assert [f.command for f in sentFrames(link.clientTransport)] == ['CONNECT']
    link.pump()
    client.disconnect()
    link.pump()
