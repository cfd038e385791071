"""One client connection to a :class:`~stompest.testing.broker.MemoryBroker` (no I/O).

:class:`BrokerConnection` parses what the client sends with
:class:`~stompest.protocol.parser.StompParser`, answers with
:class:`~stompest.protocol.frame.StompFrame` objects, and keeps the connection's state: the
negotiated version and heart-beats, subscriptions, deliveries awaiting an ACK, open
transactions. A test reaches it as ``broker.connection`` (the newest) or ``broker.connections[i]``
to look at what the client sent (:attr:`~BrokerConnection.frames`), or to break things:
:meth:`~BrokerConnection.sendError`, :meth:`~BrokerConnection.drop`,
:meth:`~BrokerConnection.freeze`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stompest.error import StompError
from stompest.protocol import commands
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.spec import StompSpec
from stompest.testing.broker import Message

if TYPE_CHECKING:
    from stompest.testing.broker import MemoryBroker

__all__ = ['BrokerConnection', 'Delivery', 'Subscription']

log = logging.getLogger(__name__)

#: Connection states.
CONNECTING, CONNECTED, CLOSED = 'connecting', 'connected', 'closed'


@dataclass
class Delivery:
    """A message handed to a subscription and not acknowledged yet."""

    ackId: str
    message: Message
    subscription: Subscription = field(repr=False)


@dataclass
class Subscription:
    """One SUBSCRIBE of a connection.

    :ivar id: its ``id`` header (1.0 without one: the destination).
    :ivar prefetch: at most this many unacknowledged messages at a time (from the
        ``activemq.prefetchSize`` or ``prefetch-count`` header; ``None``: no limit).
    """

    id: str
    destination: str
    ack: str
    headers: dict[str, str]
    hasId: bool = True
    prefetch: int | None = None
    unacked: list[Delivery] = field(default_factory=list)

    def canTake(self) -> bool:
        if self.ack == StompSpec.ACK_AUTO or self.prefetch is None or self.prefetch <= 0:
            return True
        return len(self.unacked) < self.prefetch


class BrokerConnection:
    """The broker's side of one client connection. Made by :meth:`MemoryBroker.connect`."""

    def __init__(
        self, broker: MemoryBroker, write: Callable[[bytes], None], close: Callable[[], None], sessionId: str
    ) -> None:
        self.broker = broker
        self.sessionId = sessionId
        self._write = write
        self._close = close
        #: ``'connecting'`` until CONNECTED was sent, ``'connected'``, then ``'closed'``.
        self.state = CONNECTING
        #: The negotiated version (1.0 until CONNECT is answered).
        self.version = StompSpec.VERSION_1_0
        #: Every frame the client sent, in order (heart-beats are counted in :attr:`beats`).
        self.frames: list[StompFrame] = []
        #: How many heart-beats the client sent (an EOL right after a frame is read as part of
        #: that frame, as the parser does, and not counted).
        self.beats = 0
        #: Subscriptions by id.
        self.subscriptions: dict[str, Subscription] = {}
        #: Open transactions: id -> the frames to apply on COMMIT.
        self.transactions: dict[str, list[StompFrame]] = {}
        #: ``(client, server)`` heart-beat intervals in ms: the client must send every ``client``
        #: ms, the broker sends every ``server`` ms (0: never).
        self.heartBeats = (0, 0)
        #: True while frozen (see :meth:`freeze`).
        self.frozen = False
        self._parser = StompParser(StompSpec.VERSION_1_0)
        self._unacked: dict[str, Delivery] = {}
        self._held: list[bytes] = []
        self._heldOutput: list[bytes] = []
        #: Called after :meth:`thaw` (adapters reset their heart-beat timer there).
        self.onThaw: Callable[[], None] | None = None
        self._lastReceived = self._lastSent = broker.clock()
        self._ackIds: dict[str, int] = {}

    def __repr__(self) -> str:
        return f'<BrokerConnection {self.sessionId} {self.state}>'

    # -- what the test looks at ----------------------------------------------------------------------

    @property
    def isOpen(self) -> bool:
        return self.state != CLOSED

    def commands(self) -> list[str]:
        """The commands of :attr:`frames`."""
        return [frame.command for frame in self.frames]

    def framesOf(self, command: str) -> list[StompFrame]:
        """The frames of one command the client sent."""
        return [frame for frame in self.frames if frame.command == command]

    def unacked(self) -> list[Delivery]:
        """The deliveries still waiting for an ACK or NACK, oldest first."""
        with self.broker.lock:
            return list(self._unacked.values())

    # -- what the test does --------------------------------------------------------------------------

    def sendFrame(self, frame: StompFrame | StompHeartBeat) -> None:
        """Write any frame to the client (the connection's version is applied)."""
        with self.broker.lock:
            if isinstance(frame, StompFrame) and frame.version is None:
                frame.version = self.version
            data = bytes(frame)
            if isinstance(frame, StompFrame):
                data += self.broker.frameTrailer
            self._output(data)

    def sendError(
        self, message: str, body: bytes | str = b'', headers: Mapping[str, str] | None = None, *, close: bool = True
    ) -> None:
        """Send an ERROR frame, then close the connection (unless ``close=False``)."""
        with self.broker.lock:
            allHeaders = {StompSpec.MESSAGE_HEADER: message, **(headers or {})}
            self.sendFrame(StompFrame(StompSpec.ERROR, allHeaders, body))
            if close:
                self.close()

    def deliver(
        self,
        subscription: Subscription | str,
        message: Message | bytes | str = b'',
        headers: Mapping[str, str] | None = None,
        messageId: str | None = None,
    ) -> StompFrame:
        """Send a MESSAGE to one subscription now, bypassing routing and prefetch.

        :param subscription: the :class:`Subscription` or its id.
        :param message: a :class:`~stompest.testing.broker.Message`, or the body of a new one with
            ``headers`` (and ``messageId``, default the broker's next one).
        :returns: the frame sent.
        """
        with self.broker.lock:
            if isinstance(subscription, str):
                subscription = self.subscriptions[subscription]
            if not isinstance(message, Message):
                message = self.broker.newMessage(subscription.destination, message, headers)
                if messageId is not None:
                    message.messageId = messageId
            ackId = None
            if subscription.ack != StompSpec.ACK_AUTO:
                ackId = self._newAckId(message.messageId)
            frame = self.broker.messageFrame(message, subscription, ackId, self.version)
            message.deliveries += 1
            if ackId is not None:
                delivery = Delivery(ackId, message, subscription)
                key = ackId if self.version == StompSpec.VERSION_1_2 else message.messageId
                self._unacked[key] = delivery
                subscription.unacked.append(delivery)
            self.sendFrame(frame)
            return frame

    def handle(self, frame: StompFrame) -> None:
        """Act on ``frame`` as if the client had sent it now (it is not added to :attr:`frames`):
        for example a SEND again once ``answerReceipts`` is back on, to send its RECEIPT late."""
        with self.broker.lock:
            if self.state != CLOSED:
                self._handle(frame)

    def drop(self) -> None:
        """Close the connection at once, as a crashed broker or a broken network would: no ERROR,
        no RECEIPT for what is still unanswered; unacknowledged messages are requeued."""
        self.close()

    def freeze(self) -> None:
        """Stop answering: frames the client sends are held unread, nothing is written (heart-beats
        neither, so a client that expects them gives up), and the client's silence is not held
        against it. What the broker would write meanwhile (e.g. a test's :meth:`sendFrame`) is held
        too. The TCP connection stays open. :meth:`thaw` carries on."""
        with self.broker.lock:
            self.frozen = True

    def thaw(self) -> None:
        """Undo :meth:`freeze`: read what the client sent meanwhile, and answer it."""
        with self.broker.lock:
            self.frozen = False
            output, self._heldOutput = self._heldOutput, []
            for data in output:
                self._output(data)
            held, self._held = self._held, []
            self._lastReceived = self.broker.clock()
            for data in held:
                self.receive(data)
            for destination in {s.destination for s in self.subscriptions.values()}:
                self.broker.dispatch(destination)
            if self.onThaw is not None:
                self.onThaw()

    def close(self) -> None:
        """Close the transport (what was written so far is still delivered) and clean up."""
        with self.broker.lock:
            if self.state == CLOSED:
                return
            self._cleanUp()
            self._close()

    # -- what the adapter calls ----------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the client."""
        with self.broker.lock:
            if self.state == CLOSED:
                return
            if self.frozen:
                self._held.append(data)
                return
            self._lastReceived = self.broker.clock()
            try:
                self._parser.add(data)
                for frame in iter(self._parser.get, self._parser.SENTINEL):
                    if self.state == CLOSED or self.frozen:
                        return
                    if not isinstance(frame, StompFrame):
                        self.beats += 1
                        continue
                    self.frames.append(frame)
                    self._handle(frame)
            except StompError as exc:  # the client sent garbage
                self.sendError(str(exc))

    def lost(self) -> None:
        """The transport is gone (the client or the network closed it)."""
        with self.broker.lock:
            if self.state != CLOSED:
                self._cleanUp()

    def nextDeadline(self) -> float | None:
        """When :meth:`tick` has something to do next (on the broker's clock), or ``None``."""
        with self.broker.lock:
            if self.state != CONNECTED or self.frozen:
                return None
            client, server = self.heartBeats
            deadlines = []
            if server:
                deadlines.append(self._lastSent + server / 1000.0)
            if client:
                deadlines.append(self._lastReceived + self.broker.heartBeatTolerance * client / 1000.0)
            return min(deadlines) if deadlines else None

    def tick(self) -> None:
        """Send a heart-beat when one is due; close a connection whose client fell silent."""
        with self.broker.lock:
            if self.state != CONNECTED or self.frozen:
                return
            now = self.broker.clock()
            client, server = self.heartBeats
            if client and now >= self._lastReceived + self.broker.heartBeatTolerance * client / 1000.0:
                log.info(
                    '%s: no heart-beat from the client for %.3f s: closing', self.sessionId, now - self._lastReceived
                )
                self.close()
                return
            if server and now >= self._lastSent + server / 1000.0:
                self.sendFrame(StompHeartBeat(self.version))

    # -- internals -----------------------------------------------------------------------------------

    def _output(self, data: bytes) -> None:
        if self.state == CLOSED:
            return
        if self.frozen:
            self._heldOutput.append(data)
            return
        self._lastSent = self.broker.clock()
        self._write(data)

    def _newAckId(self, messageId: str) -> str:
        count = self._ackIds.get(messageId, 0)
        self._ackIds[messageId] = count + 1
        return f'ack-{messageId}' if not count else f'ack-{messageId}-{count}'

    def canDeliver(self) -> bool:
        return self.state == CONNECTED and not self.frozen

    def _cleanUp(self) -> None:
        self.state = CLOSED
        self.transactions.clear()
        deliveries = list(self._unacked.values())
        self._unacked.clear()
        for subscription in self.subscriptions.values():
            subscription.unacked.clear()
        self.subscriptions.clear()
        destinations = []
        for delivery in reversed(deliveries):  # the oldest ends up first
            self.broker.requeue(delivery.message)
            destinations.append(delivery.message.destination)
        for destination in dict.fromkeys(destinations):
            self.broker.dispatch(destination)

    def _reply(self, frame: StompFrame) -> None:
        receipt = frame.headers.get(StompSpec.RECEIPT_HEADER)
        if receipt is not None and self.broker.answerReceipts:
            self.sendFrame(StompFrame(StompSpec.RECEIPT, {StompSpec.RECEIPT_ID_HEADER: receipt}))

    def _fail(self, frame: StompFrame, message: str, close: bool = False) -> None:
        headers = {}
        receipt = frame.headers.get(StompSpec.RECEIPT_HEADER)
        if receipt is not None:
            headers[StompSpec.RECEIPT_ID_HEADER] = receipt
        self.sendError(message, message, headers, close=close)

    def _handle(self, frame: StompFrame) -> None:
        command = frame.command
        failure = self.broker.takeFailure(command)
        if failure is not None:
            self._fail(frame, failure[0], close=failure[1])
            return
        if command in (StompSpec.CONNECT, StompSpec.STOMP):
            self._connect(frame)
            return
        if self.state != CONNECTED:
            self._fail(frame, 'Not connected')
            return
        handler = _HANDLERS.get(command)
        if handler is None:
            self._fail(frame, f'Unknown STOMP action: {command}', close=True)
            return
        if not self.broker.transactional and command in (StompSpec.BEGIN, StompSpec.COMMIT, StompSpec.ABORT):
            self._reply(frame)
            return
        transaction = frame.headers.get(StompSpec.TRANSACTION_HEADER)
        if (
            transaction is not None
            and self.broker.transactional
            and command in (StompSpec.SEND, StompSpec.ACK, StompSpec.NACK)
        ):
            if transaction not in self.transactions:
                self._fail(frame, f'Invalid transaction id: {transaction}')
                return
            self.transactions[transaction].append(frame)
            self._reply(frame)
            return
        if handler(self, frame) is not False:
            self._reply(frame)
        if command == StompSpec.DISCONNECT and self.broker.closeOnDisconnect:
            self.close()

    def _connect(self, frame: StompFrame) -> None:
        broker = self.broker
        if self.state != CONNECTING:
            self._fail(frame, 'Already connected', close=True)
            return
        if broker.refuse is not None:
            self.sendError(broker.refuse, broker.refuse)
            return
        if not broker.answerConnect:
            return
        headers = frame.headers
        offered = headers.get(StompSpec.ACCEPT_VERSION_HEADER, StompSpec.VERSION_1_0).split(',')
        common = [version for version in broker.versions if version in offered]
        if not common:
            supported = ','.join(broker.versions)
            self.sendError(
                f'Supported protocol versions are {supported}', headers={StompSpec.VERSION_HEADER: supported}
            )
            return
        login = headers.get(StompSpec.LOGIN_HEADER)
        if broker.users is not None and (
            login not in broker.users or broker.users[login] != headers.get(StompSpec.PASSCODE_HEADER)
        ):
            self.sendError(f'Access refused for user {login!r}')
            return
        version = common[-1]
        clientBeats = (0, 0)
        if version != StompSpec.VERSION_1_0:
            try:
                clientBeats = commands.parseHeartBeats(headers.get(StompSpec.HEART_BEAT_HEADER, '0,0'))
            except StompError:
                self.sendError(f'Invalid heart-beat header: {headers.get(StompSpec.HEART_BEAT_HEADER)}')
                return
        serverBeats = broker.heartBeats if broker.heartBeats is not None else (clientBeats[1], clientBeats[0])
        self.version = version
        self._parser.version = version
        reply = {StompSpec.SESSION_HEADER: self.sessionId, StompSpec.SERVER_HEADER: broker.server}
        if version != StompSpec.VERSION_1_0:
            reply[StompSpec.VERSION_HEADER] = version
            reply[StompSpec.HEART_BEAT_HEADER] = f'{serverBeats[0]},{serverBeats[1]}'
            # The broker's side of the negotiation: it expects the client every max(cx, sy) ms
            # and sends every max(sx, cy) ms, each only when both sides agree to it.
            self.heartBeats = commands.negotiateHeartBeat(clientBeats, serverBeats)
        self.state = CONNECTED
        self._lastReceived = broker.clock()
        self.sendFrame(StompFrame(StompSpec.CONNECTED, reply))

    def _send(self, frame: StompFrame) -> bool | None:
        destination = frame.headers.get(StompSpec.DESTINATION_HEADER)
        if not destination:
            self._fail(frame, 'SEND received without a Destination specified!')
            return False
        self.broker.route(self.broker.newMessage(destination, frame.body, frame.headers))
        return None

    def _subscribe(self, frame: StompFrame) -> bool | None:
        headers = frame.headers
        destination = headers.get(StompSpec.DESTINATION_HEADER)
        if not destination:
            self._fail(frame, 'SUBSCRIBE received without a Destination specified!')
            return False
        hasId = StompSpec.ID_HEADER in headers
        if not hasId and self.version != StompSpec.VERSION_1_0:
            self._fail(frame, 'SUBSCRIBE received without an id')
            return False
        ident = headers.get(StompSpec.ID_HEADER, destination)
        ack = headers.get(StompSpec.ACK_HEADER, StompSpec.ACK_AUTO)
        if ack not in StompSpec.ACK_MODES[StompSpec.VERSION_1_2]:  # ActiveMQ takes them on 1.0 too
            self._fail(frame, f'Unsupported ack mode: {ack}')
            return False
        prefetch = headers.get(StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER) or headers.get(
            StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER
        )
        subscription = Subscription(
            ident, destination, ack, dict(headers), hasId, int(prefetch) if prefetch is not None else None
        )
        self.subscriptions[ident] = subscription
        self._reply(frame)  # RECEIPT first, then the MESSAGEs (as both brokers do)
        self.broker.dispatch(destination)
        return False

    def _unsubscribe(self, frame: StompFrame) -> bool | None:
        ident = frame.headers.get(StompSpec.ID_HEADER, frame.headers.get(StompSpec.DESTINATION_HEADER))
        subscription = self.subscriptions.pop(ident or '', None)
        if subscription is None:
            self._fail(frame, f'No subscription matched: {ident}')
            return False
        for delivery in subscription.unacked:
            self._unacked.pop(self._key(delivery), None)
            self.broker.requeue(delivery.message)
        self.broker.dispatch(subscription.destination)
        return None

    def _key(self, delivery: Delivery) -> str:
        return delivery.ackId if self.version == StompSpec.VERSION_1_2 else delivery.message.messageId

    def _acknowledged(self, frame: StompFrame) -> list[Delivery] | None:
        """The deliveries an ACK or NACK settles (``client`` mode: cumulative), or None after an ERROR."""
        headers = frame.headers
        key = headers.get(StompSpec.ID_HEADER if self.version == StompSpec.VERSION_1_2 else StompSpec.MESSAGE_ID_HEADER)
        delivery = self._unacked.get(key or '')
        if delivery is None:
            if self.broker.strictAcks:
                self._fail(frame, f'Unexpected {frame.command} received for message-id [{key}]')
                return None
            return []
        subscription = delivery.subscription
        if subscription.ack == StompSpec.ACK_CLIENT:
            index = subscription.unacked.index(delivery)
            settled = subscription.unacked[: index + 1]
        else:
            settled = [delivery]
        for each in settled:
            subscription.unacked.remove(each)
            self._unacked.pop(self._key(each), None)
        return settled

    def _ack(self, frame: StompFrame) -> bool | None:
        settled = self._acknowledged(frame)
        if settled is None:
            return False
        for delivery in settled:
            self.broker.dispatch(delivery.subscription.destination)
        return None

    def _nack(self, frame: StompFrame) -> bool | None:
        settled = self._acknowledged(frame)
        if settled is None:
            return False
        self._reply(frame)  # RECEIPT first, then the redelivery (as RabbitMQ does)
        for delivery in reversed(settled):
            if self.broker.onNack == 'deadLetter':
                self.broker.deadLetter(delivery.message)
            else:
                self.broker.requeue(delivery.message)
        for destination in dict.fromkeys(delivery.subscription.destination for delivery in settled):
            self.broker.dispatch(destination)
        return False

    def _begin(self, frame: StompFrame) -> bool | None:
        transaction = frame.headers.get(StompSpec.TRANSACTION_HEADER, '')
        if not transaction or transaction in self.transactions:
            self._fail(frame, f'Invalid transaction id: {transaction}')
            return False
        self.transactions[transaction] = []
        return None

    def _commit(self, frame: StompFrame) -> bool | None:
        transaction = frame.headers.get(StompSpec.TRANSACTION_HEADER, '')
        if transaction not in self.transactions:
            self._fail(frame, f'Invalid transaction id: {transaction}')
            return False
        self._reply(frame)  # RECEIPT, then the MESSAGEs (as both brokers do)
        for each in self.transactions.pop(transaction):
            stripped = StompFrame(
                each.command,
                {
                    k: v
                    for (k, v) in each.headers.items()
                    if k not in (StompSpec.TRANSACTION_HEADER, StompSpec.RECEIPT_HEADER)
                },
                each.body,
                version=each.version,
            )
            handler = _HANDLERS[each.command]
            handler(self, stripped)
        return False

    def _abort(self, frame: StompFrame) -> bool | None:
        transaction = frame.headers.get(StompSpec.TRANSACTION_HEADER, '')
        if self.transactions.pop(transaction, None) is None:
            self._fail(frame, f'Invalid transaction id: {transaction}')
            return False
        return None

    def _disconnect(self, frame: StompFrame) -> bool | None:
        return None


_HANDLERS: dict[str, Callable[[BrokerConnection, StompFrame], bool | None]] = {
    StompSpec.SEND: BrokerConnection._send,
    StompSpec.SUBSCRIBE: BrokerConnection._subscribe,
    StompSpec.UNSUBSCRIBE: BrokerConnection._unsubscribe,
    StompSpec.ACK: BrokerConnection._ack,
    StompSpec.NACK: BrokerConnection._nack,
    StompSpec.BEGIN: BrokerConnection._begin,
    StompSpec.COMMIT: BrokerConnection._commit,
    StompSpec.ABORT: BrokerConnection._abort,
    StompSpec.DISCONNECT: BrokerConnection._disconnect,
}
