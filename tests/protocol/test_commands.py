"""Tests of stompest.protocol.commands: the stateless frame builders and readers."""

from __future__ import annotations

import pytest

from stompest.error import StompProtocolError
from stompest.protocol import commands
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.spec import StompSpec

V10, V11, V12 = StompSpec.VERSION_1_0, StompSpec.VERSION_1_1, StompSpec.VERSION_1_2
ALL = [V10, V11, V12]

# ActiveMQ 5.17 ids, as the parser hands them over after unescaping ``\c``.
ACTIVEMQ_MESSAGE_ID = 'ID:vm-35731-1795327323846-3:6:-1:1:1'
ACTIVEMQ_ACK_ID = 'ID:vm-35731-1795327323846-3:6:1'


def received(command, headers, body=b'', version=V12):
    """A frame as the parser would return it (version set)."""
    return StompFrame(command, headers, body, version=version)


def activeMqMessage(version, **extra):
    headers = {
        'destination': '/queue/a',
        'subscription': 'sub-1',
        'message-id': ACTIVEMQ_MESSAGE_ID,
        'ack': ACTIVEMQ_ACK_ID,
        **extra,
    }
    return received('MESSAGE', headers, b'payload', version)


# --- CONNECT / STOMP -----------------------------------------------------------------------------


def test_connectOneZeroHasNoAcceptVersionNorHost():
    frame = commands.connect('user', 'secret')
    assert frame == StompFrame('CONNECT', {'login': 'user', 'passcode': 'secret'})
    assert frame.version == V10
    assert bytes(frame) == b'CONNECT\nlogin:user\npasscode:secret\n\n\x00'


def test_connectOneZeroKeepsHostWhenGiven():
    assert commands.connect(host='broker.example').headers == {'host': 'broker.example'}


def test_connectOffersVersionsSortedAndDeduplicated():
    frame = commands.connect(versions=[V12, V10, V11, V12], host='localhost')
    assert frame.headers == {'accept-version': '1.0,1.1,1.2', 'host': 'localhost'}
    assert frame.version == V12


def test_connectWithoutHostInOneOneHasNoHostHeader():
    # Documented choice: the command does not invent a host; the clients pass the broker's.
    assert commands.connect(versions=[V10, V11]).headers == {'accept-version': '1.0,1.1'}


def test_connectWritesHeartBeatsForOneOnePlus():
    frame = commands.connect(versions=[V11], heartBeats=(1000, 2500))
    assert frame.headers == {'accept-version': '1.1', 'heart-beat': '1000,2500'}


def test_connectOneZeroIgnoresZeroHeartBeats():
    assert commands.connect(heartBeats=(0, 0)).headers == {}


def test_connectOneZeroRefusesNonZeroHeartBeats():
    with pytest.raises(StompProtocolError, match=r'Heart-beating is not supported \(version 1.0\)'):
        commands.connect(heartBeats=(1000, 0))


@pytest.mark.parametrize('heartBeats', [(-1, 0), (0, -5), ('1', 0), (1.5, 0), (True, 0), (1,), (1, 2, 3), 'ab', 7])
def test_connectRefusesInvalidHeartBeats(heartBeats):
    with pytest.raises(StompProtocolError, match='Invalid heart-beats'):
        commands.connect(versions=[V12], heartBeats=heartBeats)


@pytest.mark.parametrize('versions', [['2.0'], [V10, '1.3'], [], '1.2'])
def test_connectRefusesInvalidVersions(versions):
    with pytest.raises(StompProtocolError):
        commands.connect(versions=versions)


def test_connectLoginAndPasscodeWinOverHeaders():
    frame = commands.connect('user', 'secret', headers=[('login', 'other'), ('client-id', 'c1')])
    assert frame.headers == {'login': 'user', 'passcode': 'secret', 'client-id': 'c1'}


def test_connectHeadersAreNeverEscaped():
    frame = commands.connect('us:er', 'pa\\ss', versions=[V12], host='h')
    assert bytes(frame) == b'CONNECT\nlogin:us:er\npasscode:pa\\ss\naccept-version:1.2\nhost:h\n\n\x00'


