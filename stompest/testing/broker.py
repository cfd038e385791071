"""The in-memory broker: destinations, routing, redelivery and dead letters (no I/O).

:class:`MemoryBroker` holds queues and topics and routes messages between the
:class:`~stompest.testing.connection.BrokerConnection` objects it hands out. Bytes reach a
connection through :meth:`BrokerConnection.receive`; what the broker says leaves through the
``write`` callable the adapter gave :meth:`MemoryBroker.connect`. The adapters in
:mod:`stompest.testing.twisted` and :mod:`stompest.testing.sync` do that plumbing, so a test
usually only builds a broker, hands it to an adapter and looks at the broker afterwards.

The rules follow what ActiveMQ 5.17 and RabbitMQ 3.10 were seen doing (see ``docs/testing.rst``):

* a destination starting with one of ``topicPrefixes`` (default ``/topic/``) is a topic: every
  current subscriber gets a copy, and a message nobody is subscribed to is gone. Every other
  destination is a queue: each message goes to one subscriber (round robin), and waits in the
  queue while nobody can take it;
* a message delivered in ``client`` or ``client-individual`` mode stays unacknowledged until an
  ACK (``client``: cumulative, up to and including the message; ``client-individual``: that
  message only) or a NACK;
* a NACK (``onNack='requeue'``, RabbitMQ's behaviour) puts the message back at the head of its
  queue; ``onNack='deadLetter'`` (ActiveMQ's) moves it to the dead letter queue;
* when a connection ends, its unacknowledged queue messages go back to the head of their queue;
* a message that comes back is marked ``redelivered:true`` and carries the number of earlier
  deliveries in :attr:`MemoryBroker.deliveryCountHeader`; one delivered more than
  ``maxRedeliveries`` times goes to the dead letter queue instead, with an
  ``original-destination`` header (ActiveMQ's redelivery policy).

All public methods take one lock, so a test thread may inspect or drive the broker while the
loopback server's thread serves the blocking client.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec

if TYPE_CHECKING:
    from stompest.testing.connection import BrokerConnection, Subscription

__all__ = ['DEAD_LETTER_QUEUE', 'DELIVERY_COUNT_HEADER', 'Message', 'MemoryBroker']

#: ActiveMQ's default dead letter queue, and the kit's.
DEAD_LETTER_QUEUE = '/queue/ActiveMQ.DLQ'
#: The header that counts earlier deliveries of a redelivered message: RabbitMQ's name for it on
#: quorum queues. ActiveMQ 5.17 and RabbitMQ 3.10's classic queues mark a redelivery with
#: ``redelivered:true`` only (observed); ``MemoryBroker(deliveryCountHeader=None)`` does the same.
DELIVERY_COUNT_HEADER = 'x-delivery-count'

#: Headers of a SEND that do not travel on with the message.
_NOT_FORWARDED = frozenset(
    {
        StompSpec.DESTINATION_HEADER,
        StompSpec.RECEIPT_HEADER,
        StompSpec.TRANSACTION_HEADER,
        StompSpec.CONTENT_LENGTH_HEADER,
    }
)


@dataclass
class Message:
    """One message inside the broker.

    :ivar destination: where it was sent (or where it was moved to: the dead letter queue).
    :ivar body: the SEND's body.
    :ivar headers: the SEND's headers, less ``destination``, ``receipt``, ``transaction`` and
        ``content-length``.
    :ivar messageId: the ``message-id`` header it is delivered with.
    :ivar deliveries: how many times a subscriber has been handed it so far.
    """

    destination: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    messageId: str = ''
    deliveries: int = 0

    def copy(self) -> Message:
        return Message(self.destination, self.body, dict(self.headers), self.messageId, self.deliveries)


class MemoryBroker:
    """A STOMP broker in memory for tests: queues, topics, subscriptions in every ack mode,
    transactions, receipts, heart-beats, redelivery and injected errors.

    :param versions: the STOMP versions it speaks; CONNECT gets the highest one both sides know.
    :param heartBeats: the CONNECTED frame's ``heart-beat`` header ``(sx, sy)``: the broker can
        send a heart-beat every ``sx`` ms and wants one every ``sy`` ms. ``None`` (the default)
        answers ``(cy, cx)`` to a client's ``(cx, cy)``, granting whatever it asks, as ActiveMQ does.
    :param heartBeatTolerance: a connection whose client stays silent for this many negotiated
        intervals is closed (ActiveMQ and RabbitMQ closed a client silent for 3 intervals).
    :param users: ``login -> passcode``; ``None`` accepts any login (ActiveMQ's default).
    :param onNack: ``'requeue'`` (RabbitMQ) or ``'deadLetter'`` (ActiveMQ).
    :param maxRedeliveries: a message delivered more often than this goes to the dead letter queue
        (``None``: redelivered forever).
    :param deadLetterQueue: where dead letters go.
    :param deliveryCountHeader: the header giving a redelivered message's earlier deliveries
        (``None``: only ``redelivered:true``).
    :param topicPrefixes: destinations starting with one of these are topics.
    :param strictAcks: an ACK or NACK for a message that is not waiting for one gets an ERROR (as
        on both brokers); ``False`` ignores it.
    :param transactional: ``False`` makes a broker that ignores transactions: BEGIN, COMMIT and
        ABORT are only answered (receipts), and SENDs, ACKs and NACKs in a transaction take effect at
        once. For tests that look only at the frames a client sends.
    :param closeOnDisconnect: close the connection after answering DISCONNECT (both brokers do).
    :param frameTrailer: bytes written after every frame (both brokers write an EOL after the NUL).
    :param server: the CONNECTED frame's ``server`` header.
    :param sessionPrefix: session ids are this plus the connection's number (1, 2, ...).
    :param clock: seconds, for heart-beat deadlines (the Twisted adapter passes ``reactor.seconds``).
    """

    def __init__(
        self,
        *,
        versions: Iterable[str] = StompSpec.VERSIONS,
        heartBeats: tuple[int, int] | None = None,
        heartBeatTolerance: float = 3.0,
        users: Mapping[str, str] | None = None,
        onNack: str = 'requeue',
        maxRedeliveries: int | None = None,
        deadLetterQueue: str = DEAD_LETTER_QUEUE,
        deliveryCountHeader: str | None = DELIVERY_COUNT_HEADER,
        topicPrefixes: Iterable[str] = ('/topic/',),
        strictAcks: bool = True,
        transactional: bool = True,
        closeOnDisconnect: bool = True,
        frameTrailer: bytes = b'\n',
        server: str = 'stompest.testing/1.0',
        sessionPrefix: str = 'session-',
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if onNack not in ('requeue', 'deadLetter'):
            raise ValueError(f"onNack must be 'requeue' or 'deadLetter': {onNack!r}")
        self.versions = sorted(versions)
        self.heartBeats = heartBeats
        self.heartBeatTolerance = heartBeatTolerance
        self.users = None if users is None else dict(users)
        self.onNack = onNack
        self.maxRedeliveries = maxRedeliveries
        self.deadLetterQueue = deadLetterQueue
        self.deliveryCountHeader = deliveryCountHeader
        self.topicPrefixes = tuple(topicPrefixes)
        self.strictAcks = strictAcks
        self.transactional = transactional
        self.closeOnDisconnect = closeOnDisconnect
        self.frameTrailer = frameTrailer
        self.server = server
        self.sessionPrefix = sessionPrefix
        self.clock = clock
        #: Answer frames that ask for a receipt (``False``: receipts never come, to test timeouts).
        self.answerReceipts = True
        #: Answer CONNECT at all (``False``: a broker that accepts TCP and then says nothing).
        self.answerConnect = True
        #: When set, every CONNECT is answered with an ERROR with this message, then closed.
        self.refuse: str | None = None
        #: Every connection handed out, oldest first (closed ones included).
        self.connections: list[BrokerConnection] = []
        self.lock = threading.RLock()
        self._queues: dict[str, collections.deque[Message]] = collections.defaultdict(collections.deque)
        self._history: dict[str, list[Message]] = collections.defaultdict(list)
        self._failures: list[tuple[str, str, bool]] = []
        self._messageIds = itertools.count(1)
        self._roundRobin: dict[str, int] = collections.defaultdict(int)

    # -- what adapters call --------------------------------------------------------------------------

    def connect(self, write: Callable[[bytes], None], close: Callable[[], None]) -> BrokerConnection:
        """A new connection: the adapter feeds it the client's bytes (:meth:`BrokerConnection.receive`)
        and tells it when the transport is gone (:meth:`BrokerConnection.lost`).

        :param write: sends bytes to the client.
        :param close: closes the transport (after what was written so far).
        """
        from stompest.testing.connection import BrokerConnection

        with self.lock:
            connection = BrokerConnection(self, write, close, f'{self.sessionPrefix}{len(self.connections) + 1}')
            self.connections.append(connection)
            return connection

    # -- what tests call -----------------------------------------------------------------------------

    @property
    def connection(self) -> BrokerConnection:
        """The newest connection (fails when there is none)."""
        with self.lock:
            if not self.connections:
                raise LookupError('No client has connected to the broker')
            return self.connections[-1]

    def send(self, destination: str, body: bytes | str = b'', headers: Mapping[str, str] | None = None) -> Message:
        """Put a message on ``destination`` as if another producer had sent it, and deliver it."""
        with self.lock:
            message = self.newMessage(destination, body, headers)
            self.route(message)
            return message

    def messages(self, destination: str) -> list[Message]:
        """Every message that arrived at ``destination``, oldest first (delivered or not; for the
        dead letter queue: every message moved there)."""
        with self.lock:
            return list(self._history.get(destination, ()))

    def bodies(self, destination: str) -> list[bytes]:
        """The bodies of :meth:`messages`."""
        return [message.body for message in self.messages(destination)]

    def pending(self, destination: str) -> list[Message]:
        """The messages waiting on queue ``destination`` for a subscriber, next first (not those
        delivered and awaiting an ACK: see :meth:`BrokerConnection.unacked`)."""
        with self.lock:
            return list(self._queues.get(destination, ()))

    def failNext(self, command: str, message: str = 'Injected failure', *, close: bool = True) -> None:
        """Answer the next ``command`` frame (e.g. ``'SEND'``) any client sends with an ERROR
        (carrying ``receipt-id`` when the frame asked for a receipt), without acting on it; then
        close the connection (``close=False``: keep it open, as ActiveMQ does after most errors)."""
        with self.lock:
            self._failures.append((command, message, close))

    def takeFailure(self, command: str) -> tuple[str, bool] | None:
        """The injected failure for this command, if one is waiting (used by the connection)."""
        with self.lock:
            for index, (failing, message, close) in enumerate(self._failures):
                if failing == command:
                    del self._failures[index]
                    return message, close
            return None

    # -- routing (called by connections, under the lock) ---------------------------------------------

    def isTopic(self, destination: str) -> bool:
        return destination.startswith(self.topicPrefixes)

    def newMessage(
        self, destination: str, body: bytes | str = b'', headers: Mapping[str, str] | None = None
    ) -> Message:
        if isinstance(body, str):
            body = body.encode('utf-8')
        kept = {name: value for (name, value) in (headers or {}).items() if name not in _NOT_FORWARDED}
        return Message(destination, body, kept, f'message-{next(self._messageIds)}')

    def route(self, message: Message) -> None:
        """A message arrived at its destination."""
        self._history[message.destination].append(message)
        if self.isTopic(message.destination):
            for connection, subscription in self._subscribers(message.destination):
                connection.deliver(subscription, message.copy())
            return
        self._queues[message.destination].append(message)
        self.dispatch(message.destination)

    def dispatch(self, destination: str) -> None:
        """Hand waiting messages of queue ``destination`` to subscribers that can take them."""
        queue = self._queues.get(destination)
        while queue:
            ready = [(c, s) for (c, s) in self._subscribers(destination) if s.canTake() and c.canDeliver()]
            if not ready:
                return
            turn = self._roundRobin[destination] % len(ready)
            self._roundRobin[destination] += 1
            connection, subscription = ready[turn]
            connection.deliver(subscription, queue.popleft())

    def requeue(self, message: Message, front: bool = True) -> None:
        """A delivered message came back (NACK, or its connection ended): to the head of its queue,
        or to the dead letter queue once it was delivered more than ``maxRedeliveries`` times.
        Topic messages are not kept."""
        if self.isTopic(message.destination):
            return
        if self.maxRedeliveries is not None and message.deliveries > self.maxRedeliveries:
            self.deadLetter(message)
            return
        queue = self._queues[message.destination]
        if front:
            queue.appendleft(message)
        else:
            queue.append(message)

    def deadLetter(self, message: Message) -> None:
        """Move ``message`` to the dead letter queue, remembering where it came from."""
        dead = message.copy()
        dead.headers[StompSpec.ORIGINAL_DESTINATION_HEADER] = message.destination
        dead.destination = self.deadLetterQueue
        dead.deliveries = 0
        self.route(dead)

    def _subscribers(self, destination: str) -> list[tuple[BrokerConnection, Subscription]]:
        return [
            (connection, subscription)
            for connection in self.connections
            if connection.isOpen
            for subscription in connection.subscriptions.values()
            if subscription.destination == destination
        ]

    def messageFrame(self, message: Message, subscription: Subscription, ackId: str | None, version: str) -> StompFrame:
        """The MESSAGE frame for one delivery of ``message``."""
        headers = dict(message.headers)
        if message.deliveries:
            headers[StompSpec.REDELIVERED_HEADER] = 'true'
            if self.deliveryCountHeader:
                headers[self.deliveryCountHeader] = str(message.deliveries)
        headers[StompSpec.DESTINATION_HEADER] = message.destination
        headers[StompSpec.MESSAGE_ID_HEADER] = message.messageId
        if subscription.hasId or version != StompSpec.VERSION_1_0:
            headers[StompSpec.SUBSCRIPTION_HEADER] = subscription.id
        if ackId is not None and version == StompSpec.VERSION_1_2:
            headers[StompSpec.ACK_HEADER] = ackId
        return StompFrame(StompSpec.MESSAGE, headers, message.body, version=version)
