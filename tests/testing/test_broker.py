"""The broker core (MemoryBroker, BrokerConnection) driven with frames, no client and no I/O."""

from __future__ import annotations

import pytest

from stompest.protocol import StompFrame, StompParser
from stompest.protocol.frame import StompHeartBeat
from stompest.testing import DEAD_LETTER_QUEUE, MemoryBroker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Peer:
    """A client at the frame level: writes frames into a connection, parses what comes back."""

    def __init__(self, broker: MemoryBroker, version: str = '1.2') -> None:
        self.written = bytearray()
        self.closed = False
        self.parser = StompParser('1.2')
        self.connection = broker.connect(self.written.extend, self.close)
        self.version = version

    def close(self) -> None:
        self.closed = True

    def send(self, command: str, headers: dict[str, str] | None = None, body: bytes = b'') -> list:
        self.connection.receive(bytes(StompFrame(command, headers or {}, body, version=self.version)))
        return self.read()

    def read(self) -> list:
        self.parser.add(bytes(self.written))
        self.written.clear()
        return list(iter(self.parser.get, StompParser.SENTINEL))

    def connect(self, headers: dict[str, str] | None = None) -> StompFrame:
        [connected] = self.send('CONNECT', {'accept-version': '1.0,1.1,1.2', 'host': 'h', **(headers or {})})
        return connected


def commands(frames: list) -> list[str]:
    return [frame.command if isinstance(frame, StompFrame) else 'EOL' for frame in frames]


@pytest.fixture
def broker() -> MemoryBroker:
    return MemoryBroker(clock=Clock())


# -- connecting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(('offered', 'chosen'), [('1.0', '1.0'), ('1.0,1.1', '1.1'), ('1.0,1.1,1.2', '1.2')])
def test_connectNegotiatesTheHighestCommonVersion(broker, offered, chosen):
    peer = Peer(broker)
    [connected] = peer.send('CONNECT', {'accept-version': offered})
    assert connected.command == 'CONNECTED'
    assert connected.headers.get('version', '1.0') == chosen
    assert connected.headers['session'] == 'session-1'
    assert peer.connection.version == chosen


def test_connectWithoutCommonVersionIsAnErrorAndCloses():
    peer = Peer(MemoryBroker(versions=['1.2']))
    [error] = peer.send('CONNECT', {'accept-version': '1.0,1.1'})
    assert (error.command, error.headers['message']) == ('ERROR', 'Supported protocol versions are 1.2')
    assert peer.closed and not peer.connection.isOpen


def test_usersAreCheckedAndAWrongPasscodeRefused():
    broker = MemoryBroker(users={'alice': 'secret'})
    good, bad = Peer(broker), Peer(broker)
    assert good.connect({'login': 'alice', 'passcode': 'secret'}).command == 'CONNECTED'
    [error] = bad.send('CONNECT', {'accept-version': '1.2', 'login': 'alice', 'passcode': 'guess'})
    assert error.command == 'ERROR' and 'Access refused' in error.headers['message']
    assert bad.closed


def test_heartBeatsGrantWhatTheClientAsksByDefault(broker):
    peer = Peer(broker)
    connected = peer.connect({'heart-beat': '1000,2000'})
    assert connected.headers['heart-beat'] == '2000,1000'
    assert peer.connection.heartBeats == (1000, 2000)


def test_heartBeatsAsConfiguredAreNegotiated():
    peer = Peer(MemoryBroker(heartBeats=(500, 3000)))
    connected = peer.connect({'heart-beat': '1000,1000'})
    assert connected.headers['heart-beat'] == '500,3000'
    assert peer.connection.heartBeats == (3000, 1000)  # client every max(1000, 3000), broker every max(500, 1000)


