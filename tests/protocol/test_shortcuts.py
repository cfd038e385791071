"""The speed shortcuts of the protocol core give the answers of the careful paths they skip.

StompParser's add/get/canRead return early while the byte a frame waits for has not arrived;
StompFrame serialises headers that need no escape in one join; commands.send inlines its checks.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stompest.error import StompFrameError, StompFrameLimitError, StompProtocolError
from stompest.protocol import commands
from stompest.protocol._escape import checkUnescaped, escaper
from stompest.protocol.frame import StompFrame
from stompest.protocol.parser import StompParser
from stompest.protocol.spec import StompSpec

V10, V11, V12 = StompSpec.VERSION_1_0, StompSpec.VERSION_1_1, StompSpec.VERSION_1_2


def feedBytes(parser: StompParser, wire: bytes) -> list:
    frames = []
    for index in range(len(wire)):
        parser.add(wire[index : index + 1])
        assert parser.canRead() == (parser.canRead() is True)  # canRead twice: nothing consumed
        frames.extend(iter(parser.get, parser.SENTINEL))
    return frames


# -- parser ----------------------------------------------------------------------------------------


def test_limitLoweredWhileWaitingForALineEndAppliesToTheNextBytes():
    parser = StompParser(V12)
    parser.add(b'MESSAGE\nx:')
    assert parser.get() is None  # now waiting for an LF
    parser.maxHeaderSize = 5
    with pytest.raises(StompFrameLimitError) as info:
        parser.add(b'yyyy')
    assert str(info.value) == 'Header too long: 6 bytes [maxHeaderSize=5]'


def test_frameLimitLoweredWhileWaitingForTheNulAppliesToTheNextBytes():
    parser = StompParser(V12)
    parser.add(b'MESSAGE\n\nab')
    assert parser.get() is None  # now waiting for the NUL
    parser.maxFrameSize = 12
    parser.add(b'c')
    assert parser.get() is None
    with pytest.raises(StompFrameLimitError) as info:
        parser.add(b'd')  # 13 bytes, no NUL
    assert str(info.value) == 'Frame too large: 13 bytes [maxFrameSize=12]'


def test_parserStaysUnusableAfterALimitErrorWhileWaiting():
    parser = StompParser(V12, maxHeaderSize=100)
    parser.add(b'MESSAGE\nx:')
    assert parser.get() is None
    with pytest.raises(StompFrameLimitError):
        parser.add(b'y' * 200)
    for call in (lambda: parser.add(b'z'), parser.get, parser.canRead):
        with pytest.raises(StompFrameError, match='Parser is unusable after an error'):
            call()


def test_headerLimitIsRaisedByAddWhenBytesArriveOneAtATime():
    parser = StompParser(V12, maxHeaderSize=10)
    parser.add(b'MESSAGE\nx:')
    assert parser.get() is None
    parser.add(b'y')
    assert parser.get() is None  # 'x:y': 3 bytes of the line, within the limit
    with pytest.raises(StompFrameLimitError) as info:
        for _ in range(20):
            parser.add(b'y')
    assert str(info.value) == 'Header too long: 11 bytes [maxHeaderSize=10]'


def test_smallContentLengthBodyWithNulsFedOneByteAtATime():
    wire = b'MESSAGE\ncontent-length:5\n\n\x00a\x00\nb\x00\n' + b'RECEIPT\nreceipt-id:r\n\n\x00'
    frames = feedBytes(StompParser(V12), wire)
    assert frames == [
        StompFrame(StompSpec.MESSAGE, {'content-length': '5'}, b'\x00a\x00\nb'),
        StompFrame(StompSpec.RECEIPT, {'receipt-id': 'r'}),
    ]


def test_contentLengthBodyNotFollowedByNulFailsWhenTheByteArrives():
    parser = StompParser(V12)
    wire = b'MESSAGE\ncontent-length:3\n\nabc'
    assert feedBytes(parser, wire) == []
    with pytest.raises(StompFrameError, match='Frame not terminated by NUL'):
        parser.add(b'X')  # add() reads the frame at once


def test_versionChangeWhileWaitingReadsTheFrameAgain():
    parser = StompParser(V10)
    parser.add(b'MESSAGE\nx:a\\cb\n')
    assert parser.get() is None
    parser.version = V12
    for byte in b'\n\x00':
        parser.add(bytes([byte]))
    assert parser.get() == StompFrame(StompSpec.MESSAGE, {'x': 'a:b'})


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [b'MESSAGE\n', b'x:1\n', b'y:a\\cb\n', b'content-length:3\n', b'\n', b'\r\n', b'abc', b'\x00', b'z']
        ),
        max_size=30,
    ).map(b''.join),
    st.sampled_from([V10, V11, V12]),
)
def test_oneByteAtATimeGivesWhatTheWholeWireGives(wire, version):
    def outcome(chunked: bool) -> tuple[list, str | None]:
        parser = StompParser(version, maxFrameSize=40, maxHeaderSize=12, maxHeaders=3)
        frames: list = []
        try:
            if chunked:
                for index in range(len(wire)):
                    parser.add(wire[index : index + 1])
                    frames.extend(iter(parser.get, parser.SENTINEL))
            else:
                parser.add(wire)
                frames.extend(iter(parser.get, parser.SENTINEL))
        except StompFrameError as error:
            try:  # add() raised: what it read before the error can still be got
                frames.extend(iter(parser.get, parser.SENTINEL))
            except StompFrameError:
                pass
            return frames, type(error).__name__
        return frames, None

    whole, chunked = outcome(False), outcome(True)
    if whole[1] is None and chunked[1] is None:
        assert whole == chunked
    else:  # a limit may be noticed earlier when bytes come one at a time, never later
        assert chunked[0] == whole[0][: len(chunked[0])]


# -- frame serialisation ---------------------------------------------------------------------------


def carefulBytes(frame: StompFrame) -> bytes:
    """Serialisation one header at a time, as the spec describes it (the reference)."""
    version = frame.version or StompSpec.DEFAULT_VERSION
    escape = escaper(version, frame.command)
    lines = [frame.command]
    for name, value in frame.headers.items():
        if escape is None:
            if ':' in name:
                raise StompProtocolError('colon')
            checked = (checkUnescaped(text, frame.command, version) for text in (name, value))
            lines.append(':'.join(checked))
        else:
            lines.append(f'{escape(name)}:{escape(value)}')
    if 'content-length' not in frame.headers and b'\x00' in frame.body:
        lines.append(f'content-length:{len(frame.body)}')
    head = '\n'.join([*lines, '\n'])
    return head.encode(StompSpec.CODECS[version]) + frame.body + b'\x00'


_TEXT = st.text(st.sampled_from('ab:\\\n\r\u00e9'), max_size=6)


@settings(max_examples=500, deadline=None)
@given(
    st.dictionaries(_TEXT.filter(bool), _TEXT, max_size=4),
    st.sampled_from([StompSpec.SEND, StompSpec.CONNECT, StompSpec.MESSAGE]),
    st.sampled_from([V10, V11, V12]),
    st.sampled_from([b'', b'body', b'a\x00b']),
)
def test_serialisationEqualsTheHeaderByHeaderReference(headers, command, version, body):
    frame = StompFrame(command, headers, body, version=version)
    try:
        expected = carefulBytes(frame)
    except (StompProtocolError, UnicodeEncodeError):
        with pytest.raises(StompProtocolError):
            bytes(frame)
        return
    assert bytes(frame) == expected


def test_nonStringHeaderValueSetAfterwardsIsWrittenWithStr():
    # as stompest 2.3 did
    frame = StompFrame(StompSpec.SEND, {'a': 'b'}, version=V12)
    frame.headers['n'] = 5  # type: ignore[assignment]
    assert bytes(frame) == b'SEND\na:b\nn:5\n\n\x00'


# -- commands.send ---------------------------------------------------------------------------------


def test_sendChecksInTheirOrder():
    with pytest.raises(StompProtocolError, match='Version is not supported'):
        commands.send('', version='9.9')
    with pytest.raises(StompProtocolError, match='Invalid destination'):
        commands.send(None, version=V12)  # type: ignore[arg-type]
    with pytest.raises(StompProtocolError, match='Invalid transaction'):
        commands.send('/q', headers={'transaction': ''}, receipt='', version=V12)
    with pytest.raises(StompProtocolError, match='Invalid receipt'):
        commands.send('/q', receipt='', version=V12)
    with pytest.raises(StompProtocolError, match='Invalid receipt'):
        commands.send('/q', headers={'receipt': ''}, version=V12)


def test_sendConvertsLikeTheFrameConstructor():
    frame = commands.send('/q', 'h\u00e9', [('n', 1), ('destination', 'x')], receipt='r', version=V11)
    assert frame == StompFrame(StompSpec.SEND, {'n': '1', 'destination': '/q', 'receipt': 'r'}, 'h\u00e9')
    assert list(frame.headers) == ['n', 'destination', 'receipt']
    assert frame.version == V11 and frame.rawHeaders is None
    assert commands.send('/q').version == StompSpec.DEFAULT_VERSION


@pytest.mark.parametrize('kind', [bytes, bytearray, memoryview])
def test_chunksOfAnyBufferTypeWhileWaiting(kind):
    wire = b'MESSAGE\ndestination:/q\n\nhello\x00\nRECEIPT\nreceipt-id:r\n\n\x00'
    parser = StompParser(V12)
    frames: list = []
    for index in range(0, len(wire), 3):
        parser.add(kind(wire[index : index + 3]))
        frames.extend(iter(parser.get, parser.SENTINEL))
    assert frames == [
        StompFrame(StompSpec.MESSAGE, {'destination': '/q'}, b'hello'),
        StompFrame(StompSpec.RECEIPT, {'receipt-id': 'r'}),
    ]
    assert all(type(frame.body) is bytes for frame in frames)
