"""stompest 2.3's Twisted API as this client keeps it: the README's subscribe form, the
default ack mode, onFrame, HeartBeatListener(thresholds), a ReceiptListener of the caller's,
the error-destination helpers of stompest.twisted.util."""

from __future__ import annotations

import warnings

import pytest
from twisted.internet import defer

from stompest.config import StompConfig
from stompest.error import StompCancelledError, StompConnectionError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.spec import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.listener import HeartBeatListener, Listener, ReceiptListener, SubscriptionListener
from stompest.twisted.util import (
    MESSAGE_FAILED_HEADER,
    endpointFactory,
    sendToErrorDestination,
    sendToErrorDestinationAndRaise,
)

from .helpers import FakeBroker, FakeEndpoints, assertNoResult, connected, failureOf, makeClient, successOf

URI = 'tcp://broker.invalid:61613'
QUEUE = '/queue/in'
ERRORS = '/queue/errors'


def closeCleanly(client, link):
    link.broker.answerReceipts = True
    disconnecting = client.disconnect()
    link.pump()
    successOf(disconnecting)


# -- the README's subscribe(destination, handler, headers, errorDestination=...) -------------------


def test_readmeSubscribeFormMeansASubscriptionListenerAndWarns(reactor):
    endpoints, client, link = connected(reactor)
    handled = []
    with pytest.warns(DeprecationWarning, match=r'SubscriptionListener\(handler'):
        subscribing = client.subscribe(
            QUEUE, lambda c, f: handled.append(f.body), {'activemq.prefetchSize': 100}, errorDestination=ERRORS
        )
    link.pump()
    successOf(subscribing)
    subscribe = link.broker.framesOf('SUBSCRIBE')[0]
    assert subscribe.headers['activemq.prefetchSize'] == '100'
    assert subscribe.headers['ack'] == 'client-individual'  # SubscriptionListener.DEFAULT_ACK_MODE
    link.broker.deliver(subscribe.headers['id'], b'one')
    link.pump()
    assert handled == [b'one']
    assert len(link.broker.framesOf('ACK')) == 1
    closeCleanly(client, link)


def test_readmeSubscribeFormForwardsAFailedMessageToItsErrorDestination(reactor):
    endpoints, client, link = connected(reactor)

    def handler(connection, frame):
        raise ValueError('no')

    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        successOf(client.subscribe(QUEUE, handler, {'id': 's'}, errorDestination=ERRORS))
    link.pump()
    link.broker.deliver('s', b'bad')
    link.pump()
    (forwarded,) = link.broker.framesOf('SEND')
    assert forwarded.headers['destination'] == ERRORS
    assert link.broker.commands()[-2:] == ['SEND', 'ACK']
    closeCleanly(client, link)


def test_readmeSubscribeFormRefusesAListenerToo(reactor):
    endpoints, client, link = connected(reactor)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        with pytest.raises(TypeError):
            client.subscribe(QUEUE, lambda c, f: None, {}, listener=SubscriptionListener(lambda c, f: None))
    with pytest.raises(TypeError):
        client.subscribe(QUEUE, {}, errorDestination=ERRORS)
    closeCleanly(client, link)


def test_defaultAckModeIsClientIndividualAndSurvivesTheReplay(reactor):
    endpoints, client = makeClient(
        reactor, 'failover:(tcp://a:1)?initialReconnectDelay=0,maxReconnectAttempts=3', '1.0', autoReconnect=True
    )
    connecting = client.connect()
    first = endpoints.attempts[0].succeed(FakeBroker(version='1.0'))
    successOf(connecting)
    listener = SubscriptionListener(lambda c, f: None)
    successOf(client.subscribe(QUEUE, listener=listener))
    first.pump()
    assert first.broker.framesOf('SUBSCRIBE')[0].headers['ack'] == 'client-individual'  # in 1.0 too
    first.close()
    reactor.advance(0)
    second = endpoints.attempts[1].succeed(FakeBroker(version='1.0'))
    replayed = second.broker.framesOf('SUBSCRIBE')[0]
    assert replayed.headers['ack'] == 'client-individual'
    second.broker.deliver(QUEUE, b'again')
    second.pump()
    assert len(second.broker.framesOf('ACK')) == 1
    closeCleanly(client, second)


