"""Property tests: frames survive bytes and any chunking; garbage gives frames, heart-beats or StompFrameError only."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from stompest.error import StompFrameError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.spec import StompSpec
from tests.helpers import feed

VERSIONS = StompSpec.VERSIONS


def _text(version: str, command: str, name: bool) -> st.SearchStrategy[str]:
    """Header text the version can carry: escapes allow ``:``, LF, ``\\`` (and CR in 1.2)."""
    escaped = version != StompSpec.VERSION_1_0 and command not in StompSpec.COMMANDS_ESCAPE_EXCLUDED
    excluded = ['\x00']  # never in a head (the serialiser does not escape it; brokers never send it)
    if not escaped:
        excluded += ['\n', '\r']
        if name:
            excluded.append(':')
    elif version == StompSpec.VERSION_1_1:
        excluded.append('\r')  # 1.1 has no escape for CR, and a CR before LF would be read as data
    alphabet = st.characters(
        codec='ascii' if version == StompSpec.VERSION_1_0 else 'utf-8', exclude_characters=excluded
    )
    return st.text(alphabet, min_size=1 if name else 0, max_size=12)


@st.composite
def frames(draw: st.DrawFn, version: str | None = None) -> StompFrame:
    version = version or draw(st.sampled_from(VERSIONS))
    command = draw(st.sampled_from(sorted(StompSpec.COMMANDS[version])))
    names = draw(st.lists(_text(version, command, True), max_size=5))
    headers = [(name, draw(_text(version, command, False))) for name in names]
    headers = [(name, value) for name, value in headers if name != StompSpec.CONTENT_LENGTH_HEADER]
    if command == StompSpec.CONNECTED:  # the parser switches to the version a CONNECTED names
        headers.insert(0, (StompSpec.VERSION_HEADER, version))
    bodyAllowed = version == StompSpec.VERSION_1_0 or command in StompSpec.COMMANDS_BODY_ALLOWED
    body = draw(st.binary(max_size=300)) if bodyAllowed else b''
    frame = StompFrame(command, rawHeaders=headers, body=body, version=version)
    if body and draw(st.booleans()):
        frame.setContentLength()
    return frame


def _expected(frame: StompFrame) -> StompFrame:
    """What a receiver sees: the serialiser adds content-length for bodies with NULs."""
    expected = StompFrame(frame.command, rawHeaders=frame.rawHeaders or list(frame.headers.items()), body=frame.body)
    if b'\x00' in frame.body and StompSpec.CONTENT_LENGTH_HEADER not in frame.headers:
        expected.setContentLength()
    return expected


def _valuesByName(frame: StompFrame) -> dict[str, list[str]]:
    values: dict[str, list[str]] = {}
    for name, value in frame.rawHeaders or frame.headers.items():
        values.setdefault(name, []).append(value)
    return values


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(VERSIONS).flatmap(lambda v: st.tuples(st.just(v), st.lists(frames(v), min_size=1, max_size=4))))
def test_framesRoundTripThroughBytes(case):
    version, sent = case
    wire = b''.join(bytes(frame) + b'\n' for frame in sent)
    received = feed(StompParser(version), wire)
    assert received == [_expected(frame) for frame in sent]
    for got, frame in zip(received, sent, strict=True):
        # repeats are written after the first entries (frame.py), so compare each name's values in order
        assert _valuesByName(got) == _valuesByName(_expected(frame))


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(VERSIONS).flatmap(lambda v: st.tuples(st.just(v), st.lists(frames(v), min_size=1, max_size=3))),
    st.lists(st.integers(min_value=1, max_value=64), min_size=1, max_size=50),
    st.integers(min_value=0, max_value=3),
)
def test_anyChunkingYieldsTheSameFrames(case, sizes, beats):
    version, sent = case
    wire = b''.join(bytes(frame) + b'\n' * (1 + beats) for frame in sent)
    whole = feed(StompParser(version), wire)
    parser = StompParser(version)
    pieces = []
    offset = 0
    index = 0
    while offset < len(wire):
        size = sizes[index % len(sizes)]
        pieces.append(wire[offset : offset + size])
        offset += size
        index += 1
    chunked = []
    for piece in pieces:
        chunked.extend(feed(parser, piece))
    assert chunked == whole
    beatsSent = 0 if version == StompSpec.VERSION_1_0 else beats * len(sent)  # 1.0 has no heart-beats
    assert sum(isinstance(item, StompHeartBeat) for item in whole) == beatsSent


_SOUP = st.lists(
    st.one_of(
        st.sampled_from(
            [
                b'\n',
                b'\r\n',
                b'\x00',
                b':',
                b'\\',
                b'\\c',
                b'\\r',
                b'MESSAGE\n',
                b'SEND\n',
                b'CONNECTED\n',
                b'version:1.1\n',
                b'version:1.2\n',
                b'content-length:',
                b'content-length:5\n',
                b'\n\n',
                b'\xff',
            ]
        ),
        st.binary(max_size=20),
    ),
    max_size=40,
).map(b''.join)


@settings(max_examples=500, deadline=None)
@given(_SOUP, st.sampled_from(VERSIONS), st.integers(min_value=1, max_value=17))
def test_garbageGivesFramesHeartBeatsOrFrameErrorOnly(data, version, chunk):
    maxFrameSize, maxHeaderSize = 64, 24
    parser = StompParser(version, maxFrameSize=maxFrameSize, maxHeaderSize=maxHeaderSize, maxHeaders=4)
    try:
        for offset in range(0, len(data), chunk):
            parser.add(data[offset : offset + chunk])
            assert parser._buffered() <= maxFrameSize + 2 * chunk + 2
            for item in iter(parser.get, parser.SENTINEL):
                assert isinstance(item, (StompFrame, StompHeartBeat))
                if isinstance(item, StompFrame):
                    assert len(item.headers) <= 4
                    assert len(item.body) <= maxFrameSize
            assert parser._buffered() <= maxFrameSize + chunk + 2
    except StompFrameError:
        pass
