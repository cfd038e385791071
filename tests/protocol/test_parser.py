"""StompParser on the wire: every case fed whole, 1 byte and 7 bytes at a time, and glued to a next frame."""

from __future__ import annotations

import pytest

from stompest.error import StompFrameError, StompFrameLimitError, StompProtocolError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.spec import StompSpec
from tests.helpers import feed

V10, V11, V12 = StompSpec.VERSION_1_0, StompSpec.VERSION_1_1, StompSpec.VERSION_1_2
ALL = [V10, V11, V12]
CHUNKS = [None, 1, 7]
GLUE = b'RECEIPT\nreceipt-id:glued\n\n\x00'
GLUED = StompFrame(StompSpec.RECEIPT, {StompSpec.RECEIPT_ID_HEADER: 'glued'})


def parse(wire: bytes, version: str | None, chunk: int | None, **limits: int) -> list:
    """Feed ``wire`` in ``chunk``s, and also with a RECEIPT glued on: both must agree."""
    frames = feed(StompParser(version, **limits), wire, chunk)
    glued = feed(StompParser(version, **limits), wire + GLUE, chunk)
    assert glued == [*frames, GLUED]
    return frames


def fails(wire: bytes, version: str | None, chunk: int | None, **limits: int) -> StompFrameError:
    parser = StompParser(version, **limits)
    with pytest.raises(StompFrameError) as info:
        feed(parser, wire, chunk)
    return info.value


def message(headers: dict[str, str], body: bytes = b'') -> StompFrame:
    return StompFrame(StompSpec.MESSAGE, headers, body)


# -- frames, bodies, heart-beats ------------------------------------------------------------------


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_parsesMessageWithHeadersAndBody(version, chunk):
    wire = b'MESSAGE\ndestination:/queue/a\nmessage-id:7\n\nhello\x00'
    frames = parse(wire, version, chunk)
    assert frames == [message({'destination': '/queue/a', 'message-id': '7'}, b'hello')]
    assert frames[0].version == version
    assert frames[0].rawHeaders is None


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_parsesFrameWithoutHeadersOrBody(version, chunk):
    assert parse(b'RECEIPT\n\n\x00', version, chunk) == [StompFrame(StompSpec.RECEIPT)]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_parsesBinaryBodyWithContentLength(version, chunk):
    body = bytes(range(256)) * 3 + b'\x00\x00'
    wire = b'MESSAGE\ncontent-length:%d\n\n' % len(body) + body + b'\x00'
    assert parse(wire, version, chunk) == [message({'content-length': str(len(body))}, body)]


@pytest.mark.parametrize('chunk', [None, 1500, 65536])
def test_parsesLargeBodyWithContentLength(chunk):
    body = b'\x00\xff' * (600 * 1024)
    wire = b'MESSAGE\ncontent-length:%d\n\n' % len(body) + body + b'\x00\n'
    assert feed(StompParser(V12), wire, chunk) == [message({'content-length': str(len(body))}, body)]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_parsesEmptyBodyWithContentLengthZero(version, chunk):
    frames = parse(b'RECEIPT\ncontent-length:0\n\n\x00', version, chunk)
    assert frames == [StompFrame('RECEIPT', {'content-length': '0'})]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_bodyWithoutContentLengthEndsAtFirstNul(version, chunk):
    frames = feed(StompParser(version), b'MESSAGE\n\nab\x00RECEIPT\n\n\x00', chunk)
    assert frames == [message({}, b'ab'), StompFrame('RECEIPT')]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_oneEolAfterNulBelongsToTheFrame(version, chunk):
    wire = b'MESSAGE\n\na\x00\nMESSAGE\n\nb\x00\n'
    assert parse(wire, version, chunk) == [message({}, b'a'), message({}, b'b')]


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_furtherEolsAfterAFrameAreHeartBeats(version, chunk):
    wire = b'MESSAGE\n\na\x00\n\n\nMESSAGE\n\nb\x00'
    frames = parse(wire, version, chunk)
    assert frames == [message({}, b'a'), StompHeartBeat(), StompHeartBeat(), message({}, b'b')]
    assert all(isinstance(frame, StompHeartBeat) for frame in frames[1:3])


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_eolsBeforeTheFirstFrameAreHeartBeats(version, chunk):
    assert parse(b'\n\nRECEIPT\n\n\x00', version, chunk) == [StompHeartBeat(), StompHeartBeat(), StompFrame('RECEIPT')]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_eolsBetweenFramesAreSkippedIn10(chunk):
    """STOMP 1.0 has no heart-beats: stompest 2.3 skipped every EOL between frames in 1.0."""
    wire = b'\n\nMESSAGE\n\na\x00\n\n\nMESSAGE\n\nb\x00\n\n'
    assert parse(wire, V10, chunk) == [message({}, b'a'), message({}, b'b')]