def test_tickSendsHeartBeatsAndDropsASilentClient():
    clock = Clock()
    peer = Peer(MemoryBroker(clock=clock, heartBeatTolerance=2.0))
    peer.connect({'heart-beat': '1000,500'})
    assert peer.connection.nextDeadline() == 100.5
    clock.now = 100.5
    peer.connection.tick()
    assert peer.read() == [StompHeartBeat()]
    clock.now = 101.5
    peer.connection.receive(b'\n\n')  # the client's heart-beat (the parser reads the first EOL after
    assert peer.connection.beats == 1  # a frame as part of that frame: the second one counts)
    assert peer.connection.nextDeadline() == 101.0  # the broker's next beat is overdue
    peer.connection.tick()
    assert peer.read() == [StompHeartBeat()]
    assert peer.connection.nextDeadline() == 102.0
    clock.now = 102.0
    peer.connection.tick()
    assert peer.read() == [StompHeartBeat()] and not peer.closed
    clock.now = 103.5  # 2.0 intervals after the last sign of life
    peer.connection.tick()
    assert peer.closed and peer.connection.state == 'closed'


def test_framesBeforeConnectAreRefusedButTheConnectionStaysOpen(broker):
    peer = Peer(broker)
    [error] = peer.send('SEND', {'destination': '/queue/a', 'receipt': 'r'})
    assert (error.command, error.headers['receipt-id']) == ('ERROR', 'r')
    assert not peer.closed


def test_garbageIsAnErrorAndCloses(broker):
    peer = Peer(broker)
    peer.connect()
    peer.connection.receive(b'SEND\ncontent-length:abc\n\nx\x00')
    [error] = peer.read()
    assert error.command == 'ERROR' and peer.closed


def test_refuseAndAnswerConnect(broker):
    broker.refuse = 'go away'
    [error] = Peer(broker).send('CONNECT', {'accept-version': '1.2'})
    assert error.headers['message'] == 'go away'
    broker.refuse, broker.answerConnect = None, False
    assert Peer(broker).send('CONNECT', {'accept-version': '1.2'}) == []


# -- receipts, errors --------------------------------------------------------------------------------


def test_everyFrameWithAReceiptIsAnsweredAndEveryFrameIsRecorded(broker):
    peer = Peer(broker)
    peer.connect()
    [receipt] = peer.send('SEND', {'destination': '/queue/a', 'receipt': 'r1'}, b'x')
    assert receipt.headers == {'receipt-id': 'r1'}
    broker.answerReceipts = False
    assert peer.send('SEND', {'destination': '/queue/a', 'receipt': 'r2'}, b'y') == []
    assert peer.connection.commands() == ['CONNECT', 'SEND', 'SEND']
    assert broker.bodies('/queue/a') == [b'x', b'y']


def test_failNextAnswersTheNextSuchFrameWithAnError(broker):
    peer = Peer(broker)
    peer.connect()
    broker.failNext('SEND', 'disk full', close=False)
    [error] = peer.send('SEND', {'destination': '/queue/a', 'receipt': 'r1'}, b'lost')
    assert (error.command, error.headers['message'], error.headers['receipt-id']) == ('ERROR', 'disk full', 'r1')
    assert not peer.closed and broker.messages('/queue/a') == []
    [receipt] = peer.send('SEND', {'destination': '/queue/a', 'receipt': 'r2'}, b'kept')
    assert receipt.command == 'RECEIPT'
    broker.failNext('SUBSCRIBE')
    [error] = peer.send('SUBSCRIBE', {'destination': '/queue/a', 'id': 's'})
    assert error.command == 'ERROR' and peer.closed


def test_sendErrorWithAndWithoutClosing(broker):
    peer = Peer(broker)
    peer.connect()
    peer.connection.sendError('first', b'details', close=False)
    [error] = peer.read()
    assert (error.headers['message'], error.body) == ('first', b'details') and not peer.closed
    peer.connection.sendError('second')
    assert peer.closed


def test_unknownCommandAndSendWithoutDestination(broker):
    peer = Peer(broker)
    peer.connect()
    [error] = peer.send('SEND', {'receipt': 'r'})
    assert error.command == 'ERROR' and not peer.closed
    peer.connection.receive(b'FOO\n\n\x00')
    assert commands(peer.read()) == ['ERROR'] and peer.closed


# -- routing ---------------------------------------------------------------------------------------


def subscribe(peer: Peer, destination: str, ack: str = 'auto', ident: str = 's', **headers: str) -> list:
    return peer.send('SUBSCRIBE', {'destination': destination, 'ack': ack, 'id': ident, **headers})


