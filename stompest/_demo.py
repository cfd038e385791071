"""The pipeline behind ``stompest demo``: producer -> transformer -> consumer on the Twisted client.

It plays the three roles of ``examples/twisted_producer.py``, ``twisted_transformer.py`` and
``twisted_consumer.py`` with the same conventions, in one process, on three connections:

* the **producer** sends messages numbered by a ``seq`` header (some marked ``poison:true``),
  a receipt every :data:`PRODUCER_WINDOW` messages;
* the **transformer** subscribes with ``ack:client-individual``, upper-cases each body, sends it
  on with a ``transformed-by`` header and lets the listener ACK the input only after the output's
  receipt; a poison message makes its handler raise, so the
  :class:`~stompest.twisted.listener.SubscriptionListener` forwards it to the error destination;
* the **consumer** counts what arrives on the output and on the error destination.

Every SEND carries ``persistent:true`` (:func:`persistent`): ActiveMQ keeps STOMP messages in
memory only unless the SEND says so, and a demo of "nothing lost" must not lose its messages to
a broker restart.

The roles are methods of :class:`DemoPipeline` (``produce``, ``transform``, ``consume``,
``forwardToErrors``), so a variant (a transactional producer, say) overrides one of them.

Why a module of its own rather than loading ``examples/`` by path: the ``stompest`` console
script is installed from the wheel, which does not contain ``examples/``, and the examples are
scripts that read their settings from the environment and run until Ctrl-C. So the roles are
written again here, on the public API only, parametrised and counted, while the examples stay
short and runnable on their own. A broker test runs both, so neither can rot.

"Lost" is what the producer sent that reached neither the output nor the error destination
(counted by distinct ``seq``); a redelivered message counts once.

SIGINT and SIGTERM (:func:`runDemo`) stop the producer and let the pipeline disconnect its
clients gracefully; a second signal stops the reactor at once.
"""

from __future__ import annotations

import importlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from twisted.internet import defer, task

from stompest.config import StompConfig
from stompest.error import StompError
from stompest.protocol.spec import StompSpec

__all__ = ['DemoPipeline', 'DemoStats', 'persistent', 'poisonSeqs', 'pipeline', 'runDemo']

log = logging.getLogger(__name__)

SEQ_HEADER = 'seq'
POISON_HEADER = 'poison'
TRANSFORMED_BY_HEADER = 'transformed-by'
#: messages the producer sends between two receipts
PRODUCER_WINDOW = 100
#: messages the transformer and the consumer may have unacknowledged (the brokers' prefetch)
PREFETCH = 100
#: How the transformer confirms its work: one RECEIPT per output before the input's ACK, or
#: outputs and input ACKs committed together in transactions (``--mode``; the default).
MODE_RECEIPTS, MODE_TRANSACTIONS = 'receipts', 'transactions'
MODES = (MODE_TRANSACTIONS, MODE_RECEIPTS)
#: Inputs per transaction in the transactions mode (``--batch``).
DEFAULT_BATCH = 100
#: seconds each client may take to finish its handlers and say goodbye
DISCONNECT_TIMEOUT = 10.0


class PoisonMessage(Exception):
    """The transformer cannot process this message; it belongs on the error destination."""


