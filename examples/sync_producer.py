"""Send COUNT messages to a queue, each confirmed by a RECEIPT.

    python examples/sync_producer.py [COUNT]

Environment (all optional): ``STOMP_URI`` (default ``tcp://localhost:61613``), ``STOMP_LOGIN``,
``STOMP_PASSCODE``, ``STOMP_HOST`` (the ``host`` header; RabbitMQ wants its virtual host, ``/``),
``STOMPEST_DEMO_QUEUE`` (default ``/queue/stompest.demo``).
"""

import logging
import os
import sys

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp


def main(count):
    config = StompConfig(
        os.environ.get('STOMP_URI', 'tcp://localhost:61613'),
        login=os.environ.get('STOMP_LOGIN'),
        passcode=os.environ.get('STOMP_PASSCODE'),
        version=StompSpec.VERSION_1_2,
    )
    queue = os.environ.get('STOMPEST_DEMO_QUEUE', '/queue/stompest.demo')
    client = Stomp(config)
    client.connect(host=os.environ.get('STOMP_HOST'), connectTimeout=10, connectedTimeout=10)
    try:
        for seq in range(count):
            client.send(queue, f'message {seq}'.encode(), {'seq': seq}, receipt=f'seq-{seq}')
            frame = client.receiveFrame()  # nothing is subscribed: a RECEIPT, or an ERROR if refused
            if frame.command == StompSpec.ERROR:
                raise SystemExit(f'Broker error: {frame.headers.get(StompSpec.MESSAGE_HEADER)}')
            assert frame.headers[StompSpec.RECEIPT_ID_HEADER] == f'seq-{seq}'
        logging.info('Sent %d messages to %s', count, queue)
    finally:
        client.disconnect()


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    try:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
    except KeyboardInterrupt:
        logging.info('Interrupted')
