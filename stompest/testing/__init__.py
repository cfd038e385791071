"""A test kit for code that uses stompest: an in-memory STOMP broker.

Unit tests of your message handlers need no real broker. :class:`MemoryBroker` speaks STOMP
1.0, 1.1 and 1.2 from memory (queues and topics, every ack mode, ACK/NACK and redelivery,
transactions, receipts, heart-beats) and lets a test break things on purpose (an ERROR, a dropped
or frozen connection). Connect your client to it through an adapter:

* Twisted client: :class:`stompest.testing.twisted.MemoryEndpoints` as the client's
  ``endpointFactory``, driven by a :class:`~twisted.internet.testing.MemoryReactorClock`;
* blocking client: :class:`stompest.testing.sync.LoopbackServer`, a real socket on 127.0.0.1.

The broker itself is sans-IO, built on :mod:`stompest.protocol` only: importing
``stompest.testing`` loads neither Twisted nor a socket. See the docs page "Testing your handlers".
"""

from stompest.testing.broker import DEAD_LETTER_QUEUE, DELIVERY_COUNT_HEADER, MemoryBroker, Message
from stompest.testing.connection import BrokerConnection, Delivery, Subscription

__all__ = [
    'DEAD_LETTER_QUEUE',
    'DELIVERY_COUNT_HEADER',
    'BrokerConnection',
    'Delivery',
    'MemoryBroker',
    'Message',
    'Subscription',
]