def test_anExplicitAckHeaderIsKept(reactor):
    endpoints, client, link = connected(reactor)
    successOf(client.subscribe(QUEUE, {'ack': 'auto', 'id': 's'}, listener=SubscriptionListener(lambda c, f: None)))
    link.pump()
    assert link.broker.framesOf('SUBSCRIBE')[0].headers['ack'] == 'auto'
    link.broker.deliver('s', b'm')
    link.pump()
    assert link.broker.framesOf('ACK') == []
    closeCleanly(client, link)


# -- listeners -------------------------------------------------------------------------------------


class FrameRecorder(Listener):
    def __init__(self):
        self.frames = []

    def onFrame(self, connection, frame):
        self.frames.append('beat' if isinstance(frame, StompHeartBeat) else frame.command)


def test_onFrameHearsEveryFrameHeartBeatsIncluded(reactor):
    recorder = FrameRecorder()
    endpoints, client = makeClient(reactor)
    client.add(recorder)
    connecting = client.connect(heartBeats=(0, 1000))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(0, 1000)))
    successOf(connecting)
    successOf(client.subscribe(QUEUE, {'id': 's'}, listener=SubscriptionListener(lambda c, f: None)))
    link.pump()
    link.broker.deliver('s', b'm')
    link.pump()
    link.brokerTransport.write(b'\n\n')  # the first EOL ends the MESSAGE, the second is a beat
    sending = client.send('/queue/elsewhere', b'x', receipt='r-1')
    link.pump()
    successOf(sending)
    assert recorder.frames == ['CONNECTED', 'MESSAGE', 'beat', 'RECEIPT']
    closeCleanly(client, link)


def test_heartBeatListenerThresholds(reactor):
    endpoints, client = makeClient(
        reactor,
        listenersFactory=lambda: [
            each if not isinstance(each, HeartBeatListener) else HeartBeatListener({'client': 0.5, 'server': 1.5})
            for each in __import__('stompest.twisted.listener', fromlist=['x']).defaultListeners()
        ],
    )
    connecting = client.connect(heartBeats=(1000, 1000))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(1000, 1000)))
    successOf(connecting)
    reactor.advance(0.5)
    assert link.clientTransport.beats() == 1  # after half the client period
    reactor.advance(0.9)
    assertNoResult(client.disconnected)  # 1.4 s of silence < 1.5 s
    reactor.advance(0.1)
    link.pump()
    failureOf(client.disconnected, StompConnectionError)


def test_aReceiptListenerOfTheCallersReplacesTheDefaultOne(reactor):
    endpoints = FakeEndpoints()
    client = Stomp(StompConfig(URI), endpointFactory=endpoints, reactor=reactor)
    mine = ReceiptListener(1.0)
    client.add(mine)  # before connect(), as 2.3 code does
    connecting = client.connect()
    link = endpoints.attempts[0].succeed(FakeBroker(answerReceipts=False))
    successOf(connecting)
    assert [each for each in client._listeners if isinstance(each, ReceiptListener)] == [mine]
    sending = client.send(QUEUE, b'x', receipt='r-1')
    link.pump()
    reactor.advance(1.0)  # its timeout, not the client's (none)
    failureOf(sending, StompCancelledError)
    later = ReceiptListener(2.0)
    client.add(later)  # a second one of the caller's: both run (2.3 ran every listener added)
    assert mine in client._listeners and later in client._listeners
    client.dropConnection()
    link.pump()


def test_aReceiptListenerAddedAfterConnectReplacesTheDefaultOne(reactor):
    endpoints, client, link = connected(reactor, broker=FakeBroker(answerReceipts=False))
    mine = ReceiptListener(0.5)
    client.add(mine)
    assert [each for each in client._listeners if isinstance(each, ReceiptListener)] == [mine]
    sending = client.send(QUEUE, b'x', receipt='r-1')
    reactor.advance(0.5)
    failureOf(sending, StompCancelledError)
    client.dropConnection()
    link.pump()


# -- stompest.twisted.util -------------------------------------------------------------------------


