"""The ``stompest`` command: send, listen, demo and bench against a STOMP broker.

Run it as ``stompest`` (the console script) or ``python -m stompest``::

    stompest send /queue/test 'hello'                       # one message
    printf 'a\\nb\\n' | stompest send /queue/test            # one message per line of stdin
    stompest send --file picture.png /queue/test           # a binary body
    stompest listen --count 2 --json /queue/test           # print messages as JSON lines
    stompest demo                                          # the Twisted pipeline, with a report
    stompest bench --count 10000                           # throughput each way

Every subcommand takes the connection options (``--uri``, ``--login``, ``--passcode``,
``--stomp-version``, ``--heart-beat``, ``--host``, the TLS options and ``-v``), before or after the
subcommand's name. ``--uri``, ``--login`` and ``--passcode`` default to the environment variables
``STOMP_URI``, ``STOMP_LOGIN`` and ``STOMP_PASSCODE`` (and ``--host`` to ``STOMP_HOST``, as in the
examples); prefer the variable for the passcode, since
command lines are visible to every user of the machine. The passcode is never printed: stompest's
frame logs mask it, and the log handler of this command masks its value once more, wherever it
might show up.

Errors (an unreachable broker, a refused login, an ``ERROR`` frame, a file that cannot be read)
end the command with one line on stderr, ``stompest: error: ...``, and exit status 1; bad
arguments exit with status 2 (argparse's convention); Ctrl-C exits with status 130.

Only ``demo`` imports Twisted; the other subcommands use the blocking client.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import logging
import os
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TextIO

import stompest
from stompest.config import StompConfig
from stompest.error import StompError, StompProtocolError
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec

__all__ = ['main', 'buildParser', 'ProgressBar', 'CliError', 'describeError']

log = logging.getLogger(__name__)

#: The broker URI used when neither ``--uri`` nor ``STOMP_URI`` says otherwise.
DEFAULT_URI = 'tcp://localhost:61613'
#: The STOMP version the command offers by default (the highest; the broker may pick lower).
DEFAULT_VERSION = StompSpec.VERSION_1_2
#: Seconds a TCP connect, a CONNECTED frame or a receipt may take before the command gives up.
DEFAULT_TIMEOUT = 10.0
#: Exit statuses.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
#: The longest part of a broker's ERROR body quoted in the error line.
_ERROR_DETAIL_LIMIT = 200
_MASK = '********'


class CliError(Exception):
    """A failure the command reports as one line (not a bug, so no traceback)."""


# argument parsing

def _headerArgument(text: str) -> tuple[str, str]:
    name, separator, value = text.partition('=')
    if not separator or not name:
        raise argparse.ArgumentTypeError(f'expected NAME=VALUE, got {text!r}')
    return name, value


def _heartBeatArgument(text: str) -> tuple[int, int]:
    parts = text.split(',')
    try:
        if len(parts) != 2:
            raise ValueError(text)
        cx, cy = (int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected CX,CY in milliseconds (e.g. 10000,10000), got {text!r}') from None
    if cx < 0 or cy < 0:
        raise argparse.ArgumentTypeError(f'heart-beats must not be negative, got {text!r}')
    return cx, cy


def _intAtLeast(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'expected a whole number, got {text!r}') from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f'expected a number of at least {minimum}, got {text!r}')
        return value

    return parse


_positiveInt = _intAtLeast(1)
_nonNegativeInt = _intAtLeast(0)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected seconds, got {text!r}') from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f'expected a positive number of seconds, got {text!r}')
    return value


def _connectionOptions(parser: argparse.ArgumentParser) -> None:
    """Add the options every subcommand shares.

    Their default is ``SUPPRESS`` so they may stand before or after the subcommand's name without
    the subcommand's parser overwriting a value given before it; :func:`_resolve` fills in the
    defaults afterwards.
    """
    S = argparse.SUPPRESS
    group = parser.add_argument_group('connection')
    group.add_argument('--uri', default=S, help=f'broker or failover URI (default: $STOMP_URI or {DEFAULT_URI})')
    group.add_argument('--login', default=S, help='login (default: $STOMP_LOGIN)')
    group.add_argument('--passcode', default=S,
                       help='passcode (default: $STOMP_PASSCODE, which is safer: command lines are public)')
    group.add_argument(
        '--stomp-version', '--version', dest='version', default=S, choices=StompSpec.VERSIONS,
        help=f'highest STOMP version to offer (default: {DEFAULT_VERSION})',
    )
    group.add_argument('--heart-beat', dest='heartBeats', metavar='CX,CY', default=S, type=_heartBeatArgument,
                       help='heart-beats in ms: send at least every CX, want one every CY (default: 0,0)')
    group.add_argument('--host', default=S, help=(
        "the CONNECT host header, i.e. the virtual host (RabbitMQ: '/'; "
        "default: $STOMP_HOST or the broker's host name)"))
    group.add_argument('--connect-timeout', dest='connectTimeout', metavar='SECONDS', type=_seconds, default=S, help=(
        f'seconds to wait for the TCP connection, the CONNECTED frame and each receipt (default: {DEFAULT_TIMEOUT:g})'))
    tls = parser.add_argument_group('TLS (ssl:// URIs)')
    tls.add_argument('--ca', metavar='FILE', default=S,
                     help="CA certificates (PEM) to verify the broker with (default: the system's)")
    tls.add_argument('--cert', metavar='FILE', default=S, help='client certificate (PEM)')
    tls.add_argument('--key', metavar='FILE', default=S,
                     help='private key of the client certificate (PEM; default: in --cert)')
    tls.add_argument('--no-verify', dest='noVerify', action='store_true', default=S,
                     help="don't verify the broker's certificate and host name (testing only)")
    parser.add_argument('-v', '--verbose', action='store_true', default=S,
                        help="log stompest's frames (DEBUG) to stderr")


_DEFAULTS: dict[str, Any] = {
    'login': None, 'passcode': None, 'version': DEFAULT_VERSION, 'heartBeats': None, 'host': None,
    'connectTimeout': DEFAULT_TIMEOUT, 'ca': None, 'cert': None, 'key': None, 'noVerify': False, 'verbose': False,
}


def buildParser() -> argparse.ArgumentParser:
    """The command line parser of ``stompest`` (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog='stompest',
        description=(f'stompest {stompest.__version__}: send and receive STOMP messages, '
                     'run the demo pipeline or a benchmark.'),
        epilog=('Environment: STOMP_URI, STOMP_LOGIN, STOMP_PASSCODE, STOMP_HOST. '
                'Errors exit 1 with one line on stderr.'),
    )
    _connectionOptions(parser)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)

    send = commands.add_parser('send', help='send messages', description=(
        'Send BODY to DEST; without BODY (and without --file), send one message per line of stdin.'))
    send.add_argument('destination', metavar='DEST', help="destination, e.g. '/queue/test'")
    send.add_argument('body', metavar='BODY', nargs='?', help='message body (UTF-8)')
    send.add_argument('--file', metavar='PATH', help='send the bytes of PATH as the body ("-": all of stdin)')
    send.add_argument('--header', dest='headers', metavar='NAME=VALUE', action='append', type=_headerArgument,
                      default=[], help='add a header (repeatable)')
    send.add_argument('--receipt', action='store_true', help='ask for a receipt per message and wait for it')
    send.add_argument('--persistent', action='store_true', help='add persistent:true')
    _connectionOptions(send)

    listen = commands.add_parser('listen', help='print messages', description=(
        'Subscribe to DEST and print each message (its headers, an empty line, its body) until --count '
        'messages arrived, --timeout seconds passed without one, or Ctrl-C.'))
    listen.add_argument('destination', metavar='DEST')
    listen.add_argument('--ack', choices=sorted(StompSpec.ACK_MODES[StompSpec.VERSION_1_2]),
                        default=StompSpec.ACK_CLIENT_INDIVIDUAL,
                        help='ack mode (default: client-individual: a message is acknowledged after it was printed, '
                             'so messages beyond --count go back to the queue; with auto, the broker may have pushed '
                             'more than --count, and those are gone)')
    listen.add_argument('--count', metavar='N', type=_positiveInt,
                        help='stop after N messages (fails if --timeout passes first)')
    listen.add_argument('--timeout', metavar='SECONDS', type=_seconds, help='stop after SECONDS without a message')
    listen.add_argument('--json', action='store_true', help=(
        'one JSON object per line: {"headers": {...}, "body": ..., "bodyEncoding": "utf-8" or "base64"}'))
    listen.add_argument('--header', dest='headers', metavar='NAME=VALUE', action='append', type=_headerArgument,
                        default=[], help='add a SUBSCRIBE header (repeatable)')
    _connectionOptions(listen)

    demo = commands.add_parser('demo', help='run the Twisted producer -> transformer -> consumer pipeline',
                               description=(
        'Run the Twisted producer, transformer and consumer of examples/ in one process against the broker, '
        'with a few poison messages that go to the error destination, and report what arrived where. '
        'Exits 1 if any message was lost.'))
    demo.add_argument('--count', metavar='N', type=_positiveInt, default=1000,
                      help='messages to produce (default: 1000)')
    demo.add_argument('--poison', metavar='N', type=_nonNegativeInt, default=5,
                      help='how many of them the transformer cannot process (default: 5)')
    demo.add_argument('--timeout', metavar='SECONDS', type=_seconds, default=30.0,
                      help='give up after SECONDS without progress (default: 30)')
    demo.add_argument('--prefix', metavar='DEST', help='destination prefix (default: /queue/stompest.demo.<random>)')
    _connectionOptions(demo)

    bench = commands.add_parser('bench', help='measure throughput', description=(
        'Send --count messages of --size bytes to a fresh queue (a receipt every --window messages), '
        'then consume them, and print messages, bytes and messages/s each way.'))
    bench.add_argument('--count', metavar='N', type=_positiveInt, default=10000, help='messages (default: 10000)')
    bench.add_argument('--size', metavar='BYTES', type=_nonNegativeInt, default=100, help='body size (default: 100)')
    bench.add_argument('--window', metavar='N', type=_positiveInt, default=500,
                       help='ask for a receipt, and wait for it, every N messages (default: 500)')
    bench.add_argument('--destination', metavar='DEST', help='destination (default: /queue/stompest.bench.<random>)')
    bench.add_argument('--timeout', metavar='SECONDS', type=_seconds, default=30.0,
                       help='give up consuming after SECONDS without a message (default: 30)')
    _connectionOptions(bench)
    return parser