def test_heartBeatsResumeWhenTheVersionLeaves10():
    parser = StompParser(V10)
    assert feed(parser, b'\n\n') == []
    parser.version = V11
    assert feed(parser, b'\n') == [StompHeartBeat()]
    parser = StompParser()
    frames = feed(parser, b'\nCONNECTED\nversion:1.1\n\n\x00\n\n')
    assert frames == [StompFrame('CONNECTED', {'version': '1.1'}), StompHeartBeat()]


def test_eolOwedToAFrameMayArriveInTheNextChunk():
    parser = StompParser(V12)
    assert feed(parser, b'MESSAGE\n\na\x00') == [message({}, b'a')]
    assert feed(parser, b'\n') == []
    assert feed(parser, b'\n') == [StompHeartBeat()]
    assert feed(parser, b'\r') == []
    assert feed(parser, b'\n') == [StompHeartBeat()]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_crlfIsAnEolInVersion12(chunk):
    wire = b'\r\nMESSAGE\r\ndestination:/queue/a\r\nx:y\n\r\nbody\x00\r\n\r\n'
    frames = parse(wire, V12, chunk)
    assert frames == [StompHeartBeat(), message({'destination': '/queue/a', 'x': 'y'}, b'body'), StompHeartBeat()]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_crlfEndsTheHeadInVersion12WithoutHeaders(chunk):
    assert parse(b'RECEIPT\r\n\r\n\x00\r\n', V12, chunk) == [StompFrame('RECEIPT')]


@pytest.mark.parametrize('version', [V10, V11])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_crBeforeLfIsPartOfTheValueBefore12(version, chunk):
    frames = parse(b'MESSAGE\nx:y\r\n\n\x00', version, chunk)
    assert frames == [message({'x': 'y\r'})]


@pytest.mark.parametrize('version', [V10, V11])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_crlfHeartBeatIsAnInvalidCommandBefore12(version, chunk):
    error = fails(b'\r\n\n', version, chunk)
    assert str(error) == f"Invalid command (version {version}): '\\r'"


# -- headers: escapes, colons, repeats, encoding ---------------------------------------------------


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_unescapesHeaders(version, chunk):
    wire = b'MESSAGE\na\\cb:c\\\\d\\ne\n\n\x00'
    assert parse(wire, version, chunk) == [message({'a:b': 'c\\d\ne'})]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_unescapesCarriageReturnIn12(chunk):
    assert parse(b'MESSAGE\nx:a\\rb\n\n\x00', V12, chunk) == [message({'x': 'a\rb'})]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_carriageReturnEscapeIsUndefinedIn11(chunk):
    error = fails(b'MESSAGE\nx:a\\rb\n\n\x00', V11, chunk)
    assert 'Undefined escape sequence' in str(error) and "'\\\\r'" in str(error)


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_undefinedEscapeIsFatal(version, chunk):
    parser = StompParser(version)
    with pytest.raises(StompFrameError, match='Undefined escape sequence'):
        feed(parser, b'MESSAGE\nx:a\\tb\n\n\x00', chunk)
    with pytest.raises(StompFrameError, match='unusable'):
        feed(parser, GLUE)


