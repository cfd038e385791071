"""The blocking STOMP client.

:class:`Stomp` is stompest 2.3's synchronous client: it assumes nothing about your concurrency
model (one client per thread, please; it is not thread-safe) and does nothing behind your back
except what STOMP needs: answering heart-beats while you wait for frames (unless you beat
yourself, as 2.3 programs do) and replaying your subscriptions after a reconnect.

A consumer::

    client = Stomp(StompConfig('tcp://localhost:61613', version='1.2'))
    client.connect(heartBeats=(10000, 10000))
    client.subscribe('/queue/work', {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL})
    for frame in client:
        handle(frame.body)
        client.ack(frame)

What differs from a naive client, and from 2.3, is told in docs/sync.rst and docs/migrating.rst:
``connect()`` walks the failover URI and reuses the previous ``connect()``'s arguments; every
command while not connected raises :class:`~stompest.error.StompNotConnectedError`; ERROR frames
come out of :meth:`Stomp.receiveFrame`; ``lastSent``/``lastReceived`` are :func:`time.time`
readings; ACK/NACK of a frame from an earlier connection are not sent.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import ssl
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from stompest.config import StompConfig
from stompest.error import (
    StompAlreadyConnectedError,
    StompConnectionError,
    StompConnectTimeout,
    StompFrameError,
    StompHeartBeatTimeout,
    StompNotConnectedError,
    StompProtocolError,
)
from stompest.protocol import commands
from stompest.protocol.failover import StompFailoverTransport
from stompest.protocol.frame import Headers, StompFrame, StompHeartBeat
from stompest.protocol.heartbeat import receiveDeadline, sendDeadline
from stompest.protocol.session import StompSession, inTransaction
from stompest.protocol.spec import StompSpec
from stompest.sync.transport import StompFrameTransport, brokerUri, errorText

__all__ = ['Stomp']

_timer = time.monotonic  # measures the timeouts callers give (real seconds, whatever the clock)

log = logging.getLogger(__name__)

#: How many negotiated server heart-beat intervals of silence make the broker dead (the same
#: default as the Twisted client's, see :attr:`StompSpec.DEFAULT_HEART_BEAT_TOLERANCE`).
DEFAULT_HEART_BEAT_TOLERANCE = StompSpec.DEFAULT_HEART_BEAT_TOLERANCE

_PRUNE_AT = 1024  # the least length at which the list of delivered frames is pruned

#: The arguments of :meth:`Stomp.connect` a later ``connect()`` reuses when not given again.
CONNECT_ARGUMENTS = ('headers', 'versions', 'host', 'heartBeats', 'connectTimeout', 'connectedTimeout')


class Stomp:
    """A blocking STOMP client.

    :param config: where to connect and how to log in (:class:`~stompest.config.StompConfig`).
    :param sleep: waits between failover attempts (default :func:`time.sleep`; tests pass a
        recorder).
    :param clock: a monotonic clock in seconds for the heart-beat deadlines (default
        :func:`time.monotonic`). Timeouts given to :meth:`canRead` and :meth:`connect` are real
        seconds whatever this clock says.
    :param wallClock: what :attr:`lastSent` and :attr:`lastReceived` read (default
        :func:`time.time`, as in 2.3, so ``time.time() - client.lastReceived`` is the idle time).
    :param heartBeatTolerance: the broker counts as dead after this many negotiated server
        heart-beat intervals without a byte from it (default 3.0: ActiveMQ sends its first beat
        only after two intervals, and both brokers grant a silent client three).
    :param autoHeartBeat: whether :meth:`canRead` and :meth:`receiveFrame` send the heart-beats
        owed while they wait. ``None`` (the default): yes, until the program calls :meth:`beat`
        itself, as 2.3 programs do (2.3 never beat on its own); from then on the program keeps
        the beat. ``True``: always; ``False``: never (2.3's behaviour).
    :param transportFactory: makes the transport for a broker, called as
        ``transportFactory(host, port, sslContext, parserFactory=...)`` (default
        :class:`~stompest.sync.transport.StompFrameTransport`).
    :param parserFactory: makes the frame parser, called with the version (default
        :class:`~stompest.protocol.parser.StompParser`).
    :param failover: the reconnect schedule (default: a
        :class:`~stompest.protocol.failover.StompFailoverTransport` of ``config.uri``).
    """

    def __init__(
        self,
        config: StompConfig,
        *,
        sleep: Callable[[float], Any] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wallClock: Callable[[], float] = time.time,
        heartBeatTolerance: float = DEFAULT_HEART_BEAT_TOLERANCE,
        autoHeartBeat: bool | None = None,
        transportFactory: Callable[..., StompFrameTransport] | None = None,
        parserFactory: Callable[[str | None], Any] | None = None,
        failover: StompFailoverTransport | None = None,
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._clock = clock
        self._heartBeatTolerance = heartBeatTolerance
        self._autoHeartBeat = autoHeartBeat
        self._callerBeats = False
        self._transportFactory = StompFrameTransport if transportFactory is None else transportFactory
        self._parserFactory = parserFactory
        self._failover = StompFailoverTransport(config.uri) if failover is None else failover
        self._session = StompSession(config.version, config.check, clock=wallClock)
        #: The current (or last) transport; a closed one stays here, "connected" is its state.
        self._transport: StompFrameTransport | None = None
        self._connectArguments: dict[str, Any] = {}
        self._frames: collections.deque[StompFrame] = collections.deque()
        self._bytesSeen = 0
        self._sentAt: float | None = None  # monotonic twins of lastSent/lastReceived, for deadlines
        self._receivedAt: float | None = None
        self._disconnectReceipt: str | None = None
        self._lostWhileDisconnecting = False
        # MESSAGE frames handed out on this connection (weak references, pruned as the list
        # doubles: cheaper per message than a WeakValueDictionary), and those of earlier ones
        # (stale: never ACKed or NACKed), keyed by id(). A frame the program dropped is forgotten.
        self._delivered: list[weakref.ref[StompFrame]] = []
        self._pruneAt = _PRUNE_AT
        self._stale: weakref.WeakValueDictionary[int, StompFrame] = weakref.WeakValueDictionary()
        # RECEIPT frames receiveFrame() already matched in the session, so receipt(frame) still works.
        self._matched: weakref.WeakValueDictionary[int, StompFrame] = weakref.WeakValueDictionary()

    # connection

    def connect(
        self,
        headers: Headers | None = None,
        versions: list[str] | None = None,
        host: str | None = None,
        heartBeats: tuple[int, int] | None = None,
        connectTimeout: float | None = None,
        connectedTimeout: float | None = None,
    ) -> None:
        """Connect to a broker of the failover URI and open the STOMP session; replay the
        subscriptions a lost connection left.

        An argument left ``None`` takes the value the previous ``connect()`` was given (so
        ``client.connect(connectedTimeout=10)`` after a loss keeps host, heart-beats, headers
        and versions); pass ``heartBeats=(0, 0)`` or ``headers={}`` to drop them.

        :param headers: extra headers for the CONNECT frame.
        :param versions: the STOMP versions to offer (default: all up to ``config.version``).
        :param host: the ``host`` header (STOMP 1.1 and later); ``None`` means the broker's host
            name from the URI. RabbitMQ wants its virtual host here, usually ``'/'``.
        :param heartBeats: ``(cx, cy)`` in ms: the client sends a beat at least every ``cx`` ms
            and wants one from the broker every ``cy`` ms (0: off).
        :param connectTimeout: seconds the TCP (and TLS) connect to one broker may take.
        :param connectedTimeout: seconds to wait for the broker's CONNECTED frame.
        :raises StompAlreadyConnectedError: the client is connected (a StompConnectionError).
        :raises StompConnectTimeout: the failover URI gave up (chained from the last error).
        :raises StompProtocolError: the broker answered with an ERROR frame (``.frame``).
        """
        if self._isConnected():
            raise StompAlreadyConnectedError(f'Already connected to {self._transport}')
        given = {
            'headers': headers,
            'versions': versions,
            'host': host,
            'heartBeats': heartBeats,
            'connectTimeout': connectTimeout,
            'connectedTimeout': connectedTimeout,
        }
        self._connectArguments.update((name, value) for (name, value) in given.items() if value is not None)
        arguments = {name: self._connectArguments.get(name) for name in CONNECT_ARGUMENTS}
        lastError: StompConnectionError | None = None
        try:
            for broker, delay in self._failover:
                uri = brokerUri(broker)
                if delay:
                    log.info('Waiting %.3f s before connecting to %s ...', delay, uri)
                    self._sleep(delay)
                log.info('Connecting to %s ...', uri)
                try:
                    self._connectTo(broker, **arguments)
                except StompConnectionError as exc:
                    log.warning('Could not connect to %s [%s]', uri, exc)
                    lastError = exc
                    continue
                self._failover.connected()
                break
        except StompConnectTimeout as exc:
            log.error('Giving up connecting [%s]', exc)
            if lastError is not None and exc.__cause__ is None:
                raise exc from lastError
            raise
        self._replay()

    def _connectTo(
        self,
        broker: dict[str, Any],
        headers: Headers | None,
        versions: list[str] | None,
        host: str | None,
        heartBeats: tuple[int, int] | None,
        connectTimeout: float | None,
        connectedTimeout: float | None,
    ) -> None:
        sslContext = None
        if broker['protocol'] == 'ssl':
            sslContext = self._config.sslContext or ssl.create_default_context()
        transport = self._transportFactory(
            broker['host'], broker['port'], sslContext, parserFactory=self._parserFactory
        )
        transport.connect(connectTimeout)
        self._transport = transport
        self._frames.clear()
        self._bytesSeen = transport.bytesReceived
        self._disconnectReceipt = None
        self._lostWhileDisconnecting = False
        try:
            if host is None:
                host = self._session.defaultHost(broker['host'], versions)
            config = self._config
            frame = self._session.connect(config.login, config.passcode, headers, versions, host, heartBeats)
            self.sendFrame(frame)
            if not self.canRead(connectedTimeout):
                raise StompConnectTimeout(
                    f'No CONNECTED frame from {transport} [connectedTimeout={connectedTimeout}]', broker=broker
                )
            frame = self._frames.popleft()
            self._logReceived(frame)
            if frame.command == StompSpec.ERROR:
                raise StompProtocolError(
                    f'Broker refused the connection: {errorText(frame)!r} [{transport}]', frame=frame
                )
            self._session.connected(frame)
        except BaseException:
            self._dropTransport()
            raise
        transport.setVersion(self._session.version)
        # What was received on earlier connections must not be acknowledged on this one.
        for ref in self._delivered:
            old = ref()
            if old is not None:
                self._stale[id(old)] = old
        self._delivered, self._pruneAt = [], _PRUNE_AT
        log.info(
            'Connected to %s [session=%s, version=%s, heart-beats=%s]',
            transport,
            self._session.id,
            self._session.version,
            (self._session.clientHeartBeat, self._session.serverHeartBeat),
        )

    def _replay(self) -> None:
        for destination, headers, receipt, context in self._session.replay():
            log.info('Replaying subscription to %r [headers=%s]', destination, headers)
            frame, _ = self._session.subscribe(destination, headers, receipt, context)
            self.sendFrame(frame)

    def disconnect(self, receipt: str | None = None) -> None:
        """Send DISCONNECT and end the session.

        Without ``receipt`` the socket is closed at once (and the subscriptions are forgotten).
        With one, it stays open until the matching RECEIPT comes out of :meth:`receiveFrame`
        (then it is closed), so that every frame sent before is known to have reached the broker.
        """
        self._connectedTransport()
        frame = self._session.disconnect(receipt)
        self.sendFrame(frame)
        if receipt is None:
            self.close()
        else:
            self._disconnectReceipt = receipt

    def close(self, flush: bool = True) -> None:
        """Close the socket without DISCONNECT.

        :param flush: forget the subscriptions too (``False`` keeps them for the next connect).
        """
        self._session.close(flush)
        self._closeTransport()

    # frames

    def sendFrame(self, frame: StompFrame | StompHeartBeat) -> None:
        """Send any frame as it is (the session is not consulted)."""
        transport = self._connectedTransport()
        if log.isEnabledFor(logging.DEBUG):
            log.debug('Sending %s', frame.info())
        try:
            transport.send(frame)
        except StompConnectionError:
            self._lost()
            raise
        self._session.sent()
        self._sentAt = self._clock()

    def receiveFrame(self) -> StompFrame:
        """The next frame from the broker; waits until one is there (heart-beats permitting).

        An ERROR frame is returned like any other (brokers usually close the connection right
        after it, so the next call raises).

        :raises StompHeartBeatTimeout: the broker stayed silent too long.
        :raises StompConnectionError: the connection is lost (or was never made).
        """
        if not self._frames:
            self.canRead(None)
        frame = self._frames.popleft()
        self._logReceived(frame)
        command = frame.command
        if command == StompSpec.MESSAGE:
            delivered = self._delivered
            delivered.append(weakref.ref(frame))
            if len(delivered) >= self._pruneAt:
                self._delivered = delivered = [ref for ref in delivered if ref() is not None]
                self._pruneAt = max(_PRUNE_AT, 2 * len(delivered))
        elif command == StompSpec.RECEIPT:
            receiptId = frame.headers.get(StompSpec.RECEIPT_ID_HEADER)
            if receiptId in self._session.receipts:  # not for frames sent raw with sendFrame()
                self._session.receipt(frame)
                self._matched[id(frame)] = frame
            if self._disconnectReceipt is not None and receiptId == self._disconnectReceipt:
                self.close()
        elif command == StompSpec.ERROR:
            log.warning('Broker sent an ERROR frame: %r [%s]', errorText(frame), self._transport)
        return frame

    def canRead(self, timeout: float | None = None) -> bool:
        """Whether a frame is waiting; waits at most ``timeout`` seconds (``None``: no limit) for one.

        While waiting, received heart-beats are consumed and owed ones sent (see ``autoHeartBeat``).

        :raises StompHeartBeatTimeout: the broker stayed silent too long.
        :raises StompConnectionError: the connection is lost.
        """
        if self._frames:
            return True
        transport = self._connectedTransport()
        # The timeout is measured in real seconds; heart-beat deadlines on the injected clock.
        deadline = None if timeout is None else _timer() + max(timeout, 0.0)
        autoBeat = (not self._callerBeats) if self._autoHeartBeat is None else self._autoHeartBeat
        while True:
            if autoBeat:
                self.beatIfDue()
            now = self._clock()
            dueAt = (self._overdueAt(), self._beatDueAt() if autoBeat else None)
            waits = [t - now for t in dueAt if t is not None]
            if deadline is not None:
                waits.append(deadline - _timer())
            wait = max(min(waits), 0.0) if waits else None
            try:
                ready = transport.canRead(wait)
                item = transport.receive() if ready else None
            except (StompConnectionError, StompFrameError):
                self._lost()
                raise
            finally:
                if transport.bytesReceived != self._bytesSeen:
                    self._bytesSeen = transport.bytesReceived
                    self._session.received()
                    self._receivedAt = self._clock()
            if isinstance(item, StompFrame):
                self._frames.append(item)
                return True
            if item is not None:
                if log.isEnabledFor(logging.DEBUG):
                    log.debug('Received heart-beat')
                continue
            now = self._clock()
            overdueAt = self._overdueAt()
            if overdueAt is not None and now >= overdueAt:
                silence = now - (self._receivedAt or now)
                error = StompHeartBeatTimeout(
                    f'Broker silent for {silence:.3f} s [serverHeartBeat={self._session.serverHeartBeat} ms, '
                    f'heartBeatTolerance={self._heartBeatTolerance}, {transport}]'
                )
                self._lost()
                raise error
            if deadline is not None and _timer() >= deadline:
                return False

    def __iter__(self) -> Iterator[StompFrame]:
        """Yield received frames until the connection is closed.

        The loop ends quietly when the client is closed (by :meth:`close`, or by the RECEIPT of a
        :meth:`disconnect` with receipt) and when the broker closes the connection after our
        DISCONNECT; any other loss of the connection raises
        :class:`~stompest.error.StompConnectionError`.
        """
        while self._isConnected() or self._frames:
            try:
                frame = self.receiveFrame()
            except StompConnectionError:
                if self._lostWhileDisconnecting:
                    return
                raise
            yield frame

    def message(self, frame: StompFrame) -> Any:
        """The token of the subscription a received MESSAGE ``frame`` belongs to (what
        :meth:`subscribe` returned); :class:`~stompest.error.StompProtocolError` for an unknown one."""
        return self._session.message(frame)

    def receipt(self, frame: StompFrame) -> str:
        """The receipt id of a received RECEIPT ``frame``; :class:`~stompest.error.StompProtocolError`
        for one nobody asked for (unless the session was made with ``check=False``)."""
        if self._matched.pop(id(frame), None) is frame:  # receiveFrame() matched it already
            return commands.receipt(frame)
        return self._session.receipt(frame)

    # heart-beats

    def beat(self) -> None:
        """Send a heart-beat (an EOL). From the first call on, the program keeps the beat: the
        client stops beating on its own while it waits (unless made with ``autoHeartBeat=True``)."""
        self._connectedTransport()
        self._callerBeats = True
        self.sendFrame(self._session.beat())

    def beatIfDue(self) -> bool:
        """Send a heart-beat if one is owed; True if it sent one.

        While beating automatically, :meth:`canRead` and :meth:`receiveFrame` call this
        themselves as they wait; a client that only sends should call it at least once per
        :attr:`clientHeartBeat` interval.
        """
        dueAt = self._beatDueAt()
        if dueAt is None or self._clock() < dueAt:
            return False
        self.sendFrame(self._session.beat())
        return True

    def _beatDueAt(self) -> float | None:
        session = self._session
        if session.state != StompSession.CONNECTED or not session.clientHeartBeat or self._sentAt is None:
            return None
        return sendDeadline(self._sentAt, session.clientHeartBeat)

    def _overdueAt(self) -> float | None:
        session = self._session
        if session.state not in (StompSession.CONNECTED, StompSession.DISCONNECTING) or not session.serverHeartBeat:
            return None
        if self._receivedAt is None:
            return None
        return receiveDeadline(self._receivedAt, session.serverHeartBeat, self._heartBeatTolerance)

    # STOMP commands

    def send(
        self, destination: str, body: bytes | str = b'', headers: Headers | None = None, receipt: str | None = None
    ) -> None:
        """Send a message (SEND) to ``destination``."""
        self._connectedTransport()
        self.sendFrame(self._session.send(destination, body, headers, receipt))

    def subscribe(self, destination: str, headers: Headers | None = None, receipt: str | None = None) -> Any:
        """Subscribe to ``destination``; returns the token :meth:`unsubscribe` takes.

        The subscription is replayed by the next :meth:`connect` after a lost connection.
        """
        self._connectedTransport()
        frame, token = self._session.subscribe(destination, headers, receipt)
        self.sendFrame(frame)
        return token

    def unsubscribe(self, token: Any, receipt: str | None = None) -> None:
        """End the subscription ``token`` (what :meth:`subscribe` returned)."""
        self._connectedTransport()
        self.sendFrame(self._session.unsubscribe(token, receipt))

    def ack(self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None) -> None:
        """Acknowledge the MESSAGE ``frame`` (inside the open ``transaction`` when given); not sent
        (a WARNING is logged) when ``frame`` came on an earlier connection: the broker redelivers
        it, and that copy is the one to ACK."""
        self._connectedTransport()
        if not (self._stale and self._isStale(frame, StompSpec.ACK)):
            self.sendFrame(inTransaction(self._session, self._session.ack, transaction)(frame, receipt))

    def nack(self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None) -> None:
        """Refuse the MESSAGE ``frame`` (STOMP 1.1 and later); ``transaction`` and the rule for
        frames of an earlier connection as for :meth:`ack`."""
        self._connectedTransport()
        if not (self._stale and self._isStale(frame, StompSpec.NACK)):
            self.sendFrame(inTransaction(self._session, self._session.nack, transaction)(frame, receipt))

    def begin(self, transaction: str | int | None = None, receipt: str | None = None) -> str:
        """Begin a transaction; returns its id as a string (``str(transaction)``, as in 2.3, or a
        fresh uuid4 when ``transaction`` is None)."""
        self._connectedTransport()
        transaction = self._session.transaction(None if transaction is None else str(transaction))
        self.sendFrame(self._session.begin(transaction, receipt))
        return transaction

    def abort(self, transaction: str, receipt: str | None = None) -> None:
        """Roll back ``transaction``."""
        self._connectedTransport()
        self.sendFrame(self._session.abort(transaction, receipt))

    def commit(self, transaction: str, receipt: str | None = None) -> None:
        """Commit ``transaction``."""
        self._connectedTransport()
        self.sendFrame(self._session.commit(transaction, receipt))

    @contextlib.contextmanager
    def transaction(self, transaction: str | int | None = None, receipt: str | None = None) -> Iterator[str]:
        """BEGIN on entry, COMMIT on success, ABORT (and re-raise) on an exception; yields the id.

        With ``receipt``, the three frames ask for receipts ``<receipt>-begin``,
        ``<receipt>-commit`` and ``<receipt>-abort`` (as in 2.3).
        """
        transactionId = self.begin(transaction, receipt and f'{receipt}-begin')
        try:
            yield transactionId
        except BaseException:
            self.abort(transactionId, receipt and f'{receipt}-abort')
            raise
        self.commit(transactionId, receipt and f'{receipt}-commit')

    # state

    @property
    def session(self) -> StompSession:
        """The :class:`~stompest.protocol.session.StompSession` (state, version, subscriptions)."""
        return self._session

    @property
    def lastSent(self) -> float | None:
        """When the last frame or heart-beat was sent (a ``wallClock`` reading: :func:`time.time`)."""
        return self._session.lastSent

    @property
    def lastReceived(self) -> float | None:
        """When the last byte arrived (a ``wallClock`` reading: :func:`time.time`)."""
        return self._session.lastReceived

    @property
    def clientHeartBeat(self) -> int:
        """The negotiated interval (ms) at which the client must send; 0 when off."""
        return self._session.clientHeartBeat

    @property
    def serverHeartBeat(self) -> int:
        """The negotiated interval (ms) at which the broker sends; 0 when off."""
        return self._session.serverHeartBeat

    @property
    def heartBeatTolerance(self) -> float:
        """How many :attr:`serverHeartBeat` intervals of silence make the broker dead."""
        return self._heartBeatTolerance

    # internals

    def _isConnected(self) -> bool:
        transport = self._transport
        return transport is not None and bool(transport.connected)

    def _connectedTransport(self) -> StompFrameTransport:
        transport = self._transport
        if transport is None or not transport.connected:
            raise StompNotConnectedError('Not connected')
        return transport

    def _isStale(self, frame: StompFrame, command: str) -> bool:
        if self._stale.get(id(frame)) is not frame:
            return False
        log.warning(
            'Not sending %s for a message received on an earlier connection (the broker redelivers it) [message-id=%r]',
            command,
            frame.headers.get(StompSpec.MESSAGE_ID_HEADER),
        )
        return True

    def _logReceived(self, frame: StompFrame) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug('Received %s', frame.info())

    def _lost(self) -> None:
        """The connection broke: close the socket, keep the subscriptions for replay."""
        self._lostWhileDisconnecting = self._session.state == StompSession.DISCONNECTING
        if self._lostWhileDisconnecting:
            log.info('Disconnected from %s', self._transport)
        else:
            log.warning('Connection to %s lost', self._transport)
        self._dropTransport()

    def _dropTransport(self) -> None:
        self._session.close(flush=False)
        self._closeTransport()

    def _closeTransport(self) -> None:
        self._disconnectReceipt = None
        if self._transport is not None:
            self._transport.close()