def _resolve(args: argparse.Namespace, environ: dict[str, str]) -> argparse.Namespace:
    for name, default in _DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    if not hasattr(args, 'uri'):
        args.uri = environ.get('STOMP_URI') or DEFAULT_URI
    if args.login is None:
        args.login = environ.get('STOMP_LOGIN') or None
    if args.passcode is None:
        args.passcode = environ.get('STOMP_PASSCODE') or None
    if args.host is None:
        args.host = environ.get('STOMP_HOST') or None
    return args


# configuration

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


def configFor(args: argparse.Namespace) -> StompConfig:
    """The :class:`~stompest.config.StompConfig` the connection options describe."""
    return StompConfig(
        args.uri, login=args.login, passcode=args.passcode, version=args.version, sslContext=sslContextFor(args),
    )


def connectSync(args: argparse.Namespace) -> Any:
    """A connected blocking client (:class:`stompest.sync.Stomp`)."""
    from stompest.sync.client import Stomp

    client = Stomp(configFor(args))
    client.connect(
        host=args.host, heartBeats=args.heartBeats,
        connectTimeout=args.connectTimeout, connectedTimeout=args.connectTimeout,
    )
    return client


def _waitForReceipt(client: Any, receipt: str, timeout: float) -> None:
    """Read frames until the RECEIPT ``receipt`` arrives; an ERROR frame raises on the way."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not client.canRead(remaining):
            raise CliError(f'No receipt {receipt!r} within {timeout:g} s [--connect-timeout]')
        frame = client.receiveFrame()
        if frame.command == StompSpec.RECEIPT and frame.headers.get(StompSpec.RECEIPT_ID_HEADER) == receipt:
            return
        _raiseIfError(frame)


def _raiseIfError(frame: StompFrame) -> None:
    """The blocking client returns ERROR frames (as stompest 2.3 did); the CLI fails on them."""
    if frame.command == StompSpec.ERROR:
        message = frame.headers.get(StompSpec.MESSAGE_HEADER, '')
        raise StompProtocolError(f'Broker sent an ERROR frame: {message!r}', frame=frame)


def _disconnect(client: Any, timeout: float) -> None:
    """DISCONNECT with a receipt, so that everything sent before is known to have arrived
    (and an ERROR the broker answered to any of it is seen)."""
    receipt = f'disconnect-{uuid.uuid4()}'
    client.disconnect(receipt=receipt)
    _waitForReceipt(client, receipt, timeout)


def _closeQuietly(client: Any) -> None:
    try:
        client.close()
    except StompError:  # pragma: no cover - closing is best effort after a failure
        pass


# send

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


def cmdSend(args: argparse.Namespace, stdin: Any, stderr: TextIO) -> int:
    """``stompest send``."""
    headers = dict(args.headers)
    if args.persistent:
        headers[StompSpec.PERSISTENT_HEADER] = 'true'
    if args.file is not None or args.body is not None:
        bodies: Iterable[bytes] = list(_bodies(args, stdin))  # a file that cannot be read fails before connecting
    else:
        bodies = _bodies(args, stdin)  # stdin lines are sent as they come
    client = connectSync(args)
    sent = 0
    try:
        for body in bodies:
            receipt = f'send-{sent}-{uuid.uuid4()}' if args.receipt else None
            client.send(args.destination, body, headers, receipt)
            sent += 1
            if receipt is not None:
                _waitForReceipt(client, receipt, args.connectTimeout)
        _disconnect(client, args.connectTimeout)
    finally:
        _closeQuietly(client)
    stderr.write(f'stompest: sent {sent} message{"" if sent == 1 else "s"} to {args.destination!r}\n')
    return EXIT_OK


# listen

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


def cmdListen(args: argparse.Namespace, stdout: Any, stderr: TextIO) -> int:
    """``stompest listen``."""
    headers = dict(args.headers)
    headers.setdefault(StompSpec.ACK_HEADER, args.ack)
    if args.count is not None and args.ack != StompSpec.ACK_AUTO:
        # Ask the brokers not to push (much) more than we will take; each ignores the other's header.
        headers.setdefault(StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER, str(args.count))
        headers.setdefault(StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER, str(args.count))
    client = connectSync(args)
    received = 0
    try:
        receipt = f'subscribe-{uuid.uuid4()}'
        client.subscribe(args.destination, headers, receipt=receipt)
        _waitForReceipt(client, receipt, args.connectTimeout)
        while args.count is None or received < args.count:
            if not client.canRead(args.timeout):
                if args.count is not None:
                    raise CliError(
                        f'Only {received} of {args.count} messages arrived on {args.destination!r} '
                        f'[--timeout={args.timeout:g}]'
                    )
                break
            frame = client.receiveFrame()
            _raiseIfError(frame)
            if frame.command != StompSpec.MESSAGE:
                continue
            stdout.write(formatMessage(frame, args.json))
            stdout.flush()  # printed before acknowledged: a crash in between means redelivery, not loss
            received += 1
            if args.ack != StompSpec.ACK_AUTO:
                client.ack(frame)
        _disconnect(client, args.connectTimeout)
    finally:
        _closeQuietly(client)
    return EXIT_OK


# progress and tables

class ProgressBar:
    """A one-line progress bar on a text stream, redrawn in place with ``\\r``.

    On a terminal it redraws at most every ``interval`` seconds; on anything else (a pipe, a CI
    log) it draws only the final state, so logs don't fill up with carriage returns.

    :param stream: where to draw (stderr).
    :param total: the number that means done.
    :param clock: a monotonic clock in seconds (tests pass their own).
    :param live: redraw while running (default: whether ``stream`` is a terminal).
    """

    def __init__(self, stream: TextIO, total: int, *, width: int = 30, interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic, live: bool | None = None) -> None:
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


def _rate(count: int, seconds: float) -> str:
    return f'{count / seconds:,.0f}' if seconds > 0 else 'n/a'


# bench

def cmdBench(args: argparse.Namespace, stdout: Any, stderr: TextIO) -> int:
    """``stompest bench``: produce, then consume, with the blocking client."""
    destination = args.destination or f'/queue/stompest.bench.{uuid.uuid4().hex[:12]}'
    body = b'x' * args.size
    client = connectSync(args)
    try:
        stderr.write(f'stompest: bench: {args.count} messages of {args.size} bytes to {destination!r}\n')
        bar = ProgressBar(stderr, args.count)
        started = time.monotonic()
        for index in range(1, args.count + 1):
            last = index == args.count or index % args.window == 0
            receipt = f'bench-{index}' if last else None
            client.send(destination, body, None, receipt)
            if receipt is not None:
                _waitForReceipt(client, receipt, args.connectTimeout)
                bar.update(index, f'produced {index}')
        produceSeconds = time.monotonic() - started
        bar.finish(args.count, f'produced {args.count} in {produceSeconds:.2f} s')

        bar = ProgressBar(stderr, args.count)
        receipt = f'bench-subscribe-{uuid.uuid4()}'
        client.subscribe(destination, {StompSpec.ACK_HEADER: StompSpec.ACK_AUTO}, receipt=receipt)
        started = time.monotonic()
        consumed = consumedBytes = 0
        while consumed < args.count:
            if not client.canRead(args.timeout):
                break
            frame = client.receiveFrame()
            _raiseIfError(frame)
            if frame.command == StompSpec.MESSAGE:
                consumed += 1
                consumedBytes += len(frame.body)
                if consumed % 100 == 0:
                    bar.update(consumed, f'consumed {consumed}')
        consumeSeconds = time.monotonic() - started
        bar.finish(consumed, f'consumed {consumed} in {consumeSeconds:.2f} s')
        _disconnect(client, args.connectTimeout)
    finally:
        _closeQuietly(client)
    stdout.write(formatTable([
        ('destination', destination),
        ('messages produced', f'{args.count:,}'),
        ('bytes produced', f'{args.count * args.size:,}'),
        ('produce msg/s', _rate(args.count, produceSeconds)),
        ('messages consumed', f'{consumed:,}'),
        ('bytes consumed', f'{consumedBytes:,}'),
        ('consume msg/s', _rate(consumed, consumeSeconds)),
    ]))
    if consumed < args.count:
        raise CliError(f'Only {consumed} of {args.count} messages came back [--timeout={args.timeout:g}]')
    return EXIT_OK


# demo

def cmdDemo(args: argparse.Namespace, stdout: Any, stderr: TextIO) -> int:
    """``stompest demo``: the Twisted pipeline of :mod:`stompest._demo`, with a progress bar."""
    if args.poison > args.count:
        raise CliError(f'--poison ({args.poison}) cannot exceed --count ({args.count})')
    from stompest import _demo

    prefix = args.prefix or f'/queue/stompest.demo.{uuid.uuid4().hex[:12]}'
    bar = ProgressBar(stderr, args.count)

    def progress(stats: Any) -> None:
        bar.update(stats.settled, stats.progressText())

    stderr.write(f'stompest: demo: {args.count} messages ({args.poison} poison) through {prefix}.{{in,out,error}}\n')
    sslContextFor(args)  # the same checks and error lines as the other commands
    try:
        tls = _demo.twistedTls(args.uri, args.ca, args.cert, args.key, args.noVerify)
    except Exception as exc:  # pyOpenSSL's and Twisted's errors for unreadable PEM files vary
        raise CliError(f'Cannot load TLS material: {exc}') from exc
    config = StompConfig(args.uri, login=args.login, passcode=args.passcode, version=args.version, sslContext=tls)
    stats = _demo.runDemo(
        config, prefix=prefix, count=args.count, poison=args.poison, idleTimeout=args.timeout,
        connectTimeout=args.connectTimeout, host=args.host, heartBeats=args.heartBeats, progress=progress,
    )
    bar.finish(stats.settled, stats.progressText())
    stdout.write(formatTable(stats.table()))
    if stats.interrupted:
        raise KeyboardInterrupt
    if stats.lost:
        raise CliError(f'{stats.lost} message{"" if stats.lost == 1 else "s"} lost')
    if stats.failure is not None:
        raise stats.failure
    return EXIT_OK


# error reporting and logging

def describeError(exc: BaseException) -> str:
    """One line saying what went wrong, for ``stompest: error: ...``.

    The message of ``exc``, the first line of a broker's ERROR body when there is one (brokers put
    the reason there: RabbitMQ's ``message`` header says only ``Bad CONNECT``), and the reason
    of the error it was raised from (the last broker's, when a failover URI gave up).
    """
    message = str(exc) or type(exc).__name__
    frame = getattr(exc, 'frame', None)
    body = getattr(frame, 'body', b'') or b''
    if body:
        detail = body.decode('utf-8', 'replace').strip().splitlines()[0] if body.strip() else ''
        if len(detail) > _ERROR_DETAIL_LIMIT:
            detail = detail[:_ERROR_DETAIL_LIMIT] + '...'
        if detail and detail not in message:
            message = f'{message}: {detail}'
    cause = exc.__cause__
    if isinstance(cause, (StompError, OSError)):
        reason = str(cause)
        if reason and reason not in message:
            message = f'{message} ({reason})'
    return ' '.join(message.split())  # one line, whatever the broker sent


class _MaskingFormatter(logging.Formatter):
    """Replaces the passcode's value wherever it appears in a log line (defence in depth:
    stompest's frame logs mask the ``passcode`` header already)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__('%(asctime)s %(levelname)s %(name)s: %(message)s')
        self._secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, _MASK)
        return text


