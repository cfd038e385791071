"""Sending, subscribing, receipts, message handlers, error destinations, graceful disconnect."""

from __future__ import annotations

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.error import StompCancelledError, StompConnectionError
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from stompest.twisted.listener import Listener, SubscriptionListener, defaultListeners

from .helpers import FakeBroker, assertNoResult, connected, failureOf, makeClient, sentFrames, successOf

URI = 'tcp://broker.invalid:61613'
QUEUE = '/queue/in'
ERRORS = '/queue/errors'


def subscribed(reactor, handler, ack=StompSpec.ACK_CLIENT_INDIVIDUAL, **listenerKwargs):
    endpoints, client, link = connected(reactor)
    listener = SubscriptionListener(handler, **listenerKwargs)
    token = successOf(
        client.subscribe(QUEUE, {StompSpec.ACK_HEADER: ack, StompSpec.ID_HEADER: 'sub-1'}, listener=listener)
    )
    link.pump()
    return client, link, token, listener


def closeCleanly(client, link):
    if client.session.state == client.session.CONNECTED:
        disconnecting = client.disconnect()
        link.pump()
        successOf(disconnecting)


def test_sendWithoutReceiptFiresAtOnce(reactor):
    endpoints, client, link = connected(reactor)
    sending = client.send('/queue/a', b'hello', {'x-custom': '1'})
    assert successOf(sending) is None
    link.pump()
    send = link.broker.framesOf('SEND')[0]
    assert (send.headers['destination'], send.headers['x-custom'], send.body) == ('/queue/a', '1', b'hello')
    closeCleanly(client, link)


def test_sendWithReceiptWaitsForTheReceipt(reactor):
    endpoints, client, link = connected(reactor)
    sending = client.send('/queue/a', b'x', receipt='r-1')
    assertNoResult(sending)
    link.pump()
    assert successOf(sending) is None
    assert link.broker.framesOf('SEND')[0].headers['receipt'] == 'r-1'
    closeCleanly(client, link)


def test_receiptTimeoutFailsWithStompCancelledError(reactor):
    endpoints, client, link = connected(reactor, broker=FakeBroker(answerReceipts=False), receiptTimeout=3)
    sending = client.send('/queue/a', b'x', receipt='r-1')
    link.pump()
    reactor.advance(3)
    failureOf(sending, StompCancelledError)
    client.dropConnection()
    link.pump()


def test_pendingReceiptFailsWhenTheConnectionIsLost(reactor):
    endpoints, client, link = connected(reactor, broker=FakeBroker(answerReceipts=False))
    sending = client.send('/queue/a', b'x', receipt='r-1')
    link.close()
    failureOf(sending, StompConnectionError)
    failureOf(client.disconnected, StompConnectionError)


def test_subscribeFiresWithTheTokenAndHandlerSuccessAcks(reactor):
    handled = []
    client, link, token, listener = subscribed(reactor, lambda c, frame: handled.append(frame.body))
    assert token == ('id', 'sub-1')
    link.broker.deliver('sub-1', b'one')
    link.pump()
    assert handled == [b'one']
    ack = link.broker.framesOf('ACK')[0]
    assert ack.headers == {'id': 'ack-message-1'}  # STOMP 1.2 acks by the MESSAGE's ack header
    closeCleanly(client, link)


def test_autoAckSubscriptionIsNotAcked(reactor):
    client, link, token, listener = subscribed(reactor, lambda c, frame: None, ack=StompSpec.ACK_AUTO)
    link.broker.deliver('sub-1', b'one')
    link.pump()
    assert link.broker.framesOf('ACK') == []
    closeCleanly(client, link)


def test_asynchronousHandlerIsAckedWhenItsDeferredFires(reactor):
    pending = []
    client, link, token, listener = subscribed(
        reactor, lambda c, frame: pending.append(defer.Deferred()) or pending[-1]
    )
    link.broker.deliver('sub-1', b'one')
    link.pump()
    assert link.broker.framesOf('ACK') == [] and listener.inFlight == 1
    pending[0].callback(None)
    link.pump()
    assert len(link.broker.framesOf('ACK')) == 1 and listener.inFlight == 0
    closeCleanly(client, link)


