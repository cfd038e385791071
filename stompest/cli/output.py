"""What the command prints: messages (text or JSON), the progress bar, the final tables."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from stompest.protocol.frame import StompFrame

__all__ = ['ProgressBar', 'TextOut', 'formatMessage', 'formatTable', 'rate']


def formatMessage(frame: StompFrame, asJson: bool) -> bytes:
    """How ``stompest listen`` prints one message.

    Text: the headers as ``name:value`` lines, an empty line, the body as it is, and an empty
    line. JSON: one line ``{"headers": {...}, "body": "...", "bodyEncoding": "utf-8"}``, where the
    body is base64 (and ``bodyEncoding`` says ``"base64"``) when it is not valid UTF-8.
    """
    if asJson:
        try:
            body, encoding = frame.body.decode('utf-8'), 'utf-8'
        except UnicodeDecodeError:
            body, encoding = base64.b64encode(frame.body).decode('ascii'), 'base64'
        record = {'headers': dict(frame.headers), 'body': body, 'bodyEncoding': encoding}
        return json.dumps(record, ensure_ascii=False).encode('utf-8') + b'\n'
    lines = ''.join(f'{name}:{value}\n' for name, value in frame.headers.items())
    return lines.encode('utf-8') + b'\n' + frame.body + b'\n\n'


class ProgressBar:
    """A one-line progress bar on a text stream, redrawn in place with ``\\r``.

    On a terminal it redraws at most every ``interval`` seconds; on anything else (a pipe, a CI
    log) it draws only the final state, so logs don't fill up with carriage returns.

    :param stream: where to draw (stderr).
    :param total: the number that means done.
    :param clock: a monotonic clock in seconds (tests pass their own).
    :param live: redraw while running (default: whether ``stream`` is a terminal).
    """

    def __init__(
        self,
        stream: TextIO,
        total: int,
        *,
        width: int = 30,
        interval: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
        live: bool | None = None,
    ) -> None:
        self._stream = stream
        self._total = max(total, 1)
        self._width = width
        self._interval = interval
        self._clock = clock
        self._live = _isTerminal(stream) if live is None else live
        self._drawnAt: float | None = None
        self._last = ''

    def render(self, done: int, text: str = '') -> str:
        """The bar for ``done`` of ``total``, followed by ``text``."""
        fraction = min(max(done / self._total, 0.0), 1.0)
        filled = int(round(fraction * self._width))
        return f'[{"#" * filled}{"." * (self._width - filled)}] {fraction * 100:5.1f}% {text}'.rstrip()

    def update(self, done: int, text: str = '') -> None:
        """Redraw if live and the last redraw is at least ``interval`` old."""
        if not self._live:
            return
        now = self._clock()
        if self._drawnAt is not None and now - self._drawnAt < self._interval:
            return
        self._drawnAt = now
        self._draw(self.render(done, text))

    def finish(self, done: int, text: str = '') -> None:
        """Draw the final state and end the line."""
        self._draw(self.render(done, text))
        self._stream.write('\n')
        self._stream.flush()

    def _draw(self, line: str) -> None:
        padding = ' ' * max(len(self._last) - len(line), 0)
        self._stream.write('\r' + line + padding)
        self._stream.flush()
        self._last = line


def _isTerminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def formatTable(rows: Sequence[tuple[str, str]]) -> str:
    """Two columns, the second right-aligned: the final reports of ``demo`` and ``bench``."""
    left = max(len(name) for name, _ in rows)
    right = max(len(value) for _, value in rows)
    return ''.join(f'{name:<{left}}  {value:>{right}}\n' for name, value in rows)


def rate(count: int, seconds: float) -> str:
    """``count`` per second, with thousands separators (``n/a`` for no time)."""
    return f'{count / seconds:,.0f}' if seconds > 0 else 'n/a'


class TextOut:
    """Text writes onto a binary stream (the subcommands share one binary stdout)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text.encode('utf-8'))
        self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()