def test_stompIsRefusedInOneZero():
    with pytest.raises(StompProtocolError, match=r"^Invalid command \(version 1.0\): 'STOMP'$"):
        commands.stomp('user', 'secret')


def test_stompBuildsTheSameHeadersAsConnect():
    frame = commands.stomp('u', 'p', versions=[V11, V12], host='localhost', heartBeats=(0, 0))
    assert frame == StompFrame(
        'STOMP', {'login': 'u', 'passcode': 'p', 'accept-version': '1.1,1.2', 'heart-beat': '0,0', 'host': 'localhost'}
    )


# --- DISCONNECT, SEND ----------------------------------------------------------------------------


@pytest.mark.parametrize('version', ALL)
def test_disconnectWithReceipt(version):
    frame = commands.disconnect('bye', version)
    assert frame == StompFrame('DISCONNECT', {'receipt': 'bye'})
    assert frame.version == version
    assert commands.disconnect(version=version) == StompFrame('DISCONNECT')


@pytest.mark.parametrize('version', ALL)
def test_sendDoesNotAddContentLength(version):
    frame = commands.send('/queue/a', b'hello', {'persistent': 'true'}, receipt='r1', version=version)
    assert frame == StompFrame('SEND', {'persistent': 'true', 'destination': '/queue/a', 'receipt': 'r1'}, b'hello')
    assert frame.version == version
    assert b'content-length' not in bytes(frame)


def test_sendWithNulInBodyGetsContentLengthWhenSerialised():
    frame = commands.send('/queue/a', b'a\x00b', version=V12)
    assert frame.headers == {'destination': '/queue/a'}
    assert bytes(frame) == b'SEND\ndestination:/queue/a\ncontent-length:3\n\na\x00b\x00'


def test_sendKeepsAContentLengthTheCallerAsksFor():
    frame = commands.send('/queue/a', b'abc', {'content-length': '3'}, version=V11)
    assert bytes(frame) == b'SEND\ncontent-length:3\ndestination:/queue/a\n\nabc\x00'


def test_sendEncodesTextBodyAsUtf8():
    assert commands.send('/queue/a', 'é', version=V12).body == 'é'.encode()


def test_sendEscapesHeadersInOneTwo():
    frame = commands.send('/queue/a', b'', {'x:key': 'a\nb'}, version=V12)
    assert bytes(frame) == b'SEND\nx\\ckey:a\\nb\ndestination:/queue/a\n\n\x00'


@pytest.mark.parametrize('destination', [None, 5])
def test_sendRefusesADestinationThatIsNotAString(destination):
    with pytest.raises(StompProtocolError, match='Invalid destination'):
        commands.send(destination, b'x', version=V12)


def test_sendPassesAnEmptyDestinationOn():
    # as stompest 2.3 did (its session test sends to ''): the broker answers with an ERROR
    assert commands.send('', b'x', version=V12).headers == {'destination': ''}


@pytest.mark.parametrize(
    'build',
    [
        lambda: commands.send('/queue/a', b'', receipt='', version=V12),
        lambda: commands.send('/queue/a', b'', {'receipt': ''}, version=V12),
        lambda: commands.send('/queue/a', b'', {'transaction': ''}, version=V12),
        lambda: commands.disconnect('', V11),
        lambda: commands.begin('', version=V10),
        lambda: commands.commit('tx', receipt='', version=V10),
        lambda: commands.abort(None, version=V12),
        lambda: commands.subscribe('/queue/a', {'id': ''}, version=V12),
    ],
    ids=['receipt', 'receiptHeader', 'transactionHeader', 'disconnect', 'begin', 'commitReceipt', 'abortNone', 'id'],
)
def test_emptyValuesAreRefused(build):
    with pytest.raises(StompProtocolError, match='a non-empty string is required'):
        build()


# --- SUBSCRIBE / UNSUBSCRIBE ---------------------------------------------------------------------