@pytest.mark.parametrize('chunk', CHUNKS)
def test_noEscapesIn10(chunk):
    assert parse(b'MESSAGE\nx:a\\cb\\t\n\n\x00', V10, chunk) == [message({'x': 'a\\cb\\t'})]


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_noEscapesInConnected(version, chunk):
    wire = b'CONNECTED\nversion:%s\nserver:a\\cb\\t\n\n\x00' % version.encode()
    assert parse(wire, version, chunk) == [StompFrame('CONNECTED', {'version': version, 'server': 'a\\cb\\t'})]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_rawColonsBelongToTheValue(version, chunk):
    wire = b'MESSAGE\nmessage-id:ID:host-1:2:3\n\n\x00'
    assert parse(wire, version, chunk) == [message({'message-id': 'ID:host-1:2:3'})]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_headerValuesAreNotTrimmed(version, chunk):
    assert parse(b'MESSAGE\nx: y \n\n\x00', version, chunk) == [message({'x': ' y '})]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_headerLineWithoutColonIsAnError(version, chunk):
    error = fails(b'MESSAGE\nnocolon\n\n\x00', version, chunk)
    assert str(error) == "Invalid header line (no colon): 'nocolon' [command MESSAGE]"


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_headerWithEmptyNameIsAHeader(version, chunk):
    # As in stompest 2.3 (its test_frame_parse_succeeds sends ':empty-header').
    assert parse(b'MESSAGE\n:value\nx:y\n\n\x00', version, chunk) == [message({'': 'value', 'x': 'y'})]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_firstRepeatedHeaderWinsAndAllAreKept(version, chunk):
    frames = parse(b'MESSAGE\nx:1\ny:2\nx:3\n\n\x00', version, chunk)
    assert frames == [message({'x': '1', 'y': '2'})]
    assert frames[0].rawHeaders == [('x', '1'), ('y', '2'), ('x', '3')]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_repeatedHeadersAreUnescapedToo(chunk):
    frames = parse(b'MESSAGE\nx:a\\cb\nx:c\\nd\n\n\x00', V12, chunk)
    assert frames[0].rawHeaders == [('x', 'a:b'), ('x', 'c\nd')]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_headersAreDecodedAsUtf8(version, chunk):
    wire = 'MESSAGE\nschlüssel:wert€\n\n\x00'.encode()
    assert parse(wire, version, chunk) == [message({'schlüssel': 'wert€'})]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_undecodableHeadersAreAnError(version, chunk):
    error = fails(b'MESSAGE\nx:\xff\xfe\n\n\x00', version, chunk)
    assert str(error).startswith('Headers are not valid UTF-8')
    assert isinstance(error.__cause__, UnicodeDecodeError)


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_bodyIsNotDecoded(version, chunk):
    assert parse(b'MESSAGE\n\n\xff\xfe\x00', version, chunk) == [message({}, b'\xff\xfe')]


# -- commands and bodies per version ---------------------------------------------------------------


@pytest.mark.parametrize('chunk', CHUNKS)
def test_nackIsAnInvalidCommandIn10(chunk):
    assert str(fails(b'NACK\n\n\x00', V10, chunk)) == "Invalid command (version 1.0): 'NACK'"


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_nackAndStompAreValidFrom11(version, chunk):
    frames = parse(b'NACK\nid:1\n\n\x00STOMP\n\n\x00', version, chunk)
    assert frames == [StompFrame('NACK', {'id': '1'}), StompFrame('STOMP')]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_unknownCommandIsNamed(version, chunk):
    assert str(fails(b'FOO\n\n\x00', version, chunk)) == f"Invalid command (version {version}): 'FOO'"


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_commandsAreCaseSensitive(version, chunk):
    assert 'Invalid command' in str(fails(b'message\n\n\x00', version, chunk))


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_bodyOnReceiptIsAnErrorFrom11(version, chunk):
    error = fails(b'RECEIPT\nreceipt-id:1\n\nbody\x00', version, chunk)
    assert str(error) == f"Frame must not have a body (version {version}): 'RECEIPT' [body has 4 bytes]"


@pytest.mark.parametrize('version', [V11, V12])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_contentLengthBodyOnSubscribeIsAnErrorFrom11(version, chunk):
    error = fails(b'SUBSCRIBE\ncontent-length:2\n\nab\x00', version, chunk)
    assert 'must not have a body' in str(error)


@pytest.mark.parametrize('chunk', CHUNKS)
def test_bodyOnReceiptIsAllowedIn10(chunk):
    assert parse(b'RECEIPT\n\nbody\x00', V10, chunk) == [StompFrame('RECEIPT', body=b'body')]


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('command', sorted(StompSpec.COMMANDS_BODY_ALLOWED))
def test_bodyAllowedOnSendMessageError(version, command):
    assert parse(command.encode() + b'\n\nbody\x00', version, None) == [StompFrame(command, body=b'body')]


