"""Heart-beats, autoReconnect with replay, stale acknowledgements, maxInFlight back-pressure."""

from __future__ import annotations

import logging

from twisted.internet import defer

from stompest.error import StompCancelledError, StompConnectionError, StompConnectTimeout, StompHeartBeatTimeout
from stompest.protocol.spec import StompSpec
from stompest.twisted.listener import Listener, SubscriptionListener, defaultListeners

from .helpers import FakeBroker, assertNoResult, connected, failureOf, makeClient, successOf

QUEUE = '/queue/in'
CLIENT_INDIVIDUAL = {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 'sub-1'}


# -- heart-beats -----------------------------------------------------------------------------------


def test_heartBeatsAreSentOnTimeEvenWhileAHandlerIsSlow(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect(heartBeats=(1000, 0))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(0, 1000)))
    successOf(connecting)
    slow = defer.Deferred()
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=SubscriptionListener(lambda c, f: slow)))
    link.pump()
    link.broker.deliver('sub-1', b'slow')
    link.pump()
    reactor.advance(0.999)  # SUBSCRIBE was sent at 0: nothing due yet
    link.pump()
    assert link.clientTransport.beats() == 0
    reactor.advance(0.001)
    link.pump()
    assert link.clientTransport.beats() == 1
    for _ in range(5):
        reactor.advance(1)
    link.pump()
    assert link.clientTransport.beats() == 6  # one per second while the handler is still running
    client.send('/queue/other', b'x')  # a frame counts as a heart-beat
    reactor.advance(0.5)
    client.send('/queue/other', b'x')
    reactor.advance(0.9)
    link.pump()
    assert link.clientTransport.beats() == 6
    reactor.advance(0.1)
    link.pump()
    assert link.clientTransport.beats() == 7
    slow.callback(None)
    disconnecting = client.disconnect()
    link.pump()
    successOf(disconnecting)


def test_silentBrokerIsDetectedWithTheTolerance(reactor):
    endpoints, client = makeClient(reactor, heartBeatTolerance=1.5)
    connecting = client.connect(heartBeats=(0, 2000))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(2000, 0)))
    successOf(connecting)
    assert client.session.serverHeartBeat == 2000
    reactor.advance(2.75)
    link.brokerTransport.write(b'\n')  # a heart-beat resets the silence
    link.pump()
    reactor.advance(2.75)
    assertNoResult(client.disconnected)
    reactor.advance(0.25)  # 3 s = 2 s x 1.5 of silence
    failure = failureOf(client.disconnected, StompHeartBeatTimeout)
    assert 'heartBeatTolerance=1.5' in str(failure.value)
    assert link.clientTransport.disconnecting


def test_silentBrokerIsDetectedWhileAHandlerIsSlow(reactor):
    endpoints, client = makeClient(reactor, heartBeatTolerance=2.0)
    connecting = client.connect(heartBeats=(0, 1000))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(1000, 0)))
    successOf(connecting)
    slow = defer.Deferred()
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=SubscriptionListener(lambda c, f: slow)))
    link.pump()
    link.broker.deliver('sub-1', b'slow')
    link.pump()
    reactor.advance(2)
    failureOf(client.disconnected, StompHeartBeatTimeout)
    slow.callback(None)  # its ACK would be stale now: not sent, no error


# -- autoReconnect ---------------------------------------------------------------------------------


class Recorder(Listener):
    def __init__(self, events):
        self.events = events

    def onReconnecting(self, connection, broker, delay, attempt):
        self.events.append(('reconnecting', broker['host'], delay, attempt))

    def onReconnected(self, connection, broker):
        self.events.append(('reconnected', broker['host']))


def reconnectingClient(reactor, uri, events):
    return makeClient(
        reactor, uri, autoReconnect=True, listenersFactory=lambda: defaultListeners() + [Recorder(events)]
    )


