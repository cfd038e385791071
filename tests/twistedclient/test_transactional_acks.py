"""``Stomp.ack(frame, transaction=...)`` / ``nack`` of the Twisted client: the ACK carries the
transaction (it takes effect at COMMIT); a transaction that is not open fails the Deferred; the
stale-frame rule still applies first."""

from __future__ import annotations

import pytest
from twisted.internet.testing import MemoryReactorClock

from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompProtocolError
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener

from .helpers import FakeBroker, FakeEndpoints, failureOf, successOf


def consumer(check: bool = True, **options):
    reactor = MemoryReactorClock()
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
    return reactor, client, link, frames[0]


@pytest.mark.parametrize('method', ['ack', 'nack'])
def test_acknowledgementJoinsTheGivenTransaction(method):
    reactor, client, link, frame = consumer()
    transaction = successOf(client.begin('tx-1'))
    successOf(getattr(client, method)(frame, transaction=transaction))
    committing = client.commit(transaction, receipt='c')
    link.pump()
    successOf(committing)
    assert link.broker.commands()[-3:] == ['BEGIN', method.upper(), 'COMMIT']
    assert link.broker.frames[-2].headers == {'id': 'ack-message-1', 'transaction': 'tx-1'}
    assert reactor.getDelayedCalls() == []


def test_acknowledgementWithReceiptInATransaction():
    reactor, client, link, frame = consumer()
    successOf(client.begin('tx-1'))
    acking = client.ack(frame, receipt='r', transaction='tx-1')
    link.pump()
    successOf(acking)
    assert link.broker.frames[-1].headers == {'id': 'ack-message-1', 'receipt': 'r', 'transaction': 'tx-1'}


def test_acknowledgementInATransactionNotOpenFails():
    reactor, client, link, frame = consumer()
    failure = failureOf(client.ack(frame, transaction='tx-9'), StompProtocolError)
    assert "No such transaction: 'tx-9'" in str(failure.value)
    link.pump()
    assert 'ACK' not in link.broker.commands()


def test_uncheckedSessionSendsAnyTransaction():
    reactor, client, link, frame = consumer(check=False)
    successOf(client.ack(frame, transaction='elsewhere'))
    link.pump()
    assert link.broker.frames[-1].headers == {'id': 'ack-message-1', 'transaction': 'elsewhere'}
    client.disconnected.addErrback(lambda failure: None)  # whether the fake broker refuses it is its business


def test_staleFrameIsNotAcknowledgedEvenInATransaction():
    reactor, client, link, frame = consumer()
    link.close()
    failureOf(client.disconnected)
    with pytest.raises(StompConnectionError):  # not connected: 2.3's @connected rule comes first
        client.ack(frame, transaction='tx-1')


def test_frameOfAnEarlierConnectionIsNotAcknowledgedInATransaction():
    reactor, client, link, frame = consumer(autoReconnect=True)
    link.close()
    second = client.endpoints.attempts[1].succeed()
    assert successOf(client.ack(frame, transaction='tx-1')) is None  # stale: nothing sent, no error
    second.pump()
    assert 'ACK' not in second.broker.commands()
    disconnecting = client.disconnect()
    second.pump()
    successOf(disconnecting)
