"""A SubscriptionListener's ACK is written as the same bytes whether the client builds the frame
(an onSend listener watches, DEBUG logging, a transaction) or writes its bytes directly."""

from __future__ import annotations

import logging

import pytest

from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from stompest.twisted.listener import Listener, ReceiptListener, SubscriptionListener

from .helpers import FakeBroker, makeClient, successOf

ACTIVEMQ_ACK = b'ID\\cvm-12-34567-1700000000000-3\\c1'
RABBITMQ_ACK = b'T_s1@@session-Ab0_cDeFgHiJkLmNoPqRsT@@1'


class SendWatcher(Listener):
    def __init__(self) -> None:
        self.sent: list[StompFrame] = []

    def onSend(self, connection, frame):
        self.sent.append(frame)


class QuietReceiptListener(ReceiptListener):
    """A subclass that keeps ReceiptListener.onSend: the fast path still applies."""


def consume(reactor, ackValue: bytes, extraListener: Listener | None = None, version: str = '1.2'):
    endpoints, client = makeClient(reactor, version=version)
    connecting = client.connect()
    link = endpoints.attempts[0].succeed(FakeBroker(version=version))
    successOf(connecting)
    if extraListener is not None:
        client.add(extraListener)
    handled = []
    listener = SubscriptionListener(lambda c, frame: handled.append(frame), ack=True)
    successOf(client.subscribe('/queue/in', {'ack': 'client-individual', 'id': 'sub-1'}, listener=listener))
    link.pump()
    before = len(link.clientTransport.writes)
    message = (
        b'MESSAGE\nsubscription:sub-1\ndestination:/queue/in\nmessage-id:'
        + ackValue
        + b'\\c9\nack:'
        + ackValue
        + b'\ncontent-length:2\n\nhi\x00\n'
    )
    link.brokerTransport.write(message)
    link.pump()
    assert len(handled) == 1
    written = b''.join(link.clientTransport.writes[before:])
    return client, link, handled[0], written


@pytest.mark.parametrize('ackValue', [ACTIVEMQ_ACK, RABBITMQ_ACK])
def test_ackBytesAreTheSameOnBothPaths(reactor, ackValue, caplog):
    expected = b'ACK\nid:' + ackValue + b'\n\n\x00'
    client, link, frame, fast = consume(reactor, ackValue)
    assert client._plainFrames
    assert fast == expected
    watcher = SendWatcher()
    client, link, frame, careful = consume(reactor, ackValue, watcher)
    assert not client._plainFrames
    assert careful == expected
    acks = [each for each in watcher.sent if each.command == StompSpec.ACK]
    assert [bytes(each) for each in acks] == [expected]  # the listener saw the frame itself
    caplog.set_level(logging.DEBUG, logger='stompest')
    client, link, frame, logged = consume(reactor, ackValue)
    assert logged == expected
    assert 'Sending ACK frame' in caplog.text
    assert link.broker.framesOf('ACK')[0].headers == {'id': ackValue.decode().replace('\\c', ':')}


def test_receiptListenerSubclassKeepsTheFastPath(reactor):
    client, link, frame, written = consume(reactor, RABBITMQ_ACK, QuietReceiptListener())
    assert client._plainFrames
    assert written == b'ACK\nid:' + RABBITMQ_ACK + b'\n\n\x00'


def test_overriddenOnSendOnAnInstanceTakesTheCarefulPath(reactor):
    seen = []
    patched = ReceiptListener()
    patched.onSend = lambda connection, frame: seen.append(frame)  # type: ignore[method-assign]
    client, link, frame, written = consume(reactor, RABBITMQ_ACK, patched)
    assert not client._plainFrames
    assert [each.command for each in seen][-1:] == ['ACK']
    assert written == b'ACK\nid:' + RABBITMQ_ACK + b'\n\n\x00'


def test_ackOnAClosedConnectionFailsAsBefore(reactor):
    client, link, frame, written = consume(reactor, RABBITMQ_ACK)
    client._unacked[id(frame)] = frame
    client._protocol._closed = True  # the connection went away under the handler
    result = client._ackNow(frame)
    assert result is not None
    failures = []
    result.addErrback(failures.append)
    assert 'Not connected' in str(failures[0].value)