def test_autoReconnectWalksTheFailoverUriReplaysSubscriptionsAndSuppressesStaleAcks(reactor):
    events = []
    endpoints, client = reconnectingClient(
        reactor,
        'failover:(tcp://a:1,tcp://b:2)?randomize=false,initialReconnectDelay=100,maxReconnectAttempts=5',
        events,
    )
    connecting = client.connect()
    first = endpoints.attempts[0].succeed()
    successOf(connecting)
    frames = []
    pending = defer.Deferred()

    def handler(connection, frame):
        frames.append(frame)
        return pending if len(frames) == 1 else None

    listener = SubscriptionListener(handler)
    subscribing = client.subscribe(QUEUE, CLIENT_INDIVIDUAL, receipt='s-1', listener=listener)
    first.pump()
    successOf(subscribing)
    first.broker.deliver('sub-1', b'old')
    first.pump()
    first.close()  # the broker goes away while the handler runs
    assertNoResult(client.disconnected)
    sending = client.send('/queue/out', b'while away')  # waits for the new connection
    assertNoResult(sending)
    assert [a.broker['host'] for a in endpoints.attempts] == ['a', 'a']  # a new pass starts at once
    endpoints.attempts[1].fail()
    reactor.advance(0.099)
    assert len(endpoints.attempts) == 2
    reactor.advance(0.001)
    assert [a.broker['host'] for a in endpoints.attempts] == ['a', 'a', 'b']
    second = endpoints.attempts[2].succeed()
    assert events == [('reconnecting', 'a', 0.0, 1), ('reconnecting', 'b', 0.1, 2), ('reconnected', 'b')]
    assert successOf(sending) is None
    assert second.broker.commands() == ['CONNECT', 'SUBSCRIBE', 'SEND']
    replayed = second.broker.framesOf('SUBSCRIBE')[0]
    assert (replayed.headers['id'], replayed.headers['ack'], replayed.headers['receipt']) == (
        'sub-1',
        'client-individual',
        's-1',
    )
    pending.callback(None)  # the old message's handler finishes: its ACK is stale
    second.pump()
    assert second.broker.framesOf('ACK') == []
    second.broker.deliver('sub-1', b'new')
    second.pump()
    assert [f.body for f in frames] == [b'old', b'new']
    assert len(second.broker.framesOf('ACK')) == 1
    disconnecting = client.disconnect()
    second.pump()
    successOf(disconnecting)
    successOf(client.disconnected)


def test_staleAckByTheCallerIsNotSentAndFiresWithNone(reactor, caplog):
    endpoints, client = reconnectingClient(reactor, 'tcp://a:1', [])
    connecting = client.connect()
    first = endpoints.attempts[0].succeed()
    successOf(connecting)
    frames = []
    successOf(
        client.subscribe(
            QUEUE, CLIENT_INDIVIDUAL, listener=SubscriptionListener(lambda c, f: frames.append(f), ack=False)
        )
    )
    first.pump()
    first.broker.deliver('sub-1', b'm')
    first.pump()
    first.close()
    second = endpoints.attempts[1].succeed()
    assert successOf(client.ack(frames[0])) is None
    second.pump()
    assert second.broker.framesOf('ACK') == []
    assert 'earlier connection' in caplog.text
    client.disconnect()
    second.pump()


def test_unacknowledgedMessagesTheApplicationDroppedAreNotKeptAlive(reactor):
    # A long-running consumer with ack=False (or cumulative 'client' acks) must not accumulate
    # every MESSAGE it never acknowledged individually, on this connection or an earlier one.
    import gc
    import weakref

    endpoints, client = reconnectingClient(reactor, 'tcp://a:1', [])
    connecting = client.connect()
    first = endpoints.attempts[0].succeed()
    successOf(connecting)
    seen = []
    successOf(
        client.subscribe(
            QUEUE, CLIENT_INDIVIDUAL, listener=SubscriptionListener(lambda c, f: seen.append(weakref.ref(f)), ack=False)
        )
    )
    first.pump()
    for body in (b'a', b'b', b'c'):
        first.broker.deliver('sub-1', body)
    first.pump()
    first.close()
    second = endpoints.attempts[1].succeed()
    second.pump()
    second.broker.deliver('sub-1', b'd')
    second.pump()
    gc.collect()
    assert len(seen) == 4
    assert [ref() for ref in seen] == [None] * 4
    client.disconnect()
    second.pump()


