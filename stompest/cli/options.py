"""The command line of ``stompest``: the parser, its argument types and the defaults.

The connection options are added to the main parser and to every subcommand's parser, with the
default ``SUPPRESS``, so they may stand before or after the subcommand's name without the
subcommand's parser overwriting a value given before it; :func:`resolve` fills in the defaults
(and the environment's ``STOMP_*`` variables) afterwards.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping
from typing import Any

import stompest
from stompest.protocol.spec import StompSpec

__all__ = ['DEFAULT_TIMEOUT', 'DEFAULT_URI', 'DEFAULT_VERSION', 'buildParser', 'resolve']

#: The broker URI used when neither ``--uri`` nor ``STOMP_URI`` says otherwise.
DEFAULT_URI = 'tcp://localhost:61613'
#: The STOMP version the command offers by default (the highest; the broker may pick lower).
DEFAULT_VERSION = StompSpec.VERSION_1_2
#: Seconds a TCP connect, a CONNECTED frame or a receipt may take before the command gives up.
DEFAULT_TIMEOUT = 10.0
#: ``bench``: messages sent but not yet received back, at most (``--window``).
DEFAULT_BENCH_WINDOW = 500

_DEFAULTS: dict[str, Any] = {
    'login': None,
    'passcode': None,
    'version': DEFAULT_VERSION,
    'heartBeats': None,
    'host': None,
    'connectTimeout': DEFAULT_TIMEOUT,
    'ca': None,
    'cert': None,
    'key': None,
    'noVerify': False,
    'verbose': False,
}


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
    """Add the options every subcommand shares (see the module's docstring for ``SUPPRESS``)."""
    S = argparse.SUPPRESS
    group = parser.add_argument_group('connection')
    group.add_argument('--uri', default=S, help=f'broker or failover URI (default: $STOMP_URI or {DEFAULT_URI})')
    group.add_argument('--login', default=S, help='login (default: $STOMP_LOGIN)')
    group.add_argument(
        '--passcode', default=S, help='passcode (default: $STOMP_PASSCODE, which is safer: command lines are public)'
    )
    group.add_argument(
        '--stomp-version',
        dest='version',
        default=S,
        choices=StompSpec.VERSIONS,
        help=f'highest STOMP version to offer (default: {DEFAULT_VERSION})',
    )
    group.add_argument(
        '--heart-beat',
        dest='heartBeats',
        metavar='CX,CY',
        default=S,
        type=_heartBeatArgument,
        help='heart-beats in ms: send at least every CX, want one every CY (default: 0,0)',
    )
    group.add_argument(
        '--host',
        default=S,
        help=(
            "the CONNECT host header, i.e. the virtual host (RabbitMQ: '/'; "
            "default: $STOMP_HOST or the broker's host name)"
        ),
    )
    group.add_argument(
        '--connect-timeout',
        dest='connectTimeout',
        metavar='SECONDS',
        type=_seconds,
        default=S,
        help=(
            'seconds to wait for the TCP connection, the CONNECTED frame and each receipt '
            f'(default: {DEFAULT_TIMEOUT:g})'
        ),
    )
    tls = parser.add_argument_group('TLS (ssl:// URIs)')
    tls.add_argument(
        '--ca',
        metavar='FILE',
        default=S,
        help="CA certificates (PEM) to verify the broker with (default: the system's)",
    )
    tls.add_argument('--cert', metavar='FILE', default=S, help='client certificate (PEM)')
    tls.add_argument(
        '--key', metavar='FILE', default=S, help='private key of the client certificate (PEM; default: in --cert)'
    )
    tls.add_argument(
        '--no-verify',
        dest='noVerify',
        action='store_true',
        default=S,
        help="don't verify the broker's certificate and host name (testing only)",
    )
    parser.add_argument(
        '-v', '--verbose', action='store_true', default=S, help="log stompest's frames (DEBUG) to stderr"
    )


def _headerOption(parser: argparse.ArgumentParser, help: str) -> None:
    parser.add_argument(
        '--header', dest='headers', metavar='NAME=VALUE', action='append', type=_headerArgument, default=[], help=help
    )


def buildParser() -> argparse.ArgumentParser:
    """The command line parser of ``stompest`` (exposed for tests and the docs' help pages)."""
    parser = argparse.ArgumentParser(
        prog='stompest',
        description=(
            f'stompest {stompest.__version__}: send and receive STOMP messages, run the demo pipeline or a benchmark.'
        ),
        epilog=(
            'Environment: STOMP_URI, STOMP_LOGIN, STOMP_PASSCODE, STOMP_HOST. '
            'Errors exit 1 with one line on stderr; SIGINT and SIGTERM disconnect and exit 130 and 143.'
        ),
    )
    parser.add_argument(
        '--version',
        action='version',
        version=f'stompest {stompest.__version__}',
        help="print stompest's version and exit (the STOMP version is --stomp-version)",
    )
    _connectionOptions(parser)
    commands = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)
    _sendParser(commands)
    _listenParser(commands)
    _demoParser(commands)
    _benchParser(commands)
    return parser


