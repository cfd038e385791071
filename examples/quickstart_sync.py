"""Quickstart, blocking client: send three messages, read them back, acknowledge them, stop.

    python examples/quickstart_sync.py

Prints each step. The broker URI comes from ``STOMP_URI`` (default ``tcp://localhost:61613``),
the ``host`` header from ``STOMP_HOST`` (RabbitMQ wants ``/``).
"""

import os
import uuid

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp


def main():
    config = StompConfig(os.environ.get('STOMP_URI', 'tcp://localhost:61613'), version=StompSpec.VERSION_1_2)
    queue = f'/queue/stompest.quickstart.{uuid.uuid4().hex}'  # a fresh queue: nothing old in it
    client = Stomp(config)
    client.connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10)
    print(f'connected to {config.uri} (STOMP {client.session.version}, session {client.session.id})')

    for number in range(1, 4):  # the last one asks for a receipt: then the broker has them all
        client.send(queue, f'message {number}'.encode(), receipt='sent' if number == 3 else None)
    print(f'sent 3 messages to {queue}')

    client.subscribe(queue, {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ID_HEADER: 'quick'})
    received = 0
    while received < 3:
        if not client.canRead(10):
            raise SystemExit('no message within 10 s')
        frame = client.receiveFrame()
        if frame.command == StompSpec.MESSAGE:  # (the other frame is the RECEIPT of the last SEND)
            client.ack(frame)
            received += 1
            print(f'received {frame.body.decode()!r} and acknowledged it')

    client.disconnect(receipt='bye')  # the broker confirms, so every ACK has arrived
    while client.receiveFrame().headers.get(StompSpec.RECEIPT_ID_HEADER) != 'bye':
        pass
    print(f'disconnected after {received} messages')


if __name__ == '__main__':
    main()