def test_reconnectGivingUpFailsWaitingCallsAndDisconnected(reactor):
    endpoints, client = reconnectingClient(
        reactor, 'failover:(tcp://a:1)?initialReconnectDelay=100,maxReconnectAttempts=1', []
    )
    connecting = client.connect()
    link = endpoints.attempts[0].succeed()
    successOf(connecting)
    link.close()
    sending = client.send('/queue/out', b'x')
    endpoints.attempts[1].fail()
    reactor.advance(0.1)
    endpoints.attempts[2].fail()
    failureOf(sending, StompConnectionError)
    failureOf(client.disconnected, StompConnectTimeout)


def test_disconnectWhileReconnectingStopsIt(reactor):
    endpoints, client = reconnectingClient(reactor, 'failover:(tcp://a:1)?initialReconnectDelay=100', [])
    connecting = client.connect()
    link = endpoints.attempts[0].succeed()
    successOf(connecting)
    link.close()
    endpoints.attempts[1].fail()
    assert successOf(client.disconnect()) is None
    successOf(client.disconnected)


def test_errorFrameDoesNotReconnect(reactor):
    from stompest.error import StompProtocolError
    from stompest.protocol.frame import StompFrame

    endpoints, client = reconnectingClient(reactor, 'tcp://a:1', [])
    connecting = client.connect()
    link = endpoints.attempts[0].succeed()
    successOf(connecting)
    link.broker.write(StompFrame('ERROR', {'message': 'nope'}))
    link.pump()
    failureOf(client.disconnected, StompProtocolError)
    assert len(endpoints.attempts) == 1


# -- maxInFlight -----------------------------------------------------------------------------------


def deferringHandler(handled, pending):
    def handler(connection, frame):
        handled.append(frame.body)
        pending.append(defer.Deferred())
        return pending[-1]

    return handler


def test_maxInFlightQueuesMessagesAndPausesTheTransportOnlyWhenTheQueueOverflows(reactor):
    endpoints, client, link = connected(reactor)
    handled, pending = [], []
    listener = SubscriptionListener(deferringHandler(handled, pending), maxInFlight=2, maxQueued=2)
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=listener))
    link.pump()
    for body in (b'1', b'2', b'3', b'4'):
        link.broker.deliver('sub-1', body)
    link.pump()
    assert handled == [b'1', b'2'] and (listener.inFlight, listener.queued) == (2, 2)
    assert not client.readingPaused and link.clientTransport.producerState == 'producing'  # 2 queued: at the bound
    link.broker.deliver('sub-1', b'5')
    link.broker.deliver('sub-1', b'6')
    link.pump()
    assert listener.queued == 4
    assert client.readingPaused and link.clientTransport.producerState == 'paused'
    pending[0].callback(None)  # a slot: the oldest queued message starts; 3 queued, still above half the bound
    link.pump()
    assert handled == [b'1', b'2', b'3'] and listener.queued == 3 and client.readingPaused
    pending[1].callback(None)
    pending[2].callback(None)  # 1 queued = half the bound: reading resumes
    link.pump()
    assert handled == [b'1', b'2', b'3', b'4', b'5'] and listener.queued == 1
    assert not client.readingPaused and link.clientTransport.producerState == 'producing'
    for index in range(3, 6):
        pending[index].callback(None)
    link.pump()
    assert handled == [b'1', b'2', b'3', b'4', b'5', b'6'] and (listener.inFlight, listener.queued) == (0, 0)
    acked = [frame.headers['id'] for frame in link.broker.framesOf('ACK')]
    assert acked == [f'ack-message-{n}' for n in range(1, 7)]
    disconnecting = client.disconnect()
    link.pump()
    successOf(disconnecting)


