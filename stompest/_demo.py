"""The pipeline behind ``stompest demo``: producer -> transformer -> consumer on the Twisted client.

It plays the three roles of ``examples/twisted_producer.py``, ``twisted_transformer.py`` and
``twisted_consumer.py`` with the same conventions, in one process, on three connections:

* the producer sends messages numbered by a ``seq`` header (some marked ``poison:true``);
* the transformer subscribes with ``ack:client-individual``, upper-cases each body, sends it on
  with a ``transformed-by`` header and lets the listener ACK the input only after the output's
  receipt; a poison message makes its handler raise, so the
  :class:`~stompest.twisted.listener.SubscriptionListener` forwards it to the error destination;
* the consumer counts what arrives on the output and on the error destination.

Why a module of its own rather than loading ``examples/`` by path: the ``stompest`` console
script is installed from the wheel, which does not contain ``examples/``, and the examples are
scripts that read their settings from the environment and run until Ctrl-C. So the roles are
written again here, on the public API only (``stompest.twisted.Stomp``,
``stompest.twisted.listener.SubscriptionListener``), parametrised and counted, while the examples
stay short and runnable on their own. A broker test runs both, so neither can rot.

"Lost" is what the producer sent that reached neither the output nor the error destination
(counted by distinct ``seq``); a redelivered message counts once.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, task

from stompest.config import StompConfig
from stompest.error import StompError
from stompest.protocol.spec import StompSpec

__all__ = ['DemoStats', 'poisonSeqs', 'pipeline', 'runDemo', 'twistedTls']

log = logging.getLogger(__name__)

SEQ_HEADER = 'seq'
POISON_HEADER = 'poison'
TRANSFORMED_BY_HEADER = 'transformed-by'
#: messages the producer sends between two receipts
PRODUCER_WINDOW = 100
#: messages the transformer and the consumer may have unacknowledged (the brokers' prefetch)
PREFETCH = 100


class PoisonMessage(Exception):
    """The transformer cannot process this message; it belongs on the error destination."""


@dataclass
class DemoStats:
    """What happened to the messages of one demo run (the final table of ``stompest demo``)."""

    count: int
    poison: int
    sent: int = 0
    transformed: int = 0
    received: set[str] = field(default_factory=set)
    errored: set[str] = field(default_factory=set)
    duplicates: int = 0
    misrouted: int = 0
    started: float | None = None
    finished: float | None = None
    failure: BaseException | None = None
    interrupted: bool = False
    clients: list[Any] = field(default_factory=list, repr=False)

    @property
    def settled(self) -> int:
        """Messages accounted for: on the output or on the error destination."""
        return len(self.received) + len(self.errored)

    @property
    def lost(self) -> int:
        """Messages sent that reached neither destination."""
        return max(self.sent - self.settled, 0)

    @property
    def seconds(self) -> float:
        if self.started is None or self.finished is None:
            return 0.0
        return self.finished - self.started

    @property
    def rate(self) -> float:
        """Messages through the whole pipeline per second."""
        return self.settled / self.seconds if self.seconds > 0 else 0.0

    def progressText(self) -> str:
        return (f'sent {self.sent}/{self.count}  transformed {self.transformed}  received {len(self.received)}  '
                f'errors {len(self.errored)}')

    def table(self) -> list[tuple[str, str]]:
        rows = [
            ('sent', f'{self.sent:,}'),
            ('transformed', f'{self.transformed:,}'),
            ('received', f'{len(self.received):,}'),
            ('sent to the error destination', f'{len(self.errored):,}'),
            ('not accounted for (interrupted)' if self.interrupted else 'lost', f'{self.lost:,}'),
            ('messages/s', f'{self.rate:,.0f}'),
        ]
        if self.duplicates:
            rows.insert(4, ('redelivered (counted once)', f'{self.duplicates:,}'))
        if self.misrouted:
            rows.insert(4, ('misrouted', f'{self.misrouted:,}'))
        return rows


def poisonSeqs(count: int, poison: int) -> set[int]:
    """Which of ``1..count`` are poison: ``poison`` of them, spread evenly.

    >>> sorted(poisonSeqs(10, 2))
    [3, 8]
    >>> poisonSeqs(10, 0)
    set()
    """
    if poison <= 0:
        return set()
    step = count / poison
    return {int(step * (index + 0.5)) + 1 for index in range(poison)}


@defer.inlineCallbacks
def pipeline(
    reactor: Any,
    config: StompConfig,
    stats: DemoStats,
    prefix: str,
    *,
    idleTimeout: float = 30.0,
    connectTimeout: float | None = 10.0,
    host: str | None = None,
    heartBeats: tuple[int, int] | None = None,
    progress: Callable[[DemoStats], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Any:
    """Run the pipeline once; fills ``stats`` and fires when every client has disconnected.

    :param prefix: the destinations are ``<prefix>.in``, ``<prefix>.out`` and ``<prefix>.error``.
    :param idleTimeout: stop waiting when nothing moved for this many seconds.
    :param progress: called with ``stats`` about ten times a second.
    """
    from stompest.twisted import Stomp
    from stompest.twisted.listener import SubscriptionListener

    source, target, errors = f'{prefix}.in', f'{prefix}.out', f'{prefix}.error'
    poison = poisonSeqs(stats.count, stats.poison)
    allSettled: defer.Deferred = defer.Deferred()
    clients = stats.clients

    def connect() -> defer.Deferred:
        client = Stomp(config, reactor=reactor, receiptTimeout=connectTimeout)
        connecting = client.connect(
            host=host, heartBeats=heartBeats, connectTimeout=connectTimeout, connectedTimeout=connectTimeout,
        )

        def keep(connected: Any) -> Any:
            clients.append(connected)
            return connected

        return connecting.addCallback(keep)

    def checkSettled() -> None:
        if stats.sent == stats.count and stats.settled >= stats.count and not allSettled.called:
            allSettled.callback(None)

    def consumer(onError: bool) -> Callable[[Any, Any], None]:
        def consume(client: Any, frame: Any) -> None:
            seq = frame.headers.get(SEQ_HEADER, '?')
            seen = stats.errored if onError else stats.received
            if seq in seen:
                stats.duplicates += 1
            seen.add(seq)
            if onError != (seq.isdigit() and int(seq) in poison):
                stats.misrouted += 1
            checkSettled()

        return consume

    def transform(client: Any, frame: Any) -> defer.Deferred:
        seq = frame.headers.get(SEQ_HEADER, '?')
        if frame.headers.get(POISON_HEADER) == 'true':
            raise PoisonMessage(f'refusing poison message seq={seq}')
        headers = {SEQ_HEADER: seq, TRANSFORMED_BY_HEADER: 'stompest demo'}

        def counted(result: Any) -> Any:
            stats.transformed += 1
            return result

        return client.send(target, frame.body.upper(), headers, receipt=f'out-{seq}').addCallback(counted)

    lastMoved: list[Any] = [clock(), None]

    def tick() -> None:
        moved = (stats.sent, stats.transformed, stats.settled)
        if moved != lastMoved[1]:
            lastMoved[:] = [clock(), moved]
        elif clock() - lastMoved[0] > idleTimeout and not allSettled.called:
            log.warning('Nothing moved for %g s; stopping', idleTimeout)
            allSettled.callback(None)
        if progress is not None:
            progress(stats)

    ticker = task.LoopingCall(tick)
    ticker.clock = reactor
    subscribeHeaders = {
        StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL,
        StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: str(PREFETCH),  # each broker ignores the other's header
        StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER: str(PREFETCH),
    }
    try:
        consuming = yield connect()
        transformer = yield connect()
        producer = yield connect()
        for destination, onError in ((target, False), (errors, True)):
            yield consuming.subscribe(destination, dict(subscribeHeaders), receipt=f'subscribe-{destination}',
                                     listener=SubscriptionListener(consumer(onError), ack=True))
        yield transformer.subscribe(source, dict(subscribeHeaders), receipt=f'subscribe-{source}',
                                    listener=SubscriptionListener(transform, ack=True, errorDestination=errors))
        stats.started = clock()
        ticker.start(0.1, now=True).addErrback(
            lambda failure: log.error('Progress ticker failed: %s', failure.getErrorMessage()),
        )
        window = []
        for seq in range(1, stats.count + 1):
            headers = {SEQ_HEADER: str(seq)}
            if seq in poison:
                headers[POISON_HEADER] = 'true'
            last = seq == stats.count or seq % PRODUCER_WINDOW == 0
            receipt = f'in-{seq}' if last else None
            window.append(producer.send(source, f'message {seq}'.encode(), headers, receipt=receipt))
            stats.sent += 1
            if last:
                yield defer.gatherResults(window, consumeErrors=True)
                window = []
        checkSettled()
        yield allSettled
        stats.finished = clock()
    except defer.FirstError as exc:
        stats.failure = exc.subFailure.value
    except (StompError, OSError) as exc:
        stats.failure = exc
    finally:
        if ticker.running:
            ticker.stop()
        if stats.finished is None and stats.started is not None:
            stats.finished = clock()
        for client in reversed(clients):
            try:
                yield client.disconnect(timeout=10)
            except Exception as exc:  # a failed goodbye must not hide the result
                log.warning('Disconnect failed: %s', exc)
        if progress is not None:
            progress(stats)
    return stats


def twistedTls(uri: str, ca: str | None, cert: str | None, key: str | None, noVerify: bool) -> Any:
    """What the Twisted client takes as ``StompConfig.sslContext`` for the command's TLS options.

    An :class:`ssl.SSLContext` is not enough here: the Twisted client takes only CA certificates
    from it, and :meth:`ssl.SSLContext.get_ca_certs` leaves out a self-signed server certificate
    that is not marked as a CA (ActiveMQ's test certificate is one). So: the CA file's path when
    only ``--ca`` is given (the client loads it as its trust root), else a connection creator.
    With ``--cert`` the certificate is presented to, and the host name checked against, the
    first broker of the URI.
    """
    if not (cert or key or noVerify):
        return ca
    from OpenSSL import SSL
    from twisted.internet import ssl
    from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
    from zope.interface import implementer  # type: ignore[import-untyped]

    from stompest.protocol.failover import StompFailoverUri

    clientCertificate = None
    if cert:
        with open(cert, 'rb') as certFile:
            pem = certFile.read()
        if key:
            with open(key, 'rb') as keyFile:
                pem += b'\n' + keyFile.read()
        clientCertificate = ssl.PrivateCertificate.loadPEM(pem)
    if noVerify:
        options = ssl.CertificateOptions(
            privateKey=clientCertificate.privateKey.original if clientCertificate else None,
            certificate=clientCertificate.original if clientCertificate else None,
            verify=False,
        )

        @implementer(IOpenSSLClientConnectionCreator)
        class Unverified:
            def clientConnectionForTLS(self, tlsProtocol: Any) -> Any:
                connection = SSL.Connection(options.getContext(), None)
                connection.set_app_data(tlsProtocol)
                return connection

        return Unverified()
    host = StompFailoverUri(uri).brokers[0]['host']
    trustRoot = None
    if ca:
        with open(ca, 'rb') as caFile:
            trustRoot = ssl.trustRootFromCertificates([ssl.Certificate.loadPEM(caFile.read())])
    return ssl.optionsForClientTLS(host, trustRoot=trustRoot, clientCertificate=clientCertificate)


def runDemo(config: StompConfig, *, prefix: str, count: int, poison: int, **options: Any) -> DemoStats:
    """Run :func:`pipeline` on the global reactor until it is done (or Ctrl-C) and return its stats.

    A failure before the first message was sent (an unreachable broker, a refused login) is
    raised; a later one is returned in :attr:`DemoStats.failure` together with the counts.
    """
    reactor: Any = importlib.import_module('twisted.internet.reactor')  # the global one, installed on first import

    stats = DemoStats(count=count, poison=poison)
    done: list[bool] = []

    def start() -> None:
        running = pipeline(reactor, config, stats, prefix, **options)

        def finish(result: Any) -> None:
            done.append(True)
            if reactor.running:
                reactor.stop()

        running.addErrback(lambda failure: setattr(stats, 'failure', failure.value)).addBoth(finish)

    def disconnectAll() -> defer.Deferred:
        # Ctrl-C: let each client finish its messages in flight and say goodbye before the reactor stops.
        stats.interrupted = True
        goodbyes = [client.disconnect(timeout=5).addErrback(lambda failure: None) for client in stats.clients]
        return defer.DeferredList(goodbyes)

    reactor.callWhenRunning(start)
    reactor.addSystemEventTrigger('before', 'shutdown', lambda: None if done else disconnectAll())
    reactor.run()
    if not done:
        stats.interrupted = True
    if stats.interrupted:
        stats.failure = None  # the connections were closed on purpose
    if stats.failure is not None and stats.started is None:
        raise stats.failure
    return stats
