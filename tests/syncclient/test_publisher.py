"""StompPublisher against a threaded fake broker (socket pairs, no real broker, no sleeps)."""

from __future__ import annotations

import threading

import pytest

from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompProtocolError
from stompest.sync import Stomp, StompPublisher
from tests.syncclient.fakes import AutoBroker


@pytest.fixture
def autoBroker():
    broker = AutoBroker()
    yield broker
    broker.close()


def publisherOn(broker, **kwargs):
    def clientFactory(config):
        return Stomp(config, sleep=lambda seconds: None, transportFactory=broker.transportFactory)

    config = StompConfig('failover:(tcp://a:1)?startupMaxReconnectAttempts=0,maxReconnectAttempts=0', version='1.2')
    return StompPublisher(config, clientFactory=clientFactory, **kwargs)


def test_connectsLazilyAndSendsWithoutReceipts(autoBroker):
    publisher = publisherOn(autoBroker)
    assert autoBroker.connections == 0
    publisher.send('/queue/a', b'one')
    publisher.send('/queue/a', b'two')
    publisher.close()
    assert autoBroker.connections == 1
    autoBroker.join()  # the broker thread has read everything once it sees the hang-up
    assert [f.command for (_, f) in autoBroker.received] == ['CONNECT', 'SEND', 'SEND', 'DISCONNECT']
    assert all('receipt' not in f.headers for f in autoBroker.sends())


def test_receiptsConfirmEachSend(autoBroker):
    publisher = publisherOn(autoBroker, receipts=True, receiptTimeout=5)
    publisher.send('/queue/a', b'one')
    publisher.send('/queue/a', b'two')
    # send() returned, so the broker already took both (it answers after recording)
    assert [f.body for f in autoBroker.sends()] == [b'one', b'two']
    assert len({f.headers['receipt'] for f in autoBroker.sends()}) == 2
    publisher.close()


def test_oneConnectionPerThreadAndCloseDisconnectsAll(autoBroker):
    publisher = publisherOn(autoBroker, receipts=True, receiptTimeout=5)
    errors = []

    def publish(text):
        try:
            publisher.send('/queue/a', text)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=publish, args=(f'm{i}',)) for i in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert autoBroker.connections == 3
    assert sorted({number for (number, f) in autoBroker.received if f.command == 'SEND'}) == [0, 1, 2]
    publisher.close()


def test_reconnectsOnceAndResendsAfterALostConnection():
    broker = AutoBroker(dropAfterSends=1)  # the first SEND is taken, then the line goes dead
    try:
        publisher = publisherOn(broker, receipts=True, receiptTimeout=5)
        publisher.send('/queue/a', b'x')
        assert broker.connections == 2
        assert [(number, f.body) for (number, f) in broker.received if f.command == 'SEND'] == [(0, b'x'), (1, b'x')]
        publisher.close()
    finally:
        broker.close()


def test_missingReceiptRetriesOnceThenRaises():
    broker = AutoBroker(answerReceipts=False)
    try:
        publisher = publisherOn(broker, receipts=True, receiptTimeout=0.05)
        with pytest.raises(StompConnectionError, match=r'No RECEIPT .*receiptTimeout=0\.05'):
            publisher.send('/queue/a', b'x')
        assert broker.connections == 2
        publisher.close()
    finally:
        broker.close()


def test_anErrorFrameInsteadOfTheReceiptRaisesProtocolError():
    broker = AutoBroker(refuse='/queue/forbidden')
    try:
        publisher = publisherOn(broker, receipts=True)
        publisher.send('/queue/a', b'fine')
        with pytest.raises(StompProtocolError, match='refused /queue/forbidden') as info:
            publisher.send('/queue/forbidden', b'no')
        assert info.value.frame.command == 'ERROR'
        publisher.close()
    finally:
        broker.close()