def persistent(headers: dict[str, str]) -> dict[str, str]:
    """``headers`` with ``persistent:true``, as every SEND of the demo has.

    >>> persistent({'seq': '1'})
    {'seq': '1', 'persistent': 'true'}
    """
    return {**headers, StompSpec.PERSISTENT_HEADER: 'true'}


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
    #: messages that arrived without ``persistent:true`` (the brokers echo the SEND's header)
    nonPersistent: int = 0
    started: float | None = None
    finished: float | None = None
    failure: BaseException | None = None
    interrupted: bool = False
    #: the signal that stopped the run (SIGINT or SIGTERM), if one did
    stopSignal: int | None = None
    clients: list[Any] = field(default_factory=list, repr=False)
    #: how the transformer confirmed its work (:data:`MODE_TRANSACTIONS` or :data:`MODE_RECEIPTS`)
    mode: str = ''
    #: inputs per transaction (:data:`MODE_TRANSACTIONS`)
    batch: int = 0

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
        return (
            f'sent {self.sent}/{self.count}  transformed {self.transformed}  received {len(self.received)}  '
            f'errors {len(self.errored)}'
        )

    def table(self) -> list[tuple[str, str]]:
        rows = [
            ('sent', f'{self.sent:,}'),
            ('transformed', f'{self.transformed:,}'),
            ('received', f'{len(self.received):,}'),
            ('sent to the error destination', f'{len(self.errored):,}'),
            ('not accounted for (interrupted)' if self.interrupted else 'lost', f'{self.lost:,}'),
            ('messages/s', f'{self.rate:,.0f}'),
        ]
        if self.mode == MODE_TRANSACTIONS:
            # onCommitted counts every input a COMMIT took effect for, the forwarded poison ones too
            rows[1] = ('inputs committed', f'{self.transformed:,}')
            rows.insert(0, ('inputs per transaction', f'{self.batch:,}'))
        if self.mode:
            rows.insert(0, ('mode', self.mode))
        if self.duplicates:
            rows.insert(4, ('redelivered (counted once)', f'{self.duplicates:,}'))
        if self.misrouted:
            rows.insert(4, ('misrouted', f'{self.misrouted:,}'))
        if self.nonPersistent:
            rows.insert(4, ('arrived non-persistent', f'{self.nonPersistent:,}'))
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


#: ``connector(reactor)``: a Deferred that fires with a connected :class:`stompest.twisted.Stomp`
Connector = Callable[[Any], defer.Deferred[Any]]


