"""TransactionalTransformer against the in-memory fake broker: batches by size and by linger,
done only after the COMMIT's RECEIPT, a bounded number of COMMITs in flight, connection loss in
the middle of a transaction, a poison message, graceful stop, coroutine handlers, and the
cumulative acks it uses on ActiveMQ (one ACK per transaction, in arrival order)."""

from __future__ import annotations

import pytest
from twisted.internet import defer

from stompest.error import StompCancelledError, StompConnectionError
from stompest.protocol.frame import StompFrame
from stompest.twisted.transformer import Output, TransactionalTransformer, defaultAckMode

from .helpers import FakeBroker, assertNoResult, failureOf, makeClient, successOf

IN, OUT, ERRORS = '/queue/in', '/queue/out', '/queue/errors'
ACTIVEMQ = 'ActiveMQ/5.17.2'


def upper(client, frame):
    return Output(OUT, frame.body.upper(), {'seq': frame.headers['seq']})


class Rig:
    """A connected client, its fake broker, and a transformer subscribed to IN."""

    def __init__(
        self,
        reactor,
        handler=upper,
        headers=None,
        uri='tcp://broker.invalid:61613',
        answerReceipts=True,
        clientOptions=None,
        server='fake/1.0',
        **options,
    ):
        self.reactor = reactor
        self.endpoints, self.client = makeClient(reactor, uri, **(clientOptions or {}))
        connecting = self.client.connect()
        self.link = self.endpoints.attempts[0].succeed(FakeBroker(answerReceipts=answerReceipts, server=server))
        successOf(connecting)
        self.committedCounts = []
        options.setdefault('onCommitted', self.committedCounts.append)
        self.transformer = TransactionalTransformer(handler, **options)
        subscribing = self.client.subscribe(IN, dict(headers or {'id': 'sub-1'}), listener=self.transformer)
        self.link.pump()
        successOf(subscribing)
        self.seq = 0

    @property
    def broker(self) -> FakeBroker:
        return self.link.broker

    def deliver(self, count, **headers):
        for _ in range(count):
            self.broker.deliver('sub-1', f'm{self.seq}'.encode(), {'seq': str(self.seq), **headers})
            self.seq += 1
        self.link.pump()

    def frames(self, *commands):
        return [frame for frame in self.broker.frames if frame.command in commands]

    def receipt(self, frame: StompFrame) -> None:
        """The broker confirms ``frame`` (when it does not answer receipts by itself)."""
        self.broker.write(StompFrame('RECEIPT', {'receipt-id': frame.headers['receipt']}))
        self.link.pump()

    def finish(self):
        disconnecting = self.client.disconnect()
        self.link.pump()
        successOf(disconnecting)


def transactionsOf(rig):
    """Per transaction id: the commands written in it, in order."""
    grouped = {}
    for frame in rig.broker.frames:
        transaction = frame.headers.get('transaction')
        if transaction is not None:
            grouped.setdefault(transaction, []).append(frame.command)
    return grouped


def test_subscribesWithClientIndividualAcksAndAPrefetchForEachBroker(reactor):
    rig = Rig(reactor, batch=10, maxTransactions=3)
    subscribe = rig.frames('SUBSCRIBE')[0]
    assert subscribe.headers['ack'] == 'client-individual'
    assert subscribe.headers['activemq.prefetchSize'] == subscribe.headers['prefetch-count'] == '40'
    assert rig.transformer.prefetch == 40
    rig.finish()


def test_prefetchGivenByTheUserIsKept(reactor):
    rig = Rig(reactor, headers={'id': 'sub-1', 'prefetch-count': '7'})
    subscribe = rig.frames('SUBSCRIBE')[0]
    assert subscribe.headers['prefetch-count'] == '7'
    assert 'activemq.prefetchSize' not in subscribe.headers
    rig.finish()


def test_anotherAckModeIsRefused(reactor):
    endpoints, client = makeClient(reactor)
    connecting = client.connect()
    endpoints.attempts[0].succeed()
    successOf(connecting)
    failure = failureOf(client.subscribe(IN, {'ack': 'auto'}, listener=TransactionalTransformer(upper)), ValueError)
    assert "'auto'" in str(failure.value)


