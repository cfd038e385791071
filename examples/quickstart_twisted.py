"""Quickstart, Twisted client: send three messages, handle them, acknowledge them, stop.

    python examples/quickstart_twisted.py

Prints each step and exits when the three messages are handled (``task.react`` stops
the reactor when ``main`` is done). The broker URI comes from ``STOMP_URI`` (default
``tcp://localhost:61613``), the ``host`` header from ``STOMP_HOST`` (RabbitMQ wants ``/``).
"""

import os
import uuid

from twisted.internet import defer, task

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener


@defer.inlineCallbacks
def main(reactor):
    uri = os.environ.get('STOMP_URI', 'tcp://localhost:61613')
    queue = f'/queue/stompest.quickstart.{uuid.uuid4().hex}'  # fresh: nothing old in it
    client = Stomp(StompConfig(uri, version=StompSpec.VERSION_1_2), reactor=reactor)
    yield client.connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10)
    session = client.session
    print(f'connected to {uri} (STOMP {session.version}, session {session.id})')

    allHandled = defer.Deferred()
    handled = []

    def handler(connection, frame):
        """Called per message; the listener acknowledges it when this returns."""
        handled.append(frame.body.decode())
        print(f'handled {handled[-1]!r}')
        if len(handled) == 3:
            allHandled.callback(None)

    headers = {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 'quick'}
    listener = SubscriptionListener(handler, ack=True)
    yield client.subscribe(queue, headers, receipt='subscribed', listener=listener)
    for number in range(1, 4):
        body = f'message {number}'.encode()
        yield client.send(queue, body, receipt=f'sent-{number}')  # fires on the RECEIPT
        print(f'sent message {number} to {queue}')

    yield allHandled.addTimeout(10, reactor)
    yield client.disconnect(receipt='bye')  # waits for handlers, ACKs, the RECEIPT
    print(f'disconnected after {len(handled)} messages')


if __name__ == '__main__':
    task.react(main)