def subscribedWith(reactor, onMessageFailed=None, errorDestination=ERRORS, ack=True, broker=None):
    endpoints, client, link = connected(reactor, broker=broker)

    def handler(connection, frame):
        raise ValueError('bad input')

    listener = SubscriptionListener(
        handler, ack=ack, errorDestination=errorDestination, onMessageFailed=onMessageFailed
    )
    successOf(client.subscribe(QUEUE, {'id': 's'}, listener=listener))
    link.pump()
    return client, link


def test_errorDestinationCopyIsClonedPersistentWithMessageFailedAndAckedOnlyAfterItsReceipt(reactor):
    broker = FakeBroker(answerReceipts=False)
    client, link = subscribedWith(reactor, broker=broker)
    link.broker.deliver('s', b'payload', {'food': 'barf', 'expires': '0', 'priority': '4', 'timestamp': '1'})
    link.pump()
    (copy,) = link.broker.framesOf('SEND')
    assert copy.headers[MESSAGE_FAILED_HEADER] == 'bad input'
    assert copy.headers['persistent'] == 'true'
    assert copy.headers['food'] == 'barf'
    for reserved in ('message-id', 'expires', 'priority', 'timestamp', 'subscription', 'ack'):
        assert reserved not in copy.headers
    assert 'receipt' in copy.headers
    assert link.broker.framesOf('ACK') == []  # not before the broker confirmed the copy
    link.broker.write(StompFrame('RECEIPT', {'receipt-id': copy.headers['receipt']}))  # the RECEIPT now
    link.pump()
    assert link.broker.commands()[-1] == 'ACK'
    closeCleanly(client, link)


def test_sendToErrorDestinationAndRaiseForwardsAcksThenDisconnectsWithTheException(reactor):
    def onMessageFailed(connection, exc, frame, errorDestination):
        sendToErrorDestinationAndRaise(connection, exc, frame, errorDestination)  # result not returned, as 2.3 code

    client, link = subscribedWith(reactor, onMessageFailed)
    link.broker.deliver('s', b'payload')
    link.pump()
    assert link.broker.commands()[-3:] == ['SEND', 'ACK', 'DISCONNECT']
    failure = failureOf(client.disconnected, ValueError)
    assert str(failure.value) == 'bad input'


def test_sendToErrorDestinationAndRaiseWithoutDestinationLeavesTheMessageUnacked(reactor):
    def onMessageFailed(connection, exc, frame, errorDestination):
        sendToErrorDestinationAndRaise(connection, exc, frame, errorDestination)

    client, link = subscribedWith(reactor, onMessageFailed, errorDestination=None)
    link.broker.deliver('s', b'payload')
    link.pump()
    assert link.broker.framesOf('SEND') == [] and link.broker.framesOf('ACK') == []
    failureOf(client.disconnected, ValueError)


def test_sendToErrorDestinationWithoutDestinationSendsNothingAndReturnsNone(reactor):
    endpoints, client, link = connected(reactor)
    assert sendToErrorDestination(client, ValueError('x'), None, None) is None  # type: ignore[arg-type]
    closeCleanly(client, link)


def test_aFailedForwardLeavesTheMessageUnackedAndDisconnects(reactor):
    client, link = subscribedWith(reactor, broker=FakeBroker(answerReceipts=False), onMessageFailed=None)
    client._receiptTimeout = 1.0
    link.broker.deliver('s', b'payload')
    link.pump()
    reactor.advance(1.0)
    link.pump()
    assert link.broker.framesOf('ACK') == []
    assert link.broker.commands()[-1] == 'DISCONNECT'
    reactor.advance(10)
    link.pump()
    failureOf(client.disconnected, StompCancelledError)


def test_endpointFactoryOfTwoPointThree():
    endpoint = endpointFactory({'protocol': 'tcp', 'host': '127.0.0.1', 'port': 61613}, timeout=3)
    assert endpoint._host == '127.0.0.1' and endpoint._port == 61613 and endpoint._timeout == 3


# -- a lost connection is not a handler failure ----------------------------------------------------