def test_fullBatchesAreCommittedWithAReceipt(reactor):
    rig = Rig(reactor, batch=3, linger=1000)
    rig.deliver(7)
    commits = rig.frames('COMMIT')
    assert len(commits) == 2 and all('receipt' in commit.headers for commit in commits)
    assert rig.transformer.committed == 6 and rig.committedCounts == [3, 3]
    grouped = transactionsOf(rig)
    assert list(grouped.values())[:2] == [['BEGIN'] + ['SEND', 'ACK'] * 3 + ['COMMIT']] * 2
    sends = rig.frames('SEND')
    assert [send.body for send in sends] == [f'M{i}'.encode() for i in range(7)]
    assert all(send.headers['persistent'] == 'true' and send.headers['destination'] == OUT for send in sends)
    acks = rig.frames('ACK')
    assert [ack.headers['id'] for ack in acks] == [f'ack-message-{i}' for i in range(1, 8)]
    assert [ack.headers['transaction'] for ack in acks] == [send.headers['transaction'] for send in sends]
    rig.reactor.advance(1.0)  # the seventh commits when its linger expires
    rig.link.pump()
    assert rig.transformer.committed == 7 and rig.committedCounts == [3, 3, 1]
    rig.finish()


def test_aTransactionIsCommittedWhenItsLingerExpires(reactor):
    rig = Rig(reactor, batch=100, linger=50)
    rig.deliver(2)
    rig.reactor.advance(0.049)
    rig.link.pump()
    assert rig.frames('COMMIT') == []
    rig.deliver(1)  # the linger counts from the transaction's first input
    rig.reactor.advance(0.001)
    rig.link.pump()
    assert len(rig.frames('COMMIT')) == 1 and rig.transformer.committed == 3
    rig.finish()


def test_inputsCountAsDoneOnlyWhenTheCommitReceiptArrives(reactor):
    rig = Rig(reactor, batch=2, answerReceipts=False)
    rig.deliver(2)
    [commit] = rig.frames('COMMIT')
    assert rig.transformer.committed == 0 and rig.transformer.inFlightTransactions == 1
    rig.receipt(commit)
    assert rig.transformer.committed == 2 and rig.transformer.commits == 1 and rig.committedCounts == [2]
    rig.broker.answerReceipts = True
    rig.finish()


def test_commitsInFlightAreBoundedAndTheRestWaitsUnacknowledged(reactor):
    rig = Rig(reactor, batch=2, maxTransactions=2, answerReceipts=False)
    rig.deliver(10)
    commits = rig.frames('COMMIT')
    assert len(commits) == 2 and rig.transformer.inFlightTransactions == 2
    assert len(rig.frames('ACK')) == 6  # a third transaction fills up but does not commit
    assert rig.transformer.pending == 4  # the rest waits, unacknowledged: the prefetch holds the broker
    rig.receipt(commits[0])
    assert len(rig.frames('COMMIT')) == 3 and rig.transformer.inFlightTransactions == 2
    assert len(rig.frames('ACK')) == 8 and rig.transformer.pending == 2
    confirmed = {commits[0].headers['receipt']}
    while rig.transformer.inFlightTransactions:
        pending = [c for c in rig.frames('COMMIT') if c.headers['receipt'] not in confirmed]
        confirmed.add(pending[0].headers['receipt'])
        rig.receipt(pending[0])
    assert rig.transformer.committed == 10 and rig.transformer.pending == 0
    assert len(rig.frames('COMMIT')) == 5
    rig.broker.answerReceipts = True
    rig.finish()


def test_connectionLossForgetsTheTransactionAndRedeliveriesComeThrough(reactor):
    release = {}

    def handler(client, frame):
        if frame.headers.get('slow'):
            release[frame.headers['seq']] = waiting = defer.Deferred()
            return waiting.addCallback(lambda _: upper(client, frame))
        return upper(client, frame)

    rig = Rig(
        reactor,
        handler,
        uri='failover:(tcp://a:1)?initialReconnectDelay=0,maxReconnectAttempts=3',
        batch=3,
        linger=1000,
        clientOptions={'autoReconnect': True},
    )
    rig.deliver(2)  # open transaction, 2 inputs written
    rig.deliver(1, slow='true')  # handler still running
    assert rig.transformer.handling == 1 and rig.frames('COMMIT') == []
    first = rig.link
    first.close()
    second = rig.endpoints.attempts[1].succeed()
    rig.link = second
    replayed = rig.frames('SUBSCRIBE')[0]
    assert replayed.headers['ack'] == 'client-individual' and replayed.headers['prefetch-count'] == '15'
    release['2'].callback(None)  # the old connection's handler finishes: nothing is written for it
    second.pump()
    assert rig.broker.commands() == ['CONNECT', 'SUBSCRIBE']
    rig.seq = 0
    rig.deliver(3)  # the broker redelivers the rolled back inputs
    assert list(transactionsOf(rig).values()) == [['BEGIN'] + ['SEND', 'ACK'] * 3 + ['COMMIT']]
    assert rig.transformer.committed == 3
    rig.finish()


