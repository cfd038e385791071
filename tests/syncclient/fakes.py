"""Fakes for the blocking client: a broker at the socket level, a clock and a sleep recorder.

The client under test runs its real transport; only the TCP connect is replaced. Each accepted
"connection" is a :func:`socket.socketpair`: the client gets one end, the test keeps the other
(:class:`Peer`) to read what the client sent and write what the broker says.
"""

from __future__ import annotations

import select
import socket
import threading

from stompest.config import StompConfig
from stompest.protocol.frame import StompFrame
from stompest.protocol.parser import StompParser
from stompest.sync import Stomp
from stompest.sync.transport import StompFrameTransport


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def connected(version: str = '1.2', heartBeat: str | None = None, session: str = 's1') -> bytes:
    """The bytes of a CONNECTED frame."""
    headers = {'version': version, 'session': session, 'server': 'fake/1'}
    if heartBeat is not None:
        headers['heart-beat'] = heartBeat
    return bytes(StompFrame('CONNECTED', headers, version='1.0')) + b'\n'


def wire(command: str, headers: dict[str, str], body: bytes = b'', version: str = '1.2') -> bytes:
    """The bytes of a broker frame in ``version``, with the EOL brokers put after the NUL."""
    return bytes(StompFrame(command, headers, body, version=version)) + b'\n'


class Peer:
    """The broker's end of one connection."""

    def __init__(self, sock: socket.socket, clientSock: socket.socket, address: tuple[str, int]) -> None:
        self.sock = sock
        self.clientSock = clientSock
        self.address = address
        self._parser = StompParser('1.2')  # reads what the client sends, whatever version

    def write(self, data: bytes) -> None:
        self.sock.sendall(data)

    def writeInBackground(self, data: bytes) -> threading.Thread:
        """Write more than the socket buffer holds while the client reads."""
        thread = threading.Thread(target=self.sock.sendall, args=(data,), daemon=True)
        thread.start()
        return thread

    def read(self, timeout: float = 0.0) -> bytes:
        """The bytes the client sent that arrived by now (and were not read before)."""
        chunks = []
        while select.select([self.sock], [], [], timeout)[0]:
            data = self.sock.recv(1 << 20)
            if not data:
                break
            chunks.append(data)
            timeout = 0.0
        return b''.join(chunks)

    def frames(self, timeout: float = 0.0) -> list:
        """The frames the client sent that arrived by now. (The parser takes the EOL right after
        a frame as part of it; use :meth:`read` to see heart-beats.)"""
        self._parser.add(self.read(timeout))
        return list(iter(self._parser.get, StompParser.SENTINEL))

    def closedByClient(self) -> bool:
        """Whether the client's end is closed (its fd released)."""
        return self.clientSock.fileno() == -1

    def close(self) -> None:
        self.sock.close()


class FakeNetwork:
    """Hands out connections by plan: each attempt pops the next entry.

    An entry is an exception (raised by the connect), or the bytes the broker has sent by the
    time the client reads (usually a CONNECTED frame; ``b''`` for a broker that stays silent).
    Append ``CLOSE`` after the bytes (as a tuple ``(bytes, CLOSE)``) for a broker that hangs up.
    """

    CLOSE = 'close'

    def __init__(self, *plan: object) -> None:
        self.plan = list(plan)
        self.attempts: list[tuple[tuple[str, int], float | None]] = []
        self.peers: list[Peer] = []

    def connector(self, address: tuple[str, int], timeout: float | None = None) -> socket.socket:
        self.attempts.append((address, timeout))
        entry = self.plan.pop(0) if self.plan else connected()
        if isinstance(entry, BaseException):
            raise entry
        close = False
        if isinstance(entry, tuple):
            entry, close = entry[0], entry[1] == self.CLOSE
        clientSock, brokerSock = socket.socketpair()
        peer = Peer(brokerSock, clientSock, address)
        self.peers.append(peer)
        if entry:
            brokerSock.sendall(entry)
        if close:
            brokerSock.close()
        return clientSock

    def transportFactory(self, *args: object, **kwargs: object) -> StompFrameTransport:
        return StompFrameTransport(*args, connector=self.connector, **kwargs)  # type: ignore[arg-type]

    def close(self) -> None:
        for peer in self.peers:
            peer.close()
            peer.clientSock.close()