def test_queueKeepsMessagesUntilSomeoneSubscribes(broker):
    broker.send('/queue/a', b'early')
    assert [m.body for m in broker.pending('/queue/a')] == [b'early']
    peer = Peer(broker)
    peer.connect()
    [message] = subscribe(peer, '/queue/a')
    assert message.body == b'early' and message.headers['subscription'] == 's'
    assert broker.pending('/queue/a') == []


def test_queueRoundRobinsBetweenSubscribers(broker):
    first, second = Peer(broker), Peer(broker)
    first.connect(), second.connect()
    subscribe(first, '/queue/a'), subscribe(second, '/queue/a')
    for body in (b'1', b'2', b'3', b'4'):
        broker.send('/queue/a', body)
    assert [f.body for f in first.read()] == [b'1', b'3']
    assert [f.body for f in second.read()] == [b'2', b'4']


def test_topicCopiesToEverySubscriberAndKeepsNothing(broker):
    broker.send('/topic/t', b'unheard')
    first, second = Peer(broker), Peer(broker)
    first.connect(), second.connect()
    assert subscribe(first, '/topic/t') == []
    subscribe(second, '/topic/t')
    broker.send('/topic/t', b'news')
    assert [f.body for f in first.read()] == [b'news'] == [f.body for f in second.read()]
    assert broker.bodies('/topic/t') == [b'unheard', b'news']


def test_subscribeReceiptComesBeforeTheMessages(broker):
    broker.send('/queue/a', b'm')
    peer = Peer(broker)
    peer.connect()
    assert commands(subscribe(peer, '/queue/a', receipt='r')) == ['RECEIPT', 'MESSAGE']


def test_sendHeadersTravelOnButNotReceiptOrTransaction(broker):
    first, second = Peer(broker), Peer(broker)
    first.connect(), second.connect()
    subscribe(second, '/queue/a')
    first.send('SEND', {'destination': '/queue/a', 'receipt': 'r', 'correlation-id': 'c1'}, b'x')
    [message] = second.read()
    assert message.headers['correlation-id'] == 'c1'
    assert 'receipt' not in message.headers and 'transaction' not in message.headers


def test_unsubscribeStopsDeliveryAndRequeuesUnacked(broker):
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a', 'client-individual')
    broker.send('/queue/a', b'm')
    peer.read()
    peer.send('UNSUBSCRIBE', {'id': 's'})
    broker.send('/queue/a', b'n')
    assert peer.read() == []
    assert [m.body for m in broker.pending('/queue/a')] == [b'm', b'n']


# -- acknowledgements ------------------------------------------------------------------------------


def test_autoAckNeedsNoAck(broker):
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a')
    broker.send('/queue/a', b'm')
    [message] = peer.read()
    assert 'ack' not in message.headers and peer.connection.unacked() == []


def test_clientAckIsCumulative(broker):
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a', 'client')
    for body in (b'1', b'2', b'3'):
        broker.send('/queue/a', body)
    first, second, third = peer.read()
    peer.send('ACK', {'id': second.headers['ack']})
    assert [d.message.body for d in peer.connection.unacked()] == [b'3']


def test_clientIndividualAckIsNot(broker):
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a', 'client-individual')
    for body in (b'1', b'2', b'3'):
        broker.send('/queue/a', body)
    first, second, third = peer.read()
    peer.send('ACK', {'id': second.headers['ack']})
    assert [d.message.body for d in peer.connection.unacked()] == [b'1', b'3']


@pytest.mark.parametrize('version', ['1.0', '1.1'])
def test_olderVersionsAckByMessageId(broker, version):
    peer = Peer(broker, version)
    peer.connect({'accept-version': version})
    subscribe(peer, '/queue/a', 'client')
    broker.send('/queue/a', b'1')
    [message] = peer.read()
    assert 'ack' not in message.headers
    peer.send('ACK', {'message-id': message.headers['message-id'], 'subscription': 's'})
    assert peer.connection.unacked() == []


def test_unknownAckIsAnErrorUnlessNotStrict(broker):
    peer = Peer(broker)
    peer.connect()
    [error] = peer.send('ACK', {'id': 'nope', 'receipt': 'r'})
    assert error.command == 'ERROR' and error.headers['receipt-id'] == 'r' and not peer.closed
    broker.strictAcks = False
    assert commands(peer.send('ACK', {'id': 'nope', 'receipt': 'r2'})) == ['RECEIPT']


