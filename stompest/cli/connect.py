"""Connecting the blocking client the way the command needs it.

The command walks the failover URI itself, one broker at a time (:class:`BrokerWalk`), instead
of leaving the walk to the client: so it knows every attempt and its cause, prints one line per
failed attempt that is followed by another (a URI with ``maxReconnectAttempts=-1`` is no longer
silent), and ends with an error that leads with the cause (:class:`~stompest.cli.errors.ConnectFailed`).
The schedule (delays, randomisation, limits) is still :class:`~stompest.protocol.failover.StompFailoverTransport`'s.
"""

from __future__ import annotations

import argparse
import contextlib
import ssl
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from stompest.cli.errors import CliError, ConnectFailed, brokerUri, describeCause
from stompest.cli.signals import POLL_INTERVAL, Stopped, StopSignals
from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompConnectTimeout, StompError, StompProtocolError
from stompest.protocol.failover import StompFailoverTransport
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec

__all__ = [
    'BrokerWalk',
    'configFor',
    'connectKeywords',
    'connectSync',
    'connected',
    'disconnect',
    'leave',
    'raiseIfError',
    'sslContextFor',
    'waitForFrame',
    'waitForReceipt',
]


def sslContextFor(args: argparse.Namespace) -> ssl.SSLContext | None:
    """The TLS context the TLS options ask for, or ``None`` for the client's default
    (the system's CAs, certificate and host name verified)."""
    if not (args.ca or args.cert or args.key or args.noVerify):
        return None
    try:
        context = ssl.create_default_context(cafile=args.ca)
        if args.noVerify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if args.cert:
            context.load_cert_chain(args.cert, args.key)
        elif args.key:
            raise CliError('--key needs --cert')
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f'Cannot load TLS material: {exc}') from exc
    return context


def configFor(args: argparse.Namespace, uri: str | None = None, sslContext: Any = None) -> StompConfig:
    """The :class:`~stompest.config.StompConfig` the connection options describe (for ``uri``,
    default ``--uri``)."""
    return StompConfig(
        args.uri if uri is None else uri,
        login=args.login,
        passcode=args.passcode,
        version=args.version,
        sslContext=sslContext,
    )


class BrokerWalk:
    """The failover URI's schedule, one attempt at a time, with a record of what failed.

    :param report: writes one line to the user (``stompest: attempt 1 failed: ...``).
    :param caGiven: whether ``--ca`` was given (for the hint of an untrusted certificate).
    :param timeout: the ``--connect-timeout`` (named in a timeout's cause).
    """

    def __init__(
        self, uri: str, report: Callable[[str], None], *, caGiven: bool = False, timeout: float | None = None
    ) -> None:
        self._failover = StompFailoverTransport(uri)
        self._schedule = iter(self._failover)
        self._report = report
        self._caGiven = caGiven
        self._timeout = timeout
        self._attempts: list[str] = []
        self._lastCause: tuple[str, str | None] | None = None

    def next(self) -> tuple[dict[str, Any], float]:
        """The next ``(broker, delay in seconds)``; reports the failure before it.

        :raises ConnectFailed: the URI gives up (with the last attempt's cause).
        """
        try:
            broker, delay = next(self._schedule)
        except StompConnectTimeout as exc:
            cause, hint = self._lastCause or (str(exc), None)
            options = self._failover.uri.options
            limit = ('startupMaxReconnectAttempts', int(options['startupMaxReconnectAttempts']))
            raise ConnectFailed(cause, self._attempts, limit, hint=hint) from exc
        if self._lastCause is not None:
            self._report(
                f'attempt {len(self._attempts)} failed: {self._lastCause[0]}; '
                f'attempt {len(self._attempts) + 1} ({brokerUri(broker)}) in {delay:.3g} s'
            )
        self._attempts.append(brokerUri(broker))
        return broker, delay

    def failed(self, broker: dict[str, Any], exc: BaseException) -> None:
        """The attempt to ``broker`` failed with ``exc``; the walk goes on."""
        self._lastCause = describeCause(exc, broker, caGiven=self._caGiven, timeout=self._timeout)

    def refused(self, broker: dict[str, Any], exc: BaseException) -> ConnectFailed:
        """The broker refused the connection (an ERROR frame): the error to raise, no other broker is tried."""
        cause, hint = describeCause(exc, broker, caGiven=self._caGiven, timeout=self._timeout)
        return ConnectFailed(cause, self._attempts, None, hint=hint)

    def connected(self) -> None:
        """The attempt succeeded."""
        self._failover.connected()


def sleepUnlessStopped(seconds: float, stop: StopSignals, sleep: Callable[[float], Any] = time.sleep) -> None:
    """Sleep ``seconds`` in slices; :class:`~stompest.cli.signals.Stopped` if a stop is requested."""
    deadline = time.monotonic() + seconds
    while True:
        stop.check()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        sleep(min(remaining, POLL_INTERVAL))


