"""The kit's Twisted adapter (MemoryEndpoints, MemoryLink, BrokerProtocol) with the real Twisted
client on a MemoryReactorClock: every feature of the broker, as a user's test would reach it."""

from __future__ import annotations

import pytest
from twisted.internet import defer
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure

from stompest.config import StompConfig
from stompest.error import StompConnectionError, StompHeartBeatTimeout, StompProtocolError
from stompest.protocol import StompSpec
from stompest.testing import DEAD_LETTER_QUEUE, MemoryBroker
from stompest.testing.twisted import MemoryEndpoints
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener

QUEUE = '/queue/in'


def result(deferred: defer.Deferred) -> object:
    """What ``deferred`` fired with (it must have fired); a failure is raised."""
    outcome: list[object] = []
    deferred.addBoth(outcome.append)
    assert outcome, f'{deferred!r} has not fired'
    if isinstance(outcome[0], Failure):
        outcome[0].raiseException()
    return outcome[0]


def failure(deferred: defer.Deferred, kind: type[BaseException]) -> Failure:
    outcome: list[object] = []
    deferred.addBoth(outcome.append)
    assert outcome and isinstance(outcome[0], Failure), outcome
    assert outcome[0].check(kind), outcome[0]
    return outcome[0]


class Rig:
    """A broker, a reactor, and the endpoints between them."""

    def __init__(
        self, reactor: MemoryReactorClock, uri: str = 'tcp://broker.test:61613', **brokerOptions: object
    ) -> None:
        self.reactor = reactor
        self.broker = MemoryBroker(clock=self.reactor.seconds, **brokerOptions)  # type: ignore[arg-type]
        self.endpoints = MemoryEndpoints(self.broker, self.reactor)
        self.uri = uri

    def client(self, **options: object) -> Stomp:
        return Stomp(
            StompConfig(self.uri, version='1.2'), endpointFactory=self.endpoints, reactor=self.reactor, **options
        )  # type: ignore[arg-type]

    def connect(self, client: Stomp, **options: object) -> Stomp:
        connecting = client.connect(**options)  # type: ignore[arg-type]
        self.reactor.advance(0)
        return result(connecting)  # type: ignore[return-value]

    def run(self, seconds: float = 0.0) -> None:
        self.reactor.advance(seconds)

    def finish(self, client: Stomp) -> None:
        """Disconnect gracefully (the ``reactor`` fixture checks that nothing is left ticking)."""
        disconnecting = client.disconnect(receipt='bye')
        self.run()
        result(disconnecting)


@pytest.fixture
def rig(reactor: MemoryReactorClock) -> Rig:
    return Rig(reactor)


def test_connectSubscribeReceiveAckDisconnect(rig):
    client = rig.connect(rig.client())
    received = []
    client.subscribe(
        QUEUE,
        {'ack': 'client-individual', 'id': 's'},
        listener=SubscriptionListener(lambda c, frame: received.append(frame.body)),
    )
    rig.broker.send(QUEUE, b'hello')
    rig.run()
    assert received == [b'hello']
    assert rig.broker.connection.commands() == ['CONNECT', 'SUBSCRIBE', 'ACK']
    assert rig.broker.connection.unacked() == []
    rig.finish(client)
    assert rig.broker.connection.state == 'closed'


def test_whatTheClientSendsIsRoutedToOtherClients(rig):
    producer, consumer = rig.connect(rig.client()), rig.connect(rig.client())
    received = []
    consumer.subscribe('/topic/news', {'id': 't'}, listener=SubscriptionListener(lambda c, f: received.append(f.body)))
    rig.run()
    sent = producer.send('/topic/news', b'extra', receipt='r1')
    rig.run()
    result(sent)
    assert received == [b'extra']
    assert [c.sessionId for c in rig.broker.connections] == ['session-1', 'session-2']
    rig.finish(producer), rig.finish(consumer)


