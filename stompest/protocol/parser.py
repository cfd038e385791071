"""StompParser: bytes in, frames and heart-beats out (sans-IO).

>>> parser = StompParser(StompSpec.VERSION_1_2)
>>> parser.add(b'MESSAGE\\ndestination:/queue/a\\nmessage-id:1\\nsubscription:0\\n\\nhi\\x00\\n\\n')
>>> frame = parser.get()
>>> frame.command, frame.headers, frame.body
('MESSAGE', {'destination': '/queue/a', 'message-id': '1', 'subscription': '0'}, b'hi')
>>> parser.get()
StompHeartBeat()
>>> parser.get() is StompParser.SENTINEL
True

How received bytes are read, and where stompest is more tolerant than the letter of the specs:

* **Lines.** A line ends with LF. In STOMP 1.2 a CR right before the LF belongs to the line end
  (command line, header lines, the blank line and heart-beats alike). In 1.0 and 1.1 a CR is an
  ordinary character: it stays in the header value (the 1.1 spec says values are not trimmed), and
  a CR LF heart-beat in those versions is an invalid command line.
* **Header text** is decoded as UTF-8 in every version. STOMP 1.0 says ASCII, but brokers pass
  UTF-8 through, and ASCII is a subset. Bytes that are not UTF-8 are a :class:`StompFrameError`.
* **Escapes** (``\\\\`` ``\\n`` ``\\c``, and ``\\r`` in 1.2) are decoded in 1.1 and 1.2, never in 1.0
  and never in CONNECT, STOMP or CONNECTED frames; an undefined escape is a fatal error.
* **Colons.** A header line is split at its *first* colon; the rest of the line, raw colons
  included, is the value (1.0 message ids contain raw colons and ActiveMQ sends them). A header
  line without a colon, or with an empty name, is an error.
* **Repeated headers:** the first entry wins in :attr:`StompFrame.headers`; all entries are kept in
  :attr:`StompFrame.rawHeaders` (which is ``None`` when no header repeats).
* **Bodies.** With ``content-length`` the body is exactly that many bytes (NULs allowed) and must
  be followed by NUL; without it the body ends at the first NUL. In 1.1 and 1.2 only SEND,
  MESSAGE and ERROR may carry a non-empty body.
* **EOLs between frames.** Exactly one EOL right after a frame's NUL belongs to that frame
  (brokers send ``NUL LF``), even when it arrives in a later chunk. Every further EOL between
  frames is returned as a :class:`StompHeartBeat`.
* **Versions.** Frames are parsed lazily, in :meth:`StompParser.get` and
  :meth:`StompParser.canRead`, under the rules of :attr:`StompParser.version` at that moment. When
  :meth:`~StompParser.get` returns a CONNECTED frame the parser switches itself to the version that
  frame names (1.0 when it names none; an unknown value is ignored).
* **Limits.** ``maxFrameSize`` (command, headers and body), ``maxHeaderSize`` (one command or
  header line, in bytes) and ``maxHeaders`` (header lines per frame) bound what the parser buffers;
  exceeding one raises :class:`StompFrameLimitError` naming it, as early as the bytes show it.
* **Errors are final.** After a :class:`StompFrameError` the stream position is lost: the parser
  refuses to work until :meth:`StompParser.reset` is called (after a reconnect).

The parser keeps one buffer and resumes every search where the previous one stopped, so parsing
stays linear in the input however it is chunked (one byte at a time included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stompest.error import StompFrameError, StompFrameLimitError
from stompest.protocol._escape import unescaper
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.spec import StompSpec

__all__ = ['StompParser']

_LF = 10
_CR = 13
_NUL = 0
_HEAD_END = b'\n\n'
_HEAD_END_CRLF = b'\n\r\n'
_SHOWN = 100  # characters of offending wire text quoted in an error message
_PARTS_FROM = 4096  # an incomplete content-length body at least this long is collected chunk by chunk
_SMALL_PART = 1024  # chunks smaller than this are merged while collecting a body
_PART_SIZE = 64 * 1024  # ... into pieces of about this size

_CONTENT_LENGTH = StompSpec.CONTENT_LENGTH_HEADER
_CONNECTED = StompSpec.CONNECTED
_V10 = StompSpec.VERSION_1_0
_V12 = StompSpec.VERSION_1_2
_COMMANDS = StompSpec.COMMANDS
_BODY_ALLOWED = StompSpec.COMMANDS_BODY_ALLOWED
_newFrame = StompFrame.__new__

_UNESCAPERS: dict[tuple[str, str], Callable[[str], str] | None] = {}


def _unescaper(version: str, command: str) -> Callable[[str], str] | None:
    key = (version, command)
    try:
        return _UNESCAPERS[key]
    except KeyError:
        result = _UNESCAPERS[key] = unescaper(version, command)
        return result


def _shown(text: str | bytes) -> str:
    return repr(text[:_SHOWN]) + ('...' if len(text) > _SHOWN else '')


class StompParser:
    """Turn the bytes of a STOMP stream into :class:`StompFrame` and :class:`StompHeartBeat` objects.

    :param version: the STOMP version whose rules apply at first (``None``: 1.0). A client sets
        :attr:`version` after the CONNECTED frame; the parser also switches by itself.
    :param maxFrameSize: the largest frame accepted (command, headers and body), in bytes.
    :param maxHeaderSize: the longest command or header line accepted, in bytes.
    :param maxHeaders: the most header lines accepted in one frame.

    Usage::

        parser.add(data)
        for frame in iter(parser.get, parser.SENTINEL):
            ...
    """

    #: what :meth:`get` returns when no whole frame or heart-beat is buffered
    SENTINEL = None

    _buf: bytes | bytearray
    _parts: list[Any] | None
    _body: tuple[str, dict[str, str], list[tuple[str, str]] | None, int, int | None] | None
    _waitUntil: int
    _waitFor: bytes | None
    _waitFrom: int

    def __init__(
        self,
        version: str | None = None,
        *,
        maxFrameSize: int = StompSpec.DEFAULT_MAX_FRAME_SIZE,
        maxHeaderSize: int = StompSpec.DEFAULT_MAX_HEADER_SIZE,
        maxHeaders: int = StompSpec.DEFAULT_MAX_HEADERS,
    ) -> None:
        self._version = StompSpec.version(version)
        self._waitUntil = -1
        self._maxFrameSize = maxFrameSize
        self._maxHeaderSize = maxHeaderSize
        self._maxHeaders = maxHeaders
        self.reset()

    # -- public API ---------------------------------------------------------------------------

    @property
    def version(self) -> str:
        """The STOMP version whose rules apply to the frames not yet returned by :meth:`get`."""
        return self._version

    @version.setter
    def version(self, value: str | None) -> None:
        value = StompSpec.version(value)
        if value == self._version:
            return
        if self._parts is not None:
            self._unpart()
        self._version = value
        self._startFrame()  # a frame already begun is read again under the new rules

    @property
    def maxFrameSize(self) -> int:
        """The largest frame accepted (command, headers and body), in bytes."""
        return self._maxFrameSize

    @maxFrameSize.setter
    def maxFrameSize(self, value: int) -> None:
        self._maxFrameSize = value
        self._waitUntil = -1  # the shortcut bounds were computed from the old limit

    @property
    def maxHeaderSize(self) -> int:
        """The longest command or header line accepted, in bytes."""
        return self._maxHeaderSize

    @maxHeaderSize.setter
    def maxHeaderSize(self, value: int) -> None:
        self._maxHeaderSize = value
        self._waitUntil = -1

    @property
    def maxHeaders(self) -> int:
        """The most header lines accepted in one frame."""
        return self._maxHeaders

    @maxHeaders.setter
    def maxHeaders(self, value: int) -> None:
        self._maxHeaders = value
        self._waitUntil = -1

    def reset(self) -> None:
        """Forget everything buffered (after a reconnect); also clears a previous error."""
        self._buf = b''  # bytes adopted from add() without copying, or a bytearray being appended to
        self._pos = 0  # first byte of what get() has not returned yet
        self._eolOwed = False  # the previous frame's NUL was not yet followed by its one EOL
        self._error: StompFrameError | None = None
        self._parts = None  # chunks of a large content-length body (copied once, when complete)
        self._partsLen = 0  # body bytes in _parts (the last chunk may reach beyond the body)
        self._partsFrom: tuple[bytes | bytearray, int, int] = (b'', 0, 0)  # (buffer, head start, end)
        self._startFrame()

    def add(self, data: bytes) -> None:
        """Buffer received bytes. Raises :class:`StompFrameLimitError` at once when the bytes
        make the frame being read exceed a limit (checked before they are buffered)."""
        buf = self._buf
        # Shortcut: the last parse left bounds within which these bytes cannot exceed a limit
        # (see _wait); appending is then all there is to do (e.g. bytes arriving one at a time).
        until = self._waitUntil
        if until >= 0 and type(buf) is bytearray and len(buf) + len(data) <= until:
            buf += data
            return
        self._waitUntil = -1
        if self._error is not None:
            self._raiseUnusable()
        parts = self._parts
        if parts is not None:
            self._addPart(parts, data)
            return
        pos = self._pos
        if pos == len(buf):  # everything returned: adopt the bytes without copying them
            self._buf = data if type(data) is bytes else bytes(data)
            self._pos = 0
            return
        if type(buf) is bytes:
            if type(data) is bytes and len(buf) - pos <= len(data):
                # A short remainder (e.g. a frame cut by the end of a chunk): one concatenation
                # copies no more than the new bytes, and the buffer stays bytes, whose slices
                # are the frame bodies without a second copy.
                if pos:
                    self._shift(pos)
                self._checkAdded(len(buf) - pos, data)
                self._buf = buf[pos:] + data if pos else buf + data
                return
            with memoryview(buf) as view:
                buf = self._buf = bytearray(view[pos:])
            self._shift(pos)
        elif pos:  # drop what was returned; deleting a bytearray's head is cheap in CPython
            del buf[:pos]  # type: ignore[union-attr]  # a bytearray here
            self._shift(pos)
        self._checkAdded(len(buf), data)
        buf += data

    def _checkAdded(self, held: int, data: bytes) -> None:
        """Raise at once if ``data``, added to ``held`` bytes of the frame begun (the buffer
        after compaction), makes a line or the frame too long without ending it."""
        if self._headStarted:
            if self._body is None:
                size = held + len(data) - self._lineStart
                if size > self._maxHeaderSize and b'\n' not in data:
                    self._fail(self._headerTooLong(size))
            elif self._body[4] is None:
                size = held + len(data)
                if size > self._maxFrameSize and b'\x00' not in data:
                    self._fail(self._frameTooLarge(size))

    def canRead(self) -> bool:
        """Whether a whole frame or heart-beat is buffered. Nothing is consumed: the frame is
        built by :meth:`get`, under the rules of :attr:`version` at that time."""
        until = self._waitUntil
        if until >= 0:  # the shortcut of get()
            buf = self._buf
            end = len(buf)
            if end <= until:
                waitFor = self._waitFor
                if waitFor is None:
                    return False
                if buf.find(waitFor, self._waitFrom) < 0:
                    self._waitFrom = end
                    return False
        if self._error is not None:
            self._raiseUnusable()
        try:
            return self._parseNext(False) is not None
        except StompFrameError as error:
            self._error = error
            raise

    def get(self) -> StompFrame | StompHeartBeat | None:
        """The next frame or heart-beat, or :attr:`SENTINEL` when none is buffered whole.

        :raises StompFrameError: the bytes are not valid STOMP under :attr:`version`'s rules.
        :raises StompFrameLimitError: a limit was exceeded (its name is in ``.limit``).
        """
        until = self._waitUntil
        if until >= 0:
            # Shortcut: the last parse found the frame incomplete and said what it waits for (an
            # LF ending the head, the NUL ending the body, or the bytes of a content-length
            # body). While that has not arrived and no limit can be exceeded, the answer is None.
            buf = self._buf
            end = len(buf)
            if end <= until:
                waitFor = self._waitFor
                if waitFor is None:
                    return None
                if buf.find(waitFor, self._waitFrom) < 0:
                    self._waitFrom = end
                    return None
        if self._error is not None:
            self._raiseUnusable()
        try:
            result = self._parseNext(True)
        except StompFrameError as error:
            self._error = error
            raise
        if result is not None and result.command == _CONNECTED:  # type: ignore[union-attr]
            version = result.headers.get(StompSpec.VERSION_HEADER, _V10)  # type: ignore[union-attr]
            if version in StompSpec.VERSIONS:
                self._version = version
        return result  # type: ignore[return-value]

    # -- internals ----------------------------------------------------------------------------

    def _startFrame(self) -> None:
        """Forget the progress made on the frame at ``_pos`` (it is read again from its start)."""
        self._headStarted = False
        self._scan = 0  # where the next search for the end of the head (or for the NUL) starts
        self._counted = 0  # bytes of the head already counted for the limits
        self._lineStart = 0  # start of the head's last incomplete line
        self._lines = 0  # LFs counted in the head
        # once the head is parsed: (command, headers, rawHeaders, bodyStart, contentLength)
        self._body = None
        # The shortcut of get(), canRead() and add() (set by _parseNext when it returns None):
        # while len(_buf) <= _waitUntil and _waitFor (None: any byte) is not in _buf[_waitFrom:],
        # no frame can complete and no limit can be exceeded. -1: no shortcut.
        self._waitUntil = -1
        self._waitFor = None
        self._waitFrom = 0

    def _shift(self, offset: int) -> None:
        self._waitUntil = -1
        self._pos -= offset
        self._scan -= offset
        self._counted -= offset
        self._lineStart -= offset
        body = self._body
        if body is not None:
            self._body = (body[0], body[1], body[2], body[3] - offset, body[4])

    def _buffered(self) -> int:
        """Bytes held for frames not yet returned (for tests of the limits)."""
        return len(self._buf) - self._pos + (self._partsLen if self._parts is not None else 0)

    def _raiseUnusable(self) -> None:
        raise StompFrameError(
            f'Parser is unusable after an error: {self._error} [call reset() after reconnecting]'
        ) from self._error

    def _fail(self, error: StompFrameError) -> None:
        self._error = error
        raise error

    def _headerTooLong(self, size: int) -> StompFrameLimitError:
        return StompFrameLimitError(
            f'Header too long: {size} bytes [maxHeaderSize={self._maxHeaderSize}]',
            limit='maxHeaderSize',
            value=self._maxHeaderSize,
        )

    def _frameTooLarge(self, size: int) -> StompFrameLimitError:
        return StompFrameLimitError(
            f'Frame too large: {size} bytes [maxFrameSize={self._maxFrameSize}]',
            limit='maxFrameSize',
            value=self._maxFrameSize,
        )

    def _tooManyHeaders(self, count: int) -> StompFrameLimitError:
        return StompFrameLimitError(
            f'Too many headers: {count} [maxHeaders={self._maxHeaders}]', limit='maxHeaders', value=self._maxHeaders
        )

    def _parseNext(self, build: bool) -> StompFrame | StompHeartBeat | bool | None:
        """The next frame or heart-beat (``build``), or whether there is one (not ``build``: then
        nothing but an EOL owed to the previous frame is consumed); ``None`` if none is complete."""
        self._waitUntil = -1  # set again below when the frame is found incomplete
        buf = self._buf
        end = len(buf)
        version = self._version
        pos = self._pos
        body = self._body
        if body is None:
            if not self._headStarted:
                # Between frames: EOLs are the previous frame's trailing EOL, or heart-beats.
                while pos < end:
                    byte = buf[pos]
                    if byte == _LF:
                        size = 1
                    elif byte == _CR and version == _V12:
                        if pos + 1 == end:
                            return None
                        if buf[pos + 1] != _LF:
                            break
                        size = 2
                    else:
                        break
                    if self._eolOwed:
                        self._eolOwed = False
                        pos = self._pos = pos + size
                        continue
                    if not build:
                        return True
                    self._pos = pos + size
                    return StompHeartBeat(version)
                if pos == end:
                    return None
                self._eolOwed = False
                scan = pos
                fresh = True  # the head's bookkeeping is written only if the frame is incomplete
            else:
                scan = self._scan
                fresh = False

            # The head ends with an empty line: LF LF, or in 1.2 also LF CR LF.
            headEnd = buf.find(_HEAD_END, scan)
            bodyStart = headEnd + 2
            if version == _V12:
                crlfEnd = buf.find(_HEAD_END_CRLF, scan, end if headEnd < 0 else headEnd + 2)
                if crlfEnd >= 0:
                    headEnd = crlfEnd
                    bodyStart = crlfEnd + 3
            if headEnd < 0:
                if fresh:
                    self._headStarted = True
                    self._scan = self._counted = self._lineStart = pos
                    self._lines = 0
                self._checkPartialHead(end)
                # Nothing completes before an LF; no limit is exceeded up to the smaller bound.
                self._waitFor = b'\n'
                self._waitFrom = end
                self._waitUntil = min(self._lineStart + self._maxHeaderSize, pos + self._maxFrameSize)
                return None
            body = self._parseHead(pos, headEnd, bodyStart, version)
            scan = body[3]
            stored = False  # self._body, _headStarted and _scan are written when the frame stays
        else:
            scan = self._scan
            stored = True

        command, headers, rawHeaders, bodyStart, contentLength = body
        if contentLength is not None:
            if self._parts is not None:
                return self._joinParts(build)
            bodyEnd = bodyStart + contentLength
            if bodyEnd >= end:
                if not stored:
                    self._body = body
                    self._headStarted = True
                    self._scan = scan
                if contentLength >= _PARTS_FROM:
                    # Large remainder: keep the chunks as they come and copy the body once.
                    self._parts = [memoryview(buf)[bodyStart:end]]
                    self._partsLen = end - bodyStart
                    self._partsFrom = (buf, pos, end)
                    self._buf = b''
                    self._pos = 0
                else:  # nothing to do before the byte after the body has arrived
                    self._waitFor = None
                    self._waitUntil = bodyEnd
                return None
            if buf[bodyEnd] != _NUL:
                raise StompFrameError(
                    f'Frame not terminated by NUL: {bytes(buf[bodyEnd:bodyEnd + 1])!r} after a body of '
                    f'content-length {contentLength} [command {command}]'
                )
        else:
            bodyEnd = buf.find(b'\x00', scan)
            if bodyEnd < 0:
                if end - pos > self._maxFrameSize:
                    raise self._frameTooLarge(end - pos)
                if not stored:
                    self._body = body
                    self._headStarted = True
                self._scan = end
                self._waitFor = b'\x00'
                self._waitFrom = end
                self._waitUntil = pos + self._maxFrameSize
                return None
            scan = bodyEnd
            if bodyEnd - pos > self._maxFrameSize:
                raise self._frameTooLarge(bodyEnd - pos)
            if bodyEnd > bodyStart and version != _V10 and command not in _BODY_ALLOWED:
                raise StompFrameError(
                    f'Frame must not have a body (version {version}): {command!r} '
                    f'[body has {bodyEnd - bodyStart} bytes]'
                )
        if not build:
            self._body = body
            self._headStarted = True
            self._scan = scan
            return True
        if type(buf) is bytes:
            payload = buf[bodyStart:bodyEnd]  # already a copy
        elif bodyEnd - bodyStart < 4096:
            payload = bytes(buf[bodyStart:bodyEnd])
        else:
            with memoryview(buf) as view:
                payload = view[bodyStart:bodyEnd].tobytes()
        self._pos = bodyEnd + 1
        self._eolOwed = True
        self._headStarted = False
        self._body = None
        # StompFrame._fromWire, inlined: the parts are checked already
        frame = _newFrame(StompFrame)
        frame.command = command
        frame.headers = headers
        frame.rawHeaders = rawHeaders
        frame.body = payload
        frame.version = version
        return frame

    def _addPart(self, parts: list[Any], data: bytes) -> None:
        """Collect a chunk of a large body; small chunks are merged so the list stays short."""
        size = len(data)
        if size >= _SMALL_PART:
            parts.append(data if type(data) is bytes else bytes(data))
        else:
            last = parts[-1]
            if type(last) is bytearray and len(last) < _PART_SIZE:
                last += data
            else:
                parts.append(bytearray(data))
        self._partsLen += size

    def _joinParts(self, build: bool) -> StompFrame | bool | None:
        body = self._body
        assert body is not None and self._parts is not None
        command, headers, rawHeaders, _, contentLength = body
        assert contentLength is not None
        over = self._partsLen - contentLength  # bytes after the body (the NUL and beyond)
        if over <= 0:
            return None
        parts = self._parts
        last = parts[-1]
        keep = len(last) - over
        if last[keep] != _NUL:
            raise StompFrameError(
                f'Frame not terminated by NUL: {bytes(last[keep:keep + 1])!r} after a body of '
                f'content-length {contentLength} [command {command}]'
            )
        if not build:
            return True
        with memoryview(last) as view:
            parts[-1] = view[:keep]
            payload = b''.join(parts)
            parts[-1].release()
        if type(last) is bytes:
            self._buf = last
        else:
            self._buf = bytes(last)
        self._pos = keep + 1
        self._parts = None
        self._partsFrom = (b'', 0, 0)
        self._eolOwed = True
        self._headStarted = False
        self._body = None
        return StompFrame._fromWire(command, headers, rawHeaders, payload, self._version)

    def _unpart(self) -> None:
        """Put a large body's chunks back into one buffer (the frame is then read again)."""
        assert self._parts is not None
        source, start, end = self._partsFrom
        with memoryview(source) as view:
            buf = bytearray(view[start:end])
        for part in self._parts[1:]:
            buf += part
        self._parts = None
        self._partsFrom = (b'', 0, 0)
        self._buf = buf
        self._pos = 0

    def _checkPartialHead(self, end: int) -> None:
        """No end of head yet: check the limits on the bytes not counted before, then wait."""
        buf = self._buf
        counted = self._counted
        lines = self._lines + buf.count(b'\n', counted, end)
        if lines > self._maxHeaders + 1:
            raise self._tooManyHeaders(lines - 1)
        lastLf = buf.rfind(b'\n', counted, end)
        if lastLf >= 0:
            if lastLf - self._lineStart > self._maxHeaderSize:
                # lines completed by the new bytes may be too long themselves
                self._checkLines(bytes(buf[self._lineStart:lastLf]))
            self._lineStart = lastLf + 1
        if end - self._lineStart > self._maxHeaderSize:
            raise self._headerTooLong(end - self._lineStart)
        if end - self._pos > self._maxFrameSize:
            raise self._frameTooLarge(end - self._pos)
        self._lines = lines
        self._counted = end
        self._scan = max(self._pos, end - 2)

    def _checkLines(self, head: bytes | bytearray) -> None:
        limit = self._maxHeaderSize
        for line in head.split(b'\n'):
            if len(line) > limit:
                raise self._headerTooLong(len(line))

    def _parseHead(
        self, pos: int, headEnd: int, bodyStart: int, version: str
    ) -> tuple[str, dict[str, str], list[tuple[str, str]] | None, int, int | None]:
        raw = self._buf[pos:headEnd]
        if len(raw) > self._maxHeaderSize:
            self._checkLines(raw)
            if len(raw) > self._maxFrameSize:
                raise self._frameTooLarge(len(raw))
        try:
            head = raw.decode('utf-8')
        except UnicodeDecodeError as exc:
            raise StompFrameError(f'Headers are not valid UTF-8: {_shown(bytes(raw))}') from exc
        lines = head.split('\n')
        if version == _V12 and '\r' in head:
            lines = [line[:-1] if line[-1:] == '\r' else line for line in lines]
        command = lines[0]
        if command not in _COMMANDS[version]:
            raise StompFrameError(f'Invalid command (version {version}): {_shown(command)}')
        count = len(lines) - 1
        if count > self._maxHeaders:
            raise self._tooManyHeaders(count)
        unescape = None
        if '\\' in head:
            try:
                unescape = _UNESCAPERS[version, command]
            except KeyError:
                unescape = _unescaper(version, command)
        # The common case, one pass: split every line at its first colon. A line without a colon,
        # an empty name or a repeated name (the dict is then shorter, and the last entry won) go
        # the careful way below, which reports or handles it. Escapes never hide a raw colon, so
        # splitting comes first either way; with escapes (broker message ids such as ActiveMQ's
        # ``ID\\cvm-...``) the values holding a backslash are decoded on the way, in line order,
        # so the first undefined escape is the one reported, as on the careful way. An escaped
        # name (it could turn into a repeat once decoded) goes the careful way too.
        headers: dict[str, str] | None = None
        fast: dict[str, str] = {}
        if unescape is None:
            for line in lines[1:]:
                name, colon, value = line.partition(':')
                if not colon:
                    break
                fast[name] = value
            else:
                if len(fast) == count and '' not in fast:
                    headers = fast
        else:
            for line in lines[1:]:
                name, colon, value = line.partition(':')
                if not colon or not name or '\\' in name:
                    break
                fast[name] = unescape(value) if '\\' in value else value
            else:
                if len(fast) == count:
                    headers = fast
        rawHeaders = None
        if headers is None:  # the careful way: errors reported, escapes decoded, first entry wins
            headers = {}
            repeated = False
            for line in lines[1:]:
                name, colon, value = line.partition(':')
                if not colon or not name:
                    raise StompFrameError(
                        f'Invalid header line (no name, or no colon): {_shown(line)} [command {command}]'
                    )
                if unescape is not None:
                    if '\\' in name:
                        name = unescape(name)
                    if '\\' in value:
                        value = unescape(value)
                if name in headers:
                    repeated = True
                else:
                    headers[name] = value
            if repeated:
                rawHeaders = []
                for line in lines[1:]:
                    name, _, value = line.partition(':')
                    if unescape is not None:
                        name = unescape(name)
                        value = unescape(value)
                    rawHeaders.append((name, value))
        contentLength: int | None = None
        text = headers.get(_CONTENT_LENGTH)
        if text is not None:
            if not (text.isascii() and text.isdigit()):
                raise StompFrameError(f'Invalid content-length: {_shown(text)} [command {command}]')
            contentLength = int(text)
            size = bodyStart - pos + contentLength
            if size > self._maxFrameSize:
                raise self._frameTooLarge(size)
            if contentLength and version != _V10 and command not in _BODY_ALLOWED:
                raise StompFrameError(
                    f'Frame must not have a body (version {version}): {command!r} [content-length {contentLength}]'
                )
        return command, headers, rawHeaders, bodyStart, contentLength
