"""Quickstart, Twisted client: send three messages, handle them, acknowledge them, stop.

    python examples/quickstart_twisted.py

Prints each step and exits when the three messages are handled (``task.react`` stops the
reactor when ``main`` is done). The broker URI comes from ``STOMP_URI`` (default
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
    config = StompConfig(os.environ.get('STOMP_URI', 'tcp://localhost:61613'), version=StompSpec.VERSION_1_2)
    queue = f'/queue/stompest.quickstart.{uuid.uuid4().hex}'  # a fresh queue: nothing old in it
    client = Stomp(config, reactor=reactor)
    yield client.connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10)
    print(f'connected to {config.uri} (STOMP {client.session.version}, session {client.session.id})')

    allHandled = defer.Deferred()
    handled = []

    def handler(connection, frame):
        """Called per message; the listener acknowledges it when this returns."""
        handled.append(frame.body.decode())
        print(f'handled {handled[-1]!r}')
        if len(handled) == 3:
            allHandled.callback(None)

    headers = {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 'quick'}
    yield client.subscribe(queue, headers, receipt='subscribed', listener=SubscriptionListener(handler, ack=True))
    for number in range(1, 4):
        yield client.send(queue, f'message {number}'.encode(), receipt=f'sent-{number}')  # fires on the RECEIPT
        print(f'sent message {number} to {queue}')

    yield allHandled.addTimeout(10, reactor)
    yield client.disconnect(receipt='bye')  # waits for the handlers and their ACKs, then the receipt
    print(f'disconnected after {len(handled)} messages')


if __name__ == '__main__':
    task.react(main)