@contextlib.contextmanager
def _logging(args: argparse.Namespace, stderr: TextIO) -> Iterator[None]:
    """Frame logs on stderr with ``-v``; otherwise stompest stays silent, since every failure
    ends in the one error line (and warnings would break the progress bar). The ``stompest``
    logger is put back as it was afterwards, so calling :func:`main` in a process (tests, an
    application embedding the command) leaves that process's logging alone."""
    logger = logging.getLogger('stompest')
    saved = (logger.level, logger.propagate)
    handler = _configureLogging(args, stderr)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def _configureLogging(args: argparse.Namespace, stderr: TextIO) -> logging.Handler:
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(_MaskingFormatter([args.passcode or '']))
    logger = logging.getLogger('stompest')
    logger.addHandler(handler)
    if args.verbose:
        handler.setLevel(logging.DEBUG)
        logger.setLevel(logging.DEBUG)
    else:
        handler.setLevel(logging.CRITICAL + 1)
        logger.setLevel(logging.CRITICAL + 1)
    logger.propagate = False
    return handler


def _mask(text: str, secret: str | None) -> str:
    return text.replace(secret, _MASK) if secret else text


def run(args: argparse.Namespace, stdin: Any, stdout: Any, stderr: TextIO) -> int:
    """Run the parsed command; errors propagate (see :func:`main`)."""
    if args.command == 'send':
        return cmdSend(args, stdin, stderr)
    if args.command == 'listen':
        return cmdListen(args, stdout, stderr)
    if args.command == 'bench':
        return cmdBench(args, _TextOut(stdout), stderr)
    if args.command == 'demo':
        return cmdDemo(args, _TextOut(stdout), stderr)
    raise CliError(f'unknown command {args.command!r}')  # pragma: no cover - argparse rejects it first