def test_failedHandlerWithErrorDestinationForwardsWithFailureHeadersThenAcks(reactor):
    def handler(client, frame):
        raise ValueError('cannot parse\nthis')

    client, link, token, listener = subscribed(reactor, handler, errorDestination=ERRORS)
    link.broker.deliver('sub-1', b'payload', {'persistent': 'true', 'correlation-id': 'c-7'})
    link.pump()
    forwarded = link.broker.framesOf('SEND')[0]
    assert forwarded.headers['destination'] == ERRORS
    assert forwarded.body == b'payload'
    assert forwarded.headers['stompest-failure'] == 'ValueError: cannot parse this'
    assert forwarded.headers['original-destination'] == QUEUE
    assert forwarded.headers['correlation-id'] == 'c-7' and forwarded.headers['persistent'] == 'true'
    for dropped in ('message-id', 'subscription', 'ack'):
        assert dropped not in forwarded.headers
    assert link.broker.commands()[-2:] == ['SEND', 'ACK']  # forwarded first, then acknowledged
    closeCleanly(client, link)


def test_failedHandlerWithoutErrorDestinationDisconnectsWithTheFailureAsReason(reactor):
    def handler(client, frame):
        raise RuntimeError('poison')

    client, link, token, listener = subscribed(reactor, handler)
    link.broker.deliver('sub-1', b'poison')
    link.pump()
    assert link.broker.framesOf('ACK') == []
    assert link.broker.commands()[-1] == 'DISCONNECT'
    failure = failureOf(client.disconnected, RuntimeError)
    assert str(failure.value) == 'poison'
    assert link.closed


def test_onMessageFailedCanDecideToSwallowTheFailure(reactor):
    calls = []

    def onMessageFailed(client, exc, frame, errorDestination):  # the exception, as in 2.3
        calls.append((exc.args, frame.body, errorDestination))

    def handler(client, frame):
        raise KeyError('k')

    client, link, token, listener = subscribed(reactor, handler, onMessageFailed=onMessageFailed)
    link.broker.deliver('sub-1', b'm')
    link.pump()
    assert calls == [(('k',), b'm', None)]
    assert len(link.broker.framesOf('ACK')) == 1
    assertNoResult(client.disconnected)
    closeCleanly(client, link)


def test_messagesArrivingWhileDisconnectingAreNotDispatched(reactor):
    pending = defer.Deferred()
    handled = []

    def handler(client, frame):
        handled.append(frame.body)
        return pending

    client, link, token, listener = subscribed(reactor, handler)
    link.broker.deliver('sub-1', b'first')
    link.pump()
    disconnecting = client.disconnect(receipt='bye')
    link.broker.deliver('sub-1', b'late')
    link.pump()
    assert handled == [b'first']
    assert 'DISCONNECT' not in link.broker.commands()  # still waiting for the handler
    pending.callback(None)
    link.pump()
    assert link.broker.commands()[-2:] == ['ACK', 'DISCONNECT']
    assert link.broker.framesOf('DISCONNECT')[0].headers['receipt'] == 'bye'
    assert successOf(disconnecting) is None
    assert successOf(client.disconnected) is None


def test_disconnectTimeoutGoesOnWithoutHandlersStillRunning(reactor):
    cancelled = []
    pending = defer.Deferred(lambda d: cancelled.append(True))
    client, link, token, listener = subscribed(reactor, lambda c, f: pending)
    link.broker.deliver('sub-1', b'slow')
    link.pump()
    disconnecting = client.disconnect(receipt='bye', timeout=5)
    reactor.advance(4)
    link.pump()
    assert 'DISCONNECT' not in link.broker.commands()
    reactor.advance(1)
    link.pump()
    assert cancelled == []  # 2.3 did not cancel them either
    assert link.broker.commands()[-1] == 'DISCONNECT'
    failureOf(disconnecting, StompCancelledError)  # as in 2.3: disconnect() errs back ...
    assert successOf(client.disconnected) is None  # ... and `disconnected` fires None
    pending.callback(None)  # the late handler's ACK would be stale: not sent
    assert link.broker.framesOf('ACK') == []


