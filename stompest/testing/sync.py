"""The in-memory broker on a loopback TCP port, for tests of the blocking client.

:class:`LoopbackServer` listens on 127.0.0.1 (a free port by default) and serves a
:class:`~stompest.testing.broker.MemoryBroker` from one thread, so the blocking client under test
needs no seam at all: give it :attr:`LoopbackServer.uri`. ::

    with LoopbackServer() as server:
        client = Stomp(StompConfig(server.uri, version='1.2'))
        client.connect()
        client.send('/queue/a', b'hello', receipt='r1')
        client.receiveFrame()                       # the RECEIPT
        assert server.broker.bodies('/queue/a') == [b'hello']

The server thread owns every socket; the broker's lock lets the test thread inspect and drive
the broker (``server.broker.send(...)``, ``server.broker.connection.drop()``) meanwhile.
Heart-beats run on real time here, so keep intervals short in tests.
"""

from __future__ import annotations

import logging
import selectors
import socket
import threading
from types import TracebackType

from stompest.protocol.failover import brokerUri
from stompest.testing.broker import MemoryBroker
from stompest.testing.connection import BrokerConnection

__all__ = ['LoopbackServer']

log = logging.getLogger(__name__)


class _Client:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.output = bytearray()
        self.closing = False
        self.connection: BrokerConnection | None = None


class LoopbackServer:
    """A :class:`~stompest.testing.broker.MemoryBroker` on ``host:port`` served from a thread.

    :param broker: the broker to serve (default: a new one with the default options).
    :param host: the address to listen on; keep it a loopback address.
    :param port: 0 (the default) picks a free port; read it from :attr:`port`.
    """

    def __init__(self, broker: MemoryBroker | None = None, host: str = '127.0.0.1', port: int = 0) -> None:
        self.broker = broker if broker is not None else MemoryBroker()
        self.host = host
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.port: int = self._listener.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._wakeRead, self._wakeWrite = socket.socketpair()
        self._wakeRead.setblocking(False)
        self._clients: dict[socket.socket, _Client] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def uri(self) -> str:
        """``tcp://host:port`` of the server, for :class:`~stompest.config.StompConfig`."""
        return brokerUri({'protocol': 'tcp', 'host': self.host, 'port': self.port})

    def start(self) -> LoopbackServer:
        """Start serving (in a daemon thread)."""
        if self._thread is None:
            self._selector.register(self._listener, selectors.EVENT_READ)
            self._selector.register(self._wakeRead, selectors.EVENT_READ)
            self._thread = threading.Thread(target=self._serve, name=f'stompest-loopback-{self.port}', daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Close every connection and the listening socket, and wait for the thread to end."""
        self._stopping = True
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        for sock in list(self._clients):
            self._drop(sock)
        for sock in (self._listener, self._wakeRead, self._wakeWrite):
            sock.close()
        self._selector.close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- the server thread ---------------------------------------------------------------------------

    def _wake(self) -> None:
        try:
            self._wakeWrite.send(b'x')
        except OSError:  # pragma: no cover - the socket is being closed
            pass

    def _serve(self) -> None:
        while not self._stopping:
            for key, events in self._selector.select(self._timeout()):
                sock = key.fileobj
                if sock is self._listener:
                    self._accept()
                elif sock is self._wakeRead:
                    try:
                        self._wakeRead.recv(4096)
                    except BlockingIOError:
                        pass
                else:
                    assert isinstance(sock, socket.socket)
                    if events & selectors.EVENT_READ:
                        self._read(sock)
                    if events & selectors.EVENT_WRITE and sock in self._clients:
                        self._flush(sock)
            with self.broker.lock:
                for client in list(self._clients.values()):
                    if client.connection is not None:
                        client.connection.tick()
                self._update()

    def _timeout(self) -> float | None:
        with self.broker.lock:
            deadlines = [
                deadline
                for client in self._clients.values()
                if client.connection is not None
                for deadline in [client.connection.nextDeadline()]
                if deadline is not None
            ]
        if not deadlines:
            return 0.5  # look at _stopping now and then
        return min(max(min(deadlines) - self.broker.clock(), 0.0), 0.5)

    def _accept(self) -> None:
        try:
            sock, _ = self._listener.accept()
        except BlockingIOError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = _Client(sock)
        self._clients[sock] = client

        def write(data: bytes) -> None:  # under the broker's lock, from any thread
            client.output += data
            if threading.current_thread() is not self._thread:
                self._wake()

        def close() -> None:
            client.closing = True
            if threading.current_thread() is not self._thread:
                self._wake()

        client.connection = self.broker.connect(write, close)
        client.connection.onThaw = self._wake
        self._selector.register(sock, selectors.EVENT_READ)

    def _read(self, sock: socket.socket) -> None:
        client = self._clients[sock]
        try:
            data = sock.recv(256 * 1024)
        except BlockingIOError:
            return
        except OSError:
            data = b''
        if not data:
            self._drop(sock)
            return
        assert client.connection is not None
        client.connection.receive(data)

    def _flush(self, sock: socket.socket) -> None:
        client = self._clients[sock]
        with self.broker.lock:
            if client.output:
                try:
                    sent = sock.send(client.output)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self._drop(sock)
                    return
                del client.output[:sent]

    def _update(self) -> None:
        """Write what is waiting, close what should close, and select for writing where needed."""
        for sock, client in list(self._clients.items()):
            if client.output:
                self._flush(sock)
            if sock not in self._clients:
                continue
            if client.closing and not client.output:
                self._drop(sock)
                continue
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.output else 0)
            self._selector.modify(sock, events)

    def _drop(self, sock: socket.socket) -> None:
        client = self._clients.pop(sock, None)
        if client is None:
            return
        try:
            self._selector.unregister(sock)
        except (KeyError, ValueError):
            pass
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        if client.connection is not None:
            client.connection.lost()