# -- content-length --------------------------------------------------------------------------------


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
@pytest.mark.parametrize('value', [b'-1', b'abc', b'', b'1.5', b' 3', b'\xc2\xb2'])
def test_badContentLengthIsAnError(version, chunk, value):
    error = fails(b'MESSAGE\ncontent-length:' + value + b'\n\nabc\x00', version, chunk)
    assert str(error).startswith('Invalid content-length')


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_byteAfterContentLengthBodyMustBeNul(version, chunk):
    error = fails(b'MESSAGE\ncontent-length:2\n\nabc\x00', version, chunk)
    assert str(error) == "Frame not terminated by NUL: b'c' after a body of content-length 2 [command MESSAGE]"


@pytest.mark.parametrize('chunk', CHUNKS)
def test_firstContentLengthWins(chunk):
    frames = parse(b'MESSAGE\ncontent-length:1\ncontent-length:3\n\na\x00', V12, chunk)
    assert frames[0].body == b'a'


# -- a CONNECTED frame with CR LF line ends, whatever the version -----------------------------------

CRLF_CONNECTED = b'CONNECTED\r\nversion:1.2\r\nserver:ActiveMQ/5.17\r\nheart-beat:0,0\r\n\r\n\x00\r\n'


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_connectedWithCrlfLinesIsReadInEveryVersion(version, chunk):
    """A client offering 1.2 reads CONNECTED before the version is known (STOMP 1.2: any EOL may be
    CR LF). Glued: the RECEIPT after it is read under 1.2, and the CR LF after its NUL is its EOL."""
    parser = StompParser(version)
    frames = feed(parser, CRLF_CONNECTED, chunk)
    assert frames == [StompFrame('CONNECTED', {'version': '1.2', 'server': 'ActiveMQ/5.17', 'heart-beat': '0,0'})]
    assert frames[0].version == version
    assert parser.version == V12
    assert parse(CRLF_CONNECTED, version, chunk) == frames


@pytest.mark.parametrize('version', ALL)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_connectedWithCrlfAndNoVersionIs10(version, chunk):
    parser = StompParser(version)
    assert feed(parser, b'CONNECTED\r\nsession:1\r\n\r\n\x00', chunk) == [StompFrame('CONNECTED', {'session': '1'})]
    assert parser.version == V10


@pytest.mark.parametrize('version', [V10, V11])
@pytest.mark.parametrize('chunk', CHUNKS)
def test_crlfStaysOrdinaryInOtherFramesBefore12(version, chunk):
    assert feed(StompParser(version), b'MESSAGE\r\nx:y\r\n\r\n\x00', chunk) == []  # no blank line: LF LF
    assert str(fails(b'MESSAGE\r\n\n\x00', version, chunk)).startswith(
        f"Invalid command (version {version}): 'MESSAGE\\r'"
    )
    assert parse(b'RECEIPT\nx:y\r\n\n\x00', version, chunk) == [StompFrame('RECEIPT', {'x': 'y\r'})]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_connectedWithLfLinesKeepsItsValues(chunk):
    wire = b'CONNECTED\nversion:1.1\nserver:a\\cb\n\n\x00'
    assert parse(wire, V10, chunk) == [StompFrame('CONNECTED', {'version': '1.1', 'server': 'a\\cb'})]


# -- versions ----------------------------------------------------------------------------------------


@pytest.mark.parametrize('chunk', CHUNKS)
def test_switchesToVersionOfConnectedFrameInTheSameRead(chunk):
    wire = b'CONNECTED\nversion:1.2\n\n\x00MESSAGE\nx:a\\rb\r\n\r\n\x00'
    parser = StompParser()
    frames = feed(parser, wire, chunk)
    assert frames == [StompFrame('CONNECTED', {'version': '1.2'}), message({'x': 'a\rb'})]
    assert parser.version == V12
    assert [frame.version for frame in frames] == [V10, V12]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_connectedWithoutVersionSwitchesTo10(chunk):
    parser = StompParser(V12)
    assert feed(parser, b'CONNECTED\n\n\x00', chunk) == [StompFrame('CONNECTED')]
    assert parser.version == V10


def test_connectedWithUnknownVersionIsIgnored():
    parser = StompParser(V11)
    feed(parser, b'CONNECTED\nversion:9.9\n\n\x00')
    assert parser.version == V11