def test_disconnectWithReceiptWaitsForIt(reactor):
    endpoints, client, link = connected(reactor, broker=FakeBroker(answerReceipts=False), receiptTimeout=2)
    disconnecting = client.disconnect(receipt='bye')
    link.pump()
    assertNoResult(disconnecting)
    assert not link.closed
    reactor.advance(2)
    link.pump()
    assert link.closed  # closed anyway
    failureOf(disconnecting, StompCancelledError)  # the caller's receipt did not come (2.3)
    assert successOf(client.disconnected) is None


def test_disconnectAsksForAReceiptOfItsOwnAndWaitsForIt(reactor):
    endpoints, client, link = connected(reactor, broker=FakeBroker(answerReceipts=False))
    disconnecting = client.disconnect(timeout=3)
    link.pump()
    frame = link.broker.framesOf('DISCONNECT')[0]
    assert frame.headers['receipt'].startswith('stompest-disconnect-')
    assertNoResult(disconnecting)  # every ACK before it takes effect only once the broker confirmed
    assert not link.closed
    reactor.advance(3)
    link.pump()
    assert link.closed
    assert successOf(disconnecting) is None  # a receipt of our own: not confirmed is only logged
    assert successOf(client.disconnected) is None


def test_unsubscribeSendsUnsubscribeAndForgetsTheListener(reactor):
    client, link, token, listener = subscribed(reactor, lambda c, f: None)
    unsubscribing = client.unsubscribe(token, receipt='u')
    link.pump()
    successOf(unsubscribing)
    assert link.broker.framesOf('UNSUBSCRIBE')[0].headers == {'id': 'sub-1', 'receipt': 'u'}
    assert listener not in client._listeners
    closeCleanly(client, link)


def test_transactions(reactor):
    endpoints, client, link = connected(reactor)
    transaction = successOf(client.begin('t-1'))
    assert transaction == 't-1'
    successOf(client.send('/queue/a', b'x', {'transaction': transaction}))
    committing = client.commit(transaction, receipt='c')
    link.pump()
    successOf(committing)
    assert link.broker.commands()[1:] == ['BEGIN', 'SEND', 'COMMIT']
    successOf(client.begin('t-2'))
    successOf(client.abort('t-2'))
    link.pump()
    assert link.broker.commands()[-1] == 'ABORT'
    closeCleanly(client, link)


def test_nackOfAMessage(reactor):
    frames = []
    client, link, token, listener = subscribed(
        reactor, lambda c, f: frames.append(f), ack=StompSpec.ACK_CLIENT_INDIVIDUAL
    )
    link.broker.deliver('sub-1', b'm')
    link.pump()
    link.broker.frames.clear()
    listener._ack = False
    link.broker.deliver('sub-1', b'n')
    link.pump()
    successOf(client.nack(frames[-1]))
    link.pump()
    assert link.broker.commands() == ['NACK']
    closeCleanly(client, link)


def test_version10SubscriptionByDestination(reactor):
    handled = []
    endpoints, client, link = connected(reactor, version='1.0')
    listener = SubscriptionListener(lambda c, f: handled.append(f.body))
    token = successOf(client.subscribe(QUEUE, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT}, listener=listener))
    link.pump()
    assert token == ('destination', QUEUE)
    link.broker.deliver(QUEUE, b'old')
    link.pump()
    assert handled == [b'old']
    assert link.broker.framesOf('ACK')[0].headers == {'message-id': 'message-1'}
    closeCleanly(client, link)


# -- the fast paths keep the semantics --------------------------------------------------------------


def test_sendWithoutReceiptIsWrittenBeforeItReturns(reactor):
    endpoints, client, link = connected(reactor)
    link.clientTransport.clear()
    sending = client.send('/queue/a', b'now')
    assert b'SEND\ndestination:/queue/a\n' in link.clientTransport.value()
    assert successOf(sending) is None
    closeCleanly(client, link)