def test_subscribeOneZeroWithoutIdIsKeyedByDestination():
    frame, token = commands.subscribe('/queue/a', {'ack': 'client'}, version=V10)
    assert frame == StompFrame('SUBSCRIBE', {'ack': 'client', 'destination': '/queue/a'})
    assert token == ('destination', '/queue/a')


def test_subscribeOneZeroKeepsAGivenId():
    frame, token = commands.subscribe('/queue/a', {'id': 's1'}, receipt='r', version=V10)
    assert frame == StompFrame('SUBSCRIBE', {'id': 's1', 'destination': '/queue/a', 'receipt': 'r'})
    assert token == ('id', 's1')


@pytest.mark.parametrize('version', [V11, V12])
def test_subscribeOneOnePlusUsesTheDestinationAsId(version):
    frame, token = commands.subscribe('/queue/a', None, version=version)
    assert frame == StompFrame('SUBSCRIBE', {'destination': '/queue/a', 'id': '/queue/a'})
    assert frame.version == version
    assert token == ('id', '/queue/a')


@pytest.mark.parametrize('version', [V11, V12])
def test_subscribeOneOnePlusKeepsAGivenId(version):
    frame, token = commands.subscribe('/queue/a', [('id', 'mine'), ('ack', 'client-individual')], version=version)
    assert frame.headers == {'id': 'mine', 'ack': 'client-individual', 'destination': '/queue/a'}
    assert token == ('id', 'mine')


def test_subscribeEscapesAnIdWithAColonInOneTwo():
    frame, _ = commands.subscribe('/queue/a', {'id': 'a:b'}, version=V12)
    assert bytes(frame) == b'SUBSCRIBE\nid:a\\cb\ndestination:/queue/a\n\n\x00'


def test_subscribeSendsClientIndividualInOneZero():
    # as stompest 2.3 did: ActiveMQ honours it in 1.0 (issue 8)
    frame, _ = commands.subscribe('/queue/a', {'ack': 'client-individual'}, version=V10)
    assert bytes(frame) == b'SUBSCRIBE\nack:client-individual\ndestination:/queue/a\n\n\x00'


@pytest.mark.parametrize('version', ALL)
def test_subscribePassesAnyAckModeOn(version):
    frame, _ = commands.subscribe('/queue/a', {'ack': 'sometimes'}, version=version)
    assert frame.headers['ack'] == 'sometimes'


@pytest.mark.parametrize('version', [V11, V12])
def test_subscribeAcceptsClientIndividualInOneOnePlus(version):
    frame, _ = commands.subscribe('/queue/a', {'ack': 'client-individual'}, version=version)
    assert frame.headers['ack'] == 'client-individual'


def test_subscribeRefusesMissingDestination():
    with pytest.raises(StompProtocolError, match='Invalid destination'):
        commands.subscribe('', {}, version=V12)


@pytest.mark.parametrize(
    ('token', 'headers'),
    [(('destination', '/queue/a'), {'destination': '/queue/a'}), (('id', 's1'), {'id': 's1'})],
)
def test_unsubscribeOneZeroAcceptsBothTokens(token, headers):
    frame = commands.unsubscribe(token, receipt='r', version=V10)
    assert frame == StompFrame('UNSUBSCRIBE', {**headers, 'receipt': 'r'})


@pytest.mark.parametrize('version', [V11, V12])
def test_unsubscribeOneOnePlusNeedsAnId(version):
    assert commands.unsubscribe(('id', '/queue/a'), version=version) == StompFrame('UNSUBSCRIBE', {'id': '/queue/a'})
    with pytest.raises(StompProtocolError, match='Invalid subscription token'):
        commands.unsubscribe(('destination', '/queue/a'), version=version)


@pytest.mark.parametrize('token', [None, 'id', ('id',), ('name', 'x'), ('id', '')])
def test_unsubscribeRefusesBadTokens(token):
    with pytest.raises(StompProtocolError):
        commands.unsubscribe(token, version=V10)


