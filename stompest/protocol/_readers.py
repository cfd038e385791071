"""The parser's readers: one per state of the byte stream, picked from :data:`READERS`.

Each reader looks at the receive buffer from where the last one stopped and either

1. makes progress (queues a frame or heart-beat, or moves to another state) and returns ``True``,
2. raises :class:`~stompest.error.StompFrameError` (the stream position is then lost), or
3. returns ``False``: nothing more can happen before more bytes arrive. A reader that waits
   says what for (:attr:`FrameReader._waitFor`, :attr:`FrameReader._waitUntil`), so that
   :meth:`StompParser.add` can append bytes that cannot change the answer without calling it.

The states, and where each goes::

    BETWEEN --a byte that is no EOL--> HEAD --blank line--> BODY (no content-length)
                                                       \\-> LENGTH (content-length) --> PARTS
    BODY, LENGTH, PARTS --NUL, frame queued--> BETWEEN

* ``BETWEEN`` (between frames): one EOL right after a frame's NUL belongs to that frame (brokers
  send ``NUL LF``); every further EOL is a heart-beat in 1.1 and 1.2, and is skipped in 1.0,
  which has no heart-beats.
* ``HEAD``: a frame begun, its blank line not yet arrived; the limits are checked on the bytes
  as they come.
* ``BODY``: the head is read and names no content-length; the body ends at the first NUL.
* ``LENGTH``: the head names a content-length; the body is that many bytes, then a NUL.
* ``PARTS``: a ``LENGTH`` body of at least :data:`~._receivebuffer.PARTS_FROM` bytes, collected
  chunk by chunk by the receive buffer while it is incomplete.

Frames are read ahead, in :meth:`StompParser.add`, so that bad bytes and limits are reported at
once; a queued frame is built (its body sliced out of the buffer) when :meth:`StompParser.get`
returns it. A CONNECTED frame switches the rules of the frames read after it to the version it
names, as :meth:`StompParser.get` switches :attr:`StompParser.version` when it returns it.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from stompest.error import StompFrameError
from stompest.protocol._head import frameTooLarge, headerTooLong, readHead, tooManyHeaders
from stompest.protocol._receivebuffer import PARTS_FROM, ReceiveBuffer
from stompest.protocol.spec import StompSpec

__all__ = ['BETWEEN', 'BODY', 'HEAD', 'LENGTH', 'PARTS', 'READERS', 'FrameReader', 'Item']

BETWEEN = 'between frames'
HEAD = 'head'
BODY = 'body to NUL'
LENGTH = 'content-length body'
PARTS = 'content-length body in parts'

#: a frame or heart-beat read and not yet returned:
#: (start, command, headers, rawHeaders, bodyStart, bodyEnd, version, large). ``command`` is
#: ``None`` for a heart-beat. ``large`` is ``None``, or ``(source, start, bodyStart, body)`` for a
#: body that was collected in parts: ``source[start:bodyStart]`` is the frame's head, ``bodyEnd``
#: where its NUL is in the buffer now (the item's own ``start`` is unused).
Item = tuple[int, Any, Any, Any, int, int, str, Any]

_LF = 10
_CR = 13
_NUL = 0
_C = ord('C')
_V10 = StompSpec.VERSION_1_0
_V12 = StompSpec.VERSION_1_2
_CONNECTED = StompSpec.CONNECTED
_VERSION_HEADER = StompSpec.VERSION_HEADER
_VERSIONS = StompSpec.VERSIONS
_BODY_ALLOWED = StompSpec.COMMANDS_BODY_ALLOWED


def _crlfConnected(buf: bytes | bytearray, start: int) -> bool:
    """Whether the frame at ``start`` is a CONNECTED frame: its lines may end in CR LF whatever the
    version, since a client offering 1.2 reads it before the version is known (and its headers
    are never escaped, so a CR cannot be part of a value)."""
    return buf[start] == _C and (buf.startswith(b'CONNECTED\n', start) or buf.startswith(b'CONNECTED\r\n', start))


class FrameReader:
    """The state of the byte stream being read, and one reader per state (see the module)."""

    _rb: ReceiveBuffer
    _queue: deque[Item]
    _version: str
    _readVersion: str
    _maxFrameSize: int
    _maxHeaderSize: int
    _maxHeaders: int
    _error: StompFrameError | None

    def _startReading(self) -> None:
        """Begin at the start of a stream (after :meth:`StompParser.reset`)."""
        self._rb = ReceiveBuffer()
        self._queue = deque()
        self._readVersion = self._version  # the rules of the frames read now (ahead of get())
        self._state = BETWEEN
        self._scan = 0  # where the next look at the buffer starts
        self._owed = False  # the previous frame's NUL was not yet followed by its one EOL
        self._start = 0  # HEAD..PARTS: the first byte of the frame being read
        self._counted = 0  # HEAD: bytes of the head already counted for the limits
        self._lineStart = 0  # HEAD: the start of the head's last incomplete line
        self._lines = 0  # HEAD: LFs counted in the head
        self._command = ''  # BODY..PARTS: the head read
        self._headers: dict[str, str] = {}
        self._rawHeaders: list[tuple[str, str]] | None = None
        self._bodyStart = 0
        self._contentLength = 0
        # What the reader that returned False waits for: while len(buffer) <= _waitUntil and no
        # byte _waitFor (-1: any byte) arrives, nothing can complete and no limit can be passed.
        # _waitUntil -1: no such bound (add() calls the readers). See add(). An int, not a bytes
        # object: ``10 in data`` is a memchr, ``b'\n' in data`` costs ten times more on one byte.
        self._waitUntil = -1
        self._waitFor = -1

    def _read(self) -> None:
        """Run the readers until one waits for more bytes; a :class:`StompFrameError` is final."""
        self._waitUntil = -1
        try:
            readers = READERS
            while readers[self._state](self):
                pass
        except StompFrameError as error:
            self._error = error
            raise

    def _shift(self, offset: int) -> None:
        """The buffer dropped ``offset`` bytes from its head: follow with every position."""
        self._scan -= offset
        self._start -= offset
        self._counted -= offset
        self._lineStart -= offset
        self._bodyStart -= offset

    def _keep(self) -> int:
        """The first byte still needed: that of the first frame not returned (or being read)."""
        queue = self._queue
        if queue:
            start, _, _, _, _, _, _, large = queue[0]
            return 0 if large is not None else start
        state = self._state
        if state is PARTS:  # the buffer holds only bytes after the body
            return 0
        return self._scan if state is BETWEEN else self._start

    def _queueFrame(self, start: int, bodyStart: int, bodyEnd: int, version: str, large: Any) -> None:
        """Queue the frame whose head was read, and go on after its NUL."""
        command = self._command
        headers = self._headers
        self._queue.append((start, command, headers, self._rawHeaders, bodyStart, bodyEnd, version, large))
        if command == _CONNECTED:
            self._switchAfter(headers)
        self._state = BETWEEN
        self._scan = bodyEnd + 1
        self._owed = True

    def _switchAfter(self, headers: dict[str, str]) -> None:
        """A CONNECTED frame was read: the frames after it are read under the version it names."""
        named = headers.get(_VERSION_HEADER, _V10)
        if named in _VERSIONS:
            self._readVersion = named

    # -- the readers -----------------------------------------------------------------------------

    def _readBetween(self) -> bool:
        buf = self._rb.data
        end = len(buf)
        pos = self._scan
        version = self._readVersion
        owed = self._owed
        while pos < end:
            byte = buf[pos]
            if byte == _LF:
                size = 1
            elif byte == _CR and version == _V12 and (pos + 1 == end or buf[pos + 1] == _LF):
                if pos + 1 == end:
                    break  # a CR LF cut between chunks
                size = 2
            else:  # a frame begins: its head is read in the same call
                self._owed = False
                self._state = HEAD
                self._start = self._scan = self._counted = self._lineStart = pos
                self._lines = 0
                return self._readHead()
            if owed:
                owed = False
            elif version != _V10:
                self._queue.append((pos, None, None, None, 0, 0, version, None))
            pos += size
        self._owed = owed
        self._scan = pos
        return False

    def _readHead(self) -> bool:
        buf = self._rb.data
        end = len(buf)
        start = self._start
        scan = self._scan
        version = self._readVersion
        # The head ends with an empty line: LF LF, or LF CR LF where a CR belongs to the line end.
        headEnd = buf.find(b'\n\n', scan)
        bodyStart = headEnd + 2
        crlf = version == _V12 or _crlfConnected(buf, start)
        if crlf:
            crlfEnd = buf.find(b'\n\r\n', scan, end if headEnd < 0 else headEnd + 2)
            if crlfEnd >= 0:
                headEnd = crlfEnd
                bodyStart = crlfEnd + 3
        if headEnd < 0:
            self._checkPartialHead(buf, end)
            # Nothing completes before an LF; no limit is passed up to the smaller bound.
            self._waitFor = _LF
            self._waitUntil = min(self._lineStart + self._maxHeaderSize, start + self._maxFrameSize)
            return False
        command, headers, rawHeaders, contentLength = readHead(
            buf[start:headEnd],
            version,
            crlf,
            bodyStart - start,
            self._maxHeaderSize,
            self._maxFrameSize,
            self._maxHeaders,
        )
        # Fast path: a whole, valid frame without content-length is queued here, in the same
        # call, writing none of the state kept for a frame that waits (_nulBody and _queueFrame
        # have the rest). Worth ~7% of the MESSAGE frames figure in docs/benchmarks.rst
        # (tests/benchmarks/bench_parser.py, compareParsers), part of its 4.03x.
        if contentLength is None:
            bodyEnd = buf.find(_NUL, bodyStart)
            if (
                bodyEnd >= 0
                and bodyEnd - start <= self._maxFrameSize
                and (bodyEnd == bodyStart or version == _V10 or command in _BODY_ALLOWED)
            ):
                self._queue.append((start, command, headers, rawHeaders, bodyStart, bodyEnd, version, None))
                if command == _CONNECTED:
                    self._switchAfter(headers)
                self._state = BETWEEN
                self._scan = bodyEnd + 1
                self._owed = True
                return True
        self._command = command
        self._headers = headers
        self._rawHeaders = rawHeaders
        self._bodyStart = bodyStart
        if contentLength is None:
            self._state = BODY
            return self._nulBody(buf, end, start, bodyStart, bodyStart, version)
        self._state = LENGTH
        self._contentLength = contentLength
        return self._lengthBody(buf, end, start, bodyStart, contentLength, version)

    def _readBody(self) -> bool:
        buf = self._rb.data
        return self._nulBody(buf, len(buf), self._start, self._bodyStart, self._scan, self._readVersion)

    def _readLength(self) -> bool:
        buf = self._rb.data
        return self._lengthBody(buf, len(buf), self._start, self._bodyStart, self._contentLength, self._readVersion)

    def _readParts(self) -> bool:
        rb = self._rb
        contentLength = self._contentLength
        if rb.partsLen <= contentLength:  # the byte after the body has not come
            self._waitUntil = -1  # add() compares the parts' length itself
            return False
        payload, keep, source = rb.joinParts(contentLength)
        if rb.data[keep] != _NUL:
            self._notTerminated(bytes(rb.data[keep : keep + 1]), contentLength)
        self._queueFrame(-1, 0, keep, self._readVersion, (source, self._start, self._bodyStart, payload))
        return True

    # -- the shared parts of the body readers ----------------------------------------------------

    def _nulBody(self, buf: bytes | bytearray, end: int, start: int, bodyStart: int, scan: int, version: str) -> bool:
        bodyEnd = buf.find(b'\x00', scan)
        maxFrameSize = self._maxFrameSize
        if bodyEnd < 0:
            if end - start > maxFrameSize:
                raise frameTooLarge(end - start, maxFrameSize)
            self._scan = end
            self._waitFor = _NUL
            self._waitUntil = start + maxFrameSize
            return False
        if bodyEnd - start > maxFrameSize:
            raise frameTooLarge(bodyEnd - start, maxFrameSize)
        if bodyEnd > bodyStart and version != _V10 and self._command not in _BODY_ALLOWED:
            raise StompFrameError(
                f'Frame must not have a body (version {version}): {self._command!r} '
                f'[body has {bodyEnd - bodyStart} bytes]'
            )
        self._queueFrame(start, bodyStart, bodyEnd, version, None)
        return True

    def _lengthBody(
        self, buf: bytes | bytearray, end: int, start: int, bodyStart: int, contentLength: int, version: str
    ) -> bool:
        bodyEnd = bodyStart + contentLength
        if bodyEnd >= end:
            if contentLength >= PARTS_FROM:
                # Large remainder: keep the chunks as they come and copy the body once. Keeps the
                # 8 MiB body's peak memory at 1.06x, the time per MiB flat, and 64 KiB bodies at
                # one copy each (docs/benchmarks.rst; tests/benchmarks/bench_parser.py). Queued
                # frames are sliced out of the buffer later: then add() starts the parts once
                # they are returned (the buffer is left as it is until then).
                if not self._queue:
                    self._rb.startParts(start, bodyStart)
                    self._state = PARTS
                self._waitUntil = -1
                return False
            self._waitFor = -1  # nothing to do before the byte after the body has arrived
            self._waitUntil = bodyEnd
            return False
        if buf[bodyEnd] != _NUL:
            self._notTerminated(bytes(buf[bodyEnd : bodyEnd + 1]), contentLength)
        self._queueFrame(start, bodyStart, bodyEnd, version, None)
        return True

    def _notTerminated(self, found: bytes, contentLength: int) -> None:
        raise StompFrameError(
            f'Frame not terminated by NUL: {found!r} after a body of '
            f'content-length {contentLength} [command {self._command}]'
        )

    def _checkPartialHead(self, buf: bytes | bytearray, end: int) -> None:
        """No end of head yet: check the limits on the bytes not counted before."""
        counted = self._counted
        lines = self._lines + buf.count(b'\n', counted, end)
        if lines > self._maxHeaders + 1:
            raise tooManyHeaders(lines - 1, self._maxHeaders)
        maxHeaderSize = self._maxHeaderSize
        lastLf = buf.rfind(b'\n', counted, end)
        if lastLf >= 0:
            if lastLf - self._lineStart > maxHeaderSize:
                # lines completed by the new bytes may be too long themselves
                for line in buf[self._lineStart : lastLf].split(b'\n'):
                    if len(line) > maxHeaderSize:
                        raise headerTooLong(len(line), maxHeaderSize)
            self._lineStart = lastLf + 1
        if end - self._lineStart > maxHeaderSize:
            raise headerTooLong(end - self._lineStart, maxHeaderSize)
        if end - self._start > self._maxFrameSize:
            raise frameTooLarge(end - self._start, self._maxFrameSize)
        self._lines = lines
        self._counted = end
        self._scan = max(self._start, end - 2)


#: the state table: which reader reads the bytes in each state
READERS = {
    BETWEEN: FrameReader._readBetween,
    HEAD: FrameReader._readHead,
    BODY: FrameReader._readBody,
    LENGTH: FrameReader._readLength,
    PARTS: FrameReader._readParts,
}
