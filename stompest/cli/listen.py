"""``stompest listen``: print the messages of a destination, acknowledging each once printed."""

from __future__ import annotations

import argparse
import uuid

from stompest.cli.connect import connected, raiseIfError, waitForFrame, waitForReceipt
from stompest.cli.context import Context
from stompest.cli.errors import CliError
from stompest.cli.output import formatMessage
from stompest.protocol.spec import StompSpec

__all__ = ['cmdListen']


def subscribeHeaders(args: argparse.Namespace) -> dict[str, str]:
    """The SUBSCRIBE headers: ``--header``, the ack mode and, with ``--count`` and an ack mode
    other than ``auto``, a prefetch of ``--count`` (each broker ignores the other's header)."""
    headers = dict(args.headers)
    headers.setdefault(StompSpec.ACK_HEADER, args.ack)
    if args.count is not None and args.ack != StompSpec.ACK_AUTO:
        headers.setdefault(StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER, str(args.count))
        headers.setdefault(StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER, str(args.count))
    return headers


def cmdListen(args: argparse.Namespace, context: Context) -> int:
    """``stompest listen``; a stop request ends it between two messages, with a DISCONNECT
    (the messages not yet printed, hence not acknowledged, go back to the queue)."""
    stop = context.stop
    received = 0
    with connected(args, stop, context.report) as client:
        receipt = f'subscribe-{uuid.uuid4()}'
        client.subscribe(args.destination, subscribeHeaders(args), receipt=receipt)
        waitForReceipt(client, receipt, args.connectTimeout, stop)
        while args.count is None or received < args.count:
            if not waitForFrame(client, args.timeout, stop):
                if args.count is not None:
                    raise CliError(
                        f'Only {received} of {args.count} messages arrived on {args.destination!r} '
                        f'[--timeout={args.timeout:g}]'
                    )
                break
            frame = client.receiveFrame()
            raiseIfError(frame)
            if frame.command != StompSpec.MESSAGE:
                continue
            context.stdout.write(formatMessage(frame, args.json))
            context.stdout.flush()  # printed before acknowledged: a crash in between means redelivery, not loss
            received += 1
            if args.ack != StompSpec.ACK_AUTO:
                client.ack(frame)
    stop.check()
    return 0