def connectKeywords(args: argparse.Namespace) -> dict[str, Any]:
    """The keywords of ``connect()`` the options ask for (the same for both clients)."""
    return {
        'host': args.host,
        'heartBeats': args.heartBeats,
        'connectTimeout': args.connectTimeout,
        'connectedTimeout': args.connectTimeout,
    }


def connectSync(args: argparse.Namespace, stop: StopSignals, report: Callable[[str], None]) -> Any:
    """A connected blocking client (:class:`stompest.sync.Stomp`) to a broker of ``--uri``."""
    from stompest.sync.client import Stomp

    sslContext = sslContextFor(args)
    walk = BrokerWalk(args.uri, report, caGiven=bool(args.ca), timeout=args.connectTimeout)
    while True:
        broker, delay = walk.next()
        sleepUnlessStopped(delay, stop)
        client = Stomp(configFor(args, brokerUri(broker), sslContext))
        try:
            client.connect(**connectKeywords(args))
        except StompProtocolError as exc:
            raise walk.refused(broker, exc) from exc
        except StompConnectionError as exc:
            walk.failed(broker, exc)
            continue
        walk.connected()
        return client


def waitForFrame(client: Any, timeout: float | None, stop: StopSignals) -> bool:
    """Whether a frame arrived within ``timeout`` seconds (``None``: no limit); waits in slices
    of :data:`~stompest.cli.signals.POLL_INTERVAL` and raises
    :class:`~stompest.cli.signals.Stopped` when a stop is requested."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        stop.check()
        remaining = POLL_INTERVAL if deadline is None else min(deadline - time.monotonic(), POLL_INTERVAL)
        if client.canRead(max(remaining, 0.0)):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False


def raiseIfError(frame: StompFrame) -> None:
    """The blocking client returns ERROR frames (as stompest 2.3 did); the command fails on them."""
    if frame.command == StompSpec.ERROR:
        message = frame.headers.get(StompSpec.MESSAGE_HEADER, '')
        raise StompProtocolError(f'Broker sent an ERROR frame: {message!r}', frame=frame)


def waitForReceipt(client: Any, receipt: str, timeout: float, stop: StopSignals | None = None) -> None:
    """Read frames until the RECEIPT ``receipt`` arrives; an ERROR frame raises on the way.

    Without ``stop`` (while disconnecting after a stop request) it waits without looking at signals.
    """
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        arrived = remaining > 0 and (
            client.canRead(remaining) if stop is None else waitForFrame(client, remaining, stop)
        )
        if not arrived:
            raise CliError(f'No receipt {receipt!r} within {timeout:g} s [--connect-timeout]')
        frame = client.receiveFrame()
        if frame.command == StompSpec.RECEIPT and frame.headers.get(StompSpec.RECEIPT_ID_HEADER) == receipt:
            return
        raiseIfError(frame)


def disconnect(client: Any, timeout: float, stop: StopSignals | None = None) -> None:
    """DISCONNECT with a receipt, so that everything sent before is known to have arrived
    (and an ERROR the broker answered to any of it is seen)."""
    receipt = f'disconnect-{uuid.uuid4()}'
    client.disconnect(receipt=receipt)
    waitForReceipt(client, receipt, timeout, stop)


def disconnectAfterStop(client: Any, timeout: float, report: Callable[[str], None]) -> None:
    """The goodbye after a stop request: best effort, reported in one line when it fails."""
    try:
        disconnect(client, timeout)
    except (StompError, CliError, OSError) as exc:
        report(f'disconnect after the stop request failed: {exc}')


def leave(client: Any, timeout: float, stop: StopSignals, report: Callable[[str], None]) -> None:
    """The DISCONNECT that ends a subcommand: best effort after a stop request
    (:func:`disconnectAfterStop`), else with its receipt awaited (:func:`disconnect`)."""
    if stop.requested:
        disconnectAfterStop(client, timeout, report)
    else:
        disconnect(client, timeout, stop)


@contextlib.contextmanager
def connected(
    args: argparse.Namespace,
    stop: StopSignals,
    report: Callable[[str], None],
    onStopped: Callable[[], None] | None = None,
) -> Iterator[Any]:
    """A connected blocking client (:func:`connectSync`) for the block, which ends in a
    DISCONNECT (:func:`leave`) and a closed socket, whatever happens.

    A stop request (:class:`~stompest.cli.signals.Stopped`) ends the block early and is not
    raised again here (the command calls ``stop.check()`` once it has reported); ``onStopped``
    runs before the DISCONNECT. A forced stop goes through at once, without a goodbye.
    """
    client = connectSync(args, stop, report)
    try:
        try:
            yield client
        except Stopped as exc:
            if exc.forced:
                raise
            if onStopped is not None:
                onStopped()
        leave(client, args.connectTimeout, stop, report)
    finally:
        closeQuietly(client)


def closeQuietly(client: Any) -> None:
    """Close the socket (after a DISCONNECT, or after a failure)."""
    try:
        client.close()
    except StompError:  # pragma: no cover - closing is best effort after a failure
        pass
