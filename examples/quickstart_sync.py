"""Quickstart, blocking client: send three messages, read them back, acknowledge them, stop.

    python examples/quickstart_sync.py

Prints each step. The broker URI comes from ``STOMP_URI`` (default
``tcp://localhost:61613``), the ``host`` header from ``STOMP_HOST`` (RabbitMQ wants ``/``).
"""

import os
import uuid

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp


def main():
    uri = os.environ.get('STOMP_URI', 'tcp://localhost:61613')
    queue = f'/queue/stompest.quickstart.{uuid.uuid4().hex}'  # fresh: nothing old in it
    client = Stomp(StompConfig(uri, version=StompSpec.VERSION_1_2))
    client.connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10)
    session = client.session
    print(f'connected to {uri} (STOMP {session.version}, session {session.id})')

    for number in range(1, 4):  # the last SEND asks for a receipt: the broker has all
        receipt = 'sent' if number == 3 else None
        client.send(queue, f'message {number}'.encode(), receipt=receipt)
    print(f'sent 3 messages to {queue}')

    client.subscribe(queue, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 'quick'})
    received = 0
    while received < 3:
        if not client.canRead(10):
            raise SystemExit('no message within 10 s')
        frame = client.receiveFrame()
        if frame.command == StompSpec.MESSAGE:  # (the other one: the SEND's RECEIPT)
            client.ack(frame)
            received += 1
            print(f'received {frame.body.decode()!r} and acknowledged it')

    client.disconnect(receipt='bye')  # confirmed by the broker: every ACK has arrived
    while client.receiveFrame().headers.get(StompSpec.RECEIPT_ID_HEADER) != 'bye':
        pass
    print(f'disconnected after {received} messages')


if __name__ == '__main__':
    main()