def test_subscribeTokenUnsubscribesTheSameSubscription():
    for version in ALL:
        subscribeFrame, token = commands.subscribe('/queue/a', {}, version=version)
        unsubscribeFrame = commands.unsubscribe(token, version=version)
        name = 'id' if version != V10 else 'destination'
        assert unsubscribeFrame.headers[name] == subscribeFrame.headers[name]


# --- ACK / NACK ----------------------------------------------------------------------------------


ACK_HEADERS = {
    V10: (
        {'message-id': ACTIVEMQ_MESSAGE_ID, 'subscription': 'sub-1'},
        b'message-id:ID:vm-35731-1795327323846-3:6:-1:1:1\nsubscription:sub-1\n',
    ),
    V11: (
        {'message-id': ACTIVEMQ_MESSAGE_ID, 'subscription': 'sub-1'},
        b'message-id:ID\\cvm-35731-1795327323846-3\\c6\\c-1\\c1\\c1\nsubscription:sub-1\n',
    ),
    V12: ({'id': ACTIVEMQ_ACK_ID}, b'id:ID\\cvm-35731-1795327323846-3\\c6\\c1\n'),
}


@pytest.mark.parametrize(
    ('command', 'version'),
    [('ACK', V10), ('ACK', V11), ('ACK', V12), ('NACK', V11), ('NACK', V12)],  # no NACK in 1.0
)
def test_acknowledgeNamesTheMessagePerVersion(command, version):
    headers, wire = ACK_HEADERS[version]
    build = commands.ack if command == 'ACK' else commands.nack
    frame = build(activeMqMessage(version))
    assert frame == StompFrame(command, headers)
    assert frame.version == version
    assert bytes(frame) == command.encode() + b'\n' + wire + b'\n\x00'


def test_nackIsRefusedInOneZero():
    with pytest.raises(StompProtocolError, match=r"^Invalid command \(version 1.0\): 'NACK'$"):
        commands.nack(activeMqMessage(V10))


def test_nackIsRefusedBeforeAnythingIsBuilt(monkeypatch):
    built = []

    class RecordingFrame(StompFrame):
        def __init__(self, *args, **kwargs):
            built.append(args)
            super().__init__(*args, **kwargs)

    message = activeMqMessage(V10)
    monkeypatch.setattr(commands, 'StompFrame', RecordingFrame)
    with pytest.raises(StompProtocolError, match='NACK'):
        commands.nack(message, receipt='r1')
    assert built == []


def test_ackOneTwoNeedsTheAckHeader():
    message = received('MESSAGE', {'destination': '/queue/a', 'subscription': 's', 'message-id': 'm1'})
    with pytest.raises(StompProtocolError, match=r"Cannot ACK a MESSAGE without header 'ack' \(version 1.2\)") as info:
        commands.ack(message)
    assert info.value.frame is message


def test_ackOneOneNeedsTheSubscriptionHeader():
    message = received('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1'}, version=V11)
    with pytest.raises(StompProtocolError, match="without header 'subscription'"):
        commands.ack(message)


@pytest.mark.parametrize('command', ['RECEIPT', 'ERROR', 'CONNECTED'])
def test_ackRefusesAFrameThatIsNotAMessage(command):
    with pytest.raises(StompProtocolError, match=f"Expected a MESSAGE frame, got: '{command}'"):
        commands.ack(received(command, {'message-id': 'm', 'ack': 'a', 'subscription': 's'}))


@pytest.mark.parametrize('version', ALL)
def test_ackJoinsTheMessagesTransactionOnlyWhenItIsOpen(version):
    message = activeMqMessage(version, transaction='tx1')
    assert commands.ack(message, transactions={'tx1', 'tx2'}, receipt='r').headers['transaction'] == 'tx1'
    assert commands.ack(message, transactions={'tx2'}).headers.get('transaction') is None
    assert 'transaction' not in commands.ack(message).headers
    assert 'transaction' not in commands.ack(activeMqMessage(version), transactions={'tx1'}).headers