def makeClient(
    network: FakeNetwork, uri: str = 'tcp://broker.test:61613', **kwargs: object
) -> tuple[Stomp, list[float], FakeClock]:
    """A client on ``network`` with a recorded sleep and a fake clock."""
    configKeys = ('login', 'passcode', 'version', 'check', 'sslContext')
    config = StompConfig(uri, **{k: kwargs.pop(k) for k in configKeys if k in kwargs})  # type: ignore[arg-type]
    sleeps: list[float] = []
    clock = kwargs.pop('clock', None) or FakeClock()
    kwargs.setdefault('wallClock', clock)  # one fake clock for the deadlines and lastSent/lastReceived
    client = Stomp(config, sleep=sleeps.append, clock=clock, transportFactory=network.transportFactory, **kwargs)  # type: ignore[arg-type]
    return client, sleeps, clock  # type: ignore[return-value]


class AutoBroker:
    """A broker thread for the publisher tests: answers CONNECT and receipts on every connection.

    :param dropAfterSends: hang up (without a receipt) on receiving this many SENDs in total
        (``None``: never).
    :param answerReceipts: send RECEIPTs at all.
    :param refuse: answer a SEND to this destination with an ERROR frame instead of a receipt.
    """

    def __init__(
        self, dropAfterSends: int | None = None, answerReceipts: bool = True, refuse: str | None = None
    ) -> None:
        self.dropAfterSends = dropAfterSends
        self.answerReceipts = answerReceipts
        self.refuse = refuse
        self.received: list[tuple[int, StompFrame]] = []  # (connection number, frame)
        self.connections = 0
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []

    def connector(self, address: tuple[str, int], timeout: float | None = None) -> socket.socket:
        clientSock, brokerSock = socket.socketpair()
        with self._lock:
            number = self.connections
            self.connections += 1
            self._socks.append(brokerSock)
        thread = threading.Thread(target=self._serve, args=(brokerSock, number), daemon=True)
        self._threads.append(thread)
        thread.start()
        return clientSock

    def transportFactory(self, *args: object, **kwargs: object) -> StompFrameTransport:
        return StompFrameTransport(*args, connector=self.connector, **kwargs)  # type: ignore[arg-type]

    def sends(self) -> list[StompFrame]:
        return [frame for (_, frame) in self.received if frame.command == 'SEND']

    def _serve(self, sock: socket.socket, number: int) -> None:
        parser = StompParser()
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    return
                parser.add(data)
                for frame in iter(parser.get, StompParser.SENTINEL):
                    if not isinstance(frame, StompFrame):
                        continue
                    with self._lock:
                        self.received.append((number, frame))
                        sends = sum(1 for (_, f) in self.received if f.command == 'SEND')
                    if frame.command == 'CONNECT':
                        sock.sendall(connected('1.2'))
                        parser.version = '1.2'
                    elif frame.command == 'SEND' and self.dropAfterSends is not None and sends == self.dropAfterSends:
                        sock.close()
                        return
                    elif frame.command == 'SEND' and frame.headers.get('destination') == self.refuse:
                        sock.sendall(wire('ERROR', {'message': f'refused {self.refuse}'}))
                    elif 'receipt' in frame.headers and self.answerReceipts:
                        sock.sendall(wire('RECEIPT', {'receipt-id': frame.headers['receipt']}))
        except OSError:
            return

    def join(self, timeout: float = 5.0) -> None:
        """Wait until every connection's thread saw the client hang up."""
        for thread in self._threads:
            thread.join(timeout)

    def close(self) -> None:
        for sock in self._socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(5)
