"""Raw-socket STOMP helpers for the pipeline tests and benchmark: pre-load a queue with numbered
persistent messages and drain a queue counting them, without the client library under test."""

from __future__ import annotations

import select
import socket
import time
from collections import Counter
from dataclasses import dataclass

from stompest.protocol.frame import StompFrame
from stompest.protocol.parser import StompParser


class RawStomp:
    """One STOMP 1.2 connection over a plain blocking socket."""

    def __init__(
        self,
        host: str,
        port: int,
        login: str | None = None,
        passcode: str | None = None,
        vhost: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.parser = StompParser('1.2')
        self.stash: list[StompFrame] = []  # frames waitReceipt() read past, for next()
        headers = {'accept-version': '1.2', 'host': vhost or host}
        if login is not None:
            headers.update(login=login, passcode=passcode or '')
        self.send(bytes(StompFrame('CONNECT', headers, version='1.2')))
        connected = self.next(timeout)
        if connected is None or connected.command != 'CONNECTED':
            raise ConnectionError(f'no CONNECTED from {host}:{port}: {connected!r}')

    @classmethod
    def to(cls, broker, timeout: float = 30.0) -> RawStomp:
        """Connect to a :class:`tests.brokers.conftest.BrokerInfo`."""
        return cls(broker.host, broker.port, broker.login, broker.passcode, broker.vhost, timeout)

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def next(self, timeout: float) -> StompFrame | None:
        """The next frame (heart-beats skipped), or ``None`` after ``timeout`` s of nothing."""
        if self.stash:
            return self.stash.pop(0)
        deadline = time.monotonic() + timeout
        while True:
            frame = self.parser.get()
            while frame is not StompParser.SENTINEL and not isinstance(frame, StompFrame):
                frame = self.parser.get()
            if frame is not StompParser.SENTINEL:
                return frame
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                return None
            data = self.sock.recv(1 << 20)
            if not data:
                raise ConnectionError('connection closed by the broker')
            self.parser.add(data)

    def waitReceipt(self, receipt: str, timeout: float = 60.0) -> None:
        """Read until that RECEIPT; the frames read past it stay for :meth:`next`."""
        deadline = time.monotonic() + timeout
        later: list[StompFrame] = []
        try:
            self._waitReceipt(receipt, deadline, timeout, later)
        finally:
            self.stash[:0] = later

    def _waitReceipt(self, receipt: str, deadline: float, timeout: float, later: list[StompFrame]) -> None:
        while True:
            frame = self.next(max(0.0, deadline - time.monotonic()))
            if frame is None:
                raise TimeoutError(f'no RECEIPT {receipt!r} within {timeout} s')
            if frame.command == 'ERROR':
                raise ConnectionError(f'ERROR from the broker: {frame.info()}')
            if frame.command == 'RECEIPT' and frame.headers.get('receipt-id') == receipt:
                return
            later.append(frame)

    def close(self) -> None:
        try:
            self.send(b'DISCONNECT\n\n\x00')
        except OSError:
            pass
        self.sock.close()


def sendFrame(destination: str, seq: int, size: int, receipt: str | None = None) -> bytes:
    body = (f'{seq:08d}' + 'x' * max(0, size - 8)).encode()
    head = f'SEND\ndestination:{destination}\npersistent:true\nseq:{seq}\ncontent-length:{len(body)}\n'
    if receipt is not None:
        head += f'receipt:{receipt}\n'
    return head.encode() + b'\n' + body + b'\x00'


def preload(broker, destination: str, count: int, size: int = 100, chunk: int = 500) -> float:
    """Put ``count`` persistent messages numbered by a ``seq`` header (0 ...) on ``destination``;
    each chunk ends with a SEND asking for a receipt, awaited before the next (so every message
    is confirmed, on RabbitMQ too). Returns the seconds it took."""
    started = time.monotonic()
    raw = RawStomp.to(broker)
    try:
        for first in range(0, count, chunk):
            last = min(count, first + chunk) - 1
            data = b''.join(
                sendFrame(destination, seq, size, receipt=f'pre-{seq}' if seq == last else None)
                for seq in range(first, last + 1)
            )
            raw.send(data)
            raw.waitReceipt(f'pre-{last}')
    finally:
        raw.close()
    return time.monotonic() - started


@dataclass
class Tally:
    """What a drain found: how many messages, how many distinct ``seq`` values, repeats."""

    received: int
    distinct: int
    duplicates: int  # messages beyond the first of their seq
    missing: int  # seqs of range(expected) never seen
    seconds: float
    seqs: frozenset[int] = frozenset()


def drain(broker, destination: str, expected: int, idle: float = 2.0, timeout: float = 120.0) -> Tally:
    """Consume ``destination`` (client-individual acks, prefetch 1000) until ``idle`` s pass with
    nothing new, counting ``seq`` headers against ``range(expected)``."""
    started = time.monotonic()
    counts: Counter[int] = Counter()
    raw = RawStomp.to(broker)
    try:
        raw.send(
            bytes(
                StompFrame(
                    'SUBSCRIBE',
                    {
                        'destination': destination,
                        'id': 'drain',
                        'ack': 'client-individual',
                        'activemq.prefetchSize': '1000',
                        'prefetch-count': '1000',
                    },
                    version='1.2',
                )
            )
        )
        acks: list[bytes] = []
        while time.monotonic() - started < timeout:
            frame = raw.next(idle)
            if frame is None:
                break
            if frame.command != 'MESSAGE':
                continue
            counts[int(frame.headers['seq'])] += 1
            acks.append(b'ACK\nid:' + frame.headers['ack'].replace(':', '\\c').encode() + b'\n\n\x00')
            if len(acks) >= 100:
                raw.send(b''.join(acks))
                acks.clear()
        if acks:
            raw.send(b''.join(acks))
    finally:
        raw.close()
    received = sum(counts.values())
    return Tally(
        received=received,
        distinct=len(counts),
        duplicates=received - len(counts),
        missing=sum(1 for seq in range(expected) if seq not in counts),
        seconds=time.monotonic() - started,
        seqs=frozenset(counts),
    )