def test_receiptsAreHandledWhileASubscriptionIsAtItsLimit(reactor):
    # The transformer pattern: each handler sends its output with a receipt and finishes (the
    # input is ACKed) when the RECEIPT arrives. The old design stopped reading at the limit, so
    # the RECEIPTs were never read: a deadlock.
    endpoints, client, link = connected(reactor)
    handled = []

    def transform(connection, frame):
        handled.append(frame.body)
        return connection.send('/queue/out', frame.body.upper(), receipt=f'out-{frame.body.decode()}')

    listener = SubscriptionListener(transform, maxInFlight=2)
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=listener))
    link.pump()
    for body in (b'a', b'b', b'c', b'd'):
        link.broker.deliver('sub-1', body)
    link.pump()
    assert handled == [b'a', b'b', b'c', b'd']
    assert [frame.body for frame in link.broker.framesOf('SEND')] == [b'A', b'B', b'C', b'D']
    assert len(link.broker.framesOf('ACK')) == 4
    assert (listener.inFlight, listener.queued) == (0, 0) and not client.readingPaused
    disconnecting = client.disconnect()
    link.pump()
    successOf(disconnecting)


def test_clientWideMaxInFlightIsTheDefault(reactor):
    endpoints, client, link = connected(reactor, maxInFlight=1)
    pending = defer.Deferred()
    listener = SubscriptionListener(lambda c, f: pending)
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=listener))
    link.pump()
    link.broker.deliver('sub-1', b'1')
    link.broker.deliver('sub-1', b'2')
    link.pump()
    assert (listener.inFlight, listener.queued) == (1, 1) and not client.readingPaused  # maxQueued = maxInFlight
    link.broker.deliver('sub-1', b'3')
    link.pump()
    assert listener.queued == 2 and client.readingPaused
    disconnecting = client.disconnect(receipt='bye')  # resumes reading: the receipt must get through
    assert not client.readingPaused
    pending.callback(None)
    link.pump()
    successOf(disconnecting)


def test_disconnectDropsQueuedMessagesWithoutAckAndWaitsForThoseInFlight(reactor, caplog):
    caplog.set_level(logging.INFO, logger='stompest.twisted.listener')
    endpoints, client, link = connected(reactor)
    handled, pending = [], []
    listener = SubscriptionListener(deferringHandler(handled, pending), maxInFlight=1)
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=listener))
    link.pump()
    for body in (b'1', b'2', b'3'):
        link.broker.deliver('sub-1', body)
    link.pump()
    assert (listener.inFlight, listener.queued) == (1, 2)
    disconnecting = client.disconnect(receipt='bye', timeout=5)
    link.pump()
    assert listener.queued == 0 and 'Not handling 2 queued message(s) (disconnecting)' in caplog.text
    assert 'DISCONNECT' not in link.broker.commands()
    pending[0].callback(None)  # the one in flight finishes: ACKed; the queued ones never start
    link.pump()
    assert handled == [b'1']
    assert [frame.headers['id'] for frame in link.broker.framesOf('ACK')] == ['ack-message-1']
    assert link.broker.commands()[-1] == 'DISCONNECT'
    successOf(disconnecting)
    assert client._unacked == {}


