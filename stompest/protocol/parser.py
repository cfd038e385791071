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
  a CR LF heart-beat in those versions is an invalid command line. The exception is CONNECTED,
  whose lines may end in CR LF in every version: a client that offers 1.2 reads it before the
  version is known, and its headers are never escaped.
* **Header text** is decoded as UTF-8 in every version. STOMP 1.0 says ASCII, but brokers pass
  UTF-8 through, and ASCII is a subset. Bytes that are not UTF-8 are a :class:`StompFrameError`.
* **Escapes** (``\\\\`` ``\\n`` ``\\c``, and ``\\r`` in 1.2) are decoded in 1.1 and 1.2, never in 1.0
  and never in CONNECT, STOMP or CONNECTED frames; an undefined escape is a fatal error.
* **Colons.** A header line is split at its *first* colon; the rest of the line, raw colons
  included, is the value (1.0 message ids contain raw colons and ActiveMQ sends them). A header
  line without a colon is an error; an empty name is a header like any other (``:x`` gives the
  header ``''``, as in stompest 2.3).
* **Repeated headers:** the first entry wins in :attr:`StompFrame.headers`; all entries are kept in
  :attr:`StompFrame.rawHeaders` (which is ``None`` when no header repeats).
* **Bodies.** With ``content-length`` the body is exactly that many bytes (NULs allowed) and must
  be followed by NUL; without it the body ends at the first NUL. In 1.1 and 1.2 only SEND,
  MESSAGE and ERROR may carry a non-empty body.
* **EOLs between frames.** Exactly one EOL right after a frame's NUL belongs to that frame
  (brokers send ``NUL LF``), even when it arrives in a later chunk. Every further EOL between
  frames is returned as a :class:`StompHeartBeat` in 1.1 and 1.2; in 1.0, which has no
  heart-beats, it is skipped (as stompest 2.3 did).
* **When.** :meth:`StompParser.add` reads every whole frame it can at once, so bad bytes and
  passed limits raise there, even if :meth:`~StompParser.get` is never called; a frame object is
  built when :meth:`~StompParser.get` returns it. Frames are read under the rules of
  :attr:`StompParser.version`; the frames after a CONNECTED frame under the version it names (1.0
  when it names none; an unknown value is ignored), and :meth:`~StompParser.get` switches
  :attr:`~StompParser.version` to it when it returns that frame. Setting :attr:`~StompParser.version`
  reads the frames not yet returned again under the new rules.
* **Limits.** ``maxFrameSize`` (command, headers and body), ``maxHeaderSize`` (one command or
  header line, in bytes) and ``maxHeaders`` (header lines per frame) bound what the parser buffers;
  passing one raises :class:`StompFrameLimitError` naming it, as early as the bytes show it.
* **Errors are final.** After a :class:`StompFrameError` the stream position is lost: the frames
  read before the error can still be got, then the parser refuses to work until
  :meth:`StompParser.reset` is called (after a reconnect).