def test_lossWhileACommitAwaitsItsReceiptDoesNotCountIt(reactor):
    rig = Rig(reactor, batch=2, answerReceipts=False)
    rig.deliver(3)
    assert rig.transformer.inFlightTransactions == 1
    rig.link.close()
    failureOf(rig.client.disconnected, StompConnectionError)
    assert rig.transformer.committed == 0 and rig.transformer.inFlightTransactions == 0
    assert rig.transformer.pending == 0


def test_aPoisonMessageGoesToTheErrorDestinationInTheSameTransaction(reactor):
    def handler(client, frame):
        if frame.headers['seq'] == '1':
            raise ValueError('cannot transform')
        return upper(client, frame)

    rig = Rig(reactor, handler, batch=3, errorDestination=ERRORS)
    rig.deliver(3)
    [commands] = transactionsOf(rig).values()
    assert commands == ['BEGIN'] + ['SEND', 'ACK'] * 3 + ['COMMIT']
    sends = rig.frames('SEND')
    assert [send.headers['destination'] for send in sends] == [OUT, ERRORS, OUT]
    assert sends[1].body == b'm1' and 'cannot transform' in sends[1].headers['stompest-failure']
    assert rig.transformer.committed == 3 and rig.transformer.failed == 1
    rig.finish()


def test_aPoisonMessageWithoutErrorDestinationStopsTheClient(reactor):
    def handler(client, frame):
        if frame.headers['seq'] == '1':
            raise ValueError('cannot transform')
        return upper(client, frame)

    rig = Rig(reactor, handler, batch=3)
    rig.deliver(2)
    rig.link.pump()
    failure = failureOf(rig.client.disconnected, ValueError)
    assert 'cannot transform' in str(failure.value)
    assert rig.broker.commands()[-3:] == ['ACK', 'COMMIT', 'DISCONNECT']  # the first is committed
    assert len(rig.frames('ACK')) == 1


def test_gracefulStopCommitsWhatIsCompleteAndCancelsTheRest(reactor):
    waiting = {}

    def handler(client, frame):
        waiting[frame.headers['seq']] = d = defer.Deferred()
        return d

    rig = Rig(reactor, handler, batch=10, linger=1000, answerReceipts=False)
    rig.deliver(3)
    waiting['0'].callback(Output(OUT, b'a'))
    waiting['1'].callback([Output(OUT, b'b'), (OUT, b'c', {'x': 'y'})])
    disconnecting = rig.client.disconnect()
    rig.link.pump()
    assertNoResult(disconnecting)
    [commit] = rig.frames('COMMIT')
    assert 'DISCONNECT' not in rig.broker.commands()
    assert waiting['2'].called and rig.transformer.handling == 0  # cancelled
    rig.deliver(1)  # arrives while stopping: not handled, not acknowledged
    assert '3' not in waiting
    rig.broker.answerReceipts = True
    rig.receipt(commit)
    successOf(disconnecting)
    assert rig.broker.commands()[-2:] == ['COMMIT', 'DISCONNECT']
    assert [send.body for send in rig.frames('SEND')] == [b'a', b'b', b'c']
    assert rig.frames('SEND')[2].headers['x'] == 'y'
    assert len(rig.frames('ACK')) == 2 and rig.transformer.committed == 2


def test_stopTimeoutAbortsTheOpenTransaction(reactor):
    rig = Rig(reactor, batch=1, maxTransactions=1, answerReceipts=False)
    rig.deliver(2)  # one COMMIT in flight, the second transaction open behind it
    disconnecting = rig.client.disconnect(timeout=5)
    rig.link.pump()
    rig.reactor.advance(5)
    rig.link.pump()
    assert rig.broker.commands()[-2:] == ['ABORT', 'DISCONNECT']
    assert rig.frames('ABORT')[0].headers['transaction'] == rig.frames('ACK')[1].headers['transaction']
    rig.reactor.advance(5)  # nor does the DISCONNECT's receipt come: closed after the timeout
    rig.link.pump()
    failureOf(disconnecting, StompCancelledError)
    assert successOf(rig.client.disconnected) is None  # as in 2.3 after a disconnect timeout
    assert rig.transformer.committed == 0


def test_coroutineHandler(reactor):
    gate = defer.Deferred()

    async def handler(client, frame):
        await gate
        return [Output(OUT, frame.body + b'!'), Output('/queue/audit', b'seen')]

    rig = Rig(reactor, handler, batch=2)
    rig.deliver(2)
    assert rig.frames('SEND') == []
    gate.callback(None)
    rig.link.pump()
    assert [send.body for send in rig.frames('SEND')] == [b'm0!', b'seen', b'm1!', b'seen']
    assert rig.transformer.committed == 2
    rig.finish()


