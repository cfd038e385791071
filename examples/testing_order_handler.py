"""Unit tests for a message handler, with stompest's in-memory broker instead of a real one.

    python examples/testing_order_handler.py      (runs the tests below with pytest)

The handler under test, ``handleOrder``, reads an order from ``/queue/orders``, sends an invoice
to ``/queue/invoices`` and lets its subscription acknowledge the order once the broker has the
invoice. An order it cannot read goes to ``/queue/orders.failed``. The Twisted tests run the real
Twisted client on a ``MemoryReactorClock``: ``reactor.advance(0)`` moves the bytes, so no test
waits for anything. The last test runs a blocking worker against a loopback server.
"""

import json
import sys

from twisted.internet.testing import MemoryReactorClock

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp as SyncStomp
from stompest.testing import MemoryBroker
from stompest.testing.sync import LoopbackServer
from stompest.testing.twisted import MemoryEndpoints
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener

ORDERS, INVOICES, FAILED = '/queue/orders', '/queue/invoices', '/queue/orders.failed'
SUBSCRIPTION = {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 'orders'}


# -- the code under test (yours) ------------------------------------------------------


def handleOrder(client, frame):
    """Turn an order into an invoice; fires once the broker has the invoice."""
    order = json.loads(frame.body)
    total = sum(line['price'] * line['count'] for line in order['lines'])
    invoice = json.dumps({'order': order['id'], 'total': total}).encode()
    return client.send(INVOICES, invoice, receipt=f'invoice-{order["id"]}')


def startConsumer(client):
    """Subscribe the handler; a failed order goes to FAILED and is acknowledged."""
    listener = SubscriptionListener(handleOrder, ack=True, errorDestination=FAILED)
    return client.subscribe(ORDERS, SUBSCRIPTION, listener=listener)


# -- the tests ------------------------------------------------------------------------


def connectedClient():
    """A broker, a fake reactor and a connected Twisted client between them."""
    reactor = MemoryReactorClock()
    broker = MemoryBroker(clock=reactor.seconds)
    config = StompConfig('tcp://broker.test:61613', version=StompSpec.VERSION_1_2)
    endpoints = MemoryEndpoints(broker, reactor)  # every connect ends in the broker
    client = Stomp(config, endpointFactory=endpoints, reactor=reactor)
    client.connect()
    reactor.advance(0)  # CONNECT goes out, CONNECTED comes back
    return reactor, broker, client


def test_orderBecomesAnInvoiceAndIsAcknowledged():
    reactor, broker, client = connectedClient()
    startConsumer(client)
    broker.send(ORDERS, json.dumps({'id': 7, 'lines': [{'price': 5, 'count': 3}]}))
    reactor.advance(0)
    invoices = [json.loads(body) for body in broker.bodies(INVOICES)]
    assert invoices == [{'order': 7, 'total': 15}]
    assert broker.connection.unacked() == []  # acknowledged after the invoice's RECEIPT
    assert broker.connection.commands() == ['CONNECT', 'SUBSCRIBE', 'SEND', 'ACK']


def test_unreadableOrderGoesToTheFailedQueue():
    reactor, broker, client = connectedClient()
    startConsumer(client)
    broker.send(ORDERS, b'not json')
    reactor.advance(0)
    assert broker.bodies(FAILED) == [b'not json'] and broker.bodies(INVOICES) == []
    assert broker.connection.unacked() == [] and broker.pending(ORDERS) == []


def test_orderIsNotLostWhenTheInvoiceNeverArrives():
    reactor, broker, client = connectedClient()
    startConsumer(client)
    broker.failNext(StompSpec.SEND, 'Queue is full')  # the broker refuses the invoice
    broker.send(ORDERS, json.dumps({'id': 8, 'lines': []}))
    reactor.advance(0)
    assert broker.bodies(INVOICES) == []
    assert client.disconnected.called  # the client gave up on the ERROR ...
    client.disconnected.addErrback(lambda failure: None)
    waiting = [message.body for message in broker.pending(ORDERS)]
    assert waiting == [b'{"id": 8, "lines": []}']  # ... and the order waits


def test_blockingWorkerOnALoopbackServer():
    with LoopbackServer() as server:
        order = {'id': 9, 'lines': [{'price': 2, 'count': 2}]}
        server.broker.send(ORDERS, json.dumps(order))
        worker = SyncStomp(StompConfig(server.uri, version=StompSpec.VERSION_1_2))
        worker.connect(connectedTimeout=5)
        worker.subscribe(ORDERS, SUBSCRIPTION)
        assert worker.canRead(5)
        frame = worker.receiveFrame()
        order = json.loads(frame.body)
        worker.send(INVOICES, json.dumps({'order': order['id']}).encode())
        worker.ack(frame)
        worker.disconnect(receipt='done')
        assert worker.canRead(5) and worker.receiveFrame().command == StompSpec.RECEIPT
        assert server.broker.bodies(INVOICES) == [b'{"order": 9}']


if __name__ == '__main__':
    import pytest

    sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', __file__]))