def test_ackWithReceipt():
    frame = commands.ack(activeMqMessage(V12), receipt='r9')
    assert frame == StompFrame('ACK', {'id': ACTIVEMQ_ACK_ID, 'receipt': 'r9'})


def test_ackOneZeroWithoutSubscriptionCarriesTheMessageIdOnly():
    message = received('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1'}, version=V10)
    assert commands.ack(message) == StompFrame('ACK', {'message-id': 'm1'})


def test_ackOfAFrameWithoutVersionUsesTheVersionKeyword():
    message = activeMqMessage(None)
    assert message.version == V10  # as in stompest 2.3, a frame's version defaults to 1.0
    assert commands.ack(message).headers == {'message-id': ACTIVEMQ_MESSAGE_ID, 'subscription': 'sub-1'}
    message.version = None
    assert commands.ack(message, version=V12).headers == {'id': ACTIVEMQ_ACK_ID}
    # the frame's own version wins over the keyword
    assert commands.ack(activeMqMessage(V11), version=V12).headers == {
        'message-id': ACTIVEMQ_MESSAGE_ID,
        'subscription': 'sub-1',
    }


# --- transactions, heart-beats -------------------------------------------------------------------


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize(
    ('build', 'command'), [(commands.begin, 'BEGIN'), (commands.abort, 'ABORT'), (commands.commit, 'COMMIT')]
)
def test_transactionFrames(build, command, version):
    frame = build('tx:1', 'r1', version)
    assert frame == StompFrame(command, {'transaction': 'tx:1', 'receipt': 'r1'})
    assert frame.version == version
    expected = 'tx:1' if version == V10 else 'tx\\c1'
    assert bytes(frame) == f'{command}\ntransaction:{expected}\nreceipt:r1\n\n\x00'.encode()


def test_beatIsRefusedInOneZero():
    with pytest.raises(StompProtocolError, match=r'Heart-beating is not supported \(version 1.0\)'):
        commands.beat(V10)


@pytest.mark.parametrize('version', [V11, V12])
def test_beatIsAnEndOfLine(version):
    beat = commands.beat(version)
    assert isinstance(beat, StompHeartBeat)
    assert bytes(beat) == b'\n'


# --- CONNECTED -----------------------------------------------------------------------------------


def test_connectedReadsActiveMqReply():
    frame = received(
        'CONNECTED',
        {'server': 'ActiveMQ/5.17.2', 'heart-beat': '1000,0', 'session': 'ID:vm-1:6', 'version': '1.2'},
    )
    assert commands.connected(frame, ALL) == ('1.2', 'ActiveMQ/5.17.2', 'ID:vm-1:6', (1000, 0))


def test_connectedWithoutVersionHeaderIsOneZeroAndIgnoresHeartBeats():
    frame = received('CONNECTED', {'session': 's', 'heart-beat': '5000,5000'}, version=V10)
    assert commands.connected(frame, ALL) == (V10, None, 's', (0, 0))
    assert commands.connected(frame) == (V10, None, 's', (0, 0))


def test_connectedRefusesAVersionNotOffered():
    frame = received('CONNECTED', {'version': '1.2', 'session': 's'})
    expected = r"Server version not among the versions offered: '1.2' \[offered: 1.0, 1.1\]"
    with pytest.raises(StompProtocolError, match=expected):
        commands.connected(frame, [V10, V11])
    with pytest.raises(StompProtocolError, match="'1.2'"):
        commands.connected(frame)  # default: 1.0 only, as connect() offers by default


def test_connectedRefusesAnUnknownVersion():
    with pytest.raises(StompProtocolError, match="'2.0'") as info:
        commands.connected(received('CONNECTED', {'version': '2.0'}), ALL)
    assert info.value.frame is not None


