"""The client's phases as a table (stompest.twisted._lifecycle): the table itself, a scenario on a
MemoryReactorClock for every move in it, and each fault (connection lost, ERROR frame, silent
broker, refused connection) arriving in each phase."""

from __future__ import annotations

import inspect

import pytest
from twisted.internet.testing import MemoryReactorClock

from stompest.error import (
    StompCancelledError,
    StompConnectionError,
    StompConnectTimeout,
    StompHeartBeatTimeout,
    StompProtocolError,
)
from stompest.protocol.frame import StompFrame
from stompest.twisted._lifecycle import (
    CONNECTED,
    CONNECTING,
    DISCONNECTING,
    IDLE,
    RECONNECTING,
    TRANSITIONS,
    Lifecycle,
)

from .helpers import FakeBroker, assertNoResult, connected, failureOf, makeClient, successOf

RECONNECTING_URI = 'failover:(tcp://a:1)?initialReconnectDelay=1000,maxReconnectAttempts=2,randomize=false'

#: every move a scenario below made, to check that together they cover the table
SEEN: set[tuple[str, str, str]] = set()


def finished(client):
    """The client ended idle; record its moves (the ``reactor`` fixture checks nothing is left ticking)."""
    assert client.phase == IDLE
    SEEN.update(client._lifecycle.history)
    return client._lifecycle.history


def error(link, message='boom'):
    link.broker.write(StompFrame('ERROR', {'message': message}, b'boom'))
    link.pump()


# -- the table -------------------------------------------------------------------------------------


def test_theTableMovesAndRefusesIllegalMoves():
    lifecycle = Lifecycle()
    assert lifecycle.phase == IDLE
    assert lifecycle.move('connect') == CONNECTING
    with pytest.raises(
        StompProtocolError,
        match=r"Cannot handle event 'reconnected' in phase 'connecting' "
        r"\(only in phases 'reconnecting'\)",
    ):
        lifecycle.move('reconnected')
    assert lifecycle.phase == CONNECTING  # a refused move changes nothing
    assert lifecycle.history == [(IDLE, 'connect', CONNECTING)]


def test_everyPhaseCanEndIdle():
    reachable = {IDLE}
    while True:
        more = {new for (phase, _), new in TRANSITIONS.items() if phase in reachable} - reachable
        if not more:
            break
        reachable |= more
    assert reachable == {IDLE, CONNECTING, CONNECTED, DISCONNECTING, RECONNECTING}
    for phase in reachable - {IDLE}:
        assert any(source == phase for source, _ in TRANSITIONS), phase


# -- connecting ------------------------------------------------------------------------------------


def test_connectingThenConnectedThenDisconnectingThenIdle(reactor):
    endpoints, client, link = connected(reactor)
    assert client.phase == CONNECTED
    disconnecting = client.disconnect()
    assert client.phase == DISCONNECTING
    link.pump()
    successOf(disconnecting)
    assert finished(client) == [
        (IDLE, 'connect', CONNECTING),
        (CONNECTING, 'connected', CONNECTED),
        (CONNECTED, 'disconnect', DISCONNECTING),
        (DISCONNECTING, 'closed', IDLE),
    ]


