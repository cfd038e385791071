"""Header escaping per STOMP version (private helpers for the frame and the parser).

STOMP 1.1 escapes ``\\`` ``\\n`` ``:`` in header names and values as ``\\\\`` ``\\n`` ``\\c``;
1.2 adds ``\\r`` for a carriage return; 1.0 escapes nothing. CONNECT, STOMP and CONNECTED frames
are never escaped, in any version (the spec exempts them so a 1.0 peer can read them).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from stompest.error import StompFrameError, StompProtocolError
from stompest.protocol.spec import StompSpec

_ESCAPE_TABLES = {version: str.maketrans(table) for version, table in StompSpec.ESCAPE_CHARACTERS.items()}
_UNESCAPE_MAPS = {
    version: {escaped[1]: plain for plain, escaped in table.items()}
    for version, table in StompSpec.ESCAPE_CHARACTERS.items()
}
_NEEDS_ESCAPE = {
    StompSpec.VERSION_1_1: re.compile('[\\\\\n:]'),
    StompSpec.VERSION_1_2: re.compile('[\\\\\n:\r]'),
}
_ESCAPE_SEQUENCE = re.compile(r'\\(.?)', re.DOTALL)

Coder = Callable[[str], str]
Builder = Callable[[str, str], 'Coder | None']

#: The escaper and the unescaper of each ``(version, command)`` seen so far: each is built once,
#: then looked up per frame (the frame's serialiser reads :data:`ESCAPERS` directly, a dict
#: lookup being the cheapest call on its hot path).
ESCAPERS: dict[tuple[str, str], Coder | None] = {}
UNESCAPERS: dict[tuple[str, str], Coder | None] = {}


def _cached(cache: dict[tuple[str, str], Coder | None]) -> Callable[[Builder], Builder]:
    """Remember what the decorated builder returns, per ``(version, command)``, in ``cache``."""

    def decorate(build: Builder) -> Builder:
        @functools.wraps(build)
        def lookup(version: str, command: str) -> Coder | None:
            key = (version, command)
            try:
                return cache[key]
            except KeyError:
                result = cache[key] = build(version, command)
                return result

        return lookup

    return decorate


@_cached(ESCAPERS)
def escaper(version: str, command: str) -> Callable[[str], str] | None:
    """A function that escapes a header name or value of ``command`` in ``version``, or
    ``None`` where nothing is escaped (1.0, and CONNECT/STOMP/CONNECTED in every version)."""
    if version == StompSpec.VERSION_1_0 or command in StompSpec.COMMANDS_ESCAPE_EXCLUDED[version]:
        return None
    needsEscape = _NEEDS_ESCAPE[version].search
    table = _ESCAPE_TABLES[version]

    def escape(text: str) -> str:
        return text.translate(table) if needsEscape(text) else text

    return escape


@_cached(UNESCAPERS)
def unescaper(version: str, command: str) -> Callable[[str], str] | None:
    """A function that decodes the escapes of a received header name or value, or ``None``
    where the version or command has no escapes. An undefined escape sequence raises
    :class:`~stompest.error.StompFrameError` (the 1.1 and 1.2 specs make it a fatal error)."""
    if version == StompSpec.VERSION_1_0 or command in StompSpec.COMMANDS_ESCAPE_EXCLUDED[version]:
        return None
    mapping = _UNESCAPE_MAPS[version]

    def replace(match: re.Match[str]) -> str:
        try:
            return mapping[match.group(1)]
        except KeyError:
            raise StompFrameError(
                f'Undefined escape sequence: {match.group(0)!r} [version {version}, command {command}]'
            ) from None

    # Fast path: without an escaped backslash the escapes cannot overlap, so plain replaces decode
    # them; a backslash left over is an undefined escape, reported by the regular expression path.
    # The colon goes first: broker message ids are full of them; once no backslash is left, the
    # remaining replaces could not change anything.
    plain = {char: escaped for char, escaped in StompSpec.ESCAPE_CHARACTERS[version].items() if char != '\\'}
    colon = plain.pop(':')
    others = [(escaped, char) for char, escaped in plain.items()]

    def unescape(text: str) -> str:
        if '\\' not in text:
            return text
        if '\\\\' not in text:
            decoded = text.replace(colon, ':')
            if '\\' not in decoded:
                return decoded
            for escaped, char in others:
                decoded = decoded.replace(escaped, char)
            if '\\' not in decoded:
                return decoded
        return _ESCAPE_SEQUENCE.sub(replace, text)

    return unescape


def checkUnescaped(text: str, command: str, version: str = StompSpec.VERSION_1_2) -> str:
    """Refuse a header name or value that cannot be written without escapes where escaping is
    unavailable (1.0, CONNECT, CONNECTED): a line feed would end the header line early (a header
    injection). A carriage return is data to a 1.0 or 1.1 reader, as stompest 2.3 wrote it, but
    part of the line end to a 1.2 reader and in every CONNECTED frame, so it is refused there."""
    if '\n' in text or ('\r' in text and (version == StompSpec.VERSION_1_2 or command == StompSpec.CONNECTED)):
        raise StompProtocolError(f'Header contains a line break and cannot be escaped: {text!r} [command {command}]')
    return text