@pytest.mark.parametrize('value', ['abc', '1000', '1000,', ',0', '-1,0', '1,2,3', '1.5,0', '١,٢', ''])
def test_connectedRefusesGarbageHeartBeatsAsProtocolError(value):
    # a StompProtocolError, as in stompest 2.3
    frame = received('CONNECTED', {'version': '1.1', 'heart-beat': value})
    with pytest.raises(StompProtocolError, match=f'Invalid heart-beat header: {value!r}') as info:
        commands.connected(frame, ALL)
    assert info.value.frame is frame


@pytest.mark.parametrize(
    'value', ['99999999999999999999999,0', '0,99999999999999999999999', f'{2**31},0', '0,' + '9' * 5000]
)
def test_connectedRefusesHeartBeatsAboveTheCap(value):
    frame = received('CONNECTED', {'version': '1.2', 'heart-beat': value})
    with pytest.raises(StompProtocolError, match=f'at most {StompSpec.MAX_HEART_BEAT} ms'):
        commands.connected(frame, ALL)


def test_connectedAcceptsTheCap():
    frame = received('CONNECTED', {'version': '1.2', 'heart-beat': f'{StompSpec.MAX_HEART_BEAT},0'})
    assert commands.connected(frame, ALL)[3] == (StompSpec.MAX_HEART_BEAT, 0)


@pytest.mark.parametrize('heartBeats', [(2**31, 0), (0, 10**30)])
def test_connectRefusesHeartBeatsAboveTheCap(heartBeats):
    with pytest.raises(StompProtocolError, match='Invalid heart-beats'):
        commands.connect(versions=ALL, heartBeats=heartBeats)


def test_connectedRefusesAHeartBeatHeaderThatIsNotText():
    frame = received('CONNECTED', {'version': '1.1'})
    frame.headers['heart-beat'] = None  # only by hand; 2.3's test does it
    with pytest.raises(StompProtocolError, match='Invalid heart-beat header: None'):
        commands.connected(frame, ALL)


def test_connectedGivenAnErrorRaisesWithTheFrameAndItsMessage():
    frame = received('ERROR', {'message': 'Access refused'}, b'details')
    expected = r"Expected a CONNECTED frame, got: 'ERROR' \[message: 'Access refused'\]"
    with pytest.raises(StompProtocolError, match=expected) as info:
        commands.connected(frame, ALL)
    assert info.value.frame is frame


# --- MESSAGE, RECEIPT, ERROR ---------------------------------------------------------------------


@pytest.mark.parametrize('version', ALL)
def test_messageTokenIsTheSubscriptionId(version):
    assert commands.message(activeMqMessage(version)) == ('id', 'sub-1')


def test_messageOneZeroWithoutSubscriptionIsKeyedByDestination():
    frame = received('MESSAGE', {'destination': '/queue/a', 'message-id': 'm'}, version=V10)
    assert commands.message(frame) == ('destination', '/queue/a')


@pytest.mark.parametrize('version', [V11, V12])
def test_messageOneOnePlusNeedsSubscription(version):
    frame = received('MESSAGE', {'destination': '/queue/a', 'message-id': 'm'}, version=version)
    with pytest.raises(StompProtocolError, match="MESSAGE without header 'subscription'"):
        commands.message(frame)


def test_messageOneZeroNeedsSomethingToKeyBy():
    with pytest.raises(StompProtocolError, match="MESSAGE without header 'destination'"):
        commands.message(received('MESSAGE', {'message-id': 'm'}, version=V10))


@pytest.mark.parametrize('version', ALL)
def test_messageNeedsAMessageId(version):
    # As in stompest 2.3 (its sync_client_test test_subscribe_matching_and_corner_cases).
    frame = received('MESSAGE', {'destination': '/queue/a', 'subscription': 's'}, version=version)
    with pytest.raises(StompProtocolError, match="MESSAGE without header 'message-id'"):
        commands.message(frame)


def test_messageRefusesOtherFrames():
    with pytest.raises(StompProtocolError, match='Expected a MESSAGE frame'):
        commands.message(StompHeartBeat())


