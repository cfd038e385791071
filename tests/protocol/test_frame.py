"""StompFrame and StompHeartBeat: values, serialisation per version, info()."""

from __future__ import annotations

import pytest

from stompest.error import StompEncodingError, StompProtocolError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.spec import StompSpec
from tests.helpers import feed

V10, V11, V12 = StompSpec.VERSION_1_0, StompSpec.VERSION_1_1, StompSpec.VERSION_1_2


def test_serialisesCommandHeadersBodyAndNul():
    frame = StompFrame(StompSpec.SEND, {'destination': '/queue/a', 'x': 'y'}, b'hi', version=V12)
    assert bytes(frame) == b'SEND\ndestination:/queue/a\nx:y\n\nhi\x00'


def test_defaultVersionIs10ForSerialisation():
    assert bytes(StompFrame(StompSpec.SEND, {'x': 'a:b\\c'})) == b'SEND\nx:a:b\\c\n\n\x00'


@pytest.mark.parametrize(
    ('version', 'wire'),
    [(V11, b'SEND\na\\cb:c\\\\d\\ne\n\n\x00'), (V12, b'SEND\na\\cb:c\\\\d\\ne\n\n\x00')],
)
def test_escapesHeadersFrom11(version, wire):
    assert bytes(StompFrame(StompSpec.SEND, {'a:b': 'c\\d\ne'}, version=version)) == wire


def test_escapesCarriageReturnOnlyIn12():
    assert bytes(StompFrame(StompSpec.SEND, {'x': 'a\rb'}, version=V12)) == b'SEND\nx:a\\rb\n\n\x00'
    assert bytes(StompFrame(StompSpec.SEND, {'x': 'a\rb'}, version=V11)) == b'SEND\nx:a\rb\n\n\x00'


@pytest.mark.parametrize(
    ('version', 'command'),
    [
        (version, command)
        for version in (V10, V11, V12)
        for command in sorted(StompSpec.COMMANDS_ESCAPE_EXCLUDED)
        if command in StompSpec.COMMANDS[version]
    ],
)
def test_neverEscapesConnectFrames(version, command):
    frame = StompFrame(command, {'login': 'a\\b', 'host': 'x:y'}, version=version)
    assert bytes(frame) == command.encode() + b'\nlogin:a\\b\nhost:x:y\n\n\x00'


@pytest.mark.parametrize('version', [V10, V11, V12])
def test_lineBreakInUnescapedHeaderIsRefused(version):
    with pytest.raises(StompProtocolError, match='line break'):
        bytes(StompFrame(StompSpec.CONNECT, {'login': 'a\nb'}, version=version))


def test_lineBreakIn10IsRefused():
    with pytest.raises(StompProtocolError, match='line break'):
        bytes(StompFrame(StompSpec.SEND, {'x': 'a\nb'}, version=V10))


@pytest.mark.parametrize('version', [V10, V11])
def test_carriageReturnIsDataBefore12(version):
    # As stompest 2.3 wrote it: a 1.0 or 1.1 reader keeps the CR (only LF ends a line there).
    frame = StompFrame(StompSpec.SEND, {'destination': '/q\r'}, version=version)
    assert bytes(frame) == b'SEND\ndestination:/q\r\n\n\x00'
    assert bytes(StompFrame(StompSpec.CONNECT, {'login': 'a\rb'}, version=version)) == b'CONNECT\nlogin:a\rb\n\n\x00'


@pytest.mark.parametrize(('version', 'command'), [(V12, StompSpec.CONNECT), (V10, StompSpec.CONNECTED)])
def test_carriageReturnIsRefusedWhereItEndsALine(version, command):
    # A 1.2 reader, and every reader of CONNECTED, takes a CR before the LF as part of the line end.
    with pytest.raises(StompProtocolError, match='line break'):
        bytes(StompFrame(command, {'x': 'a\r'}, version=version))


def test_colonInUnescapedHeaderNameIsRefused():
    with pytest.raises(StompProtocolError, match='colon'):
        bytes(StompFrame(StompSpec.SEND, {'a:b': 'c'}, version=V10))


def test_nonAsciiHeaderIn10IsRefused():
    with pytest.raises(StompProtocolError, match='cannot be encoded in version 1.0'):
        bytes(StompFrame(StompSpec.SEND, {'x': 'wert€'}, version=V10))