def test_clientAckModeAcksCumulatively(rig):
    client = rig.connect(rig.client())
    frames = []
    client.subscribe(
        QUEUE, {'ack': 'client', 'id': 's'}, listener=SubscriptionListener(lambda c, f: frames.append(f), ack=False)
    )
    for body in (b'1', b'2', b'3'):
        rig.broker.send(QUEUE, body)
    rig.run()
    acking = client.ack(frames[1], receipt='a')  # fires with the RECEIPT
    rig.run()
    result(acking)
    assert [d.message.body for d in rig.broker.connection.unacked()] == [b'3']
    rig.finish(client)


def test_nackRedeliversWithRedeliveredAndDeliveryCount(rig):
    client = rig.connect(rig.client())
    frames = []

    def handler(connection, frame):
        frames.append(frame)
        if len(frames) == 1:
            return connection.nack(frame)
        return None

    client.subscribe(QUEUE, {'ack': 'client-individual', 'id': 's'}, listener=SubscriptionListener(handler, ack=False))
    rig.broker.send(QUEUE, b'flaky')
    rig.run()
    assert [(f.body, f.headers.get('redelivered'), f.headers.get('x-delivery-count')) for f in frames] == [
        (b'flaky', None, None),
        (b'flaky', 'true', '1'),
    ]
    rig.finish(client)


def test_failedHandlerForwardsToTheErrorDestination(rig):
    client = rig.connect(rig.client())

    def handler(connection, frame):
        raise ValueError('cannot parse')

    client.subscribe(
        QUEUE,
        {'ack': 'client-individual', 'id': 's'},
        listener=SubscriptionListener(handler, errorDestination='/queue/errors'),
    )
    rig.broker.send(QUEUE, b'garbage')
    rig.run()
    assert rig.broker.bodies('/queue/errors') == [b'garbage']
    assert rig.broker.connection.unacked() == [] and rig.broker.pending(QUEUE) == []
    rig.finish(client)


def test_droppedConnectionRedeliversAfterAutoReconnect(reactor):
    rig = Rig(reactor, 'failover:(tcp://broker.test:61613)?initialReconnectDelay=100,randomize=false')
    client = rig.connect(rig.client(autoReconnect=True))
    frames = []
    client.subscribe(
        QUEUE,
        {'ack': 'client-individual', 'id': 's'},
        listener=SubscriptionListener(lambda c, f: frames.append(f), ack=False),
    )
    rig.broker.send(QUEUE, b'unfinished')
    rig.run()
    first = rig.endpoints.link
    first.drop()
    assert rig.broker.connections[0].state == 'closed'
    assert [m.body for m in rig.broker.pending(QUEUE)] == [b'unfinished']
    rig.run(0.1)  # the reconnect delay; then connect, CONNECTED, SUBSCRIBE replayed, MESSAGE
    rig.run()
    assert len(rig.endpoints.links) == 2 and rig.endpoints.link is not first
    assert [(f.body, f.headers.get('redelivered')) for f in frames] == [(b'unfinished', None), (b'unfinished', 'true')]
    result(client.ack(frames[1]))
    rig.run()
    assert rig.broker.connection.unacked() == []
    rig.finish(client)


def test_refusedConnectsAreRetriedByFailover(reactor):
    rig = Rig(reactor, 'failover:(tcp://a:61613,tcp://b:61613)?initialReconnectDelay=10,randomize=false')
    rig.endpoints.refuse(host='a', count=None)
    connecting = rig.client().connect()
    rig.run()  # a refused
    rig.run(0.01)  # the reconnect delay, then b
    client = result(connecting)
    assert rig.endpoints.attempts == [('a', 61613), ('b', 61613)]
    rig.finish(client)


def test_heartBeatsFlowBothWays(reactor):
    rig = Rig(reactor)
    client = rig.connect(rig.client(), heartBeats=(1000, 1000))
    assert rig.broker.connection.heartBeats == (1000, 1000)
    for _ in range(5):
        rig.run(1)
    assert rig.broker.connection.beats >= 3  # the first EOL after a frame reads as that frame's trailer
    assert client.session.lastReceived >= 4  # the broker's beats arrived (reactor seconds)
    rig.finish(client)


