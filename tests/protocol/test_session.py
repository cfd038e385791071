"""Tests of stompest.protocol.session.StompSession, driven with a counter as clock."""

from __future__ import annotations

import uuid

import pytest

from stompest.error import StompProtocolError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.session import COMMAND_STATES, StompSession
from stompest.protocol.spec import StompSpec

V10, V11, V12 = StompSpec.VERSION_1_0, StompSpec.VERSION_1_1, StompSpec.VERSION_1_2
STATES = [StompSession.DISCONNECTED, StompSession.CONNECTING, StompSession.CONNECTED, StompSession.DISCONNECTING]


class Counter:
    """A clock that reads 0, 1, 2, ... (one tick per reading)."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        now = self.now
        self.now += 1
        return now


def connectedFrame(version=V12, **headers):
    headers = {'session': 'session-1', 'server': 'ActiveMQ/5.17.2', **headers}
    if version:
        headers['version'] = version
    return StompFrame('CONNECTED', headers, version=version or V10)


def messageFrame(subscription='/queue/a', version=V12, **extra):
    headers = {'destination': '/queue/a', 'message-id': 'ID:vm-1:6:-1:1:1', 'ack': 'ID:vm-1:6:1', **extra}
    if subscription is not None:
        headers['subscription'] = subscription
    return StompFrame('MESSAGE', headers, b'body', version=version)


def receiptFrame(receiptId, version=V12):
    return StompFrame('RECEIPT', {'receipt-id': receiptId}, version=version)


def makeSession(version=V12, check=True, serverVersion=None, heartBeats=None, serverHeartBeats=None):
    """A session in state CONNECTED (server picks ``serverVersion``, default ``version``)."""
    session = StompSession(version, check, clock=Counter())
    session.connect('guest', 'guest', host='localhost', heartBeats=heartBeats)
    extra = {'heart-beat': serverHeartBeats} if serverHeartBeats is not None else {}
    session.connected(connectedFrame(serverVersion or version, **extra))
    return session


# --- connecting, version negotiation -------------------------------------------------------------


def test_newSessionIsDisconnectedWithNothingKnown():
    session = StompSession(clock=Counter())
    assert (session.state, session.version, session.id, session.server) == ('disconnected', V10, None, None)
    assert (session.clientHeartBeat, session.serverHeartBeat) == (0, 0)
    assert (session.lastSent, session.lastReceived) == (None, None)
    assert session.receipts == frozenset() and session.transactions == frozenset()
    assert session.check is True


def test_connectOffersEveryVersionUpToTheSessions():
    session = StompSession(V11, clock=Counter())
    frame = session.connect('guest', 'secret', host='localhost', heartBeats=(1000, 0))
    expected = {
        'login': 'guest',
        'passcode': 'secret',
        'accept-version': '1.0,1.1',
        'heart-beat': '1000,0',
        'host': 'localhost',
    }
    assert frame == StompFrame('CONNECT', expected)
    assert bytes(frame) == (
        b'CONNECT\nlogin:guest\npasscode:secret\naccept-version:1.0,1.1\nheart-beat:1000,0\nhost:localhost\n\n\x00'
    )
    assert session.state == 'connecting'
    assert session.version == V11


def test_connectOneZeroSessionSendsAPlainConnect():
    session = StompSession(clock=Counter())
    assert session.connect() == StompFrame('CONNECT')


def test_connectWithChosenVersions():
    session = StompSession(V12, clock=Counter())
    assert session.connect(versions=[V12, V11]).headers == {'accept-version': '1.1,1.2'}


@pytest.mark.parametrize('versions', [[V10, V11, V12], [V12], ['1.3'], []])
def test_connectRefusesVersionsBeyondTheSessions(versions):
    session = StompSession(V11, clock=Counter())
    with pytest.raises(StompProtocolError):
        session.connect(versions=versions)
    assert session.state == 'disconnected'


@pytest.mark.parametrize(
    ('sessionVersion', 'serverVersion', 'expected'),
    [(V10, None, V10), (V12, None, V10), (V12, V10, V10), (V12, V11, V11), (V12, V12, V12), (V11, V11, V11)],
)
def test_connectedAdoptsTheServersVersion(sessionVersion, serverVersion, expected):
    session = StompSession(sessionVersion, clock=Counter())
    session.connect()
    session.connected(connectedFrame(serverVersion))
    assert (session.state, session.version) == ('connected', expected)
    assert (session.id, session.server) == ('session-1', 'ActiveMQ/5.17.2')


@pytest.mark.parametrize(('offered', 'serverVersion'), [([V10, V11], V12), ([V11, V12], V10), ([V10], V11)])
def test_connectedRefusesAVersionNotOffered(offered, serverVersion):
    session = StompSession(V12, clock=Counter())
    session.connect(versions=offered)
    with pytest.raises(StompProtocolError, match=f'Server version not among the versions offered: {serverVersion!r}'):
        session.connected(connectedFrame(serverVersion) if serverVersion != V10 else connectedFrame(None))
    assert session.state == 'connecting'


def test_connectedGivenAnErrorFrameRaisesWithIt():
    session = StompSession(V12, clock=Counter())
    session.connect()
    error = StompFrame('ERROR', {'message': 'Access refused for user guest'}, version=V12)
    with pytest.raises(StompProtocolError, match='Access refused') as info:
        session.connected(error)
    assert info.value.frame is error
    assert session.state == 'connecting'


@pytest.mark.parametrize(
    ('heartBeats', 'serverHeartBeats', 'client', 'server'),
    [
        (None, '1000,1000', 0, 0),  # no heart-beats asked for: (0, 0)
        ((0, 0), '1000,1000', 0, 0),
        ((1000, 0), '0,3000', 3000, 0),
        ((5000, 0), '0,3000', 5000, 0),
        ((0, 1000), '2000,0', 0, 2000),
        ((0, 4000), '2000,0', 0, 4000),
        ((1000, 1000), '1000,1000', 1000, 1000),
        ((100, 200), '300,400', 400, 300),
        ((1000, 1000), None, 0, 0),  # no heart-beat header from the server
        ((1000, 1000), '0,0', 0, 0),
    ],
)
def test_connectedNegotiatesHeartBeats(heartBeats, serverHeartBeats, client, server):
    session = makeSession(V12, heartBeats=heartBeats, serverHeartBeats=serverHeartBeats)
    assert (session.clientHeartBeat, session.serverHeartBeat) == (client, server)


def test_connectedOneZeroIgnoresTheServersHeartBeats():
    session = StompSession(V12, clock=Counter())
    session.connect(heartBeats=(1000, 1000))
    session.connected(connectedFrame(V10, **{'heart-beat': '1000,1000'}))
    assert (session.version, session.clientHeartBeat, session.serverHeartBeat) == (V10, 0, 0)


def test_connectedRefusesGarbageHeartBeats():
    session = StompSession(V12, clock=Counter())
    session.connect(heartBeats=(1000, 1000))
    with pytest.raises(StompProtocolError, match="Invalid heart-beat header: 'soon'"):  # as in 2.3
        session.connected(connectedFrame(V12, **{'heart-beat': 'soon'}))
    assert session.state == 'connecting'


def test_closeForgetsTheConnection():
    session = makeSession(V12, heartBeats=(1000, 1000), serverHeartBeats='1000,1000', serverVersion=V11)
    session.close()
    assert (session.state, session.version, session.id, session.server) == ('disconnected', V12, None, None)
    assert (session.clientHeartBeat, session.serverHeartBeat) == (0, 0)


def test_reconnectStartsFromTheSessionsVersionAgain():
    session = makeSession(V12, serverVersion=V10)
    session.close()
    assert session.connect().headers == {'accept-version': '1.0,1.1,1.2'}
    session.connected(connectedFrame(V12))
    assert session.version == V12


def test_disconnectAndClose():
    session = makeSession(V12)
    frame = session.disconnect(receipt='bye')
    assert frame == StompFrame('DISCONNECT', {'receipt': 'bye'})
    assert session.state == 'disconnecting'
    assert session.receipts == {'bye'}
    assert session.receipt(receiptFrame('bye')) == 'bye'
    session.close()
    assert session.state == 'disconnected'


# --- the state table -----------------------------------------------------------------------------


def sessionIn(state, check=True):
    """A 1.2 session in ``state``; when connected it has subscription '/queue/a' (context 'ctx'),
    transaction 'tx1' and pending receipt 'r0'."""
    session = StompSession(V12, check, clock=Counter())
    if state == 'disconnected':
        return session
    session.connect(host='localhost')
    if state == 'connecting':
        return session
    session.connected(connectedFrame(V12))
    session.subscribe('/queue/a', {'ack': 'client-individual'}, receipt='r0', context='ctx')
    session.begin('tx1')
    if state == 'disconnecting':
        session.disconnect()
    return session


CALLS = {
    'connect': lambda s: s.connect(host='localhost'),
    'connected': lambda s: s.connected(connectedFrame(V12)),
    'disconnect': lambda s: s.disconnect(),
    'close': lambda s: s.close(),
    'send': lambda s: s.send('/queue/a', b'x'),
    'subscribe': lambda s: s.subscribe('/queue/b'),
    'unsubscribe': lambda s: s.unsubscribe(('id', '/queue/a')),
    'message': lambda s: s.message(messageFrame()),
    'ack': lambda s: s.ack(messageFrame()),
    'nack': lambda s: s.nack(messageFrame()),
    'begin': lambda s: s.begin('tx2'),
    'abort': lambda s: s.abort('tx1'),
    'commit': lambda s: s.commit('tx1'),
    'receipt': lambda s: s.receipt(receiptFrame('r0')),
    'beat': lambda s: s.beat(),
}


def test_stateTableCoversEveryCommand():
    assert set(COMMAND_STATES) == set(CALLS)
    assert not {'replay', 'subscription'} & set(COMMAND_STATES)  # legal in every state, as in 2.3


@pytest.mark.parametrize('check', [True, False])
@pytest.mark.parametrize('state', STATES)
def test_replayAndSubscriptionWorkInEveryState(state, check):
    session = sessionIn(state, check)
    if state in ('connected', 'disconnecting'):
        assert session.subscription(('id', '/queue/a')) == 'ctx'
        assert session.replay() == [('/queue/a', {'ack': 'client-individual', 'id': '/queue/a'}, 'r0', 'ctx')]
    assert session.replay() == []
    with pytest.raises(StompProtocolError, match='No such subscription'):
        session.subscription(('id', '/queue/a'))


def test_uncheckedSessionStillRefusesWhatIsNotAStateCheck():
    # check=False turns off the state checks only, as in stompest 2.3
    session = StompSession(V10, check=False, clock=Counter())
    session.subscribe('/queue/a', {'id': 's'})
    with pytest.raises(StompProtocolError, match='Already subscribed'):
        session.subscribe('/queue/a', {'id': 's'})
    with pytest.raises(StompProtocolError, match='No such subscription'):
        session.unsubscribe(('id', 'other'))
    with pytest.raises(StompProtocolError, match='No such subscription'):
        session.message(messageFrame('other', V10))
    session.begin('tx')
    with pytest.raises(StompProtocolError, match='already open'):
        session.begin('tx')
    with pytest.raises(StompProtocolError, match='No such transaction'):
        session.commit('other')
    with pytest.raises(StompProtocolError, match='Unexpected receipt'):
        session.receipt(receiptFrame('whatever'))
    session.send('/queue/a', receipt='r')
    with pytest.raises(StompProtocolError, match='Duplicate receipt'):
        session.send('/queue/a', receipt='r')


def test_versionIsSettable():
    session = StompSession(V10, clock=Counter())
    session.version = V11  # disconnected: the highest version to offer
    assert session.version == V11
    assert session.connect().headers == {'accept-version': '1.0,1.1'}
    session.connected(connectedFrame(V11))
    session.version = V10  # connected: the version frames are built in, until close()
    assert session.send('/queue/a', b'', {'x': 'a:b'}).version == V10
    session.close()
    assert session.version == V11
    with pytest.raises(StompProtocolError, match='Version is not supported'):
        session.version = '1.3'


def test_transactionStrsAGivenId():
    assert StompSession(clock=Counter()).transaction(4711) == '4711'


def test_subscribeRemembersTheHeadersAsGiven():
    session = makeSession(V12)
    headers = {'id': 4711}
    session.subscribe('/queue/a', headers)
    assert session.replay() == [('/queue/a', {'id': 4711}, None, None)]
    for command, states in COMMAND_STATES.items():
        assert callable(getattr(StompSession, command))
        assert states and set(states) <= set(STATES)


@pytest.mark.parametrize('state', STATES)
@pytest.mark.parametrize('command', sorted(COMMAND_STATES))
def test_stateTableIsEnforced(command, state):
    session = sessionIn(state)
    if state in COMMAND_STATES[command]:
        CALLS[command](session)
    else:
        allowed = ', '.join(repr(s) for s in COMMAND_STATES[command])
        expected = f"Cannot handle command '{command}' in state '{state}' (only in states {allowed})"
        with pytest.raises(StompProtocolError) as info:
            CALLS[command](session)
        assert str(info.value) == expected
        assert (info.value.state, info.value.command) == (state, command)
        assert session.state == state


def test_stateErrorMessageForSend():
    with pytest.raises(StompProtocolError) as info:
        StompSession(clock=Counter()).send('/queue/a', b'x')
    assert str(info.value) == "Cannot handle command 'send' in state 'disconnected' (only in states 'connected')"


@pytest.mark.parametrize('command', ['send', 'subscribe', 'begin', 'ack', 'nack', 'beat', 'disconnect', 'connected'])
def test_uncheckedSessionBuildsFramesInAnyState(command):
    session = sessionIn('disconnected', check=False)
    result = CALLS[command](session)
    if command == 'connected':  # reads the CONNECTED frame instead of building one
        assert result is None and session.state == 'connected' and session.version == V12
    elif command == 'beat':
        assert isinstance(result, StompHeartBeat) and bytes(result) == b'\n'
    else:
        frame = result[0] if command == 'subscribe' else result
        assert isinstance(frame, StompFrame) and frame.command == command.upper()
        assert bytes(frame).startswith(command.upper().encode() + b'\n')


def test_uncheckedSessionStillAppliesVersionRules():
    session = StompSession(V10, check=False, clock=Counter())
    with pytest.raises(StompProtocolError, match=r"Invalid command \(version 1.0\): 'NACK'"):
        session.nack(messageFrame(version=V10))


# --- sending and subscribing ---------------------------------------------------------------------


def test_sendBuildsTheFrameInTheNegotiatedVersion():
    session = makeSession(V12)
    frame = session.send('/queue/a', b'hello', {'x:key': 'a\nb'}, receipt='r1')
    assert frame == StompFrame('SEND', {'x:key': 'a\nb', 'destination': '/queue/a', 'receipt': 'r1'}, b'hello')
    assert bytes(frame) == b'SEND\nx\\ckey:a\\nb\ndestination:/queue/a\nreceipt:r1\n\nhello\x00'
    assert session.receipts == {'r1'}


def test_sendInOneZeroDoesNotEscape():
    session = makeSession(V12, serverVersion=V10)
    frame = session.send('/queue/a', b'', {'x': 'a:b'})
    assert bytes(frame) == b'SEND\nx:a:b\ndestination:/queue/a\n\n\x00'


@pytest.mark.parametrize(
    ('version', 'headers', 'expectedHeaders', 'token'),
    [
        (V10, None, {'destination': '/queue/a'}, ('destination', '/queue/a')),
        (V10, {'id': 's1'}, {'id': 's1', 'destination': '/queue/a'}, ('id', 's1')),
        (V11, None, {'destination': '/queue/a', 'id': '/queue/a'}, ('id', '/queue/a')),
        (V12, {'ack': 'client'}, {'ack': 'client', 'destination': '/queue/a', 'id': '/queue/a'}, ('id', '/queue/a')),
        (V12, {'id': 'x:y'}, {'id': 'x:y', 'destination': '/queue/a'}, ('id', 'x:y')),
    ],
)
def test_subscribeIdsPerVersion(version, headers, expectedHeaders, token):
    session = makeSession(V12, serverVersion=version)
    frame, gotToken = session.subscribe('/queue/a', headers, context='c')
    assert frame == StompFrame('SUBSCRIBE', expectedHeaders)
    assert frame.version == version
    assert gotToken == token
    assert session.subscription(token) == 'c'


def test_subscribeTwiceIsRefused():
    session = makeSession(V12)
    session.subscribe('/queue/a', receipt='r1')
    with pytest.raises(StompProtocolError, match=r"Already subscribed: \('id', '/queue/a'\)"):
        session.subscribe('/queue/a', receipt='r2')
    assert session.receipts == {'r1'}  # nothing registered by the refused call
    session.subscribe('/queue/a', {'id': 'second'})  # another id is another subscription


def test_subscribeRefusedByTheVersionRegistersNothing():
    session = makeSession(V12, serverVersion=V11)
    with pytest.raises(StompProtocolError, match='Invalid id'):
        session.subscribe('/queue/a', {'id': ''}, receipt='r1')
    assert session.receipts == frozenset()
    assert session.replay() == []


def test_subscribeSendsClientIndividualInOneZero():
    session = makeSession(V12, serverVersion=V10)
    frame, _ = session.subscribe('/queue/a', {'ack': 'client-individual'}, receipt='r1')
    assert frame.headers['ack'] == 'client-individual'
    assert session.replay() == [('/queue/a', {'ack': 'client-individual'}, 'r1', None)]


def test_unsubscribeForgetsTheSubscription():
    session = makeSession(V12)
    _, token = session.subscribe('/queue/a', context='c')
    assert session.unsubscribe(token, receipt='r1') == StompFrame('UNSUBSCRIBE', {'id': '/queue/a', 'receipt': 'r1'})
    assert session.receipts == {'r1'}
    with pytest.raises(StompProtocolError, match=r"No such subscription: \('id', '/queue/a'\)"):
        session.message(messageFrame())
    with pytest.raises(StompProtocolError, match='No such subscription'):
        session.subscription(token)
    with pytest.raises(StompProtocolError, match='No such subscription'):
        session.unsubscribe(token)


def test_unsubscribeOneZeroByDestination():
    session = makeSession(V10)
    _, token = session.subscribe('/queue/a')
    assert session.unsubscribe(token) == StompFrame('UNSUBSCRIBE', {'destination': '/queue/a'})


def test_messageReturnsTheTokenOfAKnownSubscription():
    session = makeSession(V12)
    _, token = session.subscribe('/queue/a')
    assert session.message(messageFrame()) == token
    unknown = messageFrame('other')
    with pytest.raises(StompProtocolError, match=r"No such subscription: \('id', 'other'\)") as info:
        session.message(unknown)
    assert info.value.frame is unknown


def test_messageOneZeroByDestination():
    session = makeSession(V10)
    _, token = session.subscribe('/queue/a', context='c')
    assert session.message(messageFrame(None, V10)) == ('destination', '/queue/a') == token


def test_uncheckedSessionRefusesUnknownSubscriptions():
    session = makeSession(V12, check=False)
    with pytest.raises(StompProtocolError, match='No such subscription'):
        session.message(messageFrame('other'))
    with pytest.raises(StompProtocolError, match='No such subscription'):
        session.unsubscribe(('id', 'other'))


def test_messagesStillArriveWhileDisconnecting():
    session = makeSession(V12)
    _, token = session.subscribe('/queue/a', context='c')
    session.disconnect(receipt='bye')
    assert session.message(messageFrame()) == token
    assert session.subscription(token) == 'c'
    assert isinstance(session.beat(), StompHeartBeat)


# --- replay --------------------------------------------------------------------------------------


def subscribeThree(session):
    session.subscribe('/queue/b', {'ack': 'client'}, receipt='r1', context='B')
    session.subscribe('/queue/a', {'id': 'mine', 'activemq.prefetchSize': '1'}, context='A')
    session.subscribe('/topic/c', [('ack', 'auto')], context='C')


def test_replayAfterUnexpectedLossReturnsSubscriptionsInOrder():
    session = makeSession(V12)
    subscribeThree(session)
    session.receipt(receiptFrame('r1'))
    session.close(flush=False)
    session.connect(host='localhost')
    session.connected(connectedFrame(V12))
    replayed = session.replay()
    assert replayed == [
        ('/queue/b', {'ack': 'client', 'id': '/queue/b'}, 'r1', 'B'),
        ('/queue/a', {'id': 'mine', 'activemq.prefetchSize': '1'}, None, 'A'),
        ('/topic/c', {'ack': 'auto', 'id': '/topic/c'}, None, 'C'),
    ]
    assert session.replay() == []  # replay forgets them
    tokens = [session.subscribe(*entry)[1] for entry in replayed]  # re-subscribing registers them again
    assert tokens == [('id', '/queue/b'), ('id', 'mine'), ('id', '/topic/c')]
    assert [session.subscription(token) for token in tokens] == ['B', 'A', 'C']
    assert session.replay() == replayed


def test_replayedSubscriptionKeepsItsTokenWhenTheNextConnectionIsOneZero():
    session = makeSession(V12)
    _, token = session.subscribe('/queue/a', context='A')
    session.close(flush=False)
    session.connect()
    session.connected(connectedFrame(V10))
    ((destination, headers, receipt, context),) = session.replay()
    frame, again = session.subscribe(destination, headers, receipt, context)
    assert again == token == ('id', '/queue/a')
    assert bytes(frame) == b'SUBSCRIBE\nid:/queue/a\ndestination:/queue/a\n\n\x00'


def test_replayIsEmptyAfterAFlushingClose():
    session = makeSession(V12)
    subscribeThree(session)
    session.close(flush=True)
    session.connect()
    session.connected(connectedFrame(V12))
    assert session.replay() == []


def test_closeWithoutFlushDropsTransactionsAndReceipts():
    session = makeSession(V12)
    session.subscribe('/queue/a', receipt='r1')
    session.begin('tx1')
    session.close(flush=False)
    assert session.transactions == frozenset()
    assert session.receipts == frozenset()
    session.connect()
    session.connected(connectedFrame(V12))
    with pytest.raises(StompProtocolError, match="Unexpected receipt: 'r1'"):
        session.receipt(receiptFrame('r1'))
    with pytest.raises(StompProtocolError, match="No such transaction: 'tx1'"):
        session.commit('tx1')
    assert session.message(messageFrame()) == ('id', '/queue/a')  # the subscription survived


# --- acknowledging -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('version', 'ackHeaders', 'wire'),
    [
        (
            V10,
            {'message-id': 'ID:vm-1:6:-1:1:1', 'subscription': '/queue/a'},
            b'ACK\nmessage-id:ID:vm-1:6:-1:1:1\nsubscription:/queue/a\n\n\x00',
        ),
        (
            V11,
            {'message-id': 'ID:vm-1:6:-1:1:1', 'subscription': '/queue/a'},
            b'ACK\nmessage-id:ID\\cvm-1\\c6\\c-1\\c1\\c1\nsubscription:/queue/a\n\n\x00',
        ),
        (V12, {'id': 'ID:vm-1:6:1'}, b'ACK\nid:ID\\cvm-1\\c6\\c1\n\n\x00'),
    ],
)
def test_ackPerVersion(version, ackHeaders, wire):
    session = makeSession(V12, serverVersion=version)
    session.subscribe('/queue/a', {'ack': 'client'})
    message = messageFrame(version=version)
    frame = session.ack(message)
    assert frame == StompFrame('ACK', ackHeaders)
    assert bytes(frame) == wire


@pytest.mark.parametrize('version', [V11, V12])
def test_nackPerVersion(version):
    session = makeSession(V12, serverVersion=version)
    frame = session.nack(messageFrame(version=version), receipt='n1')
    if version == V12:
        expected = {'id': 'ID:vm-1:6:1'}
    else:
        expected = {'message-id': 'ID:vm-1:6:-1:1:1', 'subscription': '/queue/a'}
    assert frame == StompFrame('NACK', {**expected, 'receipt': 'n1'})
    assert session.receipts == {'n1'}


def test_nackInOneZeroIsRefusedBeforeAnythingIsBuilt():
    session = makeSession(V12, serverVersion=V10)
    with pytest.raises(StompProtocolError) as info:
        session.nack(messageFrame(version=V10), receipt='n1')
    assert str(info.value) == "Invalid command (version 1.0): 'NACK'"
    assert session.receipts == frozenset()


def test_ackOfAHandBuiltMessageUsesTheFramesVersion():
    # as in stompest 2.3: a frame built without a version is a 1.0 frame
    session = makeSession(V12)
    expected = {'message-id': 'ID:vm-1:6:-1:1:1', 'subscription': '/queue/a'}
    assert session.ack(messageFrame(version=None)) == StompFrame('ACK', expected)
    unversioned = messageFrame()
    unversioned.version = None  # type: ignore[assignment]
    assert session.ack(unversioned) == StompFrame('ACK', {'id': 'ID:vm-1:6:1'})


def test_ackJoinsAnOpenTransactionOnly():
    session = makeSession(V12)
    session.begin('tx1')
    inTransaction = messageFrame(transaction='tx1')
    assert session.ack(inTransaction) == StompFrame('ACK', {'id': 'ID:vm-1:6:1', 'transaction': 'tx1'})
    session.commit('tx1')
    assert session.ack(inTransaction) == StompFrame('ACK', {'id': 'ID:vm-1:6:1'})
    assert session.ack(messageFrame(transaction='unknown')) == StompFrame('ACK', {'id': 'ID:vm-1:6:1'})


# --- transactions --------------------------------------------------------------------------------


def test_transactionLifecycle():
    session = makeSession(V12)
    assert session.begin('tx:1', receipt='b') == StompFrame('BEGIN', {'transaction': 'tx:1', 'receipt': 'b'})
    assert session.transactions == {'tx:1'}
    send = session.send('/queue/a', b'x', {'transaction': 'tx:1'})
    assert bytes(send) == b'SEND\ntransaction:tx\\c1\ndestination:/queue/a\n\nx\x00'
    assert session.commit('tx:1', receipt='c') == StompFrame('COMMIT', {'transaction': 'tx:1', 'receipt': 'c'})
    assert session.transactions == frozenset()
    session.begin('tx2')
    assert session.abort('tx2') == StompFrame('ABORT', {'transaction': 'tx2'})
    assert session.transactions == frozenset()
    assert session.receipts == {'b', 'c'}


def test_beginRefusesADuplicate():
    session = makeSession(V12)
    session.begin('tx1')
    with pytest.raises(StompProtocolError, match="Transaction already open: 'tx1'"):
        session.begin('tx1', receipt='r')
    assert session.receipts == frozenset()


@pytest.mark.parametrize('command', ['commit', 'abort'])
def test_endingAnUnknownTransactionIsRefused(command):
    session = makeSession(V12)
    with pytest.raises(StompProtocolError, match="No such transaction: 'never-begun'"):
        getattr(session, command)('never-begun', receipt='r')
    assert session.receipts == frozenset()
    unchecked = makeSession(V12, check=False)
    with pytest.raises(StompProtocolError, match="No such transaction: 'never-begun'"):  # as in 2.3
        getattr(unchecked, command)('never-begun')


def test_beginWithoutIdDrawsAUuid():
    session = makeSession(V12)
    frame = session.begin()
    transaction = frame.headers['transaction']
    assert uuid.UUID(transaction).version == 4
    assert session.transactions == {transaction}
    assert session.transaction('given') == 'given'
    assert session.transaction() != session.transaction()


# --- receipts ------------------------------------------------------------------------------------


def test_receiptsArePendingUntilReceived():
    session = makeSession(V12)
    session.send('/queue/a', b'', receipt='s')
    _, token = session.subscribe('/queue/a', receipt='sub')
    session.send('/queue/a', b'', {'receipt': 'h'})  # a receipt in the caller's headers counts too
    session.ack(messageFrame(), receipt='a')
    session.unsubscribe(token, receipt='u')
    assert session.receipts == {'s', 'sub', 'h', 'a', 'u'}
    assert session.receipt(receiptFrame('sub')) == 'sub'
    assert session.receipts == {'s', 'h', 'a', 'u'}
    with pytest.raises(StompProtocolError, match="Unexpected receipt: 'sub'") as info:
        session.receipt(receiptFrame('sub'))
    assert info.value.frame == receiptFrame('sub')


def test_receiptsAreACopy():
    session = makeSession(V12)
    session.send('/queue/a', b'', receipt='s')
    receipts = session.receipts
    session.receipt(receiptFrame('s'))
    assert receipts == {'s'}
    assert session.receipts == frozenset()


def test_duplicatePendingReceiptIsRefused():
    session = makeSession(V12)
    session.send('/queue/a', b'', receipt='r')
    with pytest.raises(StompProtocolError, match="Duplicate receipt: 'r'"):
        session.send('/queue/a', b'', receipt='r')
    session.receipt(receiptFrame('r'))
    session.send('/queue/a', b'', receipt='r')  # fine once received


def test_uncheckedSessionRefusesUnexpectedReceipts():
    session = makeSession(V12, check=False)
    with pytest.raises(StompProtocolError, match="Unexpected receipt: 'whatever'"):  # as in 2.3
        session.receipt(receiptFrame('whatever'))


def test_receiptRefusesOtherFrames():
    session = makeSession(V12)
    with pytest.raises(StompProtocolError, match="Expected a RECEIPT frame, got: 'MESSAGE'"):
        session.receipt(messageFrame())


# --- heart-beats and clock -----------------------------------------------------------------------


def test_clockReadings():
    clock = Counter()
    session = StompSession(V12, clock=clock)
    assert (session.lastSent, session.lastReceived) == (None, None)
    session.connect()
    session.sent()
    assert (session.lastSent, session.lastReceived) == (0, None)
    session.connected(connectedFrame(V12))
    session.received()
    assert (session.lastSent, session.lastReceived) == (0, 1)
    session.received()
    session.sent()
    assert (session.lastSent, session.lastReceived) == (3, 2)
    assert clock.now == 4  # the session read the clock only in sent() and received()


def test_beatInOneZeroIsRefused():
    session = makeSession(V12, serverVersion=V10)
    with pytest.raises(StompProtocolError, match='Heart-beating is not supported'):
        session.beat()


def test_beatInOneOnePlus():
    assert bytes(makeSession(V11).beat()) == b'\n'


def test_theDefaultClockIsWallClockTimeAsInStompestTwoThree():
    import time

    session = StompSession()
    before = time.time()
    session.sent()
    session.received()
    after = time.time()
    assert before <= session.lastSent <= after and before <= session.lastReceived <= after
