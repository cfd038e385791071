"""stompest.twisted over TLS against the real brokers: the broker's certificate and host name are
verified (by default and with the CA given as ``sslContext``), and a broker that fails either check
is refused before any STOMP frame is sent.
"""

from __future__ import annotations

import pytest
import pytest_twisted
from twisted.internet import reactor
from twisted.internet.ssl import Certificate, optionsForClientTLS

from stompest.config import StompConfig
from stompest.error import StompConnectionError
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener
from tests.brokers.test_twisted_client import WAIT, Collector

pytestmark = pytest.mark.broker


def tlsConfig(broker, sslContext, uri=None) -> StompConfig:
    # One attempt only, so a refused handshake fails the connect at once.
    uri = uri or f'failover:({broker.sslUri})?startupMaxReconnectAttempts=0'
    return StompConfig(
        uri, login=broker.login, passcode=broker.passcode, version=StompSpec.VERSION_1_2, sslContext=sslContext
    )


def connecting(broker, config) -> object:
    client = Stomp(config, reactor=reactor, receiptTimeout=WAIT)
    return client, client.connect(host=broker.vhost, connectTimeout=WAIT, connectedTimeout=WAIT)


@pytest_twisted.inlineCallbacks
def test_roundTripOverTlsTrustingTheBrokersCa(broker, destination):
    client, connected = connecting(broker, tlsConfig(broker, broker.caFile))
    yield connected
    collector = Collector()
    yield client.subscribe(
        destination,
        {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL},
        receipt='subscribed',
        listener=SubscriptionListener(collector),
    )
    yield client.send(destination, b'over TLS \x00 with a NUL', receipt='sent')
    yield collector.waitFor(1)
    assert collector.bodies == [b'over TLS \x00 with a NUL']
    yield client.disconnect(receipt='bye')
    yield client.disconnected


@pytest_twisted.inlineCallbacks
def test_brokerSignedByAnotherCaIsRefused(broker, throwawayCa):
    client, connected = connecting(broker, tlsConfig(broker, throwawayCa))
    with pytest.raises(StompConnectionError, match='certificate verify failed'):
        yield connected
    assert client.session.state == 'disconnected'


@pytest_twisted.inlineCallbacks
def test_hostNameTheCertificateDoesNotNameIsRefused(broker):
    with open(broker.caFile, 'rb') as pem:
        trustRoot = Certificate.loadPEM(pem.read())
    # The right CA, but the name to check is not one the broker's certificate carries.
    creator = optionsForClientTLS('not-the-broker.invalid', trustRoot=trustRoot)
    client, connected = connecting(broker, tlsConfig(broker, creator))
    with pytest.raises(StompConnectionError, match='DNSMismatch'):
        yield connected
    assert client.session.state == 'disconnected'
