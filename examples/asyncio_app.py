"""Use the Twisted client from an asyncio application (Twisted's asyncio reactor).

    python examples/asyncio_app.py

Sends three messages to a fresh queue, reads them back with ``ack:client-individual`` (each
handler is an asyncio coroutine), prints what it did, disconnects and exits. The broker URI comes
from ``STOMP_URI`` (default ``tcp://localhost:61613``), the ``host`` header from ``STOMP_HOST``
(RabbitMQ wants ``/``).
"""

import asyncio
import os
import sys
import uuid

from twisted.internet import asyncioreactor


async def main(reactor):
    from twisted.internet import defer

    from stompest.config import StompConfig
    from stompest.protocol import StompSpec
    from stompest.twisted import Stomp
    from stompest.twisted.listener import SubscriptionListener

    loop = asyncio.get_running_loop()

    def wait(deferred):
        """A Deferred as an asyncio future, to ``await`` it."""
        return deferred.asFuture(loop)

    uri = os.environ.get('STOMP_URI', 'tcp://localhost:61613')
    queue = f'/queue/stompest.asyncio.{uuid.uuid4().hex}'
    client = Stomp(StompConfig(uri, version=StompSpec.VERSION_1_2), reactor=reactor)
    await wait(client.connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10))
    print(f'connected to {uri}, session {client.session.id}')

    received = asyncio.Queue()

    async def handle(frame):
        await asyncio.sleep(0.01)  # any asyncio work: a database call, an HTTP request
        await received.put(frame.body.decode())

    def handler(connection, frame):
        # The listener waits for a Deferred: wrap the coroutine's task in one. The
        # message is acknowledged when the task is done (and not if it fails).
        return defer.Deferred.fromFuture(loop.create_task(handle(frame)))

    listener = SubscriptionListener(handler, ack=True)
    headers = {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 'asyncio'}
    await wait(client.subscribe(queue, headers, receipt='s', listener=listener))
    for number in range(1, 4):
        body = f'message {number}'.encode()
        await wait(client.send(queue, body, receipt=f'sent-{number}'))
    print(f'sent 3 messages to {queue}')
    for _ in range(3):
        body = await asyncio.wait_for(received.get(), timeout=10)
        print(f'handled {body!r}')
    await wait(client.disconnect(receipt='bye'))
    print('disconnected')
    return 0


def run():
    loop = asyncio.new_event_loop()
    asyncioreactor.install(loop)  # before anything imports twisted.internet.reactor
    from twisted.internet import reactor

    reactor.startRunning(installSignalHandlers=False)  # Twisted rides on the loop
    try:
        return loop.run_until_complete(main(reactor))
    finally:
        reactor.stop()  # runs Twisted's shutdown, then stops the loop
        loop.run_forever()
        loop.close()


if __name__ == '__main__':
    sys.exit(run())
