"""StompProtocol: frames in order, re-entrancy, pausing; endpoints and TLS; error-destination headers."""

from __future__ import annotations

import ssl

import pytest
from twisted.internet import interfaces
from twisted.internet.error import ConnectingCancelledError
from twisted.internet.testing import StringTransport

from stompest.error import StompFrameError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.twisted.protocol import StompFactory
from stompest.twisted.util import clientTLSCreator, defaultEndpointFactory, describeFailure, errorDestinationHeaders

from .helpers import StaticResolver, failureOf

WIRE = b'MESSAGE\nmessage-id:1\n\none\x00\nMESSAGE\nmessage-id:2\n\ntwo\x00\n\nMESSAGE\nmessage-id:3\n\nthree\x00'


def connectedProtocol():
    protocol = StompFactory().buildProtocol(None)
    protocol.parser.version = '1.1'  # WIRE has a heart-beat: 1.0 has none (its EOLs are skipped)
    transport = StringTransport()
    protocol.makeConnection(transport)
    frames, lost = [], []
    protocol.onFrame = frames.append
    protocol.onConnectionLost = lambda p, reason: lost.append(reason)
    return protocol, transport, frames, lost


@pytest.mark.parametrize('chunk', [None, 1, 7])
def test_framesAndHeartBeatsInOrderWhateverTheChunking(chunk):
    protocol, transport, frames, lost = connectedProtocol()
    pieces = [WIRE] if chunk is None else [WIRE[i : i + chunk] for i in range(0, len(WIRE), chunk)]
    for piece in pieces:
        protocol.dataReceived(piece)
    assert [f.body if isinstance(f, StompFrame) else None for f in frames] == [b'one', b'two', None, b'three']
    assert isinstance(frames[2], StompHeartBeat)


def test_closingFromAFrameCallbackStopsTheLoop():
    protocol, transport, frames, lost = connectedProtocol()

    def onFrame(frame):
        frames.append(frame)
        protocol.close(RuntimeError('enough'))

    protocol.onFrame = onFrame
    protocol.dataReceived(WIRE)
    assert len(frames) == 1
    assert lost[0].check(RuntimeError)
    assert transport.disconnecting
    protocol.connectionLost(None)  # what the transport reports later is ignored
    assert len(lost) == 1


def test_bytesDeliveredFromInsideACallbackKeepTheOrder():
    protocol, transport, frames, lost = connectedProtocol()
    first, second = WIRE[:20], WIRE[20:]

    def onFrame(frame):
        frames.append(frame)
        if len(frames) == 1:
            protocol.dataReceived(b'MESSAGE\nmessage-id:4\n\nfour\x00')

    protocol.onFrame = onFrame
    protocol.dataReceived(WIRE)
    assert [f.body if isinstance(f, StompFrame) else None for f in frames] == [b'one', b'two', None, b'three', b'four']
    assert first + second == WIRE


def test_pausingStopsTheTransportButFramesAlreadyReadAreStillHandedOver():
    # A RECEIPT already read must reach the client even while reading is paused: the handlers the
    # pause waits for may be waiting for it.
    protocol, transport, frames, lost = connectedProtocol()

    def onFrame(frame):
        frames.append(frame)
        protocol.pauseReading()

    protocol.onFrame = onFrame
    protocol.dataReceived(WIRE)
    assert len(frames) == 4 and transport.producerState == 'paused'
    assert protocol.paused
    protocol.resumeReading()
    assert transport.producerState == 'producing' and not protocol.paused
    assert len(frames) == 4


class WriteCounting(StringTransport):
    def __init__(self):
        super().__init__()
        self.writes = []

    def write(self, data):
        self.writes.append(data)
        super().write(data)


def test_framesSentWhileHandingOverAreWrittenTogetherInOrder():
    protocol = StompFactory().buildProtocol(None)
    transport = WriteCounting()
    protocol.makeConnection(transport)

    def onFrame(frame):
        if isinstance(frame, StompFrame):
            protocol.send(StompFrame('ACK', {'id': frame.headers['message-id']}))
            assert transport.writes == []  # not yet: the read is still being handled

    protocol.onFrame = onFrame
    protocol.dataReceived(WIRE)
    assert transport.writes == [b'ACK\nid:1\n\n\x00ACK\nid:2\n\n\x00ACK\nid:3\n\n\x00']
    protocol.send(StompHeartBeat())  # outside a read: written at once
    assert transport.writes[-1] == b'\n'


def test_aCloseWhileHandingOverWritesWhatWasSentBeforeIt():
    protocol = StompFactory().buildProtocol(None)
    transport = WriteCounting()
    protocol.makeConnection(transport)

    def onFrame(frame):
        protocol.send(StompFrame('DISCONNECT', {'receipt': 'bye'}))
        protocol.close()

    protocol.onFrame = onFrame
    protocol.dataReceived(WIRE)
    assert transport.writes == [b'DISCONNECT\nreceipt:bye\n\n\x00'] and transport.disconnecting


def test_garbageClosesWithStompFrameError():
    protocol, transport, frames, lost = connectedProtocol()
    protocol.dataReceived(b'nonsense\n\n\x00')
    assert lost[0].check(StompFrameError)
    assert frames == []