@pytest.mark.parametrize('version', [V11, V12])
def test_nonAsciiHeaderIsUtf8From11(version):
    assert bytes(StompFrame(StompSpec.SEND, {'x': 'wert€'}, version=version)) == 'SEND\nx:wert€\n\n\x00'.encode()


def test_contentLengthIsAddedForBodiesWithNul():
    assert bytes(StompFrame(StompSpec.SEND, {}, b'a\x00b')) == b'SEND\ncontent-length:3\n\na\x00b\x00'


def test_contentLengthIsNotAddedForPlainBodies():
    assert b'content-length' not in bytes(StompFrame(StompSpec.SEND, {}, b'abc'))


def test_contentLengthMismatchIsRefused():
    with pytest.raises(StompProtocolError, match="content-length does not match the body: '2'"):
        bytes(StompFrame(StompSpec.SEND, {'content-length': '2'}, b'abc'))


def test_setContentLength():
    frame = StompFrame(StompSpec.SEND, {}, b'abc')
    frame.setContentLength()
    assert frame.headers == {'content-length': '3'}
    assert bytes(frame) == b'SEND\ncontent-length:3\n\nabc\x00'


def test_setContentLengthReplacesRawEntries():
    frame = StompFrame(StompSpec.SEND, rawHeaders=[('content-length', '9'), ('content-length', '8')], body=b'ab')
    frame.setContentLength()
    assert frame.headers['content-length'] == '2'
    assert frame.rawHeaders == [('content-length', '2')]


def test_repeatedHeadersAreSerialisedAfterTheFirst():
    frame = StompFrame(StompSpec.MESSAGE, rawHeaders=[('x', '1'), ('y', '2'), ('x', '3')], version=V12)
    assert frame.headers == {'x': '1', 'y': '2'}
    assert bytes(frame) == b'MESSAGE\nx:1\ny:2\nx:3\n\n\x00'
    again = feed(StompParser(V12), bytes(frame))[0]
    assert again.rawHeaders == [('x', '1'), ('y', '2'), ('x', '3')]


def test_unrawForgetsRepeats():
    frame = StompFrame(StompSpec.MESSAGE, rawHeaders=[('x', '1'), ('x', '3')])
    frame.unraw()
    assert frame.rawHeaders is None
    assert bytes(frame) == b'MESSAGE\nx:1\n\n\x00'


def test_headersAreKeptAsGivenAndWrittenWithStr():
    # as in stompest 2.3: the constructor copies the headers, serialising str()s them
    given = {123: 456}
    frame = StompFrame(StompSpec.MESSAGE, given)
    assert frame.headers == {123: 456} and frame.headers is not given
    assert bytes(frame) == b'MESSAGE\n123:456\n\n\x00'
    frame = StompFrame(StompSpec.SEND, [('n', 1)], 'grüß', version=V12)
    assert frame.headers == {'n': 1}
    assert frame.body == 'grüß'.encode()
    assert bytes(frame) == 'SEND\nn:1\n\ngrüß\x00'.encode()


def test_aNumericContentLengthIsAccepted():
    assert bytes(StompFrame(StompSpec.SEND, {'content-length': 2}, b'hi')) == b'SEND\ncontent-length:2\n\nhi\x00'


def test_rawHeadersAreKeptAsGiven():
    rawHeaders = (('foo', 'bar1'), ('foo', 'bar2'))
    frame = StompFrame(StompSpec.SEND, rawHeaders=rawHeaders)
    assert frame.rawHeaders == rawHeaders
    assert frame.headers == {'foo': 'bar1'}


def test_versionDefaultsToOneZero():
    assert StompFrame(StompSpec.SEND).version == V10


@pytest.mark.parametrize(
    'frame',
    [
        StompFrame(StompSpec.SEND, {'destination': '/queue/a'}, b'two\nlines'),
        StompFrame(StompSpec.DISCONNECT),
        StompFrame(StompSpec.DISCONNECT, {'fenêtre': '¿qué tal?'}, version=V11),
        StompFrame(StompSpec.SEND, rawHeaders=[('foo', 'bar1'), ('foo', 'bar2')], body=b'x', version=V12),
    ],
)
def test_dictOfAFrameRebuildsIt(frame):
    again = StompFrame(**dict(frame))
    assert again == frame and bytes(again) == bytes(frame)
    assert again.version == frame.version and again.rawHeaders == frame.rawHeaders
    assert eval(repr(frame)) == frame


