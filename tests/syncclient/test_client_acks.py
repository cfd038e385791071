"""``Stomp.ack(frame, transaction=...)`` / ``nack`` of the blocking client: the ACK carries the
transaction, so it takes effect at COMMIT; a transaction that is not open is refused."""

from __future__ import annotations

import pytest

from stompest.error import StompProtocolError
from tests.syncclient.fakes import FakeNetwork, wire
from tests.syncclient.test_client import connectedClient

MESSAGE = wire('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1', 'subscription': '0', 'ack': 'a1'}, b'x')


@pytest.fixture
def network():
    network = FakeNetwork()
    yield network
    network.close()


def received(client, peer):
    peer.write(MESSAGE)
    return client.receiveFrame()


@pytest.mark.parametrize('method', ['ack', 'nack'])
def test_acknowledgementJoinsTheGivenTransaction(network, method):
    client, peer, clock = connectedClient(network)
    frame = received(client, peer)
    transaction = client.begin('tx-1')
    getattr(client, method)(frame, transaction=transaction)
    client.commit(transaction)
    begin, acknowledgement, commit = peer.frames(timeout=1)
    assert begin.command == 'BEGIN' and commit.command == 'COMMIT'
    assert acknowledgement.command == method.upper()
    assert acknowledgement.headers == {'id': 'a1', 'transaction': 'tx-1'}


def test_acknowledgementWithoutTransactionHasNone(network):
    client, peer, clock = connectedClient(network)
    frame = received(client, peer)
    client.begin('tx-1')
    client.ack(frame, receipt='r1')
    frames = peer.frames(timeout=1)
    assert frames[-1].headers == {'id': 'a1', 'receipt': 'r1'}


def test_acknowledgementInATransactionNotOpenIsRefused(network):
    client, peer, clock = connectedClient(network)
    frame = received(client, peer)
    with pytest.raises(StompProtocolError, match="No such transaction: 'tx-9'"):
        client.ack(frame, transaction='tx-9')
    client.begin('tx-1')
    client.commit('tx-1')
    with pytest.raises(StompProtocolError, match="No such transaction: 'tx-1'"):
        client.nack(frame, transaction='tx-1')
    assert [each.command for each in peer.frames(timeout=1)] == ['BEGIN', 'COMMIT']


def test_uncheckedSessionSendsAnyTransaction(network):
    client, peer, clock = connectedClient(network, check=False)
    frame = received(client, peer)
    client.ack(frame, transaction='elsewhere')
    assert peer.frames(timeout=1)[-1].headers == {'id': 'a1', 'transaction': 'elsewhere'}
