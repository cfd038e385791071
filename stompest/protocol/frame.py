"""STOMP frames and heart-beats as values, and their serialisation to bytes.

>>> frame = StompFrame(StompSpec.SEND, {'destination': '/queue/a'}, b'hi', version=StompSpec.VERSION_1_2)
>>> bytes(frame)
b'SEND\\ndestination:/queue/a\\n\\nhi\\x00'
>>> frame.info()
"SEND frame [headers={'destination': '/queue/a'}, body=b'hi', version=1.2]"
>>> str(frame) == frame.info()
True
>>> dict(frame)
{'command': 'SEND', 'headers': {'destination': '/queue/a'}, 'body': b'hi', 'version': '1.2'}
>>> StompFrame(**dict(frame)) == frame
True
>>> bytes(StompHeartBeat()), bool(StompHeartBeat())
(b'\\n', False)

Headers are a ``dict`` of ``str`` to ``str``. When a frame arrived with a header repeated, the
first value wins in :attr:`StompFrame.headers` (STOMP 1.1 and 1.2 say so) and every entry, in wire
order, is kept in :attr:`StompFrame.rawHeaders`. Serialising writes :attr:`~StompFrame.headers`
first (so changes made to it are honoured) and then the later repeats from ``rawHeaders`` of the
names still present, which a receiver reads exactly as the original.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from typing import Any

from stompest.error import StompEncodingError, StompProtocolError
from stompest.protocol._escape import ESCAPERS as _ESCAPERS
from stompest.protocol._escape import checkUnescaped
from stompest.protocol._escape import escaper as _escaper
from stompest.protocol.spec import StompSpec

__all__ = ['StompFrame', 'StompHeartBeat', 'Headers', 'copyHeaders']

#: What the API accepts as headers: a mapping, or ``(name, value)`` pairs (stompest 2.3 took both).
Headers = Mapping[str, Any] | Iterable[tuple[str, Any]]

_MASKED = StompSpec.PASSCODE_MASK
_CODECS = StompSpec.CODECS
_CONTENT_LENGTH = StompSpec.CONTENT_LENGTH_HEADER
_DEFAULT_VERSION = StompSpec.DEFAULT_VERSION
_V12 = StompSpec.VERSION_1_2
_CONNECTED = StompSpec.CONNECTED


class StompFrame:
    """One STOMP frame: a command, headers and a body.

    :param command: the command, e.g. ``'SEND'`` (see :class:`StompSpec`).
    :param headers: a mapping or ``(name, value)`` pairs, copied into a new ``dict`` as they are
        (as in stompest 2.3, names and values that are not strings are kept, and written with
        ``str()`` when the frame is serialised).
    :param body: the body, ``bytes`` (a ``str`` is encoded as UTF-8).
    :param rawHeaders: every header entry as received, repeats included (kept as given when it is
        a list or tuple of pairs). When given, ``headers`` is derived from it (first entry wins)
        and the ``headers`` argument is ignored.
    :param version: the STOMP version whose rules (escaping, encoding) apply when serialising;
        ``None`` means :attr:`StompSpec.DEFAULT_VERSION` (1.0), which :attr:`version` then holds.

    Two frames are equal when command, headers and body are equal (``rawHeaders`` and
    ``version`` are context, not content).

    ``dict(frame)`` gives the constructor's keywords for what is not a default (as stompest 2.3),
    so ``StompFrame(**dict(frame))`` is an equal frame; ``bytes(frame)`` is the wire form and
    ``str(frame)`` the text :meth:`info` gives (the passcode masked).
    """

    #: how many bytes of the body :meth:`info` shows
    INFO_LENGTH = 20

    # __weakref__: a client may track received frames weakly (so an unacknowledged frame the
    # application dropped is not kept alive by the client's bookkeeping).
    __slots__ = ('command', 'headers', 'body', 'rawHeaders', 'version', '__weakref__')

    def __init__(
        self,
        command: str = '',
        headers: Headers | None = None,
        body: bytes | str = b'',
        rawHeaders: Iterable[tuple[str, str]] | None = None,
        version: str | None = None,
    ) -> None:
        self.command = command
        if rawHeaders is not None:
            pairs = isinstance(rawHeaders, (list, tuple)) and all(type(h) is tuple and len(h) == 2 for h in rawHeaders)
            if not pairs:
                rawHeaders = [(name, value) for name, value in rawHeaders]
            self.rawHeaders: list[tuple[str, str]] | None = rawHeaders  # type: ignore[assignment]
            derived: dict[str, str] = {}
            for name, value in rawHeaders:
                derived.setdefault(name, value)
            self.headers: dict[str, str] = derived
        else:
            self.rawHeaders = None
            self.headers = copyHeaders(headers)
        self.body: bytes = body if type(body) is bytes else _toBody(body)
        self.version: str = _DEFAULT_VERSION if version is None else version

    @classmethod
    def _build(cls, command: str, headers: Headers | None, body: bytes | str, version: str | None) -> StompFrame:
        """``StompFrame(command, headers, body, version=version)`` without the cost of the call's
        argument handling (for the frame builders on a producer's hot path)."""
        frame = cls.__new__(cls)
        frame.command = command
        frame.headers = _toHeaders(headers)
        frame.rawHeaders = None
        frame.body = body if type(body) is bytes else _toBody(body)
        frame.version = _DEFAULT_VERSION if version is None else version
        return frame

    @classmethod
    def _fromWire(
        cls,
        command: str,
        headers: dict[str, str],
        rawHeaders: list[tuple[str, str]] | None,
        body: bytes,
        version: str,
    ) -> StompFrame:
        """Build a frame from parts the parser already checked (no copying, no conversion)."""
        frame = cls.__new__(cls)
        frame.command = command
        frame.headers = headers
        frame.rawHeaders = rawHeaders
        frame.body = body
        frame.version = version
        return frame

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StompFrame):
            return NotImplemented
        return self.command == other.command and self.headers == other.headers and self.body == other.body

    __hash__ = None  # type: ignore[assignment]  # mutable value

    def __iter__(self) -> Iterator[tuple[str, Any]]:
        """``(keyword, value)`` for the command and for every constructor argument that is not its
        default (``rawHeaders`` instead of ``headers`` when there are raw headers), so that
        ``StompFrame(**dict(frame))`` rebuilds the frame."""
        yield ('command', self.command)
        if self.rawHeaders is None:
            if self.headers:
                yield ('headers', self.headers)
        else:
            yield ('rawHeaders', self.rawHeaders)
        if self.body:
            yield ('body', self.body)
        if self.version != _DEFAULT_VERSION:
            yield ('version', self.version)

    def __repr__(self) -> str:
        parts = [repr(self.command), f'headers={_maskedHeaders(self.headers)!r}']
        if self.body:
            parts.append(f'body={self.body!r}')
        if self.rawHeaders is not None and len(self.rawHeaders) != len(self.headers):
            shown = [(n, _MASKED if n == StompSpec.PASSCODE_HEADER else v) for n, v in self.rawHeaders]
            parts.append(f'rawHeaders={shown!r}')
        if self.version != _DEFAULT_VERSION:
            parts.append(f'version={self.version!r}')
        return f'StompFrame({", ".join(parts)})'

    def __str__(self) -> str:
        """What :meth:`info` says (for display and logs; the wire form is ``bytes(frame)``)."""
        return self.info()

    def __bytes__(self) -> bytes:
        version = self.version or _DEFAULT_VERSION
        if version not in _CODECS:  # before escaper(), which knows only real versions
            raise StompProtocolError(f'Version is not supported: {version!r}')
        command = self.command
        headers = self.headers
        raw = self.rawHeaders
        items: Collection[tuple[str, str]]
        items = headers.items() if raw is None or len(raw) == len(headers) else self._headerItems()  # type: ignore[assignment]
        try:
            escape = _ESCAPERS[version, command]
        except KeyError:
            escape = _escaper(version, command)
        # Fast path: join all "name:value" lines at once, then check on the joined text that no
        # name or value needs an escape (or is refused): exactly one colon per line where
        # colons are escaped, no colon in a name where they are not, no line break, no backslash.
        # Anything else (or a name or value that is not a str) takes the careful path.
        count = len(items)
        text: str | None
        try:
            text = '\n'.join(map(':'.join, items))
        except TypeError:
            text = None
        if text is not None and count:
            if escape is None:
                if '\r' in text and (version == _V12 or command == _CONNECTED):
                    text = None
                elif text.count('\n') != count - 1 or ':' in ''.join(headers):
                    text = None
            elif (
                '\\' in text
                or text.count(':') != count
                or text.count('\n') != count - 1
                or (version == _V12 and '\r' in text)
            ):
                text = None
        if text is None:
            text = '\n'.join(self._headerLines(escape, command, version))
        body = self.body
        contentLength = headers.get(_CONTENT_LENGTH)
        if contentLength is None:
            if b'\x00' in body:
                # Without a length the receiver would cut the body at its first NUL.
                text = f'{text}\n{_CONTENT_LENGTH}:{len(body)}' if count else f'{_CONTENT_LENGTH}:{len(body)}'
                count += 1
        elif contentLength != str(len(body)) and str(contentLength) != str(len(body)):
            raise StompProtocolError(
                f'Header content-length does not match the body: {contentLength!r} [body has {len(body)} bytes]'
            )
        head = f'{command}\n{text}\n\n' if count else f'{command}\n\n'
        try:
            encoded = head.encode(_CODECS[version])
        except UnicodeEncodeError as exc:
            raise StompEncodingError(
                exc,
                f'Headers cannot be encoded in version {version} ({StompSpec.CODECS[version]}): '
                f'{exc.object[exc.start : exc.end]!r}',
            ) from exc
        return b''.join((encoded, body, b'\x00'))

    def _headerLines(self, escape: Callable[[str], str] | None, command: str, version: str) -> list[str]:
        """The header lines, each name and value escaped or checked one by one."""
        lines: list[str] = []
        append = lines.append
        if escape is None:
            for name, value in self._headerItems():
                name, value = str(name), str(value)
                if StompSpec.HEADER_SEPARATOR in name:
                    raise StompProtocolError(
                        f'Header name contains a colon and cannot be escaped: {name!r} [command {command}]'
                    )
                append(f'{checkUnescaped(name, command, version)}:{checkUnescaped(value, command, version)}')
        else:
            for name, value in self._headerItems():
                append(f'{escape(str(name))}:{escape(str(value))}')
        return lines

    def _headerItems(self) -> Iterable[tuple[str, str]]:
        headers = self.headers
        raw = self.rawHeaders
        if raw is None or len(raw) == len(headers):
            return headers.items()
        repeats = []
        seen: set[str] = set()
        for name, value in raw:
            if name in seen:
                if name in headers:
                    repeats.append((name, value))
            else:
                seen.add(name)
        return [*headers.items(), *repeats]

    def info(self) -> str:
        """A one-line description for logs, in stompest 2.3's form: the headers (the passcode
        masked), the first :attr:`INFO_LENGTH` bytes of the body, the version; what is empty is left
        out."""
        parts = []
        if self.headers:
            parts.append(f'headers={_maskedHeaders(self.headers)}')
        body = self.body
        if body:
            shown = body[: self.INFO_LENGTH]
            parts.append(f'body={shown + b"..." if len(shown) < len(body) else shown!r}')
        parts.append(f'version={self.version}')
        return f'{self.command} frame [{", ".join(parts)}]'

    def unraw(self) -> None:
        """Forget the repeated header entries: keep only :attr:`headers` (first entry wins)."""
        self.rawHeaders = None

    def setContentLength(self) -> None:
        """Set the ``content-length`` header to the length of the body."""
        self.headers[StompSpec.CONTENT_LENGTH_HEADER] = str(len(self.body))
        if self.rawHeaders is not None:
            self.rawHeaders = [(n, v) for n, v in self.rawHeaders if n != StompSpec.CONTENT_LENGTH_HEADER]
            self.rawHeaders.append((StompSpec.CONTENT_LENGTH_HEADER, self.headers[StompSpec.CONTENT_LENGTH_HEADER]))


