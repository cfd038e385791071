"""``Stomp.ack(frame, transaction=...)`` / ``nack`` of the Twisted client: the ACK carries the
transaction (it takes effect at COMMIT); a transaction that is not open fails the Deferred; the
stale-frame rule still applies first."""

from __future__ import annotations

import pytest

from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompProtocolError
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener

from .helpers import FakeBroker, FakeEndpoints, failureOf, successOf


def consumer(reactor, check: bool = True, **options):
    endpoints = FakeEndpoints()
    client = Stomp(
        StompConfig('tcp://broker.invalid:61613', version='1.2', check=check),
        endpointFactory=endpoints,
        reactor=reactor,
        **options,
    )
    connecting = client.connect()
    link = endpoints.attempts[0].succeed(FakeBroker())
    successOf(connecting)
    frames = []
    listener = SubscriptionListener(lambda c, frame: frames.append(frame), ack=False)
    successOf(client.subscribe('/queue/in', {'ack': 'client-individual', 'id': 's'}, listener=listener))
    link.pump()
    link.broker.deliver('s', b'x')
    link.pump()
    assert len(frames) == 1
    client.endpoints = endpoints  # (for the reconnect test)
    return client, link, frames[0]


@pytest.mark.parametrize('method', ['ack', 'nack'])
def test_acknowledgementJoinsTheGivenTransaction(reactor, method):
    client, link, frame = consumer(reactor)
    transaction = successOf(client.begin('tx-1'))
    successOf(getattr(client, method)(frame, transaction=transaction))
    committing = client.commit(transaction, receipt='c')
    link.pump()
    successOf(committing)
    assert link.broker.commands()[-3:] == ['BEGIN', method.upper(), 'COMMIT']
    assert link.broker.frames[-2].headers == {'id': 'ack-message-1', 'transaction': 'tx-1'}


def test_acknowledgementWithReceiptInATransaction(reactor):
    client, link, frame = consumer(reactor)
    successOf(client.begin('tx-1'))
    acking = client.ack(frame, receipt='r', transaction='tx-1')
    link.pump()
    successOf(acking)
    assert link.broker.frames[-1].headers == {'id': 'ack-message-1', 'receipt': 'r', 'transaction': 'tx-1'}


def test_acknowledgementInATransactionNotOpenFails(reactor):
    client, link, frame = consumer(reactor)
    failure = failureOf(client.ack(frame, transaction='tx-9'), StompProtocolError)
    assert "No such transaction: 'tx-9'" in str(failure.value)
    link.pump()
    assert 'ACK' not in link.broker.commands()


def test_uncheckedSessionSendsAnyTransaction(reactor):
    client, link, frame = consumer(reactor, check=False)
    successOf(client.ack(frame, transaction='elsewhere'))
    link.pump()
    assert link.broker.frames[-1].headers == {'id': 'ack-message-1', 'transaction': 'elsewhere'}
    client.disconnected.addErrback(lambda failure: None)  # whether the fake broker refuses it is its business


def test_staleFrameIsNotAcknowledgedEvenInATransaction(reactor):
    client, link, frame = consumer(reactor)
    link.close()
    failureOf(client.disconnected)
    with pytest.raises(StompConnectionError):  # not connected: 2.3's @connected rule comes first
        client.ack(frame, transaction='tx-1')


def test_frameOfAnEarlierConnectionIsNotAcknowledgedInATransaction(reactor):
    client, link, frame = consumer(reactor, autoReconnect=True)
    link.close()
    second = client.endpoints.attempts[1].succeed()
    assert successOf(client.ack(frame, transaction='tx-1')) is None  # stale: nothing sent, no error
    second.pump()
    assert 'ACK' not in second.broker.commands()
    disconnecting = client.disconnect()
    second.pump()
    successOf(disconnecting)
