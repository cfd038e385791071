"""What every subcommand gets besides its arguments: the streams, the stop signals, a reporter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TextIO

from stompest.cli.signals import StopSignals
from stompest.protocol.spec import StompSpec

__all__ = ['MASK', 'Context', 'mask']

#: What a passcode is replaced with wherever it would show.
MASK = StompSpec.PASSCODE_MASK


def mask(text: str, secret: str | None) -> str:
    """``text`` with every occurrence of ``secret`` masked."""
    return text.replace(secret, MASK) if secret else text


@dataclass
class Context:
    """The streams of one run of the command.

    :param stdin: a binary stream.
    :param stdout: a binary stream (messages go there as they are).
    :param stderr: a text stream (progress, reports, the error line).
    :param stop: the stop request of SIGINT/SIGTERM.
    :param secret: the passcode, masked in every reported line.
    """

    stdin: Any
    stdout: Any
    stderr: TextIO
    stop: StopSignals = field(default_factory=StopSignals)
    secret: str | None = None

    def report(self, line: str) -> None:
        """One line on stderr, ``stompest: <line>``."""
        self.stderr.write(f'stompest: {mask(line, self.secret)}\n')
        self.stderr.flush()