The parser keeps one buffer and resumes every search where the previous one stopped, so parsing
stays linear in the input however it is chunked (one byte at a time included). The layout, in the
manner of h11: :mod:`stompest.protocol._receivebuffer` (the buffer, with its plan),
:mod:`stompest.protocol._readers` (one reader per state, and the state table),
:mod:`stompest.protocol._head` (a head's lines into headers).
"""

from __future__ import annotations

from stompest.error import StompFrameError
from stompest.protocol._head import frameTooLarge, headerTooLong
from stompest.protocol._readers import BETWEEN, BODY, HEAD, LENGTH, PARTS, FrameReader
from stompest.protocol._receivebuffer import PARTS_FROM
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.spec import StompSpec

__all__ = ['StompParser']

_CONNECTED = StompSpec.CONNECTED
_VERSION_HEADER = StompSpec.VERSION_HEADER
_V10 = StompSpec.VERSION_1_0
_newFrame = StompFrame.__new__


class StompParser(FrameReader):
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

    def __init__(
        self,
        version: str | None = None,
        *,
        maxFrameSize: int = StompSpec.DEFAULT_MAX_FRAME_SIZE,
        maxHeaderSize: int = StompSpec.DEFAULT_MAX_HEADER_SIZE,
        maxHeaders: int = StompSpec.DEFAULT_MAX_HEADERS,
    ) -> None:
        self._version = StompSpec.version(version)
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
        self._version = value
        self._reread()

    @property
    def maxFrameSize(self) -> int:
        """The largest frame accepted (command, headers and body), in bytes."""
        return self._maxFrameSize

    @maxFrameSize.setter
    def maxFrameSize(self, value: int) -> None:
        self._maxFrameSize = value
        self._waitUntil = -1  # the bounds of add()'s shortcut were computed from the old limit

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
        self._error = None
        self._errorRaised = False  # the error was raised to the caller (later calls: "unusable")
        self._startReading()

    def add(self, data: bytes) -> None:
        """Buffer received bytes and read every frame they complete.

        :raises StompFrameError: the bytes are not valid STOMP under :attr:`version`'s rules (the
            frames before them can still be got with :meth:`get`).
        :raises StompFrameLimitError: the bytes pass a limit (its name is in ``.limit``); a line
            or a frame that becomes too long is refused before the bytes are buffered.
        """
        until = self._waitUntil
        if until >= 0:
            # Shortcut: the last reader waits for one byte (an LF ending a head line, the NUL
            # ending a body) or for the end of a content-length body, within bounds no limit can
            # be passed in. Bytes that change neither are only appended: one byte at a time
            # costs ~0.59 us instead of ~1.7 us (docs/benchmarks.rst, "Linearity";
            # tests/benchmarks/bench_parser.py, linearSmallFrames).
            buf = self._rb.data
            if type(buf) is bytearray and len(buf) + len(data) <= until:
                waitFor = self._waitFor
                if waitFor < 0 or waitFor not in data:
                    buf += data
                    return
        if self._error is not None:
            self._raiseError()
        rb = self._rb
        state = self._state
        if state is LENGTH and self._contentLength >= PARTS_FROM and not self._queue:
            rb.startParts(self._start, self._bodyStart)  # see FrameReader._lengthBody
            self._state = state = PARTS
        if state is PARTS:
            rb.addPart(data)
            if rb.partsLen <= self._contentLength:  # the byte after the body has not come
                return
        else:
            size = len(rb) + len(data)
            if state is HEAD:
                if size - self._lineStart > self._maxHeaderSize and 10 not in data:  # no LF
                    self._fail(headerTooLong(size - self._lineStart, self._maxHeaderSize))
            elif state is BODY:
                if size - self._start > self._maxFrameSize and 0 not in data:  # no NUL
                    self._fail(frameTooLarge(size - self._start, self._maxFrameSize))
            # Queued frames are sliced out of the buffer when returned: the buffer is compacted
            # only when none is queued.
            offset = rb.append(data, 0 if self._queue else self._keep())
            if offset:
                self._shift(offset)
        self._errorRaised = True  # an error raised in _read() goes to this caller
        self._read()

    def canRead(self) -> bool:
        """Whether a whole frame or heart-beat is buffered (nothing is consumed).

        :raises StompFrameError: nothing is left before an error.
        """
        if self._queue:
            return True
        if self._error is not None:
            self._raiseError()
        return False

    def get(self) -> StompFrame | StompHeartBeat | None:
        """The next frame or heart-beat, or :attr:`SENTINEL` when none is buffered whole.

        :raises StompFrameError: nothing is left before an error (the first call after the
            frames read before it raises that error if :meth:`add` did not, later calls say the
            parser is unusable until :meth:`reset`).
        """
        queue = self._queue
        if not queue:
            if self._error is not None:
                self._raiseError()
            return None
        start, command, headers, rawHeaders, bodyStart, bodyEnd, version, large = queue.popleft()
        if command is None:
            return StompHeartBeat(version)
        # StompFrame's constructor, inlined: the parts are checked already
        frame = _newFrame(StompFrame)
        frame.command = command
        frame.headers = headers
        frame.rawHeaders = rawHeaders
        if large is not None:
            frame.body = large[3]
        else:
            buf = self._rb.data
            # bytes: the slice is the one copy (the chunk was adopted, see _receivebuffer); the
            # method call saved is ~2% of the MESSAGE figure in docs/benchmarks.rst.
            frame.body = buf[bodyStart:bodyEnd] if type(buf) is bytes else self._rb.slice(bodyStart, bodyEnd)
        frame.version = version
        if command == _CONNECTED:
            named = headers.get(_VERSION_HEADER, _V10)
            if named in StompSpec.VERSIONS:
                self._version = named
        return frame

    # -- internals ----------------------------------------------------------------------------

    @property
    def _buf(self) -> bytes | bytearray:
        """The receive buffer's bytes (for tests of compaction and of the limits)."""
        return self._rb.data

    def _buffered(self) -> int:
        """Bytes held for frames not yet returned (for tests of the limits)."""
        rb = self._rb
        return len(rb) - self._keep() + (rb.partsLen if rb.parts is not None else 0)

    def _reread(self) -> None:
        """Read the frames not yet returned again, under the rules of :attr:`version`."""
        if self._error is not None:
            return
        self._readVersion = self._version
        rb = self._rb
        queue = self._queue
        if queue:
            start, _, _, _, _, bodyEnd, _, large = queue[0]
            if large is not None:  # its body was collected in parts: put the frame back together
                source, headStart, bodyStart, payload = large
                with memoryview(source) as view:
                    buf = bytearray(view[headStart:bodyStart])
                buf += payload
                with memoryview(rb.data) as view:
                    buf += view[bodyEnd:]
                rb.data = buf
                start = 0
            queue.clear()
        elif self._state is PARTS:
            rb.unpart()
            start = 0
        elif self._state is BETWEEN:
            return
        else:
            start = self._start
        self._state = BETWEEN
        self._scan = start
        self._owed = False
        try:
            self._read()
        except StompFrameError:
            self._errorRaised = False  # raised by get() or canRead() once the frames before it are got

    def _raiseError(self) -> None:
        if not self._errorRaised:
            self._errorRaised = True
            raise self._error  # type: ignore[misc]
        self._raiseUnusable()

    def _raiseUnusable(self) -> None:
        raise StompFrameError(
            f'Parser is unusable after an error: {self._error} [call reset() after reconnecting]'
        ) from self._error

    def _fail(self, error: StompFrameError) -> None:
        self._error = error
        self._errorRaised = True
        raise error