class _TextOut:
    """Text writes onto a binary stream (the subcommands share one binary stdout)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> None:
        self._stream.write(text.encode('utf-8'))
        self._stream.flush()

    def flush(self) -> None:
        self._stream.flush()


def main(argv: Sequence[str] | None = None, *, environ: dict[str, str] | None = None,
         stdin: Any = None, stdout: Any = None, stderr: TextIO | None = None) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return the exit status.

    :param environ: where ``STOMP_URI``, ``STOMP_LOGIN`` and ``STOMP_PASSCODE`` come from
        (default: :data:`os.environ`).
    :param stdin: a binary stream (default: ``sys.stdin.buffer``).
    :param stdout: a binary stream (default: ``sys.stdout.buffer``).
    :param stderr: a text stream (default: :data:`sys.stderr`).
    """
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout.buffer if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = buildParser()
    try:
        with contextlib.redirect_stderr(stderr):  # usage errors go where the caller's errors go
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2), already printed by argparse
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    args = _resolve(args, dict(os.environ) if environ is None else environ)
    with _logging(args, stderr):
        try:
            return run(args, stdin, stdout, stderr)
        except KeyboardInterrupt:
            return EXIT_INTERRUPTED
        except (StompError, OSError, CliError) as exc:
            stderr.write(f'stompest: error: {_mask(describeError(exc), args.passcode)}\n')
            return EXIT_ERROR