def test_everyCommandRaisesStompConnectionErrorAtOnceWhenNotConnected(reactor):
    import pytest

    from stompest.error import StompNotConnectedError

    _, client = makeClient(reactor)
    message = StompFrame('MESSAGE', {'message-id': '1', 'ack': '1'})
    commands = [
        lambda: client.send('/queue/a', b'x'),
        lambda: client.ack(message),
        lambda: client.nack(message),
        lambda: client.subscribe('/queue/a', {'id': '1'}),
        lambda: client.unsubscribe(('id', '1')),
        lambda: client.begin('t'),
        lambda: client.commit('t'),
        lambda: client.abort('t'),
    ]
    for command in commands:
        with pytest.raises(StompConnectionError):  # synchronously, as 2.3's @connected
            command()
    with pytest.raises(StompNotConnectedError):
        client.disconnect()


def test_aListenerWhoseOnSendReturnsADeferredMakesSendWait(reactor):
    gate = defer.Deferred()

    class Gate(Listener):
        def onSend(self, connection, frame):
            return gate if frame.command == 'SEND' else None

    endpoints, client, link = connected(reactor, listenersFactory=lambda: defaultListeners() + [Gate()])
    sending = client.send('/queue/a', b'x')
    assertNoResult(sending)
    link.pump()
    assert len(link.broker.framesOf('SEND')) == 1  # written at once, fires when the listener is done
    gate.callback('ignored')
    assert successOf(sending) is None
    closeCleanly(client, link)


def test_hooksSetOnAnInstanceAndListenersRemovedDuringANotification(reactor):
    seen = []
    endpoints, client, link = connected(reactor)
    plain = Listener()
    plain.onReceipt = lambda connection, frame, receiptId: seen.append(('plain', receiptId))
    late = Listener()
    late.onReceipt = lambda connection, frame, receiptId: seen.append(('late', receiptId))

    class Remover(Listener):
        def onReceipt(self, connection, frame, receiptId):
            seen.append(('remover', receiptId))
            connection.remove(late)

    client.add(plain)
    client.add(Remover())
    client.add(late)
    sending = client.send('/queue/a', b'x', receipt='r-1')
    link.pump()
    successOf(sending)
    assert seen == [('plain', 'r-1'), ('remover', 'r-1')]  # `late` was removed before its turn
    closeCleanly(client, link)


def test_coroutineHandlerIsAwaitedBeforeTheAck(reactor):
    gate = defer.Deferred()

    async def handler(client, frame):
        await gate

    client, link, token, listener = subscribed(reactor, handler)
    link.broker.deliver('sub-1', b'one')
    link.pump()
    assert link.broker.framesOf('ACK') == [] and listener.inFlight == 1
    gate.callback(None)
    link.pump()
    assert len(link.broker.framesOf('ACK')) == 1 and listener.inFlight == 0
    closeCleanly(client, link)


def test_handlerReturningAFailureCountsAsFailed(reactor):
    def handler(client, frame):
        return Failure(ValueError('bad'))

    client, link, token, listener = subscribed(reactor, handler, errorDestination=ERRORS)
    link.broker.deliver('sub-1', b'payload')
    link.pump()
    assert link.broker.framesOf('SEND')[0].headers['stompest-failure'] == 'ValueError: bad'
    assert link.broker.commands()[-2:] == ['SEND', 'ACK']
    closeCleanly(client, link)


def test_synchronousHandlerIsAckedWithinTheSameRead(reactor):
    client, link, token, listener = subscribed(reactor, lambda c, f: None)
    link.brokerTransport.clear()
    link.broker.deliver('sub-1', b'one')
    link.broker.deliver('sub-1', b'two')
    link.client.dataReceived(link.brokerTransport.value())
    link.brokerTransport.clear()
    acks = [frame for frame in sentFrames(link.clientTransport) if getattr(frame, 'command', None) == 'ACK']
    assert [frame.headers['id'] for frame in acks] == ['ack-message-1', 'ack-message-2']
    closeCleanly(client, link)