class StompHeartBeat:
    """A heart-beat: a single end-of-line between frames.

    All heart-beats are equal; ``bytes(StompHeartBeat())`` is ``b'\\n'``. A heart-beat is falsy (as
    in stompest 2.3), so ``if frame:`` tells a frame from a heart-beat.
    """

    __slots__ = ('version',)
    command = None
    headers: dict[str, str] = {}
    body = b''

    def __init__(self, version: str | None = None) -> None:
        self.version = version

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StompHeartBeat)

    __hash__ = None  # type: ignore[assignment]

    def __bool__(self) -> bool:
        return False

    def __bytes__(self) -> bytes:
        return b'\n'

    def __str__(self) -> str:
        return 'heart-beat'

    def __repr__(self) -> str:
        return 'StompHeartBeat()'

    def info(self) -> str:
        return 'heart-beat'


def copyHeaders(headers: Headers | None) -> dict[str, Any]:
    """A new dict of the headers given (a mapping or pairs; ``None``: none), names and values as
    they are: how :class:`StompFrame` and the session take the :data:`Headers` a caller passes."""
    if type(headers) is dict:
        return headers.copy()
    if isinstance(headers, Mapping):
        return dict(headers.items())
    return dict(headers or ())


def _toHeaders(headers: Headers | None) -> dict[str, str]:
    """A new dict of the headers given (a mapping or pairs), names and values turned into ``str``."""
    items: Iterable[tuple[Any, Any]]
    if type(headers) is dict:  # the common case, without the slower isinstance() of an ABC
        items = headers.items()
    else:
        items = headers.items() if isinstance(headers, Mapping) else (headers or ())
    return {str(name): str(value) for name, value in items}


def _toBody(body: bytes | str) -> bytes:
    return body.encode('utf-8') if isinstance(body, str) else bytes(body)


def _maskedHeaders(headers: dict[str, str]) -> dict[str, str]:
    if StompSpec.PASSCODE_HEADER in headers:
        return {**headers, StompSpec.PASSCODE_HEADER: _MASKED}
    return headers
