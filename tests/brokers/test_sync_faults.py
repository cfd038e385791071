"""The blocking client when things go wrong on real brokers: a frozen broker, a killed broker,
a stopped broker with a failover partner, and TLS with the right and a wrong CA."""

from __future__ import annotations

import ssl
import time

import pytest

from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompConnectTimeout, StompHeartBeatTimeout
from stompest.sync import Stomp
from tests.brokers.test_sync_client import collect, connect, makeClient, sendAll


def test_frozenBrokerIsDetectedWithinTheHeartBeatTolerance(broker, brokerControl):
    client = connect(makeClient(broker), broker, heartBeats=(0, 500))
    try:
        bound = client.serverHeartBeat / 1000.0 * client.heartBeatTolerance
        brokerControl.freeze(broker)
        started = time.monotonic()
        with pytest.raises(StompHeartBeatTimeout):
            client.canRead(bound + 10)
        elapsed = time.monotonic() - started
        assert elapsed <= bound + 0.5, f'took {elapsed:.2f} s, tolerance allows {bound:.2f} s'
        assert client.session.state == 'disconnected'
    finally:
        client.close()


def test_brokerKilledWhileALargeFrameArrives(broker, brokerControl, destination):
    size = 48 * 1024 * 1024  # more than the socket buffers hold, so the broker is mid-frame
    producer = connect(makeClient(broker), broker)
    producer.send(destination, b'\x00' * size, receipt='big')
    collect(producer, ['big'], timeout=120)
    producer.disconnect()

    consumer = connect(makeClient(broker), broker)
    try:
        consumer.subscribe(destination, receipt='sub')
        collect(consumer, ['sub'])
        transport = consumer._transport  # white box: wait until the frame has begun to arrive
        deadline = time.monotonic() + 60
        while transport.bytesReceived == 0:
            assert time.monotonic() < deadline, 'the large frame never started to arrive'
            assert not transport.canRead(0.05)
        brokerControl.kill(broker)
        started = time.monotonic()
        with pytest.raises(StompConnectionError):
            while True:  # drain what the kernel still holds; no frame may come out of it
                assert not consumer.canRead(30), 'a partial frame came out as a frame'
        assert time.monotonic() - started < 30
        assert consumer.session.state == 'disconnected'
    finally:
        consumer.close()


def test_failoverToSecondBrokerReplaysSubscriptions(activemq, activemq2, brokerControl, destination):
    uri = activemq.failoverUri(activemq2, randomize=False, initialReconnectDelay=100, maxReconnectAttempts=6)
    client = connect(makeClient(activemq, uri=uri), activemq)
    try:
        assert client._transport.port == activemq.port
        client.subscribe(destination, {'ack': 'auto'}, receipt='sub')
        collect(client, ['sub'])
        brokerControl.stop(activemq)
        with pytest.raises(StompConnectionError):
            client.canRead(60)
        connect(client, activemq)
        assert client._transport.port == activemq2.port
        # the replayed subscription delivers what another client sends to the second broker
        other = connect(makeClient(activemq2), activemq2)
        sendAll(other, destination, [b'after failover'])
        other.disconnect()
        assert [m.body for m in collect(client, ['sub'], messages=1)] == [b'after failover']
    finally:
        client.close()


def tlsConfig(broker, caFile):
    return StompConfig(
        broker.sslUri,
        login=broker.login,
        passcode=broker.passcode,
        version='1.2',
        sslContext=ssl.create_default_context(cafile=caFile),
    )


def test_tlsWithTheBrokersCa(broker):
    client = Stomp(tlsConfig(broker, broker.caFile))
    connect(client, broker)
    try:
        client.send('/queue/stompest.test.tls', b'secure', receipt='tls')
        collect(client, ['tls'])
        assert isinstance(client._transport._socket, ssl.SSLSocket)
    finally:
        client.disconnect()


def test_tlsRefusesABrokerSignedByAnotherCa(broker, throwawayCa):
    client = Stomp(tlsConfig(broker, throwawayCa))
    with pytest.raises(StompConnectTimeout) as info:
        connect(client, broker)
    assert isinstance(info.value.__cause__, StompConnectionError)
    assert 'TLS certificate verification failed' in str(info.value.__cause__)
    assert isinstance(info.value.__cause__.__cause__, ssl.SSLCertVerificationError)
