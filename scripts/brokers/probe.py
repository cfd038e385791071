"""Readiness probe for scripts/brokers/brokers: one real STOMP CONNECT, standard library only.

Exit status 0 when the broker answers CONNECTED on the plain port (and, with --ca, on the TLS
port too); 1 otherwise, with the reason on stderr.
"""

import argparse
import os
import socket
import ssl
import sys

CONNECT = b'CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\nheart-beat:0,0\n\n\x00'


def connectFrame(sock: socket.socket, deadline: float) -> bytes:
    """Send CONNECT and return the command line of the broker's first frame."""
    sock.settimeout(deadline)
    sock.sendall(CONNECT)
    data = b''
    while b'\x00' not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError(f'connection closed after {len(data)} bytes: {data[:200]!r}')
        data += chunk
        if len(data) > 1 << 20:
            raise ConnectionError('no frame end within 1 MiB')
    frame = data.lstrip(b'\r\n').split(b'\x00', 1)[0]
    command = frame.split(b'\n', 1)[0].rstrip(b'\r')
    if command != b'CONNECTED':
        raise ConnectionError(f'got {frame[:300]!r}')
    try:
        sock.sendall(b'DISCONNECT\n\n\x00')
    except OSError:
        pass
    return frame


def probe(host: str, port: int, timeout: float, context: ssl.SSLContext | None = None) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as raw:
        if context is None:
            return connectFrame(raw, timeout)
        with context.wrap_socket(raw, server_hostname='localhost') as sock:
            return connectFrame(sock, timeout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--ssl-port', type=int)
    parser.add_argument('--ca', help='CA file for the TLS port; without it the TLS port is not probed')
    parser.add_argument('--timeout', type=float, default=5.0)
    parser.add_argument('--verbose', action='store_true', help='print the CONNECTED frames')
    args = parser.parse_args()
    targets = [(args.port, None)]
    if args.ssl_port and args.ca and os.path.exists(args.ca):
        targets.append((args.ssl_port, ssl.create_default_context(cafile=args.ca)))
    for port, context in targets:
        kind = 'stomp+ssl' if context else 'stomp'
        try:
            frame = probe(args.host, port, args.timeout, context)
        except (OSError, ssl.SSLError) as exc:
            print(f'{kind} {args.host}:{port}: {type(exc).__name__}: {exc}', file=sys.stderr)
            return 1
        if args.verbose:
            print(f'{kind} {args.host}:{port}: {frame.decode(errors="replace")!r}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
