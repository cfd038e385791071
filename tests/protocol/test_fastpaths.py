"""The consumer's fast paths give exactly what the careful paths give.

* ``commands.acknowledgeBytes`` (and ``StompSession.ackBytes``) write an ACK/NACK's bytes without
  building a frame: the bytes must equal ``bytes()`` of the frame :func:`commands.ack` builds, and
  every error must be the careful path's, raised at the same step (building or serialising).
* ``StompParser`` decodes the escapes of a head by splitting it in C first and unescaping only the
  values holding a backslash: the headers must equal a line-by-line decoding.

Ids are the brokers' real shapes: ActiveMQ's ``ID:vm-…:1`` (``ID\\cvm-…\\c1`` on the wire) and
RabbitMQ's ``T_s1@@session-…@@1``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stompest.error import StompFrameError, StompProtocolError
from stompest.protocol import commands
from stompest.protocol._escape import escaper, unescaper
from stompest.protocol.frame import StompFrame
from stompest.protocol.parser import StompParser
from stompest.protocol.session import StompSession
from stompest.protocol.spec import StompSpec

VERSIONS = [StompSpec.VERSION_1_0, StompSpec.VERSION_1_1, StompSpec.VERSION_1_2]
ACTIVEMQ_ACK = 'ID:vm-12-34567-1700000000000-3:1'
ACTIVEMQ_ID = 'ID:vm-12-34567-1700000000000-3:1:1:1:1'
RABBITMQ_ID = 'T_s1@@session-Ab0_cDeFgHiJkLmNoPqRsT@@1'
IDS = [
    ACTIVEMQ_ID,
    RABBITMQ_ID,
    '1',
    'a:b:c',
    'back\\slash',
    'line\nbreak',
    'carriage\rreturn',
    'nul\x00inside',
    'caf\u00e9',
    '\udc80',  # a lone surrogate: cannot be encoded in any version
    ':',
]


def message(version, messageId=ACTIVEMQ_ID, ack=ACTIVEMQ_ACK, **extra):
    headers = {'destination': '/queue/a', 'subscription': '0', 'message-id': messageId, 'ack': ack, **extra}
    return StompFrame(StompSpec.MESSAGE, headers, b'x' * 10, version=version)


def careful(command, frame, transactions=None, receipt=None, version=None):
    """(kind, value): the careful path's bytes, or where and how it fails."""
    try:
        built = commands._acknowledge(command, frame, transactions, receipt, version)
    except Exception as exc:  # noqa: BLE001 - compared below
        return ('build', type(exc), str(exc))
    try:
        return ('bytes', bytes(built))
    except Exception as exc:  # noqa: BLE001
        return ('serialise', type(exc), str(exc))


def fast(command, frame, transactions=None, receipt=None, version=None):
    try:
        result = commands.acknowledgeBytes(command, frame, transactions, receipt, version)
    except Exception as exc:  # noqa: BLE001
        return ('build', type(exc), str(exc))
    if type(result) is bytes:
        return ('bytes', result)
    assert isinstance(result, StompFrame)
    try:
        return ('bytes', bytes(result))
    except Exception as exc:  # noqa: BLE001
        return ('serialise', type(exc), str(exc))


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize('value', IDS)
@pytest.mark.parametrize('command', [StompSpec.ACK, StompSpec.NACK])
def test_ackBytesEqualTheCarefulPath(version, value, command):
    frame = message(version, messageId=value, ack=value)
    for _ in range(2):  # the first call fills the per-version cache, the second uses it
        assert fast(command, frame) == careful(command, frame)


def test_fastPathTakenForBrokerIds():
    activemq = commands.acknowledgeBytes(StompSpec.ACK, message('1.2'), None, None, None)
    activemq = commands.acknowledgeBytes(StompSpec.ACK, message('1.2'), None, None, None)
    assert activemq == b'ACK\nid:ID\\cvm-12-34567-1700000000000-3\\c1\n\n\x00'
    rabbit = commands.acknowledgeBytes(StompSpec.ACK, message('1.2', RABBITMQ_ID, RABBITMQ_ID), None, None, None)
    assert rabbit == b'ACK\nid:T_s1@@session-Ab0_cDeFgHiJkLmNoPqRsT@@1\n\n\x00'
    assert commands.acknowledgeBytes(StompSpec.NACK, message('1.1'), set(), None, None) == (
        b'NACK\nmessage-id:ID\\cvm-12-34567-1700000000000-3\\c1\\c1\\c1\\c1\nsubscription:0\n\n\x00'
    )
    assert commands.acknowledgeBytes(StompSpec.ACK, message('1.0'), None, None, None) == (
        b'ACK\nmessage-id:ID:vm-12-34567-1700000000000-3:1:1:1:1\nsubscription:0\n\n\x00'
    )


