"""``stompest send``: one message from the command line or a file, or one per line of stdin."""

from __future__ import annotations

import argparse
import uuid
from collections.abc import Iterable, Iterator
from typing import Any

from stompest.cli.connect import connected, waitForReceipt
from stompest.cli.context import Context
from stompest.cli.errors import CliError
from stompest.cli.signals import StopSignals
from stompest.protocol.spec import StompSpec

__all__ = ['cmdSend']


def _bodies(args: argparse.Namespace, stdin: Any) -> Iterator[bytes]:
    if args.file is not None:
        if args.body is not None:
            raise CliError('give either BODY or --file, not both')
        try:
            if args.file == '-':
                yield stdin.read()
            else:
                with open(args.file, 'rb') as file:
                    yield file.read()
        except OSError as exc:
            raise CliError(f'Cannot read {args.file!r}: {exc.strerror or exc}') from exc
        return
    if args.body is not None:
        yield args.body.encode('utf-8')
        return
    for line in stdin:
        yield line.rstrip(b'\r\n') if line.endswith(b'\r\n') else line.rstrip(b'\n')


def _nextBody(bodies: Iterator[bytes], stop: StopSignals) -> bytes | None:
    """The next body, or ``None`` at the end of the input or after a stop request (a stop
    interrupts the wait for the next line of stdin, which holds no frame half-sent)."""
    try:
        with stop.interruptible():
            return next(bodies)
    except StopIteration:
        return None


def cmdSend(args: argparse.Namespace, context: Context) -> int:
    """``stompest send``; a stop request ends it after the message being sent, with a DISCONNECT."""
    headers = dict(args.headers)
    if args.persistent:
        headers[StompSpec.PERSISTENT_HEADER] = 'true'
    if args.file is not None or args.body is not None:
        bodies: Iterable[bytes] = list(_bodies(args, context.stdin))  # an unreadable file fails before connecting
    else:
        bodies = _bodies(args, context.stdin)  # stdin lines are sent as they come
    stop = context.stop
    sent = 0
    pending = iter(bodies)
    with connected(args, stop, context.report) as client:
        while (body := _nextBody(pending, stop)) is not None:
            receipt = f'send-{sent}-{uuid.uuid4()}' if args.receipt else None
            client.send(args.destination, body, headers, receipt)
            sent += 1
            if receipt is not None:
                waitForReceipt(client, receipt, args.connectTimeout, stop)
    context.report(f'sent {sent} message{"" if sent == 1 else "s"} to {args.destination!r}')
    stop.check()
    return 0