def test_settingVersionAppliesToFramesOfTheSameRead():
    parser = StompParser()
    parser.add(b'CONNECTED\nversion:1.1\n\n\x00MESSAGE\nx:a\\cb\n\n\x00')
    assert parser.get() == StompFrame('CONNECTED', {'version': '1.1'})
    parser.version = V10  # the client insists, e.g. a session that negotiated differently
    assert parser.get() == message({'x': 'a\\cb'})


def test_settingVersionReparsesWhatCanReadParsedAhead():
    parser = StompParser(V10)
    parser.add(b'MESSAGE\nx:a\\cb\n\n\x00')
    assert parser.canRead()
    parser.version = V11
    assert parser.get() == message({'x': 'a:b'})
    assert parser.get() is None


def test_settingVersionReparsesAPartialFrame():
    parser = StompParser(V12)
    parser.add(b'MESSAGE\nx:y\r\n')
    assert parser.get() is None
    parser.version = V11
    parser.add(b'\n\x00')
    assert parser.get() == message({'x': 'y\r'})


def test_unknownVersionIsRefused():
    with pytest.raises(StompProtocolError):
        StompParser('2.0')
    parser = StompParser()
    with pytest.raises(StompProtocolError):
        parser.version = '0.9'


def test_defaultVersionIs10():
    assert StompParser().version == V10


# -- API: canRead, get, reset --------------------------------------------------------------------


def test_canReadTellsWhetherAFrameIsComplete():
    parser = StompParser(V12)
    assert not parser.canRead()
    parser.add(b'MESSAGE\n\nab')
    assert not parser.canRead()
    assert parser.get() is StompParser.SENTINEL
    parser.add(b'\x00\n\n')
    assert parser.canRead() and parser.canRead()
    assert parser.get() == message({}, b'ab')
    assert parser.canRead()
    assert parser.get() == StompHeartBeat()
    assert not parser.canRead()


def test_resetForgetsBufferAndError():
    parser = StompParser(V12)
    parser.add(b'MESSAGE\n\nhalf')
    parser.reset()
    assert feed(parser, GLUE) == [GLUED]
    with pytest.raises(StompFrameError):
        feed(parser, b'BAD\n\n\x00')
    with pytest.raises(StompFrameError, match='unusable'):
        parser.get()
    with pytest.raises(StompFrameError, match='unusable'):
        parser.add(b'x')
    with pytest.raises(StompFrameError, match='unusable'):
        parser.canRead()
    parser.reset()
    assert feed(parser, GLUE) == [GLUED]


def test_getIsIterableWithSentinel():
    parser = StompParser()
    parser.add(GLUE * 3)
    assert list(iter(parser.get, parser.SENTINEL)) == [GLUED] * 3


# -- add() reads at once: errors without get(), frames built by get() ----------------------------


def addOnly(parser: StompParser, wire: bytes, chunk: int | None) -> None:
    for offset in range(0, len(wire), chunk or len(wire) or 1):
        parser.add(wire[offset : offset + (chunk or len(wire))])


BAD = [
    (V10, b'NACK\n\n\x00', 'Invalid command'),
    (V12, b'MESSAGE\nnocolon\n\n\x00', 'Invalid header line'),
    (V12, b'MESSAGE\nx:a\\tb\n\n\x00', 'Undefined escape sequence'),
    (V12, b'MESSAGE\ncontent-length:x\n\n\x00', 'Invalid content-length'),
    (V12, b'MESSAGE\ncontent-length:1\n\nab\x00', 'Frame not terminated by NUL'),
    (V12, b'RECEIPT\n\nbody\x00', 'Frame must not have a body'),
    (V12, b'MESSAGE\nx:\xff\n\n\x00', 'Headers are not valid UTF-8'),
    (V12, b'MESSAGE\ncontent-length:6000\n\n' + b'a' * 6000 + b'b', 'Frame not terminated by NUL'),
]


@pytest.mark.parametrize('version, wire, message', BAD)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_addRaisesBadInputAtOnce(version, wire, message, chunk):
    """As stompest 2.3 did: the caller need not call get() to learn that the stream is broken."""
    parser = StompParser(version)
    with pytest.raises(StompFrameError, match=message):
        addOnly(parser, GLUE + wire, chunk)
    assert parser.get() == GLUED  # what was read before the error can still be got
    with pytest.raises(StompFrameError, match='unusable'):
        parser.get()
    with pytest.raises(StompFrameError, match='unusable'):
        parser.add(GLUE)