@pytest.mark.parametrize('version', VERSIONS)
def test_transactionsAndReceiptsTakeTheCarefulPath(version):
    frame = message(version, transaction='tx-1')
    for transactions, receipt in [({'tx-1'}, None), ({'tx-2'}, None), (None, 'r-1'), ({'tx-1'}, 'r:1')]:
        result = commands.acknowledgeBytes(StompSpec.ACK, frame, transactions, receipt, None)
        assert isinstance(result, StompFrame)
        assert bytes(result) == bytes(commands.ack(frame, transactions, receipt))
    assert b'transaction:tx-1' in bytes(commands.acknowledgeBytes(StompSpec.ACK, frame, {'tx-1'}, None, None))


@pytest.mark.parametrize(
    'frame',
    [
        message('1.2', ack=''),  # empty ack header
        StompFrame(StompSpec.MESSAGE, {'message-id': '1'}, version='1.2'),  # no ack header
        StompFrame(StompSpec.MESSAGE, {'ack': 5, 'message-id': 7}, version='1.2'),  # not str (set by hand)
        StompFrame(StompSpec.MESSAGE, {'message-id': '1', 'subscription': '0'}, version='1.1'),
        StompFrame(StompSpec.MESSAGE, {'message-id': '1'}, version='1.1'),  # no subscription
        StompFrame(StompSpec.RECEIPT, {'receipt-id': '1', 'ack': '1'}, version='1.2'),  # not a MESSAGE
        StompFrame(StompSpec.ERROR, {'message': 'boom', 'ack': '1'}, version='1.2'),
        StompFrame(StompSpec.MESSAGE, {'ack': '1', 'message-id': '1'}, version='9.9'),  # unknown version
        StompFrame(StompSpec.MESSAGE, {'ack': '1', 'message-id': '1'}),  # no version: the default
    ],
)
@pytest.mark.parametrize('command', [StompSpec.ACK, StompSpec.NACK])
def test_errorsAndOddFramesEqualTheCarefulPath(frame, command):
    frame.headers = dict(frame.headers)  # values set by hand may be non-str, as a caller could
    if frame.headers.get('ack') == '5':
        frame.headers['ack'] = 5  # type: ignore[assignment]
    for _ in range(2):
        for version in (None, '1.0', '1.2'):
            assert fast(command, frame, version=version) == careful(command, frame, version=version)


def test_notAFrameEqualsTheCarefulPath():
    assert fast(StompSpec.ACK, 'MESSAGE', version='1.2') == careful(StompSpec.ACK, 'MESSAGE', version='1.2')


@settings(max_examples=300, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    command=st.sampled_from([StompSpec.ACK, StompSpec.NACK]),
    ack=st.text(max_size=12),
    messageId=st.text(max_size=12),
    subscription=st.text(max_size=6),
)
def test_anyHeaderValuesEqualTheCarefulPath(version, command, ack, messageId, subscription):
    frame = StompFrame(
        StompSpec.MESSAGE, {'ack': ack, 'message-id': messageId, 'subscription': subscription}, version=version
    )
    assert fast(command, frame) == careful(command, frame)


def connectedSession(version):
    session = StompSession(version)
    session.connect()
    session.connected(StompFrame(StompSpec.CONNECTED, {'version': version}))
    return session


@pytest.mark.parametrize('version', VERSIONS)
def test_sessionAckFastEqualsAck(version):
    session = connectedSession(version)
    for frame in (message(version), message(version, RABBITMQ_ID, RABBITMQ_ID)):
        assert session.ackBytes(frame) == bytes(session.ack(frame))
    transaction = session.transaction('tx-1')
    session.begin(transaction)
    inTransaction = message(version, transaction='tx-1')
    result = session.ackBytes(inTransaction)
    assert isinstance(result, StompFrame)
    assert bytes(result) == bytes(session.ack(inTransaction))


def test_sessionAckFastChecksTheState():
    session = StompSession('1.2')
    with pytest.raises(StompProtocolError) as fastError:
        session.ackBytes(message('1.2'))
    with pytest.raises(StompProtocolError) as carefulError:
        session.ack(message('1.2'))
    assert str(fastError.value) == str(carefulError.value)


# --- parser: escapes decoded after the split in C --------------------------------------------------


def referenceHeaders(head: str, version: str, command: str):
    """Line by line: split at the first colon, decode escapes, first entry wins."""
    unescape = unescaper(version, command)
    headers: dict[str, str] = {}
    raw = []
    for line in head.split('\n'):
        name, _, value = line.partition(':')
        if unescape is not None:
            name, value = unescape(name), unescape(value)
        raw.append((name, value))
        headers.setdefault(name, value)
    return headers, (raw if len(raw) != len(headers) else None)


def wire(command: str, lines: list[str]) -> bytes:
    return ('\n'.join([command, *lines]) + '\n\n').encode() + b'body\x00'