def test_disconnectTimeoutWithQueuedMessagesAcksNothing(reactor):
    endpoints, client, link = connected(reactor)
    handled, pending = [], []
    listener = SubscriptionListener(deferringHandler(handled, pending), maxInFlight=1)
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=listener))
    link.pump()
    for body in (b'1', b'2'):
        link.broker.deliver('sub-1', body)
    link.pump()
    disconnecting = client.disconnect(timeout=5)
    reactor.advance(5)  # the disconnect goes on without the handler; the queued message is dropped
    link.pump()
    assert handled == [b'1'] and (listener.inFlight, listener.queued) == (1, 0)
    assert link.broker.commands()[-1] == 'DISCONNECT'
    failureOf(disconnecting, StompCancelledError)
    assert successOf(client.disconnected) is None
    pending[0].callback(None)  # finishing late: its ACK is stale, not sent
    assert link.broker.framesOf('ACK') == [] and listener.inFlight == 0


def test_reconnectDropsTheQueuedMessagesOfTheLostConnection(reactor):
    endpoints, client = reconnectingClient(reactor, 'tcp://a:1', [])
    connecting = client.connect()
    first = endpoints.attempts[0].succeed()
    successOf(connecting)
    handled, pending = [], []
    listener = SubscriptionListener(deferringHandler(handled, pending), maxInFlight=1)
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=listener))
    first.pump()
    for body in (b'old-1', b'old-2', b'old-3'):
        first.broker.deliver('sub-1', body)
    first.pump()
    assert (listener.inFlight, listener.queued) == (1, 2)
    first.close()
    assert listener.queued == 0  # stale: the broker redelivers them
    second = endpoints.attempts[1].succeed()
    pending[0].callback(None)  # the old handler's ACK would be stale: not sent
    second.pump()
    assert handled == [b'old-1']
    second.broker.deliver('sub-1', b'new')
    second.pump()
    assert handled == [b'old-1', b'new']
    pending[1].callback(None)
    second.pump()
    assert [frame.headers['id'] for frame in second.broker.framesOf('ACK')] == ['ack-message-1']
    assert first.broker.framesOf('ACK') == []
    assert client._unacked == {}
    disconnecting = client.disconnect()
    second.pump()
    successOf(disconnecting)


def test_negativeMaxQueuedIsRefused():
    import pytest

    with pytest.raises(ValueError, match='maxQueued'):
        SubscriptionListener(lambda c, f: None, maxQueued=-1)


def test_defaultToleranceAllowsActiveMQsLateFirstHeartBeat(reactor):
    # ActiveMQ 5.17 sends its first heart-beat two intervals after CONNECTED.
    endpoints, client = makeClient(reactor)
    connecting = client.connect(heartBeats=(0, 1000))
    endpoints.attempts[0].succeed(FakeBroker(heartBeats=(1000, 0)))
    successOf(connecting)
    reactor.advance(2.9)
    assertNoResult(client.disconnected)
    reactor.advance(0.1)
    failureOf(client.disconnected, StompHeartBeatTimeout)


def test_heartBeatSilenceIsNotCountedWhileReadingIsPaused(reactor):
    endpoints, client = makeClient(reactor, maxInFlight=1, heartBeatTolerance=2.0)
    connecting = client.connect(heartBeats=(0, 1000))
    link = endpoints.attempts[0].succeed(FakeBroker(heartBeats=(1000, 0)))
    successOf(connecting)
    handled, pending = [], []
    listener = SubscriptionListener(deferringHandler(handled, pending), maxInFlight=1, maxQueued=0)
    successOf(client.subscribe(QUEUE, CLIENT_INDIVIDUAL, listener=listener))
    link.pump()
    link.broker.deliver('sub-1', b'1')
    link.broker.deliver('sub-1', b'2')
    link.pump()
    assert client.readingPaused  # one queued, more than maxQueued=0
    reactor.advance(10)
    assertNoResult(client.disconnected)
    pending[0].callback(None)  # the queued message starts, the queue is empty: reading resumes
    link.pump()
    assert not client.readingPaused and handled == [b'1', b'2']
    reactor.advance(1.9)
    assertNoResult(client.disconnected)
    reactor.advance(0.1)
    failureOf(client.disconnected, StompHeartBeatTimeout)