LIMITS = [
    (b'MESSAGE\nx:' + b'y' * 200 + b'\n\n\x00', 'maxHeaderSize'),
    (b'MESSAGE\nx:' + b'y' * 200, 'maxHeaderSize'),
    (b'MESSAGE\n' + b'h:v\n' * 11 + b'\n\x00', 'maxHeaders'),
    (b'MESSAGE\n\n' + b'a' * 2000, 'maxFrameSize'),
    (b'MESSAGE\ncontent-length:5000\n\n', 'maxFrameSize'),
]


@pytest.mark.parametrize('wire, limit', LIMITS)
@pytest.mark.parametrize('chunk', CHUNKS)
def test_addRaisesAPassedLimitAtOnce(wire, limit, chunk):
    parser = StompParser(V12, maxFrameSize=1000, maxHeaderSize=100, maxHeaders=10)
    with pytest.raises(StompFrameLimitError) as info:
        addOnly(parser, wire, chunk)
    assert info.value.limit == limit


def test_addBuildsNoFrame(monkeypatch):
    """add() reads and checks every frame; the frame objects are built by get(), one each."""
    import stompest.protocol.parser as module

    built = []
    newFrame = module._newFrame
    monkeypatch.setattr(module, '_newFrame', lambda cls: built.append(cls) or newFrame(cls))
    parser = StompParser(V12)
    parser.add(GLUE * 3 + b'MESSAGE\n\nhalf')
    assert built == [] and parser.canRead()
    assert parser.get() == GLUED
    assert len(built) == 1


def test_errorFoundByAVersionChangeIsRaisedByGet():
    parser = StompParser(V10)
    parser.add(GLUE + b'MESSAGE\nx:a\\tb\n\n\x00')  # no escapes in 1.0
    parser.version = V11  # the frames not yet got are read again: the second one is now broken
    assert parser.canRead() and parser.get() == GLUED
    with pytest.raises(StompFrameError, match='Undefined escape sequence'):
        parser.get()
    with pytest.raises(StompFrameError, match='unusable'):
        parser.canRead()


def test_versionChangeRereadsALargeBodyNotYetGot():
    body = b'\x00' * 10000
    wire = b'MESSAGE\nx:a\\cb\ncontent-length:%d\n\n' % len(body) + body + b'\x00\n' + GLUE
    parser = StompParser(V12)
    addOnly(parser, wire, 1000)
    assert parser.canRead()
    parser.version = V10
    assert list(iter(parser.get, None)) == [message({'x': 'a\\cb', 'content-length': '10000'}, body), GLUED]
    assert parser._buffered() == 0


# -- limits ----------------------------------------------------------------------------------------


def test_headerTooLongIsRaisedAtOnceByAdd():
    parser = StompParser(maxHeaderSize=100)
    parser.add(b'MESSAGE\nx:')
    assert parser.get() is None
    with pytest.raises(StompFrameLimitError) as info:
        parser.add(b'y' * 200)
    assert str(info.value) == 'Header too long: 202 bytes [maxHeaderSize=100]'
    assert (info.value.limit, info.value.value) == ('maxHeaderSize', 100)
    assert len(parser._buf) < 100


@pytest.mark.parametrize('chunk', CHUNKS)
def test_headerTooLongWithoutLineEnd(chunk):
    error = fails(b'MESSAGE\nx:' + b'y' * 200, V12, chunk, maxHeaderSize=100)
    assert isinstance(error, StompFrameLimitError) and error.limit == 'maxHeaderSize'


@pytest.mark.parametrize('chunk', CHUNKS)
def test_headerTooLongInCompleteHead(chunk):
    error = fails(b'MESSAGE\nx:' + b'y' * 200 + b'\nz:1\n\n\x00', V12, chunk, maxHeaderSize=100)
    assert isinstance(error, StompFrameLimitError)
    if chunk is None:
        assert str(error) == 'Header too long: 202 bytes [maxHeaderSize=100]'
    else:  # raised as soon as the line passed the limit, within one chunk
        size = int(str(error).split()[3])
        assert 100 < size <= 100 + chunk


@pytest.mark.parametrize('chunk', CHUNKS)
def test_commandLineTooLong(chunk):
    error = fails(b'X' * 200, V10, chunk, maxHeaderSize=100)
    assert isinstance(error, StompFrameLimitError) and error.limit == 'maxHeaderSize'


