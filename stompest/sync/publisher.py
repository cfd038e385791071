"""A thread-friendly publisher on top of the blocking client: :class:`StompPublisher`.

A :class:`~stompest.sync.Stomp` client is not thread-safe. An application whose threads only
publish can share one :class:`StompPublisher` instead: it keeps one connection per thread
(``threading.local``), opens it on the thread's first :meth:`StompPublisher.send`, and when that
connection turns out to be lost it reconnects once through the failover URI and sends again.

Delivery is **at least once**: if the connection breaks after the broker took a message but
before the publisher learnt so, the message is sent twice. With ``receipts=True`` each send
asks for a RECEIPT and returns only once it arrived (within ``receiptTimeout``), so a send that
returned without an exception is known to have reached the broker.

>>> from stompest.config import StompConfig
>>> publisher = StompPublisher(StompConfig('tcp://localhost:61613'), receipts=True)
>>> # in any thread: publisher.send('/queue/orders', b'...')
>>> publisher.close()
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompError, StompProtocolError
from stompest.protocol.frame import Headers
from stompest.protocol.session import StompSession
from stompest.protocol.spec import StompSpec
from stompest.sync.client import Stomp

__all__ = ['StompPublisher']

log = logging.getLogger(__name__)

#: Seconds a send with ``receipts=True`` waits for its RECEIPT.
DEFAULT_RECEIPT_TIMEOUT = 10.0


class StompPublisher:
    """Publish from many threads, one connection per thread.

    :param config: where to connect (a failover URI lets a reconnect move to another broker).
    :param receipts: confirm each send by waiting for its RECEIPT.
    :param connectHeaders: extra headers for CONNECT (e.g. ``{'host': '/'}`` for RabbitMQ's
        default virtual host).
    :param connectTimeout: passed to :meth:`Stomp.connect`.
    :param connectedTimeout: passed to :meth:`Stomp.connect`.
    :param receiptTimeout: seconds to wait for a RECEIPT; when it passes, the connection counts
        as lost (and the send is retried once on a new one).
    :param clientFactory: makes a client from the config (default :class:`Stomp`; tests pass
        one with a fake transport).
    :param clock: a monotonic clock, for the receipt deadline.
    """

    def __init__(
        self,
        config: StompConfig,
        *,
        receipts: bool = False,
        connectHeaders: Headers | None = None,
        connectTimeout: float | None = None,
        connectedTimeout: float | None = None,
        receiptTimeout: float = DEFAULT_RECEIPT_TIMEOUT,
        clientFactory: Callable[[StompConfig], Stomp] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._config = config
        self._receipts = receipts
        self._connectHeaders = connectHeaders
        self._connectTimeout = connectTimeout
        self._connectedTimeout = connectedTimeout
        self._receiptTimeout = receiptTimeout
        self._clientFactory = Stomp if clientFactory is None else clientFactory
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Stomp] = []

    def send(self, destination: str, body: bytes | str = b'', headers: Headers | None = None) -> None:
        """Send a message from the calling thread's connection (opened if needed).

        :raises StompConnectionError: the message could not be sent, even after one reconnect
            (``StompConnectTimeout`` when no broker of the URI could be reached).
        :raises StompProtocolError: the broker answered with an ERROR frame.
        """
        client = self._client()
        try:
            self._send(client, destination, body, headers)
        except StompConnectionError as exc:
            log.warning('Sending to %r failed [%s]; reconnecting once and sending again', destination, exc)
            client.close(flush=True)
            self._connect(client)
            self._send(client, destination, body, headers)

    def close(self) -> None:
        """Disconnect every connection this publisher opened (in any thread).

        Call it when no thread is publishing any more; a later :meth:`send` opens a new connection.
        """
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                if client.session.state == StompSession.CONNECTED:
                    client.disconnect()
            except StompError as exc:
                log.debug('Disconnect failed [%s]', exc)
            finally:
                client.close()

    def _client(self) -> Stomp:
        client: Stomp | None = getattr(self._local, 'client', None)
        if client is None:
            client = self._local.client = self._clientFactory(self._config)
        if client.session.state != StompSession.CONNECTED:
            client.close(flush=True)
            self._connect(client)
        return client

    def _connect(self, client: Stomp) -> None:
        client.connect(
            self._connectHeaders, connectTimeout=self._connectTimeout, connectedTimeout=self._connectedTimeout
        )
        with self._lock:
            if client not in self._clients:
                self._clients.append(client)

    def _send(self, client: Stomp, destination: str, body: bytes | str, headers: Headers | None) -> None:
        if not self._receipts:
            client.send(destination, body, headers)
            return
        receipt = str(uuid.uuid4())
        client.send(destination, body, headers, receipt)
        deadline = self._clock() + self._receiptTimeout
        while True:
            remaining = deadline - self._clock()
            if remaining <= 0 or not client.canRead(remaining):
                client.close(flush=True)
                raise StompConnectionError(
                    f'No RECEIPT for a message to {destination!r} [receiptTimeout={self._receiptTimeout}]'
                )
            frame = client.receiveFrame()
            if frame.command == StompSpec.RECEIPT and frame.headers.get(StompSpec.RECEIPT_ID_HEADER) == receipt:
                return
            if frame.command == StompSpec.ERROR:
                raise StompProtocolError(
                    f'Broker sent an ERROR frame for a message to {destination!r}: '
                    f'{frame.headers.get(StompSpec.MESSAGE_HEADER, "")!r}',
                    frame=frame,
                )
            log.debug('Ignoring %s while waiting for receipt %r', frame.info(), receipt)