def test_connectingFaultConnectionLost(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    link = endpoints.attempts[0].succeed(FakeBroker(answerConnect=False))
    assert client.phase == CONNECTING
    link.close()
    reactor.advance(0)
    failureOf(connecting, StompConnectionError)
    assert finished(client)[-1] == (CONNECTING, 'connectFailed', IDLE)


def test_connectingFaultErrorFrame(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    endpoints.attempts[0].succeed(FakeBroker(refuse='bad login'))
    failureOf(connecting, StompProtocolError)
    assert finished(client)[-1] == (CONNECTING, 'connectFailed', IDLE)


def test_connectingFaultSilentBroker(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(connectedTimeout=5)
    endpoints.attempts[0].succeed(FakeBroker(answerConnect=False))
    reactor.advance(5)
    failureOf(connecting, StompCancelledError)
    assert finished(client)[-1] == (CONNECTING, 'connectFailed', IDLE)


def test_connectingFaultRefusedConnection(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    endpoints.attempts[0].fail()
    failureOf(connecting, StompConnectTimeout)
    assert finished(client)[-1] == (CONNECTING, 'connectFailed', IDLE)


def test_connectingThenDisconnectCancels(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    assert successOf(client.disconnect()) is None
    failureOf(connecting)
    assert finished(client)[-1] == (CONNECTING, 'connectFailed', IDLE)


# -- connected -------------------------------------------------------------------------------------


def test_connectedFaultConnectionLost(reactor):
    endpoints, client, link = connected(reactor)
    link.close()
    failureOf(client.disconnected, StompConnectionError)
    assert finished(client)[-1] == (CONNECTED, 'closed', IDLE)


def test_connectedFaultErrorFrameEvenWithAutoReconnect(reactor):
    endpoints, client, link = connected(reactor, RECONNECTING_URI, autoReconnect=True)
    error(link)
    failureOf(client.disconnected, StompProtocolError)
    assert finished(client)[-1] == (CONNECTED, 'closed', IDLE)


def test_connectedFaultSilentBroker(reactor):
    endpoints, client, link = connected(reactor, broker=FakeBroker(heartBeats=(1000, 0)), heartBeats=(0, 1000))
    reactor.advance(3)  # serverHeartBeat 1000 ms x heartBeatTolerance 3.0
    link.pump()
    failureOf(client.disconnected, StompHeartBeatTimeout)
    assert finished(client)[-1] == (CONNECTED, 'closed', IDLE)


def test_connectedLostWithAutoReconnectReconnects(reactor):
    endpoints, client, link = connected(reactor, RECONNECTING_URI, autoReconnect=True)
    link.close()
    assert client.phase == RECONNECTING
    assertNoResult(client.disconnected)
    reactor.advance(1)
    second = endpoints.attempts[1].succeed()
    assert client.phase == CONNECTED
    disconnecting = client.disconnect()
    second.pump()
    successOf(disconnecting)
    history = finished(client)
    assert (CONNECTED, 'lost', RECONNECTING) in history and (RECONNECTING, 'reconnected', CONNECTED) in history


def test_connectedSilentBrokerWithAutoReconnectReconnects(reactor):
    endpoints, client, link = connected(
        reactor, RECONNECTING_URI, broker=FakeBroker(heartBeats=(1000, 0)), heartBeats=(0, 1000), autoReconnect=True
    )
    reactor.advance(3)
    link.pump()
    assert client.phase == RECONNECTING
    client.disconnect()
    assert successOf(client.disconnected) is None  # we asked for the end
    assert finished(client)[-1] == (RECONNECTING, 'closed', IDLE)


def test_connectedDropConnectionWithoutReasonIsAGracefulEnd(reactor):
    endpoints, client, link = connected(reactor)
    client.dropConnection()
    link.pump()
    assert successOf(client.disconnected) is None
    assert finished(client)[-2:] == [(CONNECTED, 'disconnect', DISCONNECTING), (DISCONNECTING, 'closed', IDLE)]


# -- disconnecting ---------------------------------------------------------------------------------


def disconnecting(reactor):
    endpoints, client, link = connected(
        reactor, broker=FakeBroker(answerReceipts=False, heartBeats=(1000, 0)), heartBeats=(0, 1000)
    )
    waiting = client.disconnect(timeout=30)
    link.pump()
    assert client.phase == DISCONNECTING and 'DISCONNECT' in link.broker.commands()
    return client, link, waiting


def test_disconnectingFaultConnectionLost(reactor):
    client, link, waiting = disconnecting(reactor)
    link.close()  # DISCONNECT was sent: a close now is the end we asked for
    assert successOf(waiting) is None
    assert successOf(client.disconnected) is None
    assert finished(client)[-1] == (DISCONNECTING, 'closed', IDLE)


def test_disconnectingFaultErrorFrame(reactor):
    client, link, waiting = disconnecting(reactor)
    error(link)
    failureOf(waiting, StompProtocolError)
    failureOf(client.disconnected, StompProtocolError)
    assert finished(client)[-1] == (DISCONNECTING, 'closed', IDLE)


def test_disconnectingFaultSilentBroker(reactor):
    client, link, waiting = disconnecting(reactor)
    reactor.advance(3)
    link.pump()
    failureOf(waiting, StompHeartBeatTimeout)
    failureOf(client.disconnected, StompHeartBeatTimeout)
    assert finished(client)[-1] == (DISCONNECTING, 'closed', IDLE)


def test_disconnectingTwiceWaitsForTheSameEnd(reactor):
    client, link, waiting = disconnecting(reactor)
    again = client.disconnect()
    link.broker.write(StompFrame('RECEIPT', {'receipt-id': link.broker.framesOf('DISCONNECT')[0].headers['receipt']}))
    link.pump()
    assert successOf(waiting) is None and successOf(again) is None
    assert finished(client)[-1] == (DISCONNECTING, 'closed', IDLE)


# -- reconnecting ----------------------------------------------------------------------------------


def reconnecting(reactor):
    endpoints, client, link = connected(reactor, RECONNECTING_URI, autoReconnect=True)
    link.close()
    assert client.phase == RECONNECTING
    return endpoints, client


def test_reconnectingFaultRefusedUntilGivingUp(reactor):
    endpoints, client = reconnecting(reactor)
    failed = 1
    while client.phase == RECONNECTING and failed < 10:
        reactor.advance(5)
        for attempt in endpoints.attempts[failed:]:
            attempt.fail()
            failed += 1
    assert failed > 2  # it tried again before giving up
    failureOf(client.disconnected, StompConnectionError)
    assert finished(client)[-1] == (RECONNECTING, 'closed', IDLE)


def test_reconnectingFaultConnectionLostDuringTheHandshakeTriesAgain(reactor):
    endpoints, client = reconnecting(reactor)
    reactor.advance(1)
    endpoints.attempts[1].succeed(FakeBroker(answerConnect=False)).close()
    assert client.phase == RECONNECTING
    reactor.advance(2)
    third = endpoints.attempts[2].succeed()
    assert client.phase == CONNECTED
    disconnecting = client.disconnect()
    third.pump()
    successOf(disconnecting)
    assert finished(client)[-1] == (DISCONNECTING, 'closed', IDLE)


def test_reconnectingFaultErrorFrameStops(reactor):
    endpoints, client = reconnecting(reactor)
    reactor.advance(1)
    endpoints.attempts[1].succeed(FakeBroker(refuse='bad login'))
    failureOf(client.disconnected, StompConnectionError)
    assert finished(client)[-1] == (RECONNECTING, 'closed', IDLE)


def test_reconnectingThenDisconnectGivesUp(reactor):
    endpoints, client = reconnecting(reactor)
    successOf(client.disconnect())
    assert successOf(client.disconnected) is None  # we asked for the end
    assert finished(client)[-1] == (RECONNECTING, 'closed', IDLE)


def test_theScenariosCoverEveryMove():
    SEEN.clear()
    for name, scenario in sorted(globals().items()):  # run on their own too, whatever the test order
        if name.startswith('test_') and name != 'test_theScenariosCoverEveryMove':
            if 'reactor' in inspect.signature(scenario).parameters:  # outside the fixture: check by hand
                reactor = MemoryReactorClock()
                scenario(reactor)
                assert reactor.getDelayedCalls() == [], name
            else:
                scenario()
    assert {(phase, event) for phase, event, _ in SEEN} == set(TRANSITIONS)