@pytest.mark.parametrize('chunk', CHUNKS)
def test_headerAtTheLimitIsAccepted(chunk):
    line = b'x:' + b'y' * 98
    assert parse(b'MESSAGE\n' + line + b'\n\n\x00', V12, chunk, maxHeaderSize=100) == [message({'x': 'y' * 98})]


@pytest.mark.parametrize('chunk', CHUNKS)
def test_tooManyHeaders(chunk):
    wire = b'MESSAGE\n' + b''.join(b'h%d:v\n' % i for i in range(11)) + b'\n\x00'
    error = fails(wire, V12, chunk, maxHeaders=10)
    assert isinstance(error, StompFrameLimitError) and error.limit == 'maxHeaders'
    assert str(error) == 'Too many headers: 11 [maxHeaders=10]'


@pytest.mark.parametrize('chunk', CHUNKS)
def test_headersAtTheLimitAreAccepted(chunk):
    wire = b'MESSAGE\n' + b''.join(b'h%d:v\n' % i for i in range(10)) + b'\n\x00'
    assert len(parse(wire, V12, chunk, maxHeaders=10)[0].headers) == 10


def test_contentLengthAboveLimitIsRefusedBeforeTheBody():
    parser = StompParser(V12, maxFrameSize=1000)
    with pytest.raises(StompFrameLimitError) as info:
        parser.add(b'MESSAGE\ncontent-length:5000\n\n')
    assert info.value.limit == 'maxFrameSize'
    assert str(info.value) == 'Frame too large: 5029 bytes [maxFrameSize=1000]'


@pytest.mark.parametrize('chunk', CHUNKS)
def test_bodyWithoutContentLengthAboveLimit(chunk):
    error = fails(b'MESSAGE\n\n' + b'a' * 2000, V12, chunk, maxFrameSize=1000)
    assert isinstance(error, StompFrameLimitError) and error.limit == 'maxFrameSize'


def test_bodyWithoutContentLengthAboveLimitIsRaisedAtOnceByAdd():
    parser = StompParser(V12, maxFrameSize=1000)
    parser.add(b'MESSAGE\n\n')
    assert parser.get() is None
    with pytest.raises(StompFrameLimitError, match=r'maxFrameSize=1000'):
        parser.add(b'a' * 2000)


@pytest.mark.parametrize('chunk', CHUNKS)
def test_frameAtTheSizeLimitIsAccepted(chunk):
    wire = b'MESSAGE\n\n' + b'a' * 991 + b'\x00'
    assert len(parse(wire, V12, chunk, maxFrameSize=1000)[0].body) == 991


@pytest.mark.parametrize('chunk', CHUNKS)
def test_headTooLargeForFrame(chunk):
    wire = b'MESSAGE\n' + b'x:' + b'y' * 90 + b'\n' + b''.join(b'h%d:%s\n' % (i, b'v' * 50) for i in range(30))
    error = fails(wire, V12, chunk, maxFrameSize=1000, maxHeaderSize=100)
    assert isinstance(error, StompFrameLimitError) and error.limit == 'maxFrameSize'


# -- linearity -------------------------------------------------------------------------------------


def test_bufferIsCompactedAfterFrames():
    parser = StompParser(V12)
    for _ in range(1000):
        parser.add(b'MESSAGE\n\n' + b'a' * 100 + b'\x00\n')
        assert parser.get() == message({}, b'a' * 100)
    parser.add(b'MESSAGE')
    assert len(parser._buf) < 200


def test_largeBodyIsCollectedWithoutGrowingTheBufferPerChunk():
    body = bytes(range(256)) * 64
    parser = StompParser(V12)
    wire = b'MESSAGE\ncontent-length:%d\n\n' % len(body) + body + b'\x00\nRECEIPT\n\n\x00'
    frames = feed(parser, wire, 1000)
    assert frames == [message({'content-length': str(len(body))}, body), StompFrame('RECEIPT')]
    assert parser._buffered() == 0


def test_versionChangeWhileCollectingALargeBody():
    body = b'\x00' * 10000
    parser = StompParser(V12)
    assert feed(parser, b'MESSAGE\nx:a\\cb\ncontent-length:%d\n\n' % len(body) + body[:5000], 100) == []
    parser.version = V10
    assert feed(parser, body[5000:] + b'\x00', 100) == [message({'x': 'a\\cb', 'content-length': '10000'}, body)]
