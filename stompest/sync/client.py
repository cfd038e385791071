"""The blocking STOMP client.

:class:`Stomp` is stompest 2.3's synchronous client: it assumes nothing about your concurrency
model (one client per thread, please; it is not thread-safe) and does nothing behind your back
except the two things STOMP requires: answering the broker's heart-beats while you wait for
frames, and replaying your subscriptions after a reconnect.

A consumer::

    client = Stomp(StompConfig('tcp://localhost:61613', version='1.2'))
    client.connect(heartBeats=(10000, 10000))
    client.subscribe('/queue/work', {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL})
    for frame in client:
        handle(frame.body)
        client.ack(frame)

Behaviour worth knowing (and where it differs from stompest 2.3):

* :meth:`Stomp.connect` walks the failover URI (:class:`~stompest.protocol.failover.StompFailoverTransport`):
  it sleeps each delay with the injected ``sleep``, tries the broker, logs one line per attempt,
  and raises :class:`~stompest.error.StompConnectTimeout` (chained from the last attempt's error)
  when the URI gives up. A broker that accepts the TCP connection but sends no ``CONNECTED``
  within ``connectedTimeout`` counts as a failed attempt, so the URI moves on to the next broker.
  (2.3 raised ``StompProtocolError('STOMP session connect failed [timeout=...]')`` at once.)
* A broker ``ERROR`` frame raises :class:`~stompest.error.StompProtocolError` with ``.frame`` set,
  from :meth:`Stomp.receiveFrame` and from :meth:`Stomp.connect` (2.3 returned it from
  ``receiveFrame``). During ``connect`` the socket is closed at once (RabbitMQ would otherwise
  keep a refused login open for 10 s) and no other broker is tried: a refused login is not a
  transport problem. After an ``ERROR`` on an established connection the connection stays open
  (ActiveMQ and RabbitMQ keep it open, e.g. after a COMMIT of an unknown transaction); if the
  broker closes it, the next read raises :class:`~stompest.error.StompConnectionError`.
* Heart-beats: while :meth:`Stomp.canRead` or :meth:`Stomp.receiveFrame` wait, the client sends a
  beat whenever one is owed (no frame sent for the negotiated client interval) and raises
  :class:`~stompest.error.StompHeartBeatTimeout` when the broker has been silent for longer than
  the negotiated server interval times ``heartBeatTolerance``. A client that only sends should
  call :meth:`Stomp.beatIfDue` now and then. Heart-beats received are consumed here; they never
  come out of :meth:`Stomp.receiveFrame`.
* :attr:`Stomp.lastSent` and :attr:`Stomp.lastReceived` are readings of the injected ``clock``
  (default :func:`time.monotonic`), not wall time as in 2.3.
* On a lost connection the socket is closed, :class:`~stompest.error.StompConnectionError` is
  raised, and the session keeps its subscriptions: the next :meth:`Stomp.connect` subscribes
  them again.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

from stompest.config import StompConfig
from stompest.error import (
    StompConnectionError,
    StompConnectTimeout,
    StompFrameError,
    StompHeartBeatTimeout,
    StompProtocolError,
)
from stompest.protocol import commands
from stompest.protocol._transaction import inTransaction
from stompest.protocol.failover import StompFailoverTransport
from stompest.protocol.frame import Headers, StompFrame, StompHeartBeat
from stompest.protocol.session import StompSession
from stompest.protocol.spec import StompSpec
from stompest.sync.transport import StompFrameTransport

__all__ = ['Stomp']

_timer = time.monotonic  # measures the timeouts callers give (real seconds, whatever the clock)

log = logging.getLogger(__name__)

#: How many negotiated server heart-beat intervals of silence make the broker dead (the same
#: default as the Twisted client's, see :attr:`StompSpec.DEFAULT_HEART_BEAT_TOLERANCE`).
DEFAULT_HEART_BEAT_TOLERANCE = StompSpec.DEFAULT_HEART_BEAT_TOLERANCE


class Stomp:
    """A blocking STOMP client.

    :param config: where to connect and how to log in (:class:`~stompest.config.StompConfig`).
    :param sleep: waits between failover attempts (default :func:`time.sleep`; tests pass a
        recorder).
    :param clock: a monotonic clock in seconds for the session's ``lastSent``/``lastReceived``
        and the heart-beat deadlines (default :func:`time.monotonic`). Timeouts given to
        :meth:`canRead` and :meth:`connect` are real seconds whatever this clock says.
    :param heartBeatTolerance: the broker counts as dead after this many negotiated server
        heart-beat intervals without a byte from it (default 3.0: ActiveMQ sends its first beat
        only after two intervals, and both brokers grant a silent client three).
    :param transportFactory: makes the transport for a broker, called as
        ``transportFactory(host, port, sslContext, version=..., parserFactory=...)`` (default
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
        heartBeatTolerance: float = DEFAULT_HEART_BEAT_TOLERANCE,
        transportFactory: Callable[..., StompFrameTransport] | None = None,
        parserFactory: Callable[[str | None], Any] | None = None,
        failover: StompFailoverTransport | None = None,
    ) -> None:
        self._config = config
        self._sleep = sleep
        self._clock = clock
        self._heartBeatTolerance = heartBeatTolerance
        self._transportFactory = StompFrameTransport if transportFactory is None else transportFactory
        self._parserFactory = parserFactory
        self._failover = StompFailoverTransport(config.uri) if failover is None else failover
        self._session = StompSession(config.version, config.check, clock=clock)
        self._transport: StompFrameTransport | None = None
        self._frames: collections.deque[StompFrame] = collections.deque()
        self._bytesSeen = 0
        self._disconnectReceipt: str | None = None
        self._lostWhileDisconnecting = False

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
        """Connect to a broker of the failover URI and open the STOMP session.

        :param headers: extra headers for the CONNECT frame.
        :param versions: the STOMP versions to offer (default: all up to ``config.version``).
        :param host: the ``host`` header (STOMP 1.1 and later); ``None`` means the broker's host
            name from the URI.
        :param heartBeats: ``(cx, cy)`` in ms: the client sends a beat at least every ``cx`` ms
            and wants one from the broker every ``cy`` ms (0: off).
        :param connectTimeout: seconds the TCP (and TLS) connect to one broker may take.
        :param connectedTimeout: seconds to wait for the broker's CONNECTED frame.
        :raises StompConnectTimeout: the failover URI gave up (chained from the last error).
        :raises StompProtocolError: the broker answered with an ERROR frame (``.frame``).
        """
        if self._transport is not None:
            raise StompConnectionError(f'Already connected to {self._transport}')
        lastError: StompConnectionError | None = None
        try:
            for broker, delay in self._failover:
                uri = _brokerUri(broker)
                if delay:
                    log.info('Waiting %.3f s before connecting to %s ...', delay, uri)
                    self._sleep(delay)
                log.info('Connecting to %s ...', uri)
                try:
                    self._connectTo(broker, headers, versions, host, heartBeats, connectTimeout, connectedTimeout)
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
                    f'Broker refused the connection: {_errorText(frame)!r} [{transport}]', frame=frame
                )
            self._session.connected(frame)
        except BaseException:
            self._dropTransport()
            raise
        transport.setVersion(self._session.version)
        log.info(
            'Connected to %s [session=%s, version=%s, heart-beats=%s]',
            transport, self._session.id, self._session.version,
            (self._session.clientHeartBeat, self._session.serverHeartBeat),
        )

    def _replay(self) -> None:
        for destination, headers, receipt, context in self._session.replay():
            log.info('Replaying subscription to %r [headers=%s]', destination, headers)
            frame, _ = self._session.subscribe(destination, headers, receipt, context)
            self.sendFrame(frame)

    def disconnect(self, receipt: str | None = None) -> None:
        """Send DISCONNECT and end the session.

        Without ``receipt`` the socket is closed at once. With one, it stays open until the
        matching RECEIPT comes out of :meth:`receiveFrame` (then it is closed), so that every
        frame sent before is known to have reached the broker.
        """
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

    def receiveFrame(self) -> StompFrame:
        """The next frame from the broker; waits until one is there (heart-beats permitting).

        :raises StompProtocolError: the frame is an ERROR (it is in ``.frame``).
        :raises StompHeartBeatTimeout: the broker stayed silent too long.
        :raises StompConnectionError: the connection is lost (or was never made).
        """
        if not self._frames:
            self.canRead(None)
        frame = self._frames.popleft()
        self._logReceived(frame)
        if frame.command == StompSpec.ERROR:
            raise StompProtocolError(
                f'Broker sent an ERROR frame: {_errorText(frame)!r} [{self._transport}]', frame=frame
            )
        if frame.command == StompSpec.RECEIPT:
            receiptId = frame.headers.get(StompSpec.RECEIPT_ID_HEADER)
            if receiptId in self._session.receipts:  # not for frames sent raw with sendFrame()
                self._session.receipt(frame)
            if self._disconnectReceipt is not None and receiptId == self._disconnectReceipt:
                self.close()
        return frame

    def canRead(self, timeout: float | None = None) -> bool:
        """Whether a frame is waiting; waits at most ``timeout`` seconds (``None``: no limit) for one.

        While waiting, heart-beats are sent when owed and received ones are consumed.

        :raises StompHeartBeatTimeout: the broker stayed silent too long.
        :raises StompConnectionError: the connection is lost.
        """
        if self._frames:
            return True
        transport = self._connectedTransport()
        # The timeout is measured in real seconds; heart-beat deadlines on the injected clock.
        deadline = None if timeout is None else _timer() + max(timeout, 0.0)
        while True:
            self.beatIfDue()
            now = self._clock()
            waits = [t - now for t in (self._overdueAt(), self._beatDueAt()) if t is not None]
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
                silence = now - (self._session.lastReceived or now)
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
        while self._transport is not None or self._frames:
            try:
                frame = self.receiveFrame()
            except StompConnectionError:
                if self._lostWhileDisconnecting:
                    return
                raise
            yield frame

    # heart-beats

    def beat(self) -> None:
        """Send a heart-beat (an EOL)."""
        self.sendFrame(self._session.beat())

    def beatIfDue(self) -> bool:
        """Send a heart-beat if one is owed; True if it sent one.

        :meth:`canRead` and :meth:`receiveFrame` call this themselves while they wait; a client
        that only sends should call it at least once per :attr:`clientHeartBeat` interval.
        """
        dueAt = self._beatDueAt()
        if dueAt is None or self._clock() < dueAt:
            return False
        self.beat()
        return True

    def _beatDueAt(self) -> float | None:
        session = self._session
        if session.state != StompSession.CONNECTED or not session.clientHeartBeat or session.lastSent is None:
            return None
        return session.lastSent + session.clientHeartBeat / 1000.0

    def _overdueAt(self) -> float | None:
        session = self._session
        if session.state not in (StompSession.CONNECTED, StompSession.DISCONNECTING) or not session.serverHeartBeat:
            return None
        if session.lastReceived is None:
            return None
        return session.lastReceived + session.serverHeartBeat / 1000.0 * self._heartBeatTolerance

    # STOMP commands

    def send(
        self, destination: str, body: bytes | str = b'', headers: Headers | None = None, receipt: str | None = None
    ) -> None:
        """Send a message (SEND) to ``destination``."""
        self.sendFrame(self._session.send(destination, body, headers, receipt))

    def subscribe(self, destination: str, headers: Headers | None = None, receipt: str | None = None) -> Any:
        """Subscribe to ``destination``; returns the token :meth:`unsubscribe` takes.

        The subscription is replayed by the next :meth:`connect` after a lost connection.
        """
        frame, token = self._session.subscribe(destination, headers, receipt)
        self.sendFrame(frame)
        return token

    def unsubscribe(self, token: Any, receipt: str | None = None) -> None:
        """End the subscription ``token`` (what :meth:`subscribe` returned)."""
        self.sendFrame(self._session.unsubscribe(token, receipt))

    def ack(self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None) -> None:
        """Acknowledge the MESSAGE ``frame`` (inside the open ``transaction`` when given)."""
        self.sendFrame(inTransaction(self._session, self._session.ack, transaction)(frame, receipt))

    def nack(self, frame: StompFrame, receipt: str | None = None, *, transaction: str | None = None) -> None:
        """Refuse the MESSAGE ``frame`` (STOMP 1.1 and later; ``transaction`` as for :meth:`ack`)."""
        self.sendFrame(inTransaction(self._session, self._session.nack, transaction)(frame, receipt))

    def begin(self, transaction: str | None = None, receipt: str | None = None) -> str:
        """Begin a transaction; returns its id (a fresh uuid4 when ``transaction`` is None)."""
        transaction = self._session.transaction(transaction)
        self.sendFrame(self._session.begin(transaction, receipt))
        return transaction

    def abort(self, transaction: str, receipt: str | None = None) -> None:
        """Roll back ``transaction``."""
        self.sendFrame(self._session.abort(transaction, receipt))

    def commit(self, transaction: str, receipt: str | None = None) -> None:
        """Commit ``transaction``."""
        self.sendFrame(self._session.commit(transaction, receipt))

    @contextlib.contextmanager
    def transaction(self, transaction: str | None = None, receipt: str | None = None) -> Iterator[str]:
        """BEGIN on entry, COMMIT on success, ABORT (and re-raise) on an exception; yields the id.

        With ``receipt``, the three frames ask for receipts ``<receipt>-begin``,
        ``<receipt>-commit`` and ``<receipt>-abort`` (as in 2.3).
        """
        transaction = self.begin(transaction, receipt and f'{receipt}-begin')
        try:
            yield transaction
        except BaseException:
            self.abort(transaction, receipt and f'{receipt}-abort')
            raise
        self.commit(transaction, receipt and f'{receipt}-commit')

    # state

    @property
    def session(self) -> StompSession:
        """The :class:`~stompest.protocol.session.StompSession` (state, version, subscriptions)."""
        return self._session

    @property
    def lastSent(self) -> float | None:
        """When the last frame or heart-beat was sent (a reading of ``clock``)."""
        return self._session.lastSent

    @property
    def lastReceived(self) -> float | None:
        """When the last byte arrived (a reading of ``clock``)."""
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

    def _connectedTransport(self) -> StompFrameTransport:
        if self._transport is None:
            raise StompConnectionError('Not connected')
        return self._transport

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
        transport, self._transport = self._transport, None
        self._disconnectReceipt = None
        if transport is not None:
            transport.close()


def _errorText(frame: StompFrame) -> str:
    """The ERROR's ``message`` header and the first line of its body, cut short for a log line."""
    message = commands.error(frame)
    detail = frame.body.decode('utf-8', 'replace').strip().split('\n', 1)[0].strip()
    if detail and detail != message:
        message = f'{message}: {detail}' if message else detail
    return message if len(message) <= _ERROR_TEXT_LIMIT else message[:_ERROR_TEXT_LIMIT] + '...'


_ERROR_TEXT_LIMIT = 200


def _brokerUri(broker: dict[str, Any]) -> str:
    host = broker['host']
    if ':' in host:
        host = f'[{host}]'
    return f'{broker["protocol"]}://{host}:{broker["port"]}'
