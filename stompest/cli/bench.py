"""``stompest bench``: throughput through a broker, producing and consuming at once.

The producer and the consumer share one connection of the blocking client, and the loop keeps
at most ``--window`` messages in flight (sent, not yet received back): it sends until the window
is full, then reads what came back. So the queue never holds more than the window, whatever
``--count`` is. (An earlier version sent everything before it consumed: interrupted after 1.5 s
of ``--count 200000`` it left 54,000 messages on the queue, enough to fill ActiveMQ's memory
limit, whose producer flow control then blocked every sender on the broker.)

A stop request (SIGINT, SIGTERM) ends the sending; the messages still in flight are consumed
before the DISCONNECT, so the queue is left empty.
"""

from __future__ import annotations

import argparse
import time
import uuid
from dataclasses import dataclass
from typing import Any

from stompest.cli.connect import connected, raiseIfError, waitForFrame, waitForReceipt
from stompest.cli.context import Context
from stompest.cli.errors import CliError
from stompest.cli.output import ProgressBar, TextOut, formatTable, rate
from stompest.cli.signals import StopSignals
from stompest.protocol.spec import StompSpec

__all__ = ['BenchStats', 'cmdBench']

#: Seconds the clean-up after a stop request waits for each message still in flight.
DRAIN_TIMEOUT = 5.0


@dataclass
class BenchStats:
    """The counts and times of one run."""

    count: int
    size: int
    produced: int = 0
    consumed: int = 0
    consumedBytes: int = 0
    maxInFlight: int = 0
    produceSeconds: float = 0.0
    consumeSeconds: float = 0.0

    @property
    def inFlight(self) -> int:
        """Sent, not yet received back (what would be left on the queue)."""
        return self.produced - self.consumed

    def table(self, destination: str) -> list[tuple[str, str]]:
        return [
            ('destination', destination),
            ('messages produced', f'{self.produced:,}'),
            ('bytes produced', f'{self.produced * self.size:,}'),
            ('produce msg/s', rate(self.produced, self.produceSeconds)),
            ('messages consumed', f'{self.consumed:,}'),
            ('bytes consumed', f'{self.consumedBytes:,}'),
            ('consume msg/s', rate(self.consumed, self.consumeSeconds)),
            ('most in flight', f'{self.maxInFlight:,}'),
        ]


def _receive(client: Any, stats: BenchStats, started: float) -> None:
    frame = client.receiveFrame()
    raiseIfError(frame)
    if frame.command == StompSpec.MESSAGE:
        stats.consumed += 1
        stats.consumedBytes += len(frame.body)
        stats.consumeSeconds = time.monotonic() - started


def _drain(client: Any, stats: BenchStats, started: float, timeout: float) -> None:
    """Consume what is in flight, waiting at most ``timeout`` seconds for each message."""
    while stats.inFlight > 0 and client.canRead(timeout):
        _receive(client, stats, started)


def _produce(
    client: Any, destination: str, body: bytes, stats: BenchStats, window: int, stop: StopSignals, started: float
) -> None:
    """Send until ``window`` messages are in flight (or all are sent, or a stop is requested)."""
    while stats.produced < stats.count and stats.inFlight < window and not stop.requested:
        client.send(destination, body)
        stats.produced += 1
        stats.maxInFlight = max(stats.maxInFlight, stats.inFlight)
        if stats.produced == stats.count:
            stats.produceSeconds = time.monotonic() - started


def cmdBench(args: argparse.Namespace, context: Context) -> int:
    """``stompest bench``."""
    destination = args.destination or f'/queue/stompest.bench.{uuid.uuid4().hex[:12]}'
    body = b'x' * args.size
    stop = context.stop
    stats = BenchStats(args.count, args.size)

    def stopped() -> None:
        # After a stop request, before the DISCONNECT: consume what is in flight, say what is left
        # (client, bar and started are bound by then: the block below binds them first).
        stats.produceSeconds = stats.produceSeconds or time.monotonic() - started
        stats.consumeSeconds = stats.consumeSeconds or stats.produceSeconds
        bar.finish(stats.consumed, 'stopped')
        _drain(client, stats, started, DRAIN_TIMEOUT)
        left = (
            f'{stats.inFlight} messages may be left on {destination!r}'
            if stats.inFlight
            else (f'nothing left on {destination!r}')
        )
        context.report(f'bench: stopped after {stats.produced} messages; {left}')

    with connected(args, stop, context.report, onStopped=stopped) as client:
        context.report(
            f'bench: {args.count} messages of {args.size} bytes through {destination!r}, '
            f'at most {args.window} in flight'
        )
        bar = ProgressBar(context.stderr, args.count)
        started = time.monotonic()
        receipt = f'bench-subscribe-{uuid.uuid4()}'
        client.subscribe(destination, {StompSpec.ACK_HEADER: StompSpec.ACK_AUTO}, receipt=receipt)
        waitForReceipt(client, receipt, args.connectTimeout, stop)
        started = time.monotonic()
        refillAt = args.window // 2  # refill in bursts: fewer turns between sending and reading
        while stats.consumed < args.count:
            if stats.inFlight <= refillAt:
                _produce(client, destination, body, stats, args.window, stop, started)
            stop.check()
            mustWait = stats.produced == args.count or stats.inFlight > refillAt
            if mustWait and not waitForFrame(client, args.timeout, stop):
                break
            while client.canRead(0):
                _receive(client, stats, started)
            bar.update(stats.consumed, f'consumed {stats.consumed}')
        bar.finish(stats.consumed, f'consumed {stats.consumed} in {stats.consumeSeconds:.2f} s')
    TextOut(context.stdout).write(formatTable(stats.table(destination)))
    stop.check()
    if stats.consumed < args.count:
        raise CliError(f'Only {stats.consumed} of {args.count} messages came back [--timeout={args.timeout:g}]')
    return 0