def test_prefetchLimitsUnackedMessages(broker):
    for body in (b'1', b'2', b'3'):
        broker.send('/queue/a', body)
    peer = Peer(broker)
    peer.connect()
    messages = subscribe(peer, '/queue/a', 'client-individual', **{'activemq.prefetchSize': '2'})
    assert [m.body for m in messages] == [b'1', b'2']
    assert [m.body for m in peer.send('ACK', {'id': messages[0].headers['ack']})] == [b'3']


def test_nackRequeuesWithRedeliveredAndDeliveryCount(broker):
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a', 'client-individual')
    broker.send('/queue/a', b'm')
    [first] = peer.read()
    assert 'redelivered' not in first.headers
    receipt, again = peer.send('NACK', {'id': first.headers['ack'], 'receipt': 'r'})
    assert receipt.command == 'RECEIPT'
    assert (again.body, again.headers['redelivered'], again.headers['x-delivery-count']) == (b'm', 'true', '1')
    assert again.headers['message-id'] == first.headers['message-id']
    assert again.headers['ack'] != first.headers['ack']


def test_nackDeadLettersWithOnNackDeadLetter():
    broker = MemoryBroker(onNack='deadLetter')
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a', 'client-individual')
    broker.send('/queue/a', b'poison')
    [message] = peer.read()
    peer.send('NACK', {'id': message.headers['ack']})
    [dead] = broker.pending(DEAD_LETTER_QUEUE)
    assert (dead.body, dead.headers['original-destination']) == (b'poison', '/queue/a')


def test_maxRedeliveriesSendsToTheDeadLetterQueue():
    broker = MemoryBroker(maxRedeliveries=2)
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a', 'client-individual')
    broker.send('/queue/a', b'poison')
    [message] = peer.read()
    counts = []
    while message is not None:
        counts.append(message.headers.get('x-delivery-count'))
        frames = peer.send('NACK', {'id': message.headers['ack']})
        message = frames[0] if frames else None
    assert counts == [None, '1', '2']
    assert broker.bodies(DEAD_LETTER_QUEUE) == [b'poison']


def test_disconnectRequeuesUnackedForTheNextSubscriber(broker):
    first = Peer(broker)
    first.connect()
    subscribe(first, '/queue/a', 'client')
    broker.send('/queue/a', b'1'), broker.send('/queue/a', b'2')
    first.read()
    first.connection.drop()
    assert first.closed
    second = Peer(broker)
    second.connect()
    messages = subscribe(second, '/queue/a', 'client')
    assert [(m.body, m.headers['redelivered']) for m in messages] == [(b'1', 'true'), (b'2', 'true')]


def test_disconnectWithReceiptAnswersThenCloses(broker):
    peer = Peer(broker)
    peer.connect()
    assert commands(peer.send('DISCONNECT', {'receipt': 'bye'})) == ['RECEIPT']
    assert peer.closed


# -- transactions ----------------------------------------------------------------------------------


def test_commitAppliesSendsAndAcksAtOnce(broker):
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/in', 'client-individual')
    broker.send('/queue/in', b'order')
    [message] = peer.read()
    peer.send('BEGIN', {'transaction': 't'})
    peer.send('SEND', {'destination': '/queue/out', 'transaction': 't'}, b'invoice')
    peer.send('ACK', {'id': message.headers['ack'], 'transaction': 't'})
    assert broker.messages('/queue/out') == [] and len(peer.connection.unacked()) == 1
    assert commands(peer.send('COMMIT', {'transaction': 't', 'receipt': 'c'})) == ['RECEIPT']
    assert broker.bodies('/queue/out') == [b'invoice'] and peer.connection.unacked() == []


def test_abortDiscardsSendsAndAcks(broker):
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/in', 'client-individual')
    broker.send('/queue/in', b'order')
    [message] = peer.read()
    peer.send('BEGIN', {'transaction': 't'})
    peer.send('SEND', {'destination': '/queue/out', 'transaction': 't'}, b'invoice')
    peer.send('ACK', {'id': message.headers['ack'], 'transaction': 't'})
    peer.send('ABORT', {'transaction': 't'})
    assert broker.messages('/queue/out') == [] and len(peer.connection.unacked()) == 1
    assert peer.connection.transactions == {}