class DemoPipeline:
    """One run of the pipeline; :meth:`run` fills :attr:`stats` and fires when every client has
    disconnected.

    :param prefix: the destinations are ``<prefix>.in``, ``<prefix>.out`` and ``<prefix>.error``.
    :param connector: makes each connected client (default: :class:`stompest.twisted.Stomp` on
        ``config``, with ``connectTimeout``, ``host`` and ``heartBeats``).
    :param idleTimeout: stop waiting when nothing moved for this many seconds.
    :param progress: called with the stats about ten times a second.
    """

    def __init__(
        self,
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
        connector: Connector | None = None,
        mode: str = MODE_TRANSACTIONS,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f'Invalid demo mode: {mode!r} [one of {", ".join(MODES)}]')
        self.reactor = reactor
        self.mode = mode
        self.batch = batch
        stats.mode, stats.batch = mode, batch
        self.config = config
        self.stats = stats
        self.source, self.target, self.errors = f'{prefix}.in', f'{prefix}.out', f'{prefix}.error'
        self.poison = poisonSeqs(stats.count, stats.poison)
        self.idleTimeout = idleTimeout
        self.connectTimeout = connectTimeout
        self.host = host
        self.heartBeats = heartBeats
        self.progress = progress
        self.clock = clock
        self.connector = connector or self._connectDirectly
        self._allSettled: defer.Deferred[Any] = defer.Deferred()
        self._connecting: defer.Deferred[Any] | None = None
        self._lastMoved: tuple[float, tuple[int, int, int] | None] = (clock(), None)

    # the roles

    @defer.inlineCallbacks
    def produce(self, producer: Any) -> Any:
        """Send ``count`` messages to the input, waiting for a receipt every :data:`PRODUCER_WINDOW`."""
        stats, window = self.stats, []
        for seq in range(1, stats.count + 1):
            if stats.interrupted:
                break
            headers = {SEQ_HEADER: str(seq)}
            if seq in self.poison:
                headers[POISON_HEADER] = 'true'
            last = seq == stats.count or seq % PRODUCER_WINDOW == 0
            receipt = f'in-{seq}' if last else None
            window.append(producer.send(self.source, f'message {seq}'.encode(), persistent(headers), receipt=receipt))
            stats.sent += 1
            if last:
                yield defer.gatherResults(window, consumeErrors=True)
                window = []
        if window:
            yield defer.gatherResults(window, consumeErrors=True)

    def transform(self, client: Any, frame: Any) -> defer.Deferred[Any]:
        """The transformer's handler: the body upper-cased to the output; poison raises."""
        seq = frame.headers.get(SEQ_HEADER, '?')
        if frame.headers.get(POISON_HEADER) == 'true':
            raise PoisonMessage(f'refusing poison message seq={seq}')
        headers = persistent({SEQ_HEADER: seq, TRANSFORMED_BY_HEADER: 'stompest demo'})

        def counted(result: Any) -> Any:
            self.stats.transformed += 1
            return result

        sent: defer.Deferred[Any] = client.send(self.target, frame.body.upper(), headers, receipt=f'out-{seq}')
        return sent.addCallback(counted)

    def transformInTransaction(self, client: Any, frame: Any) -> Any:
        """The transactional transformer's handler: the same output as :meth:`transform`, which
        the :class:`~stompest.twisted.transformer.TransactionalTransformer` sends, and ACKs the
        input with, inside its transaction; poison raises (forwarded in the same transaction)."""
        from stompest.twisted.transformer import Output

        seq = frame.headers.get(SEQ_HEADER, '?')
        if frame.headers.get(POISON_HEADER) == 'true':
            raise PoisonMessage(f'refusing poison message seq={seq}')
        headers = persistent({SEQ_HEADER: seq, TRANSFORMED_BY_HEADER: 'stompest demo'})
        return Output(self.target, frame.body.upper(), headers)

    def committed(self, count: int) -> None:
        """``onCommitted`` of the transactional transformer: ``count`` inputs took effect."""
        self.stats.transformed += count

    def forwardToErrors(self, client: Any, exc: Any, frame: Any, errorDestination: str | None) -> defer.Deferred[Any]:
        """The transformer's ``onMessageFailed`` (``exc``: the handler's exception, or a Failure of
        it): the copy :func:`~stompest.twisted.util.errorFrame` makes, sent persistent to the error
        destination with a receipt; the listener ACKs the original once the receipt is there."""
        from twisted.python.failure import Failure

        from stompest.twisted.util import errorFrame

        if isinstance(exc, Failure):
            exc = exc.value
        copy = errorFrame(frame, exc)
        seq = frame.headers.get(SEQ_HEADER, '?')
        sent: defer.Deferred[Any] = client.send(
            errorDestination or self.errors, copy.body, persistent(dict(copy.headers)), receipt=f'error-{seq}'
        )
        return sent

    def consume(self, onError: bool) -> Callable[[Any, Any], None]:
        """The consumer's handler for the output (or, with ``onError``, the error destination)."""
        stats = self.stats

        def consume(client: Any, frame: Any) -> None:
            seq = frame.headers.get(SEQ_HEADER, '?')
            seen = stats.errored if onError else stats.received
            if seq in seen:
                stats.duplicates += 1
            seen.add(seq)
            if onError != (seq.isdigit() and int(seq) in self.poison):
                stats.misrouted += 1
            if frame.headers.get(StompSpec.PERSISTENT_HEADER) != 'true':
                stats.nonPersistent += 1
            self._checkSettled()

        return consume

    # running

    def stop(self, signum: int | None = None) -> None:
        """Stop producing and let :meth:`run` disconnect every client (SIGINT/SIGTERM)."""
        self.stats.interrupted = True
        self.stats.stopSignal = signum
        if self._connecting is not None:  # e.g. waiting between two attempts of a failover URI
            self._connecting.cancel()
        if not self._allSettled.called:
            self._allSettled.callback(None)

    @defer.inlineCallbacks
    def run(self) -> Any:
        """Connect, subscribe, produce, wait until everything settled (or stop), disconnect."""
        from stompest.twisted.listener import SubscriptionListener

        stats = self.stats
        ticker = task.LoopingCall(self._tick)
        ticker.clock = self.reactor
        subscribeHeaders = {
            StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL,
            StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: str(PREFETCH),  # each broker ignores the other's header
            StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER: str(PREFETCH),
        }
        try:
            consuming = yield self._connect()
            transformer = yield self._connect()
            producer = yield self._connect()
            for destination, onError in ((self.target, False), (self.errors, True)):
                listener = SubscriptionListener(self.consume(onError), ack=True)
                yield consuming.subscribe(
                    destination, dict(subscribeHeaders), receipt=f'subscribe-{destination}', listener=listener
                )
            transformerHeaders = dict(subscribeHeaders)
            if self.mode == MODE_TRANSACTIONS:  # it sets a prefetch that keeps its batches full
                for name in (StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER, StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER):
                    del transformerHeaders[name]
            yield transformer.subscribe(
                self.source, transformerHeaders, receipt=f'subscribe-{self.source}', listener=self._transformer()
            )
            stats.started = self.clock()
            ticker.start(0.1, now=True).addErrback(
                lambda failure: log.error('Progress ticker failed: %s', failure.getErrorMessage()),
            )
            yield self.produce(producer)
            self._checkSettled()
            yield self._allSettled
            stats.finished = self.clock()
        except defer.FirstError as exc:
            stats.failure = exc.subFailure.value
        except (StompError, OSError) as exc:
            if not stats.interrupted:
                stats.failure = exc
        except defer.CancelledError:
            if not stats.interrupted:  # cancelled by stop(): the run just ends
                raise
        finally:
            if ticker.running:
                ticker.stop()
            if stats.finished is None and stats.started is not None:
                stats.finished = self.clock()
            yield self._disconnectAll()
            if self.progress is not None:
                self.progress(stats)
        return stats

    def _transformer(self) -> Any:
        """The transformer's listener: one RECEIPT per output before the input's ACK
        (``receipts``), or outputs and ACKs committed together in transactions of up to
        :attr:`batch` inputs (``transactions``)."""
        if self.mode == MODE_RECEIPTS:
            from stompest.twisted.listener import SubscriptionListener

            return SubscriptionListener(
                self.transform, ack=True, errorDestination=self.errors, onMessageFailed=self.forwardToErrors
            )
        from stompest.twisted.transformer import TransactionalTransformer

        # The transformer sets its own prefetch (batch x (transactions in flight + 1)) unless the
        # subscription names one, so the one for the receipts mode is taken out in run().
        return TransactionalTransformer(
            self.transformInTransaction, batch=self.batch, errorDestination=self.errors, onCommitted=self.committed
        )

    @defer.inlineCallbacks
    def _connect(self) -> Any:
        if self.stats.interrupted:
            raise defer.CancelledError('stopped before connecting')
        self._connecting = self.connector(self.reactor)
        try:
            client = yield self._connecting
        finally:
            self._connecting = None
        self.stats.clients.append(client)
        return client

    def _connectDirectly(self, reactor: Any) -> defer.Deferred[Any]:
        from stompest.twisted import Stomp

        client = Stomp(self.config, reactor=reactor, receiptTimeout=self.connectTimeout)
        return client.connect(
            host=self.host,
            heartBeats=self.heartBeats,
            connectTimeout=self.connectTimeout,
            connectedTimeout=self.connectTimeout,
        )

    @defer.inlineCallbacks
    def _disconnectAll(self) -> Any:
        for client in reversed(self.stats.clients):  # the producer first, the consumer last
            try:
                yield client.disconnect(timeout=DISCONNECT_TIMEOUT)
            except Exception as exc:  # a failed goodbye must not hide the result
                log.warning('Disconnect failed: %s', exc)
        self.stats.clients.clear()

    def _checkSettled(self) -> None:
        stats = self.stats
        if stats.sent == stats.count and stats.settled >= stats.count and not self._allSettled.called:
            self._allSettled.callback(None)

    def _tick(self) -> None:
        moved = (self.stats.sent, self.stats.transformed, self.stats.settled)
        if moved != self._lastMoved[1]:
            self._lastMoved = (self.clock(), moved)
        elif self.clock() - self._lastMoved[0] > self.idleTimeout and not self._allSettled.called:
            log.warning('Nothing moved for %g s; stopping', self.idleTimeout)
            self._allSettled.callback(None)
        if self.progress is not None:
            self.progress(self.stats)


