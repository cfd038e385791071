"""Argument checks shared by the frame builders of :mod:`stompest.protocol.commands` (private).

Each returns the value it checked (normalised where stompest 2.3 normalised it) or raises
:class:`~stompest.error.StompProtocolError`.
"""

from __future__ import annotations

from collections.abc import Iterable

from stompest.error import StompProtocolError
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec


def _version(version: str | None) -> str:
    return StompSpec.version(version)


def offeredVersions(versions: Iterable[str] | None) -> list[str]:
    """Validate the versions a CONNECT offers (``None``: ``['1.0']``); return them deduplicated,
    oldest first. The one version-list check of the frame builders and the session."""
    if versions is None:
        return [StompSpec.VERSION_1_0]
    if isinstance(versions, str):
        raise StompProtocolError(f'Versions must be a list of versions, not a string: {versions!r}')
    offered = sorted({StompSpec.version(v) for v in versions}, key=StompSpec.VERSIONS.index)
    if not offered:
        raise StompProtocolError('No version offered: []')
    return offered


def _checkCommand(command: str, version: str) -> None:
    if command not in StompSpec.COMMANDS[version]:
        raise StompProtocolError(f'Invalid command (version {version}): {command!r}')


def _command(command: str, version: str | None) -> str:
    """Resolve ``version`` and check ``command`` exists in it; return the version."""
    version = _version(version)
    _checkCommand(command, version)
    return version


def _string(name: str, value: object, command: str) -> str:
    if not isinstance(value, str):
        raise StompProtocolError(f'Invalid {name} (command {command}): {value!r} [a string is required]')
    return value


def _receipt(receipt: object, command: str) -> str:
    """A receipt id as a string: a non-string one (an int, say) is ``str()``-ed, as stompest 2.3
    did; an empty one is refused (it could never be matched to its RECEIPT)."""
    if not isinstance(receipt, str) and isinstance(receipt, (int, float)) and not isinstance(receipt, bool):
        receipt = str(receipt)
    return _nonEmpty(StompSpec.RECEIPT_HEADER, receipt, command)


def _nonEmpty(name: str, value: object, command: str) -> str:
    if not isinstance(value, str) or not value:
        raise StompProtocolError(f'Invalid {name} (command {command}): {value!r} [a non-empty string is required]')
    return value


def _withReceipt(frame: StompFrame, receipt: str | None) -> StompFrame:
    if receipt is not None:
        frame.headers[StompSpec.RECEIPT_HEADER] = _receipt(receipt, frame.command)
    elif StompSpec.RECEIPT_HEADER in frame.headers:
        _nonEmpty(StompSpec.RECEIPT_HEADER, frame.headers[StompSpec.RECEIPT_HEADER], frame.command)
    return frame


def _checkTransactionHeader(frame: StompFrame) -> None:
    if StompSpec.TRANSACTION_HEADER in frame.headers:
        _nonEmpty(StompSpec.TRANSACTION_HEADER, frame.headers[StompSpec.TRANSACTION_HEADER], frame.command)


def _isHeartBeat(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= StompSpec.MAX_HEART_BEAT


def _heartBeat(value: object) -> int:
    """Validate one heart-beat interval given by the caller (an int, 0 to MAX_HEART_BEAT ms)."""
    if not _isHeartBeat(value):
        raise StompProtocolError(
            f'Invalid heart-beat: {value!r} [a non-negative integer of at most {StompSpec.MAX_HEART_BEAT} ms required]'
        )
    return value  # type: ignore[return-value]


def _heartBeats(heartBeats: object) -> tuple[int, int]:
    """Validate ``(x, y)`` heart-beats given by the caller (two ints, 0 to MAX_HEART_BEAT ms)."""
    values = tuple(heartBeats) if isinstance(heartBeats, (tuple, list)) else ()
    if len(values) != 2 or not all(_isHeartBeat(t) for t in values):
        raise StompProtocolError(
            f'Invalid heart-beats: {heartBeats!r} '
            f'[two non-negative integers of at most {StompSpec.MAX_HEART_BEAT} ms required]'
        )
    return (values[0], values[1])


def parseHeartBeats(value: object, frame: StompFrame | None = None) -> tuple[int, int]:
    """Parse a received ``heart-beat`` header (``'x,y'``) into ``(x, y)`` ms, for a client reading
    CONNECTED and a broker (:mod:`stompest.testing`) reading CONNECT; one that is not two integers
    from 0 to MAX_HEART_BEAT raises :class:`~stompest.error.StompProtocolError` (as stompest 2.3
    did), with ``frame`` attached."""
    parts = value.split(StompSpec.HEART_BEAT_SEPARATOR) if isinstance(value, str) else []
    digits = [part.strip() for part in parts]
    if len(digits) == 2 and all(d.isdigit() and d.isascii() and len(d) <= 10 for d in digits):
        heartBeats = (int(digits[0]), int(digits[1]))
        if max(heartBeats) <= StompSpec.MAX_HEART_BEAT:
            return heartBeats
    raise StompProtocolError(
        f'Invalid heart-beat header: {value!r} '
        f'[two non-negative integers of at most {StompSpec.MAX_HEART_BEAT} ms, comma-separated]',
        frame=frame,
    )