def test_unknownOrDuplicateTransactionIsAnError(broker):
    peer = Peer(broker)
    peer.connect()
    assert commands(peer.send('COMMIT', {'transaction': 'never-begun'})) == ['ERROR']
    assert commands(peer.send('SEND', {'destination': '/queue/a', 'transaction': 'x'})) == ['ERROR']
    peer.send('BEGIN', {'transaction': 't'})
    assert commands(peer.send('BEGIN', {'transaction': 't'})) == ['ERROR']
    assert not peer.closed


def test_openTransactionsAreAbortedWhenTheConnectionEnds(broker):
    peer = Peer(broker)
    peer.connect()
    peer.send('BEGIN', {'transaction': 't'})
    peer.send('SEND', {'destination': '/queue/out', 'transaction': 't'}, b'x')
    peer.connection.lost()
    assert broker.messages('/queue/out') == []


# -- freezing --------------------------------------------------------------------------------------


def test_freezeHoldsBothDirectionsAndThawCarriesOn(broker):
    peer = Peer(broker)
    peer.connect({'heart-beat': '0,1000'})
    subscribe(peer, '/queue/a')
    peer.connection.freeze()
    assert peer.connection.nextDeadline() is None
    peer.send('SEND', {'destination': '/queue/b', 'receipt': 'r'}, b'x')
    broker.send('/queue/a', b'waiting')
    assert peer.read() == [] and broker.messages('/queue/b') == []
    assert [m.body for m in broker.pending('/queue/a')] == [b'waiting']
    peer.connection.thaw()
    assert commands(peer.read()) == ['RECEIPT', 'MESSAGE']
    assert broker.bodies('/queue/b') == [b'x']


def test_connectionPropertyAndDeliverToASubscription(broker):
    with pytest.raises(LookupError):
        broker.connection  # noqa: B018
    peer = Peer(broker)
    peer.connect()
    subscribe(peer, '/queue/a', 'client-individual')
    frame = broker.connection.deliver('s', b'pushed', {'x': '1'}, messageId='m-7')
    assert frame.headers['message-id'] == 'm-7'
    [message] = peer.read()
    assert (message.body, message.headers['x'], message.headers['ack']) == (b'pushed', '1', 'ack-m-7')
    assert [d.ackId for d in broker.connection.unacked()] == ['ack-m-7']


@pytest.mark.parametrize('value', ['abc', '1000', '-1,0'])
def test_unreadableHeartBeatHeaderIsAnErrorAndCloses(broker, value):
    peer = Peer(broker)
    [error] = peer.send('CONNECT', {'accept-version': '1.2', 'heart-beat': value})
    assert error.command == 'ERROR' and error.headers['message'] == f'Invalid heart-beat header: {value}'
    assert peer.closed


def test_aBrokerThatIgnoresTransactionsAppliesAtOnceAndAnswersReceipts():
    broker = MemoryBroker(transactional=False)
    peer = Peer(broker)
    peer.connect()
    assert commands(peer.send('BEGIN', {'transaction': 't', 'receipt': 'b'})) == ['RECEIPT']
    peer.send('SEND', {'destination': '/queue/out', 'transaction': 't'}, b'at once')
    assert broker.bodies('/queue/out') == [b'at once']
    assert commands(peer.send('COMMIT', {'transaction': 'never-begun', 'receipt': 'c'})) == ['RECEIPT']


def test_handleActsOnAFrameAgain(broker):
    peer = Peer(broker)
    peer.connect()
    broker.answerReceipts = False
    peer.send('SEND', {'destination': '/queue/a', 'receipt': 'late'}, b'x')
    broker.answerReceipts = True
    peer.connection.handle(peer.connection.framesOf('SEND')[0])
    assert [f.headers['receipt-id'] for f in peer.read()] == ['late']
    assert broker.bodies('/queue/a') == [b'x', b'x']  # acted on twice; recorded once
    assert peer.connection.commands() == ['CONNECT', 'SEND']
