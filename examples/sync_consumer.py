"""Consume a queue with ``ack:client-individual``, acknowledging each message.

    python examples/sync_consumer.py [COUNT]

Stops after COUNT messages (default: never), when none has arrived for ``STOMPEST_DEMO_IDLE``
seconds (default 10), or on Ctrl-C; then disconnects and prints how many messages it took.
Heart-beats (1 s each way) keep the connection checked while it waits.

Environment (all optional): ``STOMP_URI`` (default ``tcp://localhost:61613``), ``STOMP_LOGIN``,
``STOMP_PASSCODE``, ``STOMP_HOST`` (RabbitMQ wants its virtual host, ``/``), ``STOMPEST_DEMO_QUEUE``
(default ``/queue/stompest.demo``).
"""

import logging
import os
import sys

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp


def consume(client, count, idle):
    """Receive and ack until ``count`` messages arrived or none for ``idle`` seconds."""
    received = 0
    while count is None or received < count:
        if not client.canRead(idle):
            logging.info('No message for %s s', idle)
            break
        frame = client.receiveFrame()
        if frame.command == StompSpec.ERROR:  # the broker refused something; it closes next
            raise SystemExit(f'Broker error: {frame.headers.get(StompSpec.MESSAGE_HEADER)}')
        logging.info('Received %s', frame.body.decode('utf-8', 'replace'))
        client.ack(frame)
        received += 1
    return received


def main(count):
    config = StompConfig(
        os.environ.get('STOMP_URI', 'tcp://localhost:61613'),
        login=os.environ.get('STOMP_LOGIN'),
        passcode=os.environ.get('STOMP_PASSCODE'),
        version=StompSpec.VERSION_1_2,
    )
    client = Stomp(config)
    client.connect(host=os.environ.get('STOMP_HOST'), heartBeats=(1000, 1000), connectTimeout=10, connectedTimeout=10)
    received = 0
    try:
        client.subscribe(
            os.environ.get('STOMPEST_DEMO_QUEUE', '/queue/stompest.demo'),
            {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL},
        )
        received = consume(client, count, float(os.environ.get('STOMPEST_DEMO_IDLE', 10)))
    except KeyboardInterrupt:
        logging.info('Interrupted')
    finally:
        client.disconnect(receipt='bye')
        for _ in client:  # until the broker confirms: every ack before reached it
            pass
        logging.info('Consumed %d messages', received)


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    try:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    except KeyboardInterrupt:  # during connect
        logging.info('Interrupted')
