"""``stompest demo``: the Twisted pipeline of :mod:`stompest._demo`, with a progress bar.

The clients are connected by :func:`connectTwisted`, the Twisted twin of
:func:`~stompest.cli.connect.connectSync`: it walks the failover URI with the same
:class:`~stompest.cli.connect.BrokerWalk`, so the attempt lines and the error line read the same.
"""

from __future__ import annotations

import argparse
import uuid
from typing import Any

from stompest.cli.connect import BrokerWalk, configFor, connectKeywords, sslContextFor
from stompest.cli.context import Context
from stompest.cli.errors import CliError, brokerUri
from stompest.cli.output import ProgressBar, TextOut, formatTable
from stompest.cli.signals import Stopped
from stompest.cli.tls import twistedTls
from stompest.error import StompCancelledError, StompConnectionError, StompProtocolError

__all__ = ['cmdDemo', 'connectTwisted']


def connectTwisted(reactor: Any, args: argparse.Namespace, context: Context) -> Any:
    """A Deferred that fires with a connected :class:`stompest.twisted.Stomp` to a broker of ``--uri``."""
    from twisted.internet import defer, task
    from twisted.python.failure import Failure

    from stompest.twisted import Stomp

    cancelled: list[bool] = []

    @defer.inlineCallbacks
    def walk() -> Any:
        brokers = BrokerWalk(args.uri, context.report, caGiven=bool(args.ca), timeout=args.connectTimeout)
        while True:
            broker, delay = brokers.next()
            if delay > 0:
                yield task.deferLater(reactor, delay, lambda: None)
            uri = brokerUri(broker)
            tls = twistedTls(uri, args.ca, args.cert, args.key, args.noVerify)
            client = Stomp(configFor(args, uri, tls), reactor=reactor, receiptTimeout=args.connectTimeout)
            try:
                yield client.connect(**connectKeywords(args))
            except StompProtocolError as exc:
                raise brokers.refused(broker, exc) from exc
            except (StompConnectionError, StompCancelledError, defer.CancelledError) as exc:
                if cancelled:  # the client turns a cancelled connect into its own errors
                    raise defer.CancelledError('stopped while connecting') from exc
                brokers.failed(broker, exc)
                continue
            if cancelled:
                client.disconnect().addErrback(lambda failure: None)
                raise defer.CancelledError('stopped while connecting')
            brokers.connected()
            return client

    walking = walk()

    def cancel(outer: defer.Deferred[Any]) -> None:
        cancelled.append(True)
        walking.cancel()

    outer: defer.Deferred[Any] = defer.Deferred(cancel)

    def relay(result: Any) -> None:
        if not outer.called:
            outer.callback(result)  # a Failure errs back
        elif isinstance(result, Failure):
            result.trap(defer.CancelledError)
        return None

    walking.addBoth(relay)
    return outer


def cmdDemo(args: argparse.Namespace, context: Context) -> int:
    """``stompest demo``."""
    if args.poison > args.count:
        raise CliError(f'--poison ({args.poison}) cannot exceed --count ({args.count})')
    from stompest import _demo

    prefix = args.prefix or f'/queue/stompest.demo.{uuid.uuid4().hex[:12]}'
    bars: list[tuple[Any, ProgressBar]] = []  # one bar per mode run, each ended when the next starts

    def progress(stats: Any) -> None:
        if not bars or bars[-1][0] is not stats:
            if bars:
                last, bar = bars[-1]
                bar.finish(last.settled, last.progressText())
            bars.append((stats, ProgressBar(context.stderr, args.count)))
        bars[-1][1].update(stats.settled, stats.progressText())

    where = f'{prefix}.{{in,out,error}}'
    if args.mode == 'both':
        where = f'{prefix}.{{receipts,transactions}}.{{in,out,error}}'
    context.report(f'demo: {args.count} messages ({args.poison} poison) through {where}, mode {args.mode}')
    sslContextFor(args)  # the same checks and error lines as the other commands
    try:
        twistedTls(args.uri, args.ca, args.cert, args.key, args.noVerify)
    except Exception as exc:  # pyOpenSSL's and Twisted's errors for unreadable PEM files vary
        raise CliError(f'Cannot load TLS material: {exc}') from exc
    modes = ('receipts', 'transactions') if args.mode == 'both' else (args.mode,)
    runs = _demo.runDemo(
        configFor(args),
        prefix=prefix,
        count=args.count,
        poison=args.poison,
        modes=modes,
        batch=args.batch,
        idleTimeout=args.timeout,
        connectTimeout=args.connectTimeout,
        host=args.host,
        heartBeats=args.heartBeats,
        progress=progress,
        connector=lambda reactor: connectTwisted(reactor, args, context),
        pendingSignal=lambda: context.stop.signum,  # one that came before the reactor's handlers
    )
    if bars:
        last, bar = bars[-1]
        bar.finish(last.settled, last.progressText())
    out = TextOut(context.stdout)
    for stats in runs:
        if stats.started is None and stats.interrupted:
            continue  # a later mode that a stop signal skipped
        out.write(formatTable(stats.table()))
    if len(runs) > 1 and all(stats.rate for stats in runs):
        rates = {stats.mode: stats.rate for stats in runs}
        out.write(
            f"transactions {rates['transactions']:,.0f} msg/s vs receipts {rates['receipts']:,.0f} msg/s "
            f"({rates['transactions'] / rates['receipts']:.1f}x)\n"
        )
    for stats in runs:
        if stats.interrupted:
            raise Stopped(stats.stopSignal) if stats.stopSignal is not None else KeyboardInterrupt()
    lost = sum(stats.lost for stats in runs)
    if lost:
        raise CliError(f'{lost} message{"" if lost == 1 else "s"} lost')
    for stats in runs:
        if stats.failure is not None:
            raise stats.failure
    return 0