def test_receiptReturnsTheReceiptId():
    assert commands.receipt(received('RECEIPT', {'receipt-id': 'r:1'})) == 'r:1'
    with pytest.raises(StompProtocolError, match="without header 'receipt-id'"):
        commands.receipt(received('RECEIPT', {}))
    with pytest.raises(StompProtocolError, match='Expected a RECEIPT frame'):
        commands.receipt(received('MESSAGE', {'receipt-id': 'r'}))


@pytest.mark.parametrize(
    ('headers', 'body', 'text'),
    [
        ({'message': 'Invalid transaction id: x'}, b'java.lang.Exception...', 'Invalid transaction id: x'),
        ({}, b'Supported versions are 1.0,1.1,1.2\n', 'Supported versions are 1.0,1.1,1.2\n'),
        ({}, b'bad \xff byte', 'bad \ufffd byte'),
        ({}, b'', ''),
    ],
)
def test_errorReturnsMessageOrBodyText(headers, body, text):
    assert commands.error(received('ERROR', headers, body)) == text


# --- helpers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ('client', 'server', 'expected'),
    [
        ((0, 0), (0, 0), (0, 0)),
        ((1000, 1000), (0, 0), (0, 0)),
        ((0, 0), (1000, 1000), (0, 0)),
        ((1000, 0), (0, 3000), (3000, 0)),  # the server wants one every 3 s; the client can do 1 s
        ((5000, 0), (0, 3000), (5000, 0)),  # the client cannot beat faster than 5 s
        ((0, 1000), (2000, 0), (0, 2000)),
        ((0, 4000), (2000, 0), (0, 4000)),
        ((1000, 1000), (1000, 1000), (1000, 1000)),
        ((100, 200), (300, 400), (400, 300)),
        ((1000, 0), (2000, 0), (0, 0)),  # nobody wants what the other offers
    ],
)
def test_negotiateHeartBeat(client, server, expected):
    assert commands.negotiateHeartBeat(client, server) == expected


@pytest.mark.parametrize(('client', 'server', 'expected'), [(0, 0, 0), (0, 1, 0), (1, 0, 0), (1, 2, 2), (2, 1, 2)])
def test_negotiateHeartBeatOnIntervals(client, server, expected):
    # stompest 2.3's form: one direction, two intervals
    assert commands.negotiateHeartBeat(client, server) == expected


@pytest.mark.parametrize(
    ('client', 'server'), [((-1, 0), (0, 0)), (-1, 0), (0, 2**31), (1.5, 1), (True, 1), ((0, 0), 1), ('1', 2)]
)
def test_negotiateHeartBeatRefusesInvalidValues(client, server):
    with pytest.raises(StompProtocolError):
        commands.negotiateHeartBeat(client, server)


def test_version():
    assert commands.version() == V10
    assert commands.version(V11) == V11
    with pytest.raises(StompProtocolError):
        commands.version('1.3')


@pytest.mark.parametrize('receipt', [4711, 1.5])
def test_aReceiptThatIsNotAStringIsStrd(receipt):
    # as stompest 2.3 did
    assert commands.send('/queue/a', receipt=receipt, version=V12).headers['receipt'] == str(receipt)
    assert commands.disconnect(receipt, V12).headers['receipt'] == str(receipt)
    assert commands.begin('tx', receipt, V12).headers['receipt'] == str(receipt)


def test_versions():
    assert commands.versions() == [V10]
    assert commands.versions(V12) == ALL
    with pytest.raises(StompProtocolError):
        commands.versions('1.3')


def test_errorTextJoinsMessageAndFirstBodyLineCutToTheLimit() -> None:
    frame = StompFrame('ERROR', {'message': 'Bad'}, b'\nno such queue\nstack trace\n')
    assert commands.errorText(frame) == 'Bad: no such queue'
    assert commands.errorText(StompFrame('ERROR', {'message': 'Bad'}, b'Bad')) == 'Bad'
    assert commands.errorText(StompFrame('ERROR', {}, b'only the body')) == 'only the body'
    assert commands.errorText(StompFrame('ERROR', {'message': 'x' * 10}), limit=4) == 'xxxx...'