@pytest.mark.parametrize('version', VERSIONS)
@pytest.mark.parametrize(
    'lines',
    [
        ['ack:ID\\cvm-12-34567-1700000000000-3\\c1', 'message-id:ID\\cvm-1\\c1\\c1', 'subscription:0'],
        ['message-id:T_s1@@session-Ab0@@1', 'ack:T_s1@@session-Ab0@@1', 'subscription:0'],
        ['a:x\\\\y', 'b:line\\nbreak', 'c:raw:colon\\c', 'd:\\c'],
        ['a:1', 'a:2\\c'],  # a repeat: rawHeaders kept
        ['n\\cm:1', 'n:m:2'],  # an escaped name
        ['n\\cm:1', 'n\\cm:2'],  # a repeated escaped name
        ['x:1', 'y\\\\:2\\c'],
    ],
)
def test_escapedHeadsEqualLineByLineDecoding(version, lines):
    parser = StompParser(version)
    parser.add(wire(StompSpec.MESSAGE, lines))
    frame = parser.get()
    headers, raw = referenceHeaders('\n'.join(lines), version, StompSpec.MESSAGE)
    assert frame.headers == headers
    assert list(frame.headers) == list(headers)  # wire order kept
    assert frame.rawHeaders == raw
    assert frame.body == b'body'


def test_carriageReturnEscapeOnlyIn12():
    parser = StompParser('1.2')
    parser.add(wire(StompSpec.MESSAGE, ['a:x\\ry', 'b:1']))
    assert parser.get().headers == {'a': 'x\ry', 'b': '1'}
    parser = StompParser('1.1')
    with pytest.raises(StompFrameError, match=r"Undefined escape sequence: '\\\\r'"):
        parser.add(wire(StompSpec.MESSAGE, ['a:x\\ry', 'b:1']))  # add() reads the frame at once


@pytest.mark.parametrize(
    'lines, bad',
    [
        (['a:ok\\c', 'b:bad\\x', 'c:worse\\q'], '\\x'),  # the first undefined escape in line order
        (['a:bad\\', 'b:1'], '\\'),
        (['a\\q:1', 'b:bad\\x'], '\\q'),  # in a name
    ],
)
def test_undefinedEscapeReportedAsOnTheCarefulPath(lines, bad):
    parser = StompParser('1.2')
    with pytest.raises(StompFrameError) as caught:
        parser.add(wire(StompSpec.MESSAGE, lines))
    assert str(caught.value).startswith(f'Undefined escape sequence: {bad!r} [version 1.2, command MESSAGE]')


def test_lineWithoutColonReportedBeforeEscapes():
    parser = StompParser('1.2')
    with pytest.raises(StompFrameError, match='Undefined escape sequence'):
        # line order: the bad escape of line 1 comes first, as on the careful path
        parser.add(wire(StompSpec.MESSAGE, ['a:bad\\x', 'nocolon']))
    parser = StompParser('1.2')
    with pytest.raises(StompFrameError, match='Invalid header line'):
        parser.add(wire(StompSpec.MESSAGE, ['nocolon', 'a:bad\\x']))


_headerText = st.text(alphabet=st.sampled_from('ab:\\cnr\r\x00é'), max_size=8)


@settings(max_examples=400, deadline=None)
@given(
    version=st.sampled_from(VERSIONS),
    names=st.lists(st.text(alphabet=st.sampled_from('ab\\cn'), min_size=1, max_size=4), min_size=1, max_size=5),
    values=st.lists(_headerText, min_size=5, max_size=5),
)
def test_anyEscapedHeadEqualsLineByLineDecoding(version, names, values):
    lines = [f'{name}:{value}' for name, value in zip(names, values, strict=False)]
    head = '\n'.join(lines)
    if version == StompSpec.VERSION_1_2:
        lines = [line.rstrip('\r') if line.endswith('\r') else line for line in lines]  # CR ends a 1.2 line
        head = '\n'.join(lines)
    try:
        expected = referenceHeaders(head, version, StompSpec.MESSAGE)
    except StompFrameError as exc:
        expected = ('error', str(exc))
    if version == StompSpec.VERSION_1_2 and '\r' in head:  # checked before any line is decoded
        line = next(line for line in lines if '\r' in line)
        expected = ('error', f"Raw carriage return in a header line (version 1.2): {line!r} [command MESSAGE]")
    parser = StompParser(version)
    try:
        parser.add(wire(StompSpec.MESSAGE, lines))  # add() reads the frame at once
        frame = parser.get()
        got = (frame.headers, frame.rawHeaders)
    except StompFrameError as exc:
        got = ('error', str(exc))
    if expected[0] != 'error' and got[0] != 'error':
        assert list(got[0]) == list(expected[0])
    assert got == expected


def test_serialisedAckOfParsedMessageRoundTrips():
    """An ActiveMQ id goes through parse (unescape) and ACK (escape) back to the broker's text."""
    escape = escaper('1.2', StompSpec.ACK)
    assert escape is not None
    parser = StompParser('1.2')
    parser.add(wire(StompSpec.MESSAGE, ['ack:ID\\cvm-1\\c7', 'message-id:ID\\cvm-1\\c7\\c1', 'subscription:0']))
    frame = parser.get()
    assert commands.acknowledgeBytes(StompSpec.ACK, frame, None, None, None) in (
        b'ACK\nid:ID\\cvm-1\\c7\n\n\x00',
        bytes(commands.ack(frame)),
    )
    assert bytes(commands.ack(frame)) == b'ACK\nid:ID\\cvm-1\\c7\n\n\x00'
