"""Helpers of the command's tests: parse or run the command in this process, a closed port."""

from __future__ import annotations

import io
import socket

from stompest.cli import options
from stompest.cli.command import main


def parse(*argv: str, environ: dict[str, str] | None = None):
    """The resolved arguments of ``stompest ARGV``."""
    return options.resolve(options.buildParser().parse_args(list(argv)), environ or {})


def closedPort() -> int:
    """A port on 127.0.0.1 nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def runMain(*argv: str, environ: dict[str, str] | None = None, stdin: object = b'') -> tuple[int, bytes, str]:
    """``stompest ARGV`` in this process: (exit status, stdout bytes, stderr text)."""
    stdout, stderr = io.BytesIO(), io.StringIO()
    stream = io.BytesIO(stdin) if isinstance(stdin, bytes) else stdin
    status = main(list(argv), environ=environ or {}, stdin=stream, stdout=stdout, stderr=stderr)
    return status, stdout.getvalue(), stderr.getvalue()
