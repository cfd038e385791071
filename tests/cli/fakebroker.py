"""A small STOMP broker on a real 127.0.0.1 socket, in a thread, for the command's tests.

It speaks just enough STOMP for ``send``, ``listen`` and ``bench``: CONNECT (or an ERROR reply
given to it), SUBSCRIBE/UNSUBSCRIBE, SEND to queues (delivered to the subscriber of the queue,
if any, else kept), ACK (ignored: ``listen``'s tests look at the frames), receipts, and
DISCONNECT (RECEIPT, then close). Every frame received is recorded in :attr:`FakeBroker.frames`.
``onFrame`` lets a test act when a given frame arrives (e.g. send the test process a signal).
"""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Callable

from stompest.protocol.frame import StompFrame
from stompest.protocol.parser import StompParser


def wire(command: str, headers: dict[str, str], body: bytes = b'') -> bytes:
    return bytes(StompFrame(command, headers, body, version='1.2'))


class FakeBroker:
    """Serves connections one after the other until :meth:`close`.

    :param refuse: reply to CONNECT with this ERROR frame's bytes instead of CONNECTED.
    :param onFrame: called (in the broker's thread) with each frame received.
    :param deliverAt: deliver a queue's messages only once it holds this many.
    """

    def __init__(
        self, *, refuse: bytes | None = None, onFrame: Callable[[StompFrame], None] | None = None, deliverAt: int = 1
    ) -> None:
        self.refuse = refuse
        self.onFrame = onFrame
        self.deliverAt = deliverAt
        self.frames: list[StompFrame] = []
        self.received = b''
        self.queues: dict[str, collections.deque[tuple[dict[str, str], bytes]]] = collections.defaultdict(
            collections.deque
        )
        self.maxQueued = 0
        self._subscriptions: dict[str, str] = {}  # destination -> subscription id
        self._messageIds = 0
        self._server = socket.create_server(('127.0.0.1', 0))
        self._server.settimeout(30)
        self.port = self._server.getsockname()[1]
        self.uri = f'tcp://127.0.0.1:{self.port}'
        self._closed = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def commands(self) -> list[str]:
        return [frame.command for frame in self.frames]

    def _serve(self) -> None:
        while not self._closed:
            try:
                connection, _ = self._server.accept()
            except OSError:
                return
            if self._closed:
                connection.close()
                return
            with connection:
                connection.settimeout(30)
                try:
                    self._session(connection)
                except OSError:
                    pass

    def _session(self, connection: socket.socket) -> None:
        parser = StompParser('1.2')
        self._subscriptions.clear()
        while True:
            data = connection.recv(65536)
            if not data:
                return
            self.received += data
            parser.add(data)
            for frame in iter(parser.get, parser.SENTINEL):
                if not isinstance(frame, StompFrame):
                    continue  # a heart-beat
                self.frames.append(frame)
                if self.onFrame is not None:
                    self.onFrame(frame)
                if not self._handle(connection, frame):
                    return

    def _handle(self, connection: socket.socket, frame: StompFrame) -> bool:
        headers = frame.headers
        if frame.command in ('CONNECT', 'STOMP'):
            if self.refuse is not None:
                connection.sendall(self.refuse)
                return False
            connection.sendall(wire('CONNECTED', {'version': '1.2', 'session': 'fake', 'server': 'fake/1'}))
            return True
        if frame.command == 'SUBSCRIBE':
            self._subscriptions[headers['destination']] = headers['id']
        elif frame.command == 'UNSUBSCRIBE':
            self._subscriptions = {d: i for d, i in self._subscriptions.items() if i != headers.get('id')}
        elif frame.command == 'SEND':
            message = {key: value for key, value in headers.items() if key != 'receipt'}
            self.queues[headers['destination']].append((message, frame.body))
            self.maxQueued = max(self.maxQueued, len(self.queues[headers['destination']]))
        if 'receipt' in headers:
            connection.sendall(wire('RECEIPT', {'receipt-id': headers['receipt']}))
        if frame.command == 'DISCONNECT':
            return False
        self._deliver(connection)
        return True

    def _deliver(self, connection: socket.socket) -> None:
        for destination, subscription in self._subscriptions.items():
            queue = self.queues[destination]
            if len(queue) < self.deliverAt:
                continue
            while queue:
                headers, body = queue.popleft()
                self._messageIds += 1
                message = {
                    **headers,
                    'subscription': subscription,
                    'message-id': f'm{self._messageIds}',
                    'ack': f'a{self._messageIds}',
                }
                connection.sendall(wire('MESSAGE', message, body))

    def close(self) -> None:
        self._closed = True
        try:  # wakes the accept() (closing the socket from another thread does not)
            socket.create_connection(('127.0.0.1', self.port), timeout=5).close()
        except OSError:
            pass
        self._server.close()
        self._thread.join(30)
