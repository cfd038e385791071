"""The parser's receive buffer: the bytes of the frames not yet returned, and the bytes still coming.

What the readers need from it:

- look for the next LF (end of a head line), LF LF or LF CR LF (end of a head) and NUL (end of a
  body) without looking at a byte twice;
- slice a body out of it, with as few copies as possible;
- collect a large content-length body without growing one buffer chunk by chunk.

Goals: the common case fast (a socket hands over 4 KiB to 64 KiB, many small frames each); every
case linear in the bytes received, however they are chunked (one byte at a time included).

Plan:

- :attr:`~ReceiveBuffer.data` is one ``bytes`` or ``bytearray``; the readers keep their positions
  in it (where the frame being read starts, where each search resumes) and never re-scan.
- :meth:`~ReceiveBuffer.append` drops the bytes before ``keep`` (what was returned already) and
  appends the new chunk. It returns how far the positions moved, so the readers can follow.

  * Everything returned: the chunk is *adopted*, not copied (``bytes`` slices of it are then the
    bodies, one copy each).
  * A short remainder (a frame cut by the end of a chunk): one concatenation, copying no more
    than the new bytes, and the buffer stays ``bytes``.
  * Otherwise a ``bytearray`` that is appended to; deleting its head is cheap in CPython.

- A content-length body of at least :data:`PARTS_FROM` bytes that is still incomplete is kept as
  a list of chunks (:meth:`~ReceiveBuffer.startParts`), joined once when it is complete. Small
  chunks are merged on the way, so the list stays short.

The figures these choices buy are in ``docs/benchmarks.rst`` (``tests/benchmarks/bench_parser.py``):
the adopted chunk and the short concatenation are part of the 4.03x on MESSAGE frames; the parts
keep the peak memory of an 8 MiB body at 1.06x the body and the time per MiB flat.
"""

from __future__ import annotations

from typing import Any

__all__ = ['PARTS_FROM', 'ReceiveBuffer']

#: an incomplete content-length body at least this long is collected chunk by chunk
PARTS_FROM = 4096
_SMALL_PART = 1024  # chunks smaller than this are merged while collecting a body
_PART_SIZE = 64 * 1024  # ... into pieces of about this size
_NUL = 0


class ReceiveBuffer:
    """The bytes received and not yet returned as frames; see the module's plan."""

    __slots__ = ('data', 'parts', 'partsLen', '_partsFrom')

    data: bytes | bytearray
    parts: list[Any] | None
    partsLen: int
    _partsFrom: tuple[bytes | bytearray, int, int]

    def __init__(self) -> None:
        self.data = b''  # bytes adopted from add() without copying, or a bytearray being appended to
        self.parts = None  # the chunks of a large content-length body (copied once, when complete)
        self.partsLen = 0  # body bytes in parts (the last chunk may reach beyond the body)
        self._partsFrom = (b'', 0, 0)  # (the buffer the body began in, its frame's start, its end)

    def __len__(self) -> int:
        return len(self.data)

    def append(self, chunk: bytes, keep: int) -> int:
        """Append ``chunk``, dropping the bytes before ``keep``; return how far positions moved."""
        buf = self.data
        if keep == len(buf):  # everything returned: adopt the bytes without copying them
            self.data = chunk if type(chunk) is bytes else bytes(chunk)
            return keep
        if type(buf) is bytes:
            if type(chunk) is bytes and len(buf) - keep <= len(chunk):
                # A short remainder: one concatenation copies no more than the new bytes, and the
                # buffer stays bytes, whose slices are the bodies without a second copy.
                self.data = buf[keep:] + chunk if keep else buf + chunk
                return keep
            with memoryview(buf) as view:
                buf = self.data = bytearray(view[keep:])
        elif keep:
            del buf[:keep]  # type: ignore[union-attr]  # a bytearray here
        buf += chunk
        return keep

    def slice(self, start: int, end: int) -> bytes:
        """A copy of ``data[start:end]`` (one copy: ``bytes`` slices are copies already)."""
        buf = self.data
        if type(buf) is bytes:
            return buf[start:end]
        if end - start < 4096:
            return bytes(buf[start:end])
        with memoryview(buf) as view:
            return view[start:end].tobytes()

    # -- a large content-length body, chunk by chunk -------------------------------------------

    def startParts(self, frameStart: int, bodyStart: int) -> None:
        """Keep ``data[bodyStart:]`` as the first chunk of a body; the next chunks go to
        :meth:`addPart`. ``data`` is empty afterwards."""
        buf = self.data
        self.parts = [memoryview(buf)[bodyStart:]]
        self.partsLen = len(buf) - bodyStart
        self._partsFrom = (buf, frameStart, len(buf))
        self.data = b''

    def addPart(self, chunk: bytes) -> None:
        """Collect a chunk of a large body; small chunks are merged so the list stays short."""
        parts = self.parts
        assert parts is not None
        size = len(chunk)
        if size >= _SMALL_PART:
            parts.append(chunk if type(chunk) is bytes else bytes(chunk))
        else:
            last = parts[-1]
            if type(last) is bytearray and len(last) < _PART_SIZE:
                last += chunk
            else:
                parts.append(bytearray(chunk))
        self.partsLen += size

    def joinParts(self, length: int) -> tuple[bytes, int, bytes | bytearray]:
        """The body (its ``length`` bytes, one copy), the position of the byte after it in
        :attr:`data` (which now holds the rest of the last chunk), and the buffer the body began
        in (its frame's head is there, for a later re-read)."""
        parts = self.parts
        assert parts is not None
        last = parts[-1]
        keep = len(last) - (self.partsLen - length)
        with memoryview(last) as view:
            parts[-1] = view[:keep]
            payload = b''.join(parts)
            parts[-1].release()
        self.data = last if type(last) is bytes else bytes(last)
        self.parts = None
        source = self._partsFrom[0]
        self._partsFrom = (b'', 0, 0)
        return payload, keep, source

    def unpart(self) -> None:
        """Put a large body's chunks back into one buffer, from its frame's start (the frame is
        then read again)."""
        assert self.parts is not None
        source, start, end = self._partsFrom
        with memoryview(source) as view:
            buf = bytearray(view[start:end])
        for part in self.parts[1:]:
            buf += part
        self.parts = None
        self._partsFrom = (b'', 0, 0)
        self.data = buf