def test_framesBeforeGarbageInTheSameChunkAreDeliveredThenItCloses():
    protocol, transport, frames, lost = connectedProtocol()
    protocol.dataReceived(b'RECEIPT\nreceipt-id:r1\n\n\x00MESSAGE\nmessage-id:m1\n\nbody\x00nonsense\n\n\x00')
    assert [(frame.command, frame.body) for frame in frames] == [('RECEIPT', b''), ('MESSAGE', b'body')]
    assert lost[0].check(StompFrameError)


def resolving(reactor, **names):
    """Install a resolver on ``reactor`` that knows ``names`` (``broker_invalid`` is ``broker.invalid``)."""
    resolver = StaticResolver({name.replace('_', '.'): addresses for name, addresses in names.items()})
    reactor.installNameResolver(resolver)
    return resolver


def abandon(*connecting):
    """Cancel connects the test leaves pending: a HostnameEndpoint keeps a timer for its next address."""
    for each in connecting:
        each.cancel()
        failureOf(each, ConnectingCancelledError)


def test_defaultEndpointsConnectOnTheGivenReactor(reactor):
    resolver = resolving(reactor, broker_invalid=['192.0.2.7'])
    factory = defaultEndpointFactory(reactor)
    connecting = [
        factory({'protocol': 'tcp', 'host': 'broker.invalid', 'port': 61613}, timeout=3).connect(StompFactory()),
        factory({'protocol': 'tcp', 'host': '::1', 'port': 61613}).connect(StompFactory()),
        factory({'protocol': 'tcp', 'host': '127.0.0.1', 'port': 61615}).connect(StompFactory()),
    ]
    assert [(c[0], c[1], c[3]) for c in reactor.tcpClients] == [
        ('192.0.2.7', 61613, 3),
        ('::1', 61613, 30),
        ('127.0.0.1', 61615, 30),
    ]
    assert resolver.asked == ['broker.invalid']  # IP literals are not resolved
    abandon(*connecting)


def test_aHostNameThatResolvesOnlyToIPv6IsReached(reactor):
    resolving(reactor, v6only_invalid=['::1'])
    connecting = defaultEndpointFactory(reactor)({'protocol': 'tcp', 'host': 'v6only.invalid', 'port': 61613})
    attempt = connecting.connect(StompFactory())
    assert [c[:2] for c in reactor.tcpClients] == [('::1', 61613)]
    abandon(attempt)


def test_aHostNameWithIPv4AndIPv6AddressesTriesBoth(reactor):
    resolving(reactor, dual_invalid=['2001:db8::5', '192.0.2.5'])
    endpoint = defaultEndpointFactory(reactor)({'protocol': 'tcp', 'host': 'dual.invalid', 'port': 61613})
    attempt = endpoint.connect(StompFactory())
    reactor.advance(1)  # RFC 8305: the next address after the attempt delay
    assert sorted(c[0] for c in reactor.tcpClients) == ['192.0.2.5', '2001:db8::5']
    abandon(attempt)


def test_sslEndpointVerifiesTheHostNameByDefault(reactor):
    resolving(reactor, broker_example=['192.0.2.8'])
    endpoint = defaultEndpointFactory(reactor)({'protocol': 'ssl', 'host': 'broker.example', 'port': 61614})
    attempt = endpoint.connect(StompFactory())
    assert reactor.tcpClients[0][:2] == ('192.0.2.8', 61614)
    abandon(attempt)
    creator = clientTLSCreator(None, 'broker.example')
    assert interfaces.IOpenSSLClientConnectionCreator.providedBy(creator)
    assert creator._hostname == 'broker.example'  # the name the certificate must match


def test_sslContextRules(tmp_path):
    from twisted.internet.ssl import CertificateOptions

    options = CertificateOptions()
    assert clientTLSCreator(options, 'h') is options  # used as it is
    stdlib = ssl.create_default_context()
    assert interfaces.IOpenSSLClientConnectionCreator.providedBy(clientTLSCreator(stdlib, 'h'))
    empty = tmp_path / 'empty.pem'
    empty.write_text('no certificate here')
    with pytest.raises(ValueError, match='No PEM certificate'):
        clientTLSCreator(str(empty), 'h')
    with pytest.raises(TypeError, match='Unsupported sslContext'):
        clientTLSCreator(42, 'h')


def test_sslContextWithoutUsableCAIsRefusedRatherThanReplacedByThePlatformCAs():
    bare = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies, but trusts nothing
    with pytest.raises(ValueError, match='no CA certificate'):
        clientTLSCreator(bare, 'h')


def test_sslContextWithVerificationOffIsHonoured():
    from twisted.internet.ssl import CertificateOptions

    unverified = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    creator = clientTLSCreator(unverified, 'h')
    assert isinstance(creator, CertificateOptions)
    assert creator.verify is False


def test_errorDestinationHeaders():
    frame = StompFrame(
        'MESSAGE',
        {
            'destination': '/queue/a',
            'message-id': 'm',
            'subscription': 's',
            'ack': 'a',
            'redelivered': 'true',
            'content-type': 'text/plain',
            'x': 'y',
        },
        b'b',
        version='1.0',
    )
    headers = errorDestinationHeaders(frame, ValueError('bad \u00e9\nvalue'))
    assert headers == {
        'content-type': 'text/plain',
        'x': 'y',
        'original-destination': '/queue/a',
        'stompest-failure': 'ValueError: bad \\xe9 value',
    }
    assert describeFailure(RuntimeError()) == 'RuntimeError'
    assert len(describeFailure(RuntimeError('x' * 1000))) == 200
