"""Consume a queue over TLS, verifying the broker's certificate and host name against a CA file.

    STOMP_CA=/path/to/ca.pem python examples/sync_ssl_consumer.py [COUNT]

Like sync_consumer.py, with ``STOMP_URI`` defaulting to ``ssl://localhost:61614``. ``STOMP_CA``
is the PEM file of the CA (or the self-signed certificate) the broker's certificate must chain
to; without it the system's trusted CAs are used.

Other environment (all optional): ``STOMP_LOGIN``, ``STOMP_PASSCODE``, ``STOMP_HOST``,
``STOMPEST_DEMO_QUEUE`` (default ``/queue/stompest.demo``), ``STOMPEST_DEMO_IDLE`` (default 10).
"""

import logging
import os
import ssl
import sys

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.sync import Stomp


def main(count):
    context = ssl.create_default_context(cafile=os.environ.get('STOMP_CA'))  # checks cert and host name
    config = StompConfig(
        os.environ.get('STOMP_URI', 'ssl://localhost:61614'),
        login=os.environ.get('STOMP_LOGIN'),
        passcode=os.environ.get('STOMP_PASSCODE'),
        version=StompSpec.VERSION_1_2,
        sslContext=context,
    )
    client = Stomp(config)
    client.connect(host=os.environ.get('STOMP_HOST'), connectTimeout=10, connectedTimeout=10)
    received = 0
    try:
        client.subscribe(
            os.environ.get('STOMPEST_DEMO_QUEUE', '/queue/stompest.demo'),
            {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL},
        )
        idle = float(os.environ.get('STOMPEST_DEMO_IDLE', 10))
        while (count is None or received < count) and client.canRead(idle):
            frame = client.receiveFrame()
            if frame.command == StompSpec.ERROR:  # the broker refused something; it closes next
                raise SystemExit(f'Broker error: {frame.headers.get(StompSpec.MESSAGE_HEADER)}')
            logging.info('Received %s', frame.body.decode('utf-8', 'replace'))
            client.ack(frame)
            received += 1
    except KeyboardInterrupt:
        logging.info('Interrupted')
    finally:
        client.disconnect(receipt='bye')
        for _ in client:
            pass
        logging.info('Consumed %d messages over TLS', received)


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    try:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    except KeyboardInterrupt:  # during connect
        logging.info('Interrupted')