def _sendParser(commands: Any) -> None:
    send = commands.add_parser(
        'send',
        help='send messages',
        description=('Send BODY to DEST; without BODY (and without --file), send one message per line of stdin.'),
    )
    send.add_argument('destination', metavar='DEST', help="destination, e.g. '/queue/test'")
    send.add_argument('body', metavar='BODY', nargs='?', help='message body (UTF-8)')
    send.add_argument('--file', metavar='PATH', help='send the bytes of PATH as the body ("-": all of stdin)')
    _headerOption(send, 'add a header (repeatable)')
    send.add_argument('--receipt', action='store_true', help='ask for a receipt per message and wait for it')
    send.add_argument(
        '--persistent',
        action='store_true',
        help="add persistent:true (ActiveMQ keeps STOMP messages in memory only without it)",
    )
    _connectionOptions(send)


def _listenParser(commands: Any) -> None:
    listen = commands.add_parser(
        'listen',
        help='print messages',
        description=(
            'Subscribe to DEST and print each message (its headers, an empty line, its body) until --count '
            'messages arrived, --timeout seconds passed without one, or SIGINT/SIGTERM.'
        ),
    )
    listen.add_argument('destination', metavar='DEST')
    listen.add_argument(
        '--ack',
        choices=sorted(StompSpec.ACK_MODES[StompSpec.VERSION_1_2]),
        default=StompSpec.ACK_CLIENT_INDIVIDUAL,
        help='ack mode (default: client-individual: a message is acknowledged after it was printed, '
        'so messages beyond --count go back to the queue; with auto, the broker may have pushed '
        'more than --count, and those are gone)',
    )
    listen.add_argument(
        '--count', metavar='N', type=_positiveInt, help='stop after N messages (fails if --timeout passes first)'
    )
    listen.add_argument('--timeout', metavar='SECONDS', type=_seconds, help='stop after SECONDS without a message')
    listen.add_argument(
        '--json',
        action='store_true',
        help=('one JSON object per line: {"headers": {...}, "body": ..., "bodyEncoding": "utf-8" or "base64"}'),
    )
    _headerOption(listen, 'add a SUBSCRIBE header (repeatable)')
    _connectionOptions(listen)


def _demoParser(commands: Any) -> None:
    demo = commands.add_parser(
        'demo',
        help='run the Twisted producer -> transformer -> consumer pipeline',
        description=(
            'Run the Twisted producer, transformer and consumer of examples/ in one process against the broker, '
            'with a few poison messages that go to the error destination, and report what arrived where. '
            'Every message is sent persistent:true. Exits 1 if any message was lost.'
        ),
    )
    demo.add_argument(
        '--count', metavar='N', type=_positiveInt, default=1000, help='messages to produce (default: 1000)'
    )
    demo.add_argument(
        '--poison',
        metavar='N',
        type=_nonNegativeInt,
        default=5,
        help='how many of them the transformer cannot process (default: 5)',
    )
    demo.add_argument(
        '--timeout',
        metavar='SECONDS',
        type=_seconds,
        default=30.0,
        help='give up after SECONDS without progress (default: 30)',
    )
    demo.add_argument('--prefix', metavar='DEST', help='destination prefix (default: /queue/stompest.demo.<random>)')
    demo.add_argument(
        '--mode',
        choices=('transactions', 'receipts', 'both'),
        default='transactions',
        help='how the transformer confirms its work: outputs and input ACKs committed together '
        'in transactions (default), one RECEIPT per output before the input is acked, '
        'or both, one after the other, to compare their throughput',
    )
    demo.add_argument(
        '--batch',
        metavar='N',
        type=_positiveInt,
        default=100,
        help='inputs per transaction in the transactions mode (default: 100)',
    )
    _connectionOptions(demo)


def _benchParser(commands: Any) -> None:
    bench = commands.add_parser(
        'bench',
        help='measure throughput',
        description=(
            'Send --count messages of --size bytes to a fresh queue and consume them on the same connection '
            'while sending, with at most --window messages sent but not yet received back (so the queue never '
            'holds more), and print messages, bytes and messages/s each way. When interrupted (SIGINT, '
            'SIGTERM) it stops sending and consumes what it left on the queue before it disconnects.'
        ),
    )
    bench.add_argument('--count', metavar='N', type=_positiveInt, default=10000, help='messages (default: 10000)')
    bench.add_argument('--size', metavar='BYTES', type=_nonNegativeInt, default=100, help='body size (default: 100)')
    bench.add_argument(
        '--window',
        metavar='N',
        type=_positiveInt,
        default=DEFAULT_BENCH_WINDOW,
        help=f'at most N messages in flight: sent, not yet received (default: {DEFAULT_BENCH_WINDOW})',
    )
    bench.add_argument('--destination', metavar='DEST', help='destination (default: /queue/stompest.bench.<random>)')
    bench.add_argument(
        '--timeout',
        metavar='SECONDS',
        type=_seconds,
        default=30.0,
        help='give up after SECONDS without a message coming back (default: 30)',
    )
    _connectionOptions(bench)


def resolve(args: argparse.Namespace, environ: Mapping[str, str]) -> argparse.Namespace:
    """Fill in the defaults of the options not given, from ``environ`` where a variable applies."""
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