def pipeline(reactor: Any, config: StompConfig, stats: DemoStats, prefix: str, **options: Any) -> defer.Deferred[Any]:
    """Run :class:`DemoPipeline` once (see its parameters); fires with ``stats``."""
    return DemoPipeline(reactor, config, stats, prefix, **options).run()


def runDemo(
    config: StompConfig,
    *,
    prefix: str,
    count: int,
    poison: int,
    modes: Sequence[str] = (MODE_TRANSACTIONS,),
    pendingSignal: Callable[[], int | None] | None = None,
    **options: Any,
) -> list[DemoStats]:
    """Run :class:`DemoPipeline` once per mode in ``modes``, one after the other, on the global
    reactor until they are done (or stopped), and return their stats in that order.

    With several modes each run gets its own destinations (``<prefix>.<mode>.in`` and so on), so
    their throughputs can be compared side by side. SIGINT and SIGTERM call
    :meth:`DemoPipeline.stop` on the running pipeline (its clients disconnect gracefully, and
    :attr:`DemoStats.stopSignal` says which signal it was) and skip the runs not started; a
    second signal stops the reactor at once. A failure before the first message was sent (an
    unreachable broker, a refused login) is raised; a later one is returned in
    :attr:`DemoStats.failure` together with the counts.

    :param pendingSignal: a signal received before these handlers were installed (the
        command's own handlers record it), or ``None``; it stops the run as soon as it starts.
    :param options: passed to :class:`DemoPipeline`.
    """
    reactor: Any = importlib.import_module('twisted.internet.reactor')  # the global one, installed on first import

    runs = [(mode, DemoStats(count=count, poison=poison)) for mode in modes]
    prefixes = [prefix] if len(runs) == 1 else [f'{prefix}.{mode}' for mode in modes]
    current: list[DemoPipeline] = []
    done: list[bool] = []
    stopped: list[int | None] = []

    def stop(signum: int | None) -> None:
        stopped.append(signum)
        for _, stats in runs[len(current) :]:  # the runs not started yet
            stats.interrupted, stats.stopSignal = True, signum
        if current:
            current[-1].stop(signum)

    @defer.inlineCallbacks
    def runAll() -> Any:
        for (mode, stats), runPrefix in zip(runs, prefixes, strict=True):
            if stopped:
                break
            demo = DemoPipeline(reactor, config, stats, runPrefix, mode=mode, **options)
            current.append(demo)
            try:
                yield demo.run()
            except Exception as exc:  # recorded with the counts, and the next mode still runs
                stats.failure = exc
            if stats.failure is not None and stats.started is None:
                break  # the broker cannot be reached: the next mode would fail the same way

    def start() -> None:
        early = pendingSignal() if pendingSignal is not None else None
        if early is not None:
            stop(early)

        def finish(result: Any) -> None:
            done.append(True)
            if reactor.running:
                reactor.stop()

        runAll().addErrback(lambda failure: log.error('Demo failed: %s', failure.getErrorMessage())).addBoth(finish)

    def onSignal(signum: int, frame: Any) -> None:
        if stopped:  # the second signal: no more waiting
            reactor.callFromThread(_stopReactor, reactor)
            return
        log.info('Stopping (signal %d): disconnecting', signum)
        reactor.callFromThread(stop, signum)

    previous = _installSignalHandlers(onSignal)
    try:
        reactor.callWhenRunning(start)
        reactor.run(installSignalHandlers=False)
    finally:
        _restoreSignalHandlers(previous)
    results = [stats for _, stats in runs]
    for stats in results:
        if not done:
            stats.interrupted = True
        if stats.interrupted:
            stats.failure = None  # the connections were closed on purpose
    for stats in results:
        if stats.failure is not None and stats.started is None:
            raise stats.failure
    return results


def _stopReactor(reactor: Any) -> None:
    from twisted.internet.error import ReactorNotRunning

    try:
        reactor.stop()
    except ReactorNotRunning:
        pass


def _installSignalHandlers(handler: Callable[[int, Any], None]) -> dict[int, Any]:
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in (signal.SIGINT, signal.SIGTERM)}


def _restoreSignalHandlers(previous: dict[int, Any]) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)
