"""The socket under the blocking client: connect (TCP or TLS), send frames, read frames.

:class:`StompFrameTransport` owns one socket and one :class:`~stompest.protocol.parser.StompParser`.
It knows nothing about sessions, heart-beat intervals or failover; :class:`stompest.sync.Stomp`
does. Reads are driven by :func:`select.select` and never block past the timeout the caller
gives: bytes of a frame that is still incomplete when the time is up stay in the parser's buffer
for the next call.

Every failure of the socket (refused, reset, closed by the peer, a TLS handshake that fails
verification) is raised as :class:`~stompest.error.StompConnectionError`, chained from the
original :class:`OSError`, and the socket is closed.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from stompest.error import StompConnectionError
from stompest.protocol.commands import errorText
from stompest.protocol.failover import brokerUri
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser

__all__ = ['StompFrameTransport', 'MAX_WAIT', 'clampWait', 'errorText', 'brokerUri']

log = logging.getLogger(__name__)

#: How many bytes one ``recv`` asks for.
DEFAULT_READ_SIZE = 256 * 1024

#: The longest a single ``select``/socket timeout may be (seconds). Longer waits (an absurd
#: heart-beat interval a broker negotiated, ``float('inf')``) are done as several of these:
#: ``select`` raises a bare :class:`OverflowError` for values past what the OS can represent.
MAX_WAIT = 3600.0


def clampWait(seconds: float) -> float:
    """``seconds`` limited to ``[0, MAX_WAIT]`` (NaN counts as 0): safe for ``select`` and ``settimeout``."""
    if not seconds > 0.0:
        return 0.0
    return seconds if seconds < MAX_WAIT else MAX_WAIT


class StompFrameTransport:
    """One connection to one broker.

    :param host: the broker's host name or address.
    :param port: the broker's port.
    :param sslContext: ``None`` for plain TCP; otherwise the :class:`ssl.SSLContext` that wraps
        the socket (the host name given to it as ``server_hostname`` is ``host``).
    :param version: the STOMP version whose parsing rules apply until :meth:`setVersion` is called.
    :param parserFactory: makes the parser, called with the version (default
        :class:`~stompest.protocol.parser.StompParser`).
    :param clock: a monotonic clock in seconds, used to measure the time left of a timeout.
    :param readSize: how many bytes one ``recv`` asks for.
    :param connector: opens the TCP connection, called as ``connector((host, port), timeout)``
        (default :func:`socket.create_connection`; tests hand in one end of a socket pair).
    """

    def __init__(
        self,
        host: str,
        port: int,
        sslContext: ssl.SSLContext | None = None,
        *,
        version: str | None = None,
        parserFactory: Callable[[str | None], Any] | None = None,
        clock: Callable[[], float] = time.monotonic,
        readSize: int = DEFAULT_READ_SIZE,
        connector: Callable[..., socket.socket] = socket.create_connection,
    ) -> None:
        self.host = host
        self.port = port
        self._sslContext = sslContext
        self._parser = (StompParser if parserFactory is None else parserFactory)(version)
        self._clock = clock
        self._readSize = readSize
        self._connector = connector
        self._socket: socket.socket | None = None
        #: How many bytes have arrived so far (any byte counts as a sign of life for heart-beats).
        self.bytesReceived = 0

    def __str__(self) -> str:
        protocol = 'tcp' if self._sslContext is None else 'ssl'
        return brokerUri({'protocol': protocol, 'host': self.host, 'port': self.port})

    @property
    def connected(self) -> bool:
        """Whether the socket is open."""
        return self._connected()

    def _connected(self) -> bool:
        return self._socket is not None

    def connect(self, timeout: float | None = None) -> None:
        """Open the TCP connection (and do the TLS handshake for ``ssl://`` brokers).

        :param timeout: seconds the TCP connect and the TLS handshake may take; ``None`` waits
            as long as the operating system does.
        :raises StompConnectionError: the broker cannot be reached, or TLS verification failed.
        """
        if timeout is not None:
            timeout = clampWait(timeout)
        try:
            sock = self._connector((self.host, self.port), timeout)
        except OSError as exc:
            raise StompConnectionError(f'Could not connect to {self}: {_reason(exc)}') from exc
        if self._sslContext is not None:
            try:
                sock = self._sslContext.wrap_socket(sock, server_hostname=self.host)
            except ssl.SSLCertVerificationError as exc:
                sock.close()
                raise StompConnectionError(
                    f'TLS certificate verification failed for {self}: {exc.verify_message or exc.reason}'
                ) from exc
            except OSError as exc:
                sock.close()
                raise StompConnectionError(f'TLS handshake with {self} failed: {_reason(exc)}') from exc
        sock.settimeout(None)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:  # pragma: no cover - not a TCP socket (tests may hand in other kinds)
            pass
        self._socket = sock

    def setVersion(self, version: str) -> None:
        """Apply the rules of ``version`` to the frames not yet returned (after CONNECTED)."""
        self._parser.version = version

    def send(self, frame: StompFrame | StompHeartBeat) -> None:
        """Write a whole frame (or heart-beat) to the socket.

        :raises StompConnectionError: the connection is closed or broke while writing.
        """
        sock = self._checkOpen()
        data = bytes(frame)
        try:
            sock.settimeout(None)
            sock.sendall(data)
        except OSError as exc:
            self.close()
            raise StompConnectionError(f'Connection to {self} lost while sending: {_reason(exc)}') from exc

    def canRead(self, timeout: float | None = None) -> bool:
        """Whether a frame or heart-beat can be taken with :meth:`receive` without waiting.

        Waits at most ``timeout`` seconds (``None``: until one is there) for one to arrive.
        A frame still incomplete when the time is up stays buffered. Any timeout is safe: each
        ``select`` waits at most :data:`MAX_WAIT`, and the loop goes on until the deadline.

        :raises StompConnectionError: the connection was closed or broke (also in the middle of
            a frame).
        """
        parser = self._parser
        if parser.canRead():
            return True
        sock = self._checkOpen()
        deadline = None if timeout is None else self._clock() + max(timeout, 0.0)
        while True:
            if not (isinstance(sock, ssl.SSLSocket) and sock.pending()):
                remaining = MAX_WAIT if deadline is None else clampWait(deadline - self._clock())
                try:
                    readable, _, _ = select.select([sock], [], [], remaining)
                except (OSError, ValueError) as exc:
                    self.close()
                    raise StompConnectionError(f'Connection to {self} lost: {exc}') from exc
                if not readable:
                    if deadline is not None and self._clock() >= deadline:
                        return False
                    continue
            if self._read(sock) and parser.canRead():
                return True
            if deadline is not None and self._clock() >= deadline:
                return False

    def receive(self) -> StompFrame | StompHeartBeat:
        """The next frame or heart-beat; reads (blocking, without limit) until one is there.

        :raises StompConnectionError: the connection is closed or broke (the socket is closed).
        """
        parser = self._parser
        while True:
            item = parser.get()
            if item is not None:
                return item
            self._read(self._checkOpen(close=True), blocking=True)

    def close(self) -> None:
        """Close the socket (harmless when already closed) and forget buffered bytes."""
        sock, self._socket = self._socket, None
        self._parser.reset()
        if sock is None:
            return
        try:
            sock.close()
        except OSError:  # pragma: no cover - closing a broken socket
            pass

    def _checkOpen(self, close: bool = False) -> socket.socket:
        if not self._connected() or self._socket is None:
            if close:
                self.close()
            raise StompConnectionError(f'Not connected to {self}')
        return self._socket

    def _read(self, sock: socket.socket, blocking: bool = False) -> bool:
        """One ``recv`` (non-blocking unless ``blocking``); True when bytes arrived."""
        try:
            sock.settimeout(None if blocking else 0.0)
            data = sock.recv(self._readSize)
        except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False  # e.g. half a TLS record: wait for the rest
        except OSError as exc:
            self.close()
            raise StompConnectionError(f'Connection to {self} lost: {_reason(exc)}') from exc
        if not data:
            self.close()
            raise StompConnectionError(f'Connection closed by {self}')
        self.bytesReceived += len(data)
        self._parser.add(data)
        return True


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__