def test_dictOfAFrameLeavesDefaultsOut():
    assert dict(StompFrame(StompSpec.DISCONNECT)) == {'command': 'DISCONNECT'}
    message = {'command': 'SEND', 'headers': {'destination': '/queue/a'}, 'body': b'x', 'version': V12}
    assert dict(StompFrame(**message)) == message


def test_anUnencodableHeaderIsAlsoAUnicodeEncodeError():
    # stompest 2.3 raised UnicodeEncodeError; StompEncodingError is both
    frame = StompFrame(StompSpec.DISCONNECT, {'fenêtre': 'x'}, version=V11)
    bytes(frame)
    frame.version = V10
    with pytest.raises(UnicodeEncodeError) as info:
        bytes(frame)
    assert isinstance(info.value, StompProtocolError) and isinstance(info.value, StompEncodingError)
    assert info.value.encoding == 'ascii' and info.value.object[info.value.start] == 'ê'
    assert str(info.value) == "Headers cannot be encoded in version 1.0 (ascii): 'ê'"


def test_equalityIgnoresVersionAndRawHeaders():
    a = StompFrame(StompSpec.SEND, {'x': '1'}, b'b', version=V10)
    b = StompFrame(StompSpec.SEND, rawHeaders=[('x', '1'), ('x', '2')], body=b'b', version=V12)
    assert a == b
    assert a != StompFrame(StompSpec.SEND, {'x': '2'}, b'b')
    assert a != StompFrame(StompSpec.SEND, {'x': '1'}, b'c')
    assert a != StompFrame(StompSpec.MESSAGE, {'x': '1'}, b'b')
    assert a != 'SEND'


def test_framesAreUnhashable():
    with pytest.raises(TypeError):
        hash(StompFrame())


def test_infoMasksPasscodeAndTruncatesBody():
    frame = StompFrame(StompSpec.CONNECT, {'login': 'me', 'passcode': 'secret'}, b'x' * 100)
    info = frame.info()
    assert 'secret' not in info and '********' in info
    assert "'login': 'me'" in info
    assert info.endswith(f"body=b'{'x' * StompFrame.INFO_LENGTH}...', version=1.0]") and 'x' * 21 not in info
    assert 'secret' not in repr(frame)


def test_infoInStompestTwoThreesForm():
    frame = StompFrame(StompSpec.MESSAGE, {'a': 'c'}, b'More text than fits a short info.', version=V11)
    assert frame.info() == "MESSAGE frame [headers={'a': 'c'}, body=b'More text than fits ...', version=1.1]"
    assert StompFrame(StompSpec.DISCONNECT).info() == 'DISCONNECT frame [version=1.0]'


def test_reprMasksPasscodeInRawHeaders():
    frame = StompFrame(StompSpec.CONNECT, rawHeaders=[('passcode', 'secret'), ('passcode', 'other')])
    assert 'secret' not in repr(frame) and 'other' not in repr(frame)


def test_strIsTheInfoTextWithThePasscodeMasked():
    frame = StompFrame(StompSpec.CONNECT, {'login': 'me', 'passcode': 'secret'}, b'\xffa')
    expected = "CONNECT frame [headers={'login': 'me', 'passcode': '********'}, body=b'\\xffa', version=1.0]"
    assert str(frame) == frame.info() == expected
    assert f'{frame}' == str(frame)


def test_heartBeat():
    beat = StompHeartBeat()
    assert bytes(beat) == b'\n' and str(beat) == 'heart-beat'
    assert not beat and bool(StompFrame()) is True
    assert beat == StompHeartBeat(V12)
    assert beat != StompFrame()
    assert beat.info() == 'heart-beat'
    assert repr(beat) == 'StompHeartBeat()'


def test_unknownVersionIsRefusedOnSerialisation():
    with pytest.raises(StompProtocolError, match="Version is not supported: '2.0'"):
        bytes(StompFrame(StompSpec.SEND, {}, b'', version='2.0'))