def test_frozenBrokerTripsTheClientsHeartBeatTimeout(rig):
    client = rig.connect(rig.client(), heartBeats=(0, 1000))
    rig.broker.connection.freeze()
    rig.run(1), rig.run(1), rig.run(1), rig.run(1)  # the client's default tolerance: 3 intervals
    failure(client.disconnected, StompHeartBeatTimeout)
    rig.run()


def test_brokerClosesAClientThatFellSilent(rig):
    client = rig.connect(rig.client(), heartBeats=(1000, 0))
    rig.endpoints.link.freeze()  # the network stops carrying the client's heart-beats
    rig.run(1), rig.run(1), rig.run(1)
    assert rig.broker.connection.state == 'closed'
    rig.endpoints.link.thaw()
    rig.run()
    failure(client.disconnected, StompConnectionError)


def test_injectedErrorFailsTheClient(rig):
    client = rig.connect(rig.client())
    rig.broker.failNext('SEND', 'Resource allocation failure')
    sending = client.send(QUEUE, b'x', receipt='r1')
    rig.run()
    failure(sending, StompProtocolError)
    error = failure(client.disconnected, StompProtocolError)
    assert 'Resource allocation failure' in str(error.value)
    assert rig.broker.messages(QUEUE) == []


def test_sendErrorFromTheTest(rig):
    client = rig.connect(rig.client())
    rig.broker.connection.sendError('broker shutting down')
    rig.run()
    assert 'broker shutting down' in str(failure(client.disconnected, StompProtocolError).value)


def test_refusedLogin(reactor):
    rig = Rig(reactor, users={'app': 'secret'})
    connecting = rig.client().connect()
    rig.run()
    assert 'Access refused' in str(failure(connecting, StompProtocolError).value)


def test_transactionCommitAppliesSendAndAckTogether(rig):
    client = rig.connect(rig.client())
    frames = []
    client.subscribe(
        QUEUE,
        {'ack': 'client-individual', 'id': 's'},
        listener=SubscriptionListener(lambda c, f: frames.append(f), ack=False),
    )
    rig.broker.send(QUEUE, b'order')
    rig.run()
    transaction = result(client.begin('t1'))
    client.send('/queue/out', b'invoice', {StompSpec.TRANSACTION_HEADER: transaction})
    frames[0].headers[StompSpec.TRANSACTION_HEADER] = transaction  # the ACK joins the transaction (2.3 rule)
    client.ack(frames[0])
    rig.run()
    assert rig.broker.bodies('/queue/out') == [] and len(rig.broker.connection.unacked()) == 1
    committing = client.commit(transaction, receipt='c1')
    rig.run()
    result(committing)
    assert rig.broker.bodies('/queue/out') == [b'invoice'] and rig.broker.connection.unacked() == []
    rig.finish(client)


def test_transactionAbortDiscards(rig):
    client = rig.connect(rig.client())
    transaction = result(client.begin('t1'))
    client.send('/queue/out', b'never', {StompSpec.TRANSACTION_HEADER: transaction})
    aborting = client.abort(transaction, receipt='a1')
    rig.run()
    result(aborting)
    assert rig.broker.messages('/queue/out') == []
    rig.finish(client)


def test_withheldReceiptTimesOut(reactor):
    rig = Rig(reactor)
    rig.broker.answerReceipts = False
    client = rig.connect(rig.client(receiptTimeout=2))
    sending = client.send(QUEUE, b'x', receipt='r1')
    rig.run(2)
    assert failure(sending, Exception)
    rig.run()
    client.disconnect()
    rig.run(5)


def test_deadLetterPolicy(reactor):
    rig = Rig(reactor, maxRedeliveries=1)
    client = rig.connect(rig.client())
    client.subscribe(
        QUEUE, {'ack': 'client-individual', 'id': 's'}, listener=SubscriptionListener(lambda c, f: c.nack(f), ack=False)
    )
    rig.broker.send(QUEUE, b'poison')
    rig.run()
    assert rig.broker.bodies(DEAD_LETTER_QUEUE) == [b'poison']
    assert rig.broker.messages(DEAD_LETTER_QUEUE)[0].headers['original-destination'] == QUEUE
    rig.finish(client)
