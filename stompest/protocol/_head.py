"""Reading a frame's head (command line and header lines) once its end has arrived, and the
errors of the parser's limits.

The head is decoded as UTF-8 once and split into lines once; the headers are then split at their
first colon in one pass (the common case), and only an unusual head (a line without a colon, an
escaped name, a repeated name) takes the careful way, which reports or handles it. An empty name
is a header like any other (``:value`` gives the header ``''``), as in stompest 2.3.
"""

from __future__ import annotations

from collections.abc import Callable

from stompest.error import StompFrameError, StompFrameLimitError
from stompest.protocol._escape import UNESCAPERS as _UNESCAPERS
from stompest.protocol._escape import unescaper as _unescaper
from stompest.protocol.spec import StompSpec

__all__ = ['Head', 'frameTooLarge', 'headerTooLong', 'readHead', 'shown', 'tooManyHeaders']

#: (command, headers, rawHeaders, contentLength): what the readers need of a head
Head = tuple[str, dict[str, str], list[tuple[str, str]] | None, int | None]

_SHOWN = 100  # characters of offending wire text quoted in an error message
_CONTENT_LENGTH = StompSpec.CONTENT_LENGTH_HEADER
_V10 = StompSpec.VERSION_1_0
_V12 = StompSpec.VERSION_1_2
_UNESCAPED_V12 = StompSpec.COMMANDS_ESCAPE_EXCLUDED[_V12]
_COMMANDS = StompSpec.COMMANDS
_BODY_ALLOWED = StompSpec.COMMANDS_BODY_ALLOWED


def shown(text: str | bytes) -> str:
    """``text`` quoted for an error message, cut after :data:`_SHOWN` characters."""
    return repr(text[:_SHOWN]) + ('...' if len(text) > _SHOWN else '')


def headerTooLong(size: int, limit: int) -> StompFrameLimitError:
    return StompFrameLimitError(
        f'Header too long: {size} bytes [maxHeaderSize={limit}]', limit='maxHeaderSize', value=limit
    )


def frameTooLarge(size: int, limit: int) -> StompFrameLimitError:
    return StompFrameLimitError(
        f'Frame too large: {size} bytes [maxFrameSize={limit}]', limit='maxFrameSize', value=limit
    )


def tooManyHeaders(count: int, limit: int) -> StompFrameLimitError:
    return StompFrameLimitError(f'Too many headers: {count} [maxHeaders={limit}]', limit='maxHeaders', value=limit)


def checkLines(head: bytes | bytearray, maxHeaderSize: int) -> None:
    """Raise if a line of ``head`` is longer than ``maxHeaderSize``."""
    for line in head.split(b'\n'):
        if len(line) > maxHeaderSize:
            raise headerTooLong(len(line), maxHeaderSize)


def readHead(
    raw: bytes | bytearray,
    version: str,
    crlf: bool,
    headSize: int,
    maxHeaderSize: int,
    maxFrameSize: int,
    maxHeaders: int,
) -> Head:
    """The head ``raw`` (the bytes before its blank line), read under ``version``'s rules.

    :param crlf: a CR before each LF belongs to the line end (1.2, and every CONNECTED frame).
    :param headSize: the head's bytes including its blank line (for the frame size limit).
    :raises StompFrameError: the head is not valid STOMP, or passes a limit.
    """
    if len(raw) > maxHeaderSize:
        checkLines(raw, maxHeaderSize)
        if len(raw) > maxFrameSize:
            raise frameTooLarge(len(raw), maxFrameSize)
    try:
        head = raw.decode('utf-8')
    except UnicodeDecodeError as exc:
        raise StompFrameError(f'Headers are not valid UTF-8: {shown(bytes(raw))}') from exc
    lines = head.split('\n')
    if crlf and '\r' in head:
        lines = [line[:-1] if line[-1:] == '\r' else line for line in lines]
    command = lines[0]
    if command not in _COMMANDS[version]:
        raise StompFrameError(f'Invalid command (version {version}): {shown(command)}')
    if version == _V12 and '\r' in head and command not in _UNESCAPED_V12:
        # 1.2 escapes a CR in a name or value as \r, so a raw one not ending its line is an error.
        for line in lines:
            if '\r' in line:
                raise StompFrameError(
                    f'Raw carriage return in a header line (version 1.2): {shown(line)} [command {command}]'
                )
    count = len(lines) - 1
    if count > maxHeaders:
        raise tooManyHeaders(count, maxHeaders)
    unescape = None
    if '\\' in head:
        # _escape's own cache, read directly: a dict lookup, not a call, as frame.py does.
        try:
            unescape = _UNESCAPERS[version, command]
        except KeyError:
            unescape = _unescaper(version, command)
    # The common case, one pass: split every line at its first colon, in C. A line without a
    # colon or a repeated name (the dict is then shorter, and the last entry won)
    # go the careful way, which reports or handles it. Escapes never hide a raw colon, so
    # splitting comes first either way; with escapes (broker message ids such as ActiveMQ's
    # ``ID\\cvm-...``) the values holding a backslash are decoded on the way, in line order, so
    # the first undefined escape is the one reported, as on the careful way. An escaped name (it
    # could turn into a repeat once decoded) goes the careful way too. Inlined here rather than a
    # function of its own: part of the 4.03x on MESSAGE frames in docs/benchmarks.rst
    # (tests/benchmarks/bench_parser.py); the equivalence is tested in
    # tests/protocol/test_fastpaths.py.
    headers: dict[str, str] | None = None
    fast: dict[str, str] = {}
    if unescape is None:
        for line in lines[1:]:
            name, colon, value = line.partition(':')
            if not colon:
                break
            fast[name] = value
        else:
            if len(fast) == count:
                headers = fast
    else:
        for line in lines[1:]:
            name, colon, value = line.partition(':')
            if not colon or '\\' in name:
                break
            fast[name] = unescape(value) if '\\' in value else value
        else:
            if len(fast) == count:
                headers = fast
    rawHeaders = None
    if headers is None:
        headers, rawHeaders = _carefulHeaders(lines, command, unescape)
    contentLength: int | None = None
    text = headers.get(_CONTENT_LENGTH)
    if text is not None:
        if not (text.isascii() and text.isdigit()):
            raise StompFrameError(f'Invalid content-length: {shown(text)} [command {command}]')
        contentLength = int(text)
        if headSize + contentLength > maxFrameSize:
            raise frameTooLarge(headSize + contentLength, maxFrameSize)
        if contentLength and version != _V10 and command not in _BODY_ALLOWED:
            raise StompFrameError(
                f'Frame must not have a body (version {version}): {command!r} [content-length {contentLength}]'
            )
    return command, headers, rawHeaders, contentLength


def _carefulHeaders(
    lines: list[str], command: str, unescape: Callable[[str], str] | None
) -> tuple[dict[str, str], list[tuple[str, str]] | None]:
    """Line by line: errors reported, escapes decoded, the first entry of a repeated name wins."""
    headers: dict[str, str] = {}
    repeated = False
    for line in lines[1:]:
        name, colon, value = line.partition(':')
        if not colon:
            raise StompFrameError(f'Invalid header line (no colon): {shown(line)} [command {command}]')
        if unescape is not None:
            if '\\' in name:
                name = unescape(name)
            if '\\' in value:
                value = unescape(value)
        if name in headers:
            repeated = True
        else:
            headers[name] = value
    if not repeated:
        return headers, None
    rawHeaders = []
    for line in lines[1:]:
        name, _, value = line.partition(':')
        if unescape is not None:
            name = unescape(name)
            value = unescape(value)
        rawHeaders.append((name, value))
    return headers, rawHeaders
