"""The blocking client reconnecting on real brokers: what the next connect() keeps (host,
heart-beats: RabbitMQ refuses a CONNECT without its virtual host), the replayed subscription,
and ACKs of a frame from the lost connection, which must not be sent."""

from __future__ import annotations

import logging

import pytest

from stompest.error import StompConnectionError
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from tests.brokers.test_sync_client import TIMEOUT, collect, connect, makeClient, receive, sendAll


def loseConnection(client):
    """A DISCONNECT the session did not send: the broker closes, the client did not expect it."""
    client.sendFrame(StompFrame(StompSpec.DISCONNECT))
    with pytest.raises(StompConnectionError):
        while True:
            assert client.canRead(TIMEOUT), 'the broker did not close the connection'
            client.receiveFrame()
    assert client.session.state == 'disconnected'


def test_reconnectKeepsHostAndHeartBeatsReplaysAndDropsStaleAcks(broker, destination, caplog):
    client = connect(makeClient(broker), broker, heartBeats=(1000, 1000))  # host=broker.vhost ('/' on RabbitMQ)
    try:
        assert client.clientHeartBeat >= 1000 and client.serverHeartBeat >= 1000
        client.subscribe(destination, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL}, receipt='sub')
        collect(client, ['sub'])
        [old] = sendAll(client, destination, [b'handled before the loss'], messages=1)
        loseConnection(client)

        client.connect(connectedTimeout=10)  # docs/sync.rst's recovery: nothing else given again
        assert client.session.state == 'connected'
        assert (client.clientHeartBeat, client.serverHeartBeat) >= (1000, 1000)  # heart-beats kept
        with caplog.at_level(logging.WARNING, logger='stompest.sync.client'):
            client.ack(old)
            client.ack(old)  # and a second time: still not sent (it would ACK nothing, or the copy)
        assert sum('earlier connection' in r.getMessage() for r in caplog.records) == 2

        # The replayed subscription gets the redelivered copy (and no ERROR for a stale ACK id).
        [again] = collect(client, ['sub'], messages=1)
        assert again.body == b'handled before the loss'
        client.ack(again, receipt='acked')
        collect(client, ['acked'])
        client.disconnect(receipt='bye')
        assert [frame.command for frame in client] == ['RECEIPT']

        checker = connect(makeClient(broker), broker)
        try:
            checker.subscribe(destination, {StompSpec.ACK_HEADER: StompSpec.ACK_AUTO}, receipt='check')
            collect(checker, ['check'])
            assert not checker.canRead(1.0), receive(checker).info()  # the ACK of the copy took effect
        finally:
            checker.disconnect()
    finally:
        client.close()


def test_reconnectWithNewArgumentsUsesThem(broker, destination):
    client = connect(makeClient(broker), broker, heartBeats=(1000, 1000))
    try:
        loseConnection(client)
        client.connect(heartBeats=(0, 0))
        assert (client.clientHeartBeat, client.serverHeartBeat) == (0, 0)
        sendAll(client, destination, [b'x'])  # still the right virtual host
    finally:
        client.close()