def test_handlerReturningNothingStillAcknowledgesInATransaction(reactor):
    rig = Rig(reactor, lambda client, frame: None, batch=2, persistent=False)
    rig.deliver(2)
    assert list(transactionsOf(rig).values()) == [['BEGIN', 'ACK', 'ACK', 'COMMIT']]
    rig.finish()


def test_persistentFalseLeavesOutputsAsTheyAre(reactor):
    rig = Rig(reactor, batch=1, persistent=False)
    rig.deliver(1)
    assert 'persistent' not in rig.frames('SEND')[0].headers
    rig.finish()


def test_anInvalidResultCountsAsAHandlerFailure(reactor):
    rig = Rig(reactor, lambda client, frame: b'not an output', batch=1, errorDestination=ERRORS)
    rig.deliver(1)
    [send] = rig.frames('SEND')
    assert send.headers['destination'] == ERRORS and 'TypeError' in send.headers['stompest-failure']
    rig.finish()


@pytest.mark.parametrize('options', [{'batch': 0}, {'maxTransactions': 0}, {'linger': -1}])
def test_invalidOptionsAreRefused(options):
    with pytest.raises(ValueError):
        TransactionalTransformer(upper, **options)


# -- cumulative acks (ActiveMQ) -------------------------------------------------------------------


def deferredHandler():
    """A handler whose results the test releases one by one: ``(handler, waiting)``."""
    waiting = {}

    def handler(client, frame):
        waiting[frame.headers['seq']] = d = defer.Deferred()
        return d.addCallback(lambda _: upper(client, frame))

    return handler, waiting


@pytest.mark.parametrize(
    ('server', 'expected'),
    [
        ('ActiveMQ/5.17.2', 'client'),
        ('ActiveMQ/6.1.0', 'client'),
        ('ActiveMQ-Artemis/2.31.2', 'client-individual'),
        ('RabbitMQ/3.10.8', 'client-individual'),
        (None, 'client-individual'),
    ],
)
def test_defaultAckModeIsCumulativeOnlyOnActiveMQClassic(server, expected):
    assert defaultAckMode(server) == expected


def test_onActiveMQOneCumulativeAckPerTransactionGoesOutBeforeTheCommit(reactor):
    rig = Rig(reactor, server=ACTIVEMQ, batch=3, linger=1000)
    subscribe = rig.frames('SUBSCRIBE')[0]
    assert subscribe.headers['ack'] == 'client' and rig.transformer.ackMode == 'client'
    rig.deliver(7)
    grouped = list(transactionsOf(rig).values())
    assert grouped[:2] == [['BEGIN', 'SEND', 'SEND', 'SEND', 'ACK', 'COMMIT']] * 2
    assert grouped[2] == ['BEGIN', 'SEND']  # open: its ACK waits for the COMMIT
    acks = rig.frames('ACK')
    assert [ack.headers['id'] for ack in acks] == ['ack-message-3', 'ack-message-6']  # each batch's last
    assert rig.transformer.committed == 6
    rig.reactor.advance(1.0)
    rig.link.pump()
    assert rig.frames('ACK')[-1].headers['id'] == 'ack-message-7' and rig.transformer.committed == 7
    assert [send.body for send in rig.frames('SEND')] == [f'M{i}'.encode() for i in range(7)]
    rig.finish()


def test_cumulativeAcksWriteInputsInArrivalOrder(reactor):
    handler, waiting = deferredHandler()
    rig = Rig(reactor, handler, server=ACTIVEMQ, batch=3, linger=1000)
    rig.deliver(3)
    waiting['2'].callback(None)  # the last one finishes first: nothing may be written yet
    waiting['1'].callback(None)
    rig.link.pump()
    assert rig.frames('BEGIN') == [] and rig.transformer.pending == 2 and rig.transformer.handling == 1
    waiting['0'].callback(None)
    rig.link.pump()
    assert [send.body for send in rig.frames('SEND')] == [b'M0', b'M1', b'M2']
    [ack] = rig.frames('ACK')
    assert ack.headers['id'] == 'ack-message-3' and rig.transformer.committed == 3
    rig.finish()


