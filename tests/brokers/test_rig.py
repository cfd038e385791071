"""The broker rig itself: each broker answers STOMP, over TCP and TLS, and delivers a message.

Only the standard library talks to the brokers here (no stompest), so a failure points at the
rig, not at the client.
"""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from tests.brokers.conftest import BrokerControl, BrokerInfo

TIMEOUT = 10.0


class RawStomp:
    """Just enough STOMP over a socket to check a broker: write frames, read whole frames."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.sock.settimeout(TIMEOUT)
        self.buffer = b''

    def send(self, command: str, headers: dict[str, str] | None = None, body: bytes = b'') -> None:
        lines = [command, *(f'{key}:{value}' for key, value in (headers or {}).items())]
        self.sock.sendall('\n'.join(lines).encode() + b'\n\n' + body + b'\x00')

    def receive(self) -> tuple[str, dict[str, str], bytes]:
        """The next frame as (command, headers, body); EOLs between frames are skipped."""
        while True:
            self.buffer = self.buffer.lstrip(b'\r\n')
            head, sep, rest = self.buffer.partition(b'\n\n')
            if sep:
                lines = head.decode().split('\n')
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    key, _, value = line.partition(':')
                    headers.setdefault(key, value)
                if 'content-length' in headers:
                    length = int(headers['content-length'])
                    if len(rest) > length:
                        self.buffer = rest[length + 1 :]
                        return lines[0], headers, rest[:length]
                elif b'\x00' in rest:
                    body, _, self.buffer = rest.partition(b'\x00')
                    return lines[0], headers, body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f'connection closed; buffered: {self.buffer[:300]!r}')
            self.buffer += chunk

    def connect(self, broker: BrokerInfo) -> dict[str, str]:
        headers = {'accept-version': '1.2', 'host': broker.vhost or 'localhost', 'heart-beat': '0,0'}
        if broker.login is not None:
            headers.update(login=broker.login, passcode=broker.passcode or '')
        self.send('CONNECT', headers)
        command, headers, body = self.receive()
        assert command == 'CONNECTED', (command, headers, body[:500])
        return headers

    def close(self) -> None:
        try:
            self.send('DISCONNECT')
        except OSError:
            pass
        self.sock.close()


def plain(broker: BrokerInfo) -> RawStomp:
    return RawStomp(socket.create_connection((broker.host, broker.port), timeout=TIMEOUT))


def tls(broker: BrokerInfo, caFile: str) -> RawStomp:
    context = ssl.create_default_context(cafile=caFile)
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    raw = socket.create_connection((broker.host, broker.sslPort), timeout=TIMEOUT)
    try:
        return RawStomp(context.wrap_socket(raw, server_hostname='localhost'))
    except BaseException:
        raw.close()
        raise


@pytest.fixture(params=['activemq', 'activemq2', 'rabbitmq'], ids=['activemq', 'activemq2', 'rabbitmq'])
def anyBroker(request: pytest.FixtureRequest) -> BrokerInfo:
    return request.getfixturevalue(request.param)


def test_connectsOverTcpWithVersion12(anyBroker):
    client = plain(anyBroker)
    try:
        headers = client.connect(anyBroker)
    finally:
        client.close()
    assert headers['version'] == '1.2'
    assert headers['server'].startswith(anyBroker.quirks['server'])


def test_connectsOverTlsWithHostnameCheck(anyBroker):
    client = tls(anyBroker, anyBroker.caFile)
    try:
        assert client.sock.version() in ('TLSv1.2', 'TLSv1.3')
        headers = client.connect(anyBroker)
    finally:
        client.close()
    assert headers['version'] == '1.2'


def test_refusesTlsWithWrongCa(anyBroker, activemq, rabbitmq):
    wrongCa = (rabbitmq if anyBroker.name != 'rabbitmq' else activemq).caFile
    with pytest.raises(ssl.SSLCertVerificationError):
        tls(anyBroker, wrongCa)


def test_deliversSentMessageToSubscriber(anyBroker, destination):
    client = plain(anyBroker)
    try:
        client.connect(anyBroker)
        body = f'hello {anyBroker.name}'.encode()
        client.send('SEND', {'destination': destination, 'receipt': 'sent', 'content-length': str(len(body))}, body)
        assert client.receive()[:2] == ('RECEIPT', {'receipt-id': 'sent'})
        client.send('SUBSCRIBE', {'destination': destination, 'id': '1', 'ack': 'auto', 'receipt': 'subscribed'})
        assert client.receive()[:2] == ('RECEIPT', {'receipt-id': 'subscribed'})
        command, headers, received = client.receive()
    finally:
        client.close()
    assert (command, received) == ('MESSAGE', body)
    assert headers['destination'] == destination
    assert headers['subscription'] == '1'


def test_brokerFixtureNamesTheBroker(broker):
    assert broker.name in ('activemq', 'rabbitmq')
    assert broker.uri == f'tcp://127.0.0.1:{broker.port}'
    assert broker.sslUri == f'ssl://localhost:{broker.sslPort}'
    assert broker.pids, 'the script recorded no live pid'


def test_destinationIsFreshQueue(destination):
    assert destination.startswith('/queue/stompest.test.') and len(destination) == len('/queue/stompest.test.') + 32


def test_failoverUriListsBothActivemqInstances(activemq, activemq2):
    assert activemq.failoverUri(activemq2, randomize=False, maxReconnectAttempts=3) == (
        f'failover:(tcp://127.0.0.1:{activemq.port},tcp://127.0.0.1:{activemq2.port})?randomize=false&maxReconnectAttempts=3'
    )


def test_frozenBrokerStopsAnsweringUntilThawed(activemq2, brokerControl: BrokerControl):
    brokerControl.freeze(activemq2)
    assert brokerControl.status(activemq2) == 'frozen'
    client = RawStomp(socket.create_connection((activemq2.host, activemq2.port), timeout=TIMEOUT))
    client.sock.settimeout(1.0)
    try:
        client.send('CONNECT', {'accept-version': '1.2', 'host': 'localhost'})
        with pytest.raises(socket.timeout):
            client.receive()
        brokerControl.thaw(activemq2)
        client.sock.settimeout(TIMEOUT)
        assert client.receive()[0] == 'CONNECTED'
    finally:
        client.sock.close()


def test_killedBrokerIsRestartedAtTeardown(activemq2, brokerControl: BrokerControl):
    before = activemq2.pids
    brokerControl.kill(activemq2)
    deadline = time.monotonic() + TIMEOUT
    while activemq2.pids and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not activemq2.pids, f'{before} still alive after SIGKILL'
    with pytest.raises(OSError):
        socket.create_connection((activemq2.host, activemq2.port), timeout=TIMEOUT).close()
    brokerControl.restore()  # what the fixture's teardown does
    assert activemq2.pids and activemq2.pids != before
    client = plain(activemq2)
    try:
        assert client.connect(activemq2)['version'] == '1.2'
    finally:
        client.close()
