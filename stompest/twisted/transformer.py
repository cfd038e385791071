"""A queue-to-queue transformer whose outputs and input ACKs travel in STOMP transactions.

:class:`TransactionalTransformer` is a listener you subscribe with, as with
:class:`~stompest.twisted.listener.SubscriptionListener`::

    def handler(client, frame):
        return [Output('/queue/out', frame.body.upper(), {'seq': frame.headers['seq']})]

    transformer = TransactionalTransformer(handler, batch=100, linger=50, errorDestination='/queue/errors')
    yield client.subscribe('/queue/in', {}, listener=transformer)

For each MESSAGE the handler ``handler(client, frame)`` returns the output messages (``None``, one
:class:`Output`, or an iterable of them; ``(destination, body[, headers])`` tuples work too); it may
return them through a Deferred or be a coroutine function. When it has finished, the outputs
(``persistent:true`` unless told otherwise) and the input's ACK are written inside the open
transaction. A transaction is committed, with a receipt, when it holds ``batch`` inputs or
``linger`` milliseconds after its first one, whichever comes first, and its inputs count as done
(:attr:`TransactionalTransformer.committed`) only when that RECEIPT arrives.

Why: one COMMIT per batch replaces one receipt round trip per message, and on a broker whose
transactions are atomic (ActiveMQ) the outputs and the ACKs of a batch commit or roll back
together, so a crash before the COMMIT leaves no output and brings the inputs back, and a crash
after it leaves nothing to redo: exactly once. RabbitMQ applies a transaction's frames one by one
at COMMIT, so a crash in the middle can leave outputs whose inputs come back: at least once.

Rules:

* The subscription gets a prefetch (ActiveMQ ``activemq.prefetchSize``, RabbitMQ
  ``prefetch-count``; each broker ignores the other's header) of ``prefetch`` (default
  ``batch * (maxTransactions + 1)``) unless the headers given to ``subscribe`` set one.
* Acknowledgements, by the subscription's ack mode (``ackMode``, or the ``ack`` header given to
  ``subscribe``; by default ``client`` on ActiveMQ Classic, told by the CONNECTED ``server``
  header, and ``client-individual`` elsewhere; ``auto`` is refused):

  - ``client-individual``: every input is ACKed on its own inside the transaction, in the order
    the handlers finish.
  - ``client`` (cumulative): a transaction holds the inputs in the order they arrived and carries
    one ACK, of its last input, written just before the COMMIT; that ACK covers exactly the inputs
    of the transaction (every earlier one is in an earlier transaction). An input whose handler
    is still running holds back the inputs after it. Why the default on ActiveMQ: ActiveMQ 5.17's
    STOMP layer keeps every transactionally ACKed ``client-individual`` message of a subscription
    in a list it never empties, and scans that list for every dispatched message at each COMMIT,
    so a long-running transformer slows down quadratically and the broker's heap fills;
    ``client`` acks are cleared at each COMMIT (docs/benchmarks-pipeline.rst has the figures).
* At most ``maxTransactions`` COMMITs wait for their RECEIPT. Beyond that, finished inputs wait
  (in memory, bounded by the prefetch) and are not acknowledged, so the broker stops delivering:
  that is the back-pressure. Reading is never paused, so RECEIPTs always get through.
* A handler's own exception sends that input, unchanged but for the headers
  :func:`~stompest.twisted.util.errorDestinationHeaders` adds, to ``errorDestination`` and ACKs it,
  both inside the same transaction. Without an ``errorDestination`` the client disconnects with the
  failure as the reason (2.3's poison-pill rule) and the input is not acknowledged.
* On connection loss the open transaction and the COMMITs awaiting a receipt are forgotten (the
  broker rolls back what it did not commit), finished but unwritten inputs are dropped, and the
  results of handlers still running are thrown away: nothing received on the old connection is
  ever ACKed on a new one. The broker redelivers those inputs (after ``autoReconnect`` the
  replayed subscription brings them back).
* A graceful stop (:meth:`TransactionalTransformer.stop`, called by ``client.disconnect()``) takes
  no new input, cancels the handlers still running, commits what is complete and waits for those
  receipts (at most ``timeout`` seconds; an open transaction left then is ABORTed). With
  cumulative acks, "complete" ends at the first input whose handler was cancelled or failed
  without an error destination: the inputs after it stay unacknowledged and come back.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from types import CoroutineType
from typing import TYPE_CHECKING, Any, NamedTuple

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.error import StompCancelledError, StompConnectionError
from stompest.protocol.frame import Headers, StompFrame
from stompest.protocol.spec import StompSpec
from stompest.twisted.listener import Listener
from stompest.twisted.util import errorDestinationHeaders, withTimeout

if TYPE_CHECKING:
    from stompest.twisted.client import Stomp

__all__ = ['Output', 'TransactionalTransformer', 'defaultAckMode']

log = logging.getLogger(__name__)

_TRANSACTION = StompSpec.TRANSACTION_HEADER
_PERSISTENT = StompSpec.PERSISTENT_HEADER
_PREFETCH_HEADERS = (StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER, StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER)
_ACK_MODES = (StompSpec.ACK_CLIENT, StompSpec.ACK_CLIENT_INDIVIDUAL)
_ACTIVEMQ_CLASSIC = 'ActiveMQ/'  # the CONNECTED server header's start (Artemis says 'ActiveMQ-Artemis/')


def defaultAckMode(server: str | None) -> str:
    """The ack mode a transformer uses on a broker whose CONNECTED ``server`` header is
    ``server``: ``client`` (one cumulative ACK per transaction) on ActiveMQ Classic, whose
    ``client-individual`` transactional ACKs cost it more at every COMMIT (see the module
    documentation), and ``client-individual`` on every other broker."""
    if server and server.startswith(_ACTIVEMQ_CLASSIC):
        return StompSpec.ACK_CLIENT
    return StompSpec.ACK_CLIENT_INDIVIDUAL


class Output(NamedTuple):
    """One message a handler wants sent: ``destination``, ``body`` and extra ``headers``."""

    destination: str
    body: bytes | str = b''
    headers: Headers | None = None


class _Transaction:
    __slots__ = ('id', 'count', 'timer', 'due', 'last')

    def __init__(self, transaction: str) -> None:
        self.id = transaction
        self.count = 0  # inputs acknowledged in it
        self.timer: Any = None  # the linger call
        self.due = False  # linger expired (or stopping): commit as soon as a slot is free
        self.last: StompFrame | None = None  # cumulative acks: the input the one ACK names


class _Input:
    """One input waiting to be written: its MESSAGE and the frames to write for it. With
    cumulative acks an input waits here from its arrival, ``sends`` being ``None`` while its
    handler runs; ``dropped`` marks one that will never be written (it blocks those after it)."""

    __slots__ = ('frame', 'sends', 'dropped')

    def __init__(self, frame: StompFrame, sends: list[StompFrame] | None = None) -> None:
        self.frame = frame
        self.sends = sends
        self.dropped = False


class TransactionalTransformer(Listener):
    """Consume one subscription, transform each message with ``handler``, and commit outputs
    and input ACKs together in transactions (see the module documentation).

    :param handler: ``handler(client, frame)`` returns ``None``, an :class:`Output` or an
        iterable of outputs, directly, through a Deferred, or as a coroutine.
    :param batch: inputs per transaction at most.
    :param linger: milliseconds after a transaction's first input at which it is committed
        however few it holds.
    :param maxTransactions: COMMITs awaiting their RECEIPT at most (back-pressure beyond).
    :param errorDestination: where inputs whose handler raised are forwarded (in the transaction).
    :param persistent: add ``persistent:true`` to outputs that do not say (ActiveMQ's STOMP
        default is non-persistent).
    :param prefetch: the broker prefetch set on the subscription (default
        ``batch * (maxTransactions + 1)``, so the broker keeps every slot busy).
    :param onCommitted: ``onCommitted(count)`` after each COMMIT's RECEIPT, with its input count.
    :param ackMode: ``'client'`` (one cumulative ACK per transaction) or ``'client-individual'``;
        ``None`` picks by broker (:func:`defaultAckMode`). An ``ack`` header given to
        ``subscribe`` wins.
    """

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        batch: int = 100,
        linger: float = 50.0,
        maxTransactions: int = 4,
        errorDestination: str | None = None,
        persistent: bool = True,
        prefetch: int | None = None,
        onCommitted: Callable[[int], Any] | None = None,
        ackMode: str | None = None,
    ) -> None:
        if ackMode is not None and ackMode not in _ACK_MODES:
            raise ValueError(f'ackMode must be one of {_ACK_MODES} [ackMode={ackMode!r}]')
        if batch < 1:
            raise ValueError(f'batch must be at least 1 [batch={batch}]')
        if maxTransactions < 1:
            raise ValueError(f'maxTransactions must be at least 1 [maxTransactions={maxTransactions}]')
        if linger < 0:
            raise ValueError(f'linger must not be negative [linger={linger}]')
        self._handler = handler
        self._batch = batch
        self._linger = linger / 1000.0
        self._maxTransactions = maxTransactions
        self._errorDestination = errorDestination
        self._persistent = persistent
        self._prefetch = prefetch if prefetch is not None else batch * (maxTransactions + 1)
        self._onCommitted = onCommitted
        self._ackMode = ackMode
        self._cumulative = False  # set by onSubscribe: the subscription's ack mode is 'client'
        self._connection: Stomp | None = None
        self._generation = 0
        self._counter = 0
        self._handling: dict[defer.Deferred[Any], None] = {}
        self._ready: deque[_Input] = deque()
        self._open: _Transaction | None = None
        self._committing: dict[str, _Transaction] = {}
        self._stopping = False
        self._idleWaiters: list[defer.Deferred[Any]] = []
        #: inputs whose transaction was committed (RECEIPT received)
        self.committed = 0
        #: transactions committed (RECEIPT received)
        self.commits = 0
        #: inputs forwarded to the error destination (counted when written)
        self.failed = 0

    # -- read-only state --------------------------------------------------------------------------

    @property
    def batch(self) -> int:
        return self._batch

    @property
    def prefetch(self) -> int:
        return self._prefetch

    @property
    def inFlightTransactions(self) -> int:
        """COMMITs sent whose RECEIPT has not arrived."""
        return len(self._committing)

    @property
    def ackMode(self) -> str | None:
        """The subscription's ack mode (``None`` before it is subscribed with no ``ackMode`` given)."""
        if self._connection is None:
            return self._ackMode
        return StompSpec.ACK_CLIENT if self._cumulative else StompSpec.ACK_CLIENT_INDIVIDUAL

    @property
    def pending(self) -> int:
        """Finished inputs not yet written into a transaction (back-pressure, or with cumulative
        acks an earlier input still being handled, holds them)."""
        return sum(1 for item in self._ready if item.sends is not None)

    @property
    def handling(self) -> int:
        """Inputs whose handler is still running."""
        return len(self._handling)

    # -- listener hooks ---------------------------------------------------------------------------

    def onSubscribe(self, connection: Stomp, frame: StompFrame, context: Any) -> None:
        if context is not self:
            return
        headers = frame.headers
        ackMode = headers.get(StompSpec.ACK_HEADER) or self._ackMode or defaultAckMode(connection.session.server)
        if ackMode not in _ACK_MODES:
            raise ValueError(f'A TransactionalTransformer needs ack mode {" or ".join(_ACK_MODES)}: {ackMode!r}')
        headers[StompSpec.ACK_HEADER] = ackMode
        self._cumulative = ackMode == StompSpec.ACK_CLIENT
        if not any(name in headers for name in _PREFETCH_HEADERS):
            for name in _PREFETCH_HEADERS:
                headers[name] = str(self._prefetch)
        self._connection = connection
        self._stopping = False
        _noDelay(connection)

    def onMessage(self, connection: Stomp, frame: StompFrame, context: Any) -> None:
        if context is not self:
            return
        if self._stopping:
            return  # not acknowledged: the broker redelivers it
        generation = self._generation
        slot = None
        if self._cumulative:  # arrival order is ACK order: the slot waits from now on
            slot = _Input(frame)
            self._ready.append(slot)
        try:
            result = self._handler(connection, frame)
        except Exception:
            result = Failure()
        if type(result) is CoroutineType:
            result = defer.Deferred.fromCoroutine(result)
        if isinstance(result, defer.Deferred):
            self._handling[result] = None
            result.addBoth(self._handled, connection, frame, generation, result, slot)
            return
        self._finished(connection, frame, result, generation, slot)

    def onDisconnect(
        self, connection: Stomp, failure: BaseException | None, timeout: float | None
    ) -> defer.Deferred[Any] | None:
        if self._connection is not connection:
            return None
        return self.stop(timeout)

    def onConnectionLost(self, connection: Stomp, reason: Failure | None) -> None:
        if self._connection is not connection:
            return
        self._generation += 1
        lost = self._open
        if lost is not None and lost.timer is not None and lost.timer.active():
            lost.timer.cancel()
        if lost is not None or self._committing or self._ready:
            log.info(
                'Connection lost: forgetting %d open and %d committing transaction(s), %d finished input(s)'
                ' (the broker rolls back what it did not commit and redelivers)',
                int(lost is not None),
                len(self._committing),
                len(self._ready),
            )
        self._open = None
        self._committing.clear()
        self._ready.clear()
        self._fireIdle()

    # -- graceful stop ----------------------------------------------------------------------------

    def stop(self, timeout: float | None = None) -> defer.Deferred[Any]:
        """Take no more input, cancel the handlers still running (their inputs are not
        acknowledged), commit what is complete; fires when every COMMIT has its RECEIPT (after at
        most ``timeout`` seconds: then :class:`~stompest.error.StompCancelledError`, after an
        ABORT of a transaction still open)."""
        self._stopping = True
        for handling in list(self._handling):
            handling.cancel()
        if self._open is not None:
            self._open.due = True
        self._pump()
        if self._idle():
            return defer.succeed(None)
        waiter: defer.Deferred[Any] = defer.Deferred()
        self._idleWaiters.append(waiter)
        if timeout is None or self._connection is None:
            return waiter

        def cancelled() -> Exception:
            return StompCancelledError(
                f'Transactions not committed in time: {len(self._committing) + (self._open is not None)}'
                f' [timeout={timeout}]'
            )

        return withTimeout(waiter, timeout, self._connection.reactor, cancelled).addErrback(self._abortOpen)

    def _abortOpen(self, failure: Failure) -> Failure:
        if self._idleWaiters:
            self._idleWaiters.clear()
        transaction, self._open = self._open, None
        connection = self._connection
        if transaction is not None and connection is not None:
            log.warning('Aborting transaction %s (%d input(s)): stop timed out', transaction.id, transaction.count)
            try:
                connection.sendFrame(connection.session.abort(transaction.id))
            except Exception as exc:
                log.warning('Could not abort transaction %s: %s', transaction.id, exc)
        self._ready.clear()
        return failure

    def _idle(self) -> bool:
        return self._open is None and not self._committing and not self._ready

    def _fireIdle(self) -> None:
        if self._idleWaiters and self._idle():
            waiters, self._idleWaiters = self._idleWaiters, []
            for waiter in waiters:
                waiter.callback(None)

    # -- one input --------------------------------------------------------------------------------

    def _handled(
        self,
        result: Any,
        connection: Stomp,
        frame: StompFrame,
        generation: int,
        handling: defer.Deferred[Any],
        slot: _Input | None,
    ) -> None:
        self._handling.pop(handling, None)
        self._finished(connection, frame, result, generation, slot)

    def _finished(
        self, connection: Stomp, frame: StompFrame, result: Any, generation: int, slot: _Input | None
    ) -> None:
        if generation != self._generation:
            if isinstance(result, Failure):
                log.debug('Handler of an input from a lost connection failed: %s', result.getErrorMessage())
            return  # received on a connection that is gone: the broker redelivers it
        sends = self._sends(connection, frame, result)
        if slot is None:
            if sends is not None:
                self._ready.append(_Input(frame, sends))
        elif sends is None:
            slot.dropped = True  # never written: with cumulative acks nothing after it can be
        else:
            slot.sends = sends
        self._pump()

    def _sends(self, connection: Stomp, frame: StompFrame, result: Any) -> list[StompFrame] | None:
        """The frames to write for an input whose handler gave ``result`` (``None``: write
        nothing, the input stays unacknowledged)."""
        if self._stopping and isinstance(result, Failure) and result.check(defer.CancelledError):
            return None
        try:
            if isinstance(result, Failure):
                return self._failedSends(connection, frame, result)
            session = connection.session
            return [self._build(session, output) for output in _outputs(result)]
        except Exception:
            failure = Failure()
            try:
                return self._failedSends(connection, frame, failure)
            except Exception:
                log.error('Cannot forward the failed input to the error destination: %s', frame.info(), exc_info=True)
                return None

    def _build(self, session: Any, output: Any) -> StompFrame:
        if type(output) is not Output:
            output = Output(*output)
        headers = output.headers
        if self._persistent:
            headers = {_PERSISTENT: 'true', **headers} if headers else {_PERSISTENT: 'true'}
        frame: StompFrame = session.send(output.destination, output.body, headers)
        return frame

    def _failedSends(self, connection: Stomp, frame: StompFrame, failure: Failure) -> list[StompFrame] | None:
        log.error(
            'Transformer handler failed: %s [%s]', failure.getErrorMessage(), frame.info(), exc_info=failure.value
        )
        if not self._errorDestination:
            exc = failure.value
            log.error('Disconnecting: no error destination for the failed input [%s]', frame.info())
            if not self._stopping:
                connection.disconnect(reason=exc).addErrback(lambda _: None)  # the reason reaches `disconnected`
            return None
        exc = failure.value
        assert exc is not None
        self.failed += 1
        return [connection.session.send(self._errorDestination, frame.body, errorDestinationHeaders(frame, exc))]

    # -- transactions -----------------------------------------------------------------------------

    def _pump(self) -> None:
        """Write finished inputs into the open transaction; commit it when full or due, as far
        as the bound on COMMITs in flight allows."""
        connection = self._connection
        if connection is None:
            return
        ready = self._ready
        while True:
            transaction = self._open
            if transaction is not None and (transaction.count >= self._batch or transaction.due):
                if len(self._committing) >= self._maxTransactions:
                    return  # back-pressure: the rest waits for a RECEIPT
                self._commit(connection, transaction)
                continue
            if not ready:
                return
            head = ready[0]
            if head.sends is None:  # cumulative acks: the next input in arrival order is not done
                if head.dropped:
                    self._dropBlocked()
                return
            if transaction is None:
                transaction = self._begin(connection)
                if transaction is None:
                    return
            ready.popleft()
            try:
                self._write(connection, transaction, head)
            except Exception as exc:
                log.warning('Could not write into transaction %s: %s', transaction.id, exc)
                return  # the connection is going: onConnectionLost cleans up

    def _begin(self, connection: Stomp) -> _Transaction | None:
        self._counter += 1
        transaction = _Transaction(f'stompest-tx-{id(self):x}-{self._generation}-{self._counter}')
        try:
            connection.sendFrame(connection.session.begin(transaction.id))
        except Exception as exc:
            log.warning('Could not begin a transaction: %s', exc)
            return None
        self._open = transaction
        if self._stopping:
            transaction.due = True
        else:
            transaction.timer = connection.reactor.callLater(self._linger, self._lingered, transaction)
        return transaction

    def _dropBlocked(self) -> None:
        """Cumulative acks, and the next input will never be written: no input after it can
        be acknowledged on this connection either, so forget them all (the broker redelivers
        them once this connection is gone; the transformer is stopping or disconnecting)."""
        log.info(
            'Leaving %d input(s) unacknowledged behind one that was not processed (the broker redelivers them)',
            len(self._ready),
        )
        self._ready.clear()
        self._fireIdle()

    def _write(self, connection: Stomp, transaction: _Transaction, item: _Input) -> None:
        txid = transaction.id
        send = connection.sendFrame
        assert item.sends is not None
        for output in item.sends:
            output.headers[_TRANSACTION] = txid
            send(output)
        if self._cumulative:
            transaction.last = item.frame  # its one ACK goes out with the COMMIT
        else:
            ack = connection.session.ack(item.frame)
            ack.headers[_TRANSACTION] = txid
            send(ack)
        transaction.count += 1

    def _lingered(self, transaction: _Transaction) -> None:
        transaction.timer = None
        if transaction is self._open:
            transaction.due = True
            self._pump()

    def _commit(self, connection: Stomp, transaction: _Transaction) -> None:
        if transaction.timer is not None:
            if transaction.timer.active():
                transaction.timer.cancel()
            transaction.timer = None
        self._open = None
        self._committing[transaction.id] = transaction
        generation = self._generation
        if transaction.last is not None:  # cumulative: the last input's ACK covers the transaction's
            ack = connection.session.ack(transaction.last)
            ack.headers[_TRANSACTION] = transaction.id
            transaction.last = None
            try:
                connection.sendFrame(ack)
            except Exception as exc:
                log.warning('Could not acknowledge in transaction %s: %s', transaction.id, exc)
                del self._committing[transaction.id]
                return  # the connection is going: onConnectionLost cleans up
        committing = connection.commit(transaction.id, receipt=f'{transaction.id}-commit')
        committing.addCallbacks(
            self._committed,
            self._commitFailed,
            callbackArgs=(transaction, generation),
            errbackArgs=(connection, transaction, generation),
        )

    def _committed(self, result: Any, transaction: _Transaction, generation: int) -> None:
        if generation != self._generation or self._committing.pop(transaction.id, None) is None:
            return
        self.committed += transaction.count
        self.commits += 1
        if self._onCommitted is not None:
            try:
                self._onCommitted(transaction.count)
            except Exception:
                log.error('onCommitted failed', exc_info=True)
        self._pump()
        self._fireIdle()

    def _commitFailed(self, failure: Failure, connection: Stomp, transaction: _Transaction, generation: int) -> None:
        if generation != self._generation or self._committing.pop(transaction.id, None) is None:
            return
        if failure.check(StompConnectionError):
            log.info('COMMIT of %s unconfirmed: %s', transaction.id, failure.getErrorMessage())
            return  # onConnectionLost forgets the rest
        # A receipt timeout, say: whether the broker committed is unknown. Dropping the
        # connection makes the broker settle it (commit done, or rolled back and redelivered).
        log.error('COMMIT of %s failed: %s; dropping the connection', transaction.id, failure.getErrorMessage())
        connection.dropConnection(
            StompConnectionError(f'COMMIT of {transaction.id} failed: {failure.getErrorMessage()}')
        )


def _noDelay(connection: Any) -> None:
    """Turn Nagle's algorithm off on the connection: a COMMIT is a small write right after a
    large one, and Nagle would hold it until the broker ACKs the data before (up to the delayed
    ACK timer, 40 ms on Linux), which costs more than the commit itself."""
    transport = getattr(getattr(connection, '_protocol', None), 'transport', None)
    while transport is not None:
        setter = getattr(transport, 'setTcpNoDelay', None)
        if setter is not None:
            try:
                setter(True)
            except Exception as exc:  # not every transport is TCP
                log.debug('Cannot set TCP_NODELAY: %s', exc)
            return
        transport = getattr(transport, 'transport', None)  # TLS wraps the TCP transport


def _outputs(result: Any) -> Iterable[Any]:
    """A handler's result as an iterable of outputs."""
    if result is None:
        return ()
    if type(result) is Output:
        return (result,)
    if isinstance(result, tuple) and result and isinstance(result[0], str):
        return (result,)  # one (destination, body[, headers]) tuple
    if isinstance(result, (str, bytes, Mapping)):
        raise TypeError(f'Handler result is not an output or outputs: {result!r}')
    outputs: Iterable[Any] = result
    return outputs