def test_cumulativeAcksGracefulStopCommitsOnlyUpToTheFirstCancelledInput(reactor):
    handler, waiting = deferredHandler()
    rig = Rig(reactor, handler, server=ACTIVEMQ, batch=10, linger=1000)
    rig.deliver(3)
    waiting['0'].callback(None)
    waiting['2'].callback(None)  # finished, but behind the running second one
    disconnecting = rig.client.disconnect()
    rig.link.pump()
    successOf(disconnecting)
    assert waiting['1'].called and rig.transformer.handling == 0  # cancelled
    assert [send.body for send in rig.frames('SEND')] == [b'M0']
    [ack] = rig.frames('ACK')
    assert ack.headers['id'] == 'ack-message-1'  # the third stays unacknowledged: it comes back
    assert rig.broker.commands()[-2:] == ['COMMIT', 'DISCONNECT']
    assert rig.transformer.committed == 1 and rig.transformer.pending == 0


def test_cumulativeAcksAfterAConnectionLossStartAfresh(reactor):
    handler, waiting = deferredHandler()
    rig = Rig(
        reactor,
        handler,
        server=ACTIVEMQ,
        uri='failover:(tcp://a:1)?initialReconnectDelay=0,maxReconnectAttempts=3',
        batch=2,
        linger=1000,
        clientOptions={'autoReconnect': True},
    )
    rig.deliver(2)
    waiting['1'].callback(None)  # done, waiting behind the first
    rig.link.close()
    rig.link = rig.endpoints.attempts[1].succeed(FakeBroker(server=ACTIVEMQ))
    assert rig.frames('SUBSCRIBE')[0].headers['ack'] == 'client'
    waiting['0'].callback(None)  # the old connection's: dropped
    rig.link.pump()
    assert rig.broker.commands() == ['CONNECT', 'SUBSCRIBE'] and rig.transformer.pending == 0
    rig.seq = 0
    rig.deliver(2)  # redelivered
    waiting['0'].callback(None)
    waiting['1'].callback(None)
    rig.link.pump()
    assert list(transactionsOf(rig).values()) == [['BEGIN', 'SEND', 'SEND', 'ACK', 'COMMIT']]
    assert rig.transformer.committed == 2
    rig.finish()


def test_cumulativeAcksPoisonMessageGoesToTheErrorDestinationUnderTheSameAck(reactor):
    def handler(client, frame):
        if frame.headers['seq'] == '1':
            raise ValueError('cannot transform')
        return upper(client, frame)

    rig = Rig(reactor, handler, server=ACTIVEMQ, batch=3, errorDestination=ERRORS)
    rig.deliver(3)
    assert list(transactionsOf(rig).values()) == [['BEGIN', 'SEND', 'SEND', 'SEND', 'ACK', 'COMMIT']]
    assert [send.headers['destination'] for send in rig.frames('SEND')] == [OUT, ERRORS, OUT]
    assert rig.transformer.failed == 1 and rig.transformer.committed == 3
    rig.finish()


def test_cumulativeAcksPoisonWithoutErrorDestinationAcksOnlyWhatCameBefore(reactor):
    def handler(client, frame):
        if frame.headers['seq'] == '1':
            raise ValueError('cannot transform')
        return upper(client, frame)

    rig = Rig(reactor, handler, server=ACTIVEMQ, batch=3)
    rig.deliver(3)
    rig.link.pump()
    failureOf(rig.client.disconnected, ValueError)
    [ack] = rig.frames('ACK')
    assert ack.headers['id'] == 'ack-message-1'
    assert rig.broker.commands()[-3:] == ['ACK', 'COMMIT', 'DISCONNECT']


@pytest.mark.parametrize(
    ('server', 'options', 'headers', 'expected'),
    [
        ('fake/1.0', {'ackMode': 'client'}, {}, 'client'),
        (ACTIVEMQ, {'ackMode': 'client-individual'}, {}, 'client-individual'),
        (ACTIVEMQ, {}, {'ack': 'client-individual'}, 'client-individual'),
        (ACTIVEMQ, {'ackMode': 'client'}, {'ack': 'client-individual'}, 'client-individual'),
    ],
)
def test_ackModeIsChosenByHeaderThenOptionThenBroker(reactor, server, options, headers, expected):
    rig = Rig(reactor, server=server, headers={'id': 'sub-1', **headers}, batch=2, **options)
    assert rig.frames('SUBSCRIBE')[0].headers['ack'] == expected == rig.transformer.ackMode
    rig.deliver(2)
    assert len(rig.frames('ACK')) == (1 if expected == 'client' else 2)
    rig.finish()


def test_anUnknownAckModeOptionIsRefused():
    with pytest.raises(ValueError, match='auto'):
        TransactionalTransformer(upper, ackMode='auto')