def test_aHandlerCaughtByAConnectionLossIsNeitherForwardedNorAckedAndTheClientReconnects(reactor):
    endpoints, client = makeClient(
        reactor, 'failover:(tcp://a:1)?initialReconnectDelay=0,maxReconnectAttempts=3', '1.2', autoReconnect=True
    )
    connecting = client.connect()
    first = endpoints.attempts[0].succeed(FakeBroker(answerReceipts=False))
    successOf(connecting)

    @defer.inlineCallbacks
    def transform(connection, frame):
        yield connection.send('/queue/out', frame.body, receipt=f'out-{frame.headers["message-id"]}')

    listener = SubscriptionListener(transform, errorDestination=ERRORS)
    successOf(client.subscribe(QUEUE, {'id': 's'}, listener=listener))
    first.pump()
    first.broker.deliver('s', b'm1')
    first.pump()
    assert listener.inFlight == 1  # waiting for its output's RECEIPT
    first.close()  # the broker dies
    assert listener.inFlight == 0
    reactor.advance(0)
    second = endpoints.attempts[1].succeed()
    assert second.broker.framesOf('SEND') == []  # nothing forwarded to the error destination
    assert second.broker.framesOf('ACK') == []  # and the old message not acked on the new connection
    assertNoResult(client.disconnected)  # still running
    second.broker.deliver('s', b'm1')  # the redelivery
    second.pump()
    assert second.broker.commands()[-2:] == ['SEND', 'ACK']
    closeCleanly(client, second)


def test_everyLaterAckOfAnOldFrameIsStale(reactor):
    endpoints, client = makeClient(
        reactor, 'failover:(tcp://a:1)?initialReconnectDelay=0,maxReconnectAttempts=3', '1.2', autoReconnect=True
    )
    connecting = client.connect()
    first = endpoints.attempts[0].succeed()
    successOf(connecting)
    frames = []
    listener = SubscriptionListener(lambda c, f: frames.append(f), ack=False)
    successOf(client.subscribe(QUEUE, {'id': 's'}, listener=listener))
    first.pump()
    first.broker.deliver('s', b'm1')
    first.pump()
    first.close()
    reactor.advance(0)
    second = endpoints.attempts[1].succeed()
    for _ in range(3):
        assert successOf(client.ack(frames[0])) is None
        assert successOf(client.nack(frames[0])) is None
    second.pump()
    assert second.broker.framesOf('ACK') == [] and second.broker.framesOf('NACK') == []
    closeCleanly(client, second)


def test_commandsWhileReconnectingWait(reactor):
    endpoints, client = makeClient(
        reactor, 'failover:(tcp://a:1)?initialReconnectDelay=1000,maxReconnectAttempts=3', '1.2', autoReconnect=True
    )
    connecting = client.connect()
    first = endpoints.attempts[0].succeed()
    successOf(connecting)
    first.close()
    sending = client.send(QUEUE, b'later')  # no StompConnectionError: the client is reconnecting
    assertNoResult(sending)
    reactor.advance(1)
    second = endpoints.attempts[1].succeed()
    successOf(sending)
    assert [f.body for f in second.broker.framesOf('SEND')] == [b'later']
    closeCleanly(client, second)


def test_disconnectedFiresNoneAfterADisconnectTimeout(reactor):
    endpoints, client, link = connected(reactor)
    pending = defer.Deferred()
    successOf(client.subscribe(QUEUE, {'id': 's'}, listener=SubscriptionListener(lambda c, f: pending)))
    link.pump()
    link.broker.deliver('s', b'slow')
    link.pump()
    disconnecting = client.disconnect(timeout=1)
    reactor.advance(1)
    link.pump()
    failureOf(disconnecting, StompCancelledError)
    assert successOf(client.disconnected) is None
    pending.callback(None)


def test_twoPointThreeStompSignature():
    assert Stomp.subscribe.__name__ == 'subscribe'
    assert SubscriptionListener.DEFAULT_ACK_MODE == StompSpec.ACK_CLIENT_INDIVIDUAL


def test_heartBeatsStopWhenTheSessionNoLongerAsksForThem(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(heartBeats=(1000, 0))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(0, 1000)))
    successOf(connecting)
    reactor.advance(1)
    assert link.clientTransport.beats() == 1
    client.session._clientSendHeartBeat = 0  # what 2.3's own heart-beat test does
    reactor.advance(5)
    assert link.clientTransport.beats() == 1
    assert reactor.getDelayedCalls() == []
    client.dropConnection()
    link.pump()
