"""Consume a queue, transform each message, and send the result to another queue.

    python examples/twisted_transformer.py

Subscribes to the input queue with ``ack:client-individual``. Each message's body is upper-cased
and sent on with a ``transformed-by`` header (its ``seq`` header is kept); the input message is
acknowledged only after the broker has confirmed the output (a receipt), and the output is sent
``persistent:true`` (ActiveMQ's STOMP default is non-persistent: a broker restart would
drop it), so a crash in between means a redelivery, never a loss. It reconnects by itself when
the broker goes away (``autoReconnect=True``; heart-beats every second find a frozen broker).
A message with the header ``poison:true`` makes the handler raise: the listener then sends it
to the error destination (failure recorded in its headers) and acknowledges it, so it does not
come back. Runs until Ctrl-C or SIGTERM, which let the messages in flight finish (and their
ACKs be confirmed) before it disconnects.

Environment (all optional): ``STOMP_URI`` (default ``tcp://localhost:61613``), ``STOMP_LOGIN``,
``STOMP_PASSCODE``, ``STOMP_HOST`` (the ``host`` header; RabbitMQ wants its virtual host, ``/``),
``STOMPEST_DEMO_IN`` (default ``/queue/stompest.demo.in``),
``STOMPEST_DEMO_OUT`` (default ``/queue/stompest.demo.out``), ``STOMPEST_DEMO_ERROR``
(default ``/queue/stompest.demo.error``), ``STOMPEST_DEMO_HEADERS`` (extra headers for every
SEND and SUBSCRIBE, ``name:value,...``; RabbitMQ: ``x-queue-type:quorum`` keeps acknowledgements
across a broker crash).
"""

import logging
import os

from twisted.internet import defer, task

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener

#: extra headers for every SEND and SUBSCRIBE, from STOMPEST_DEMO_HEADERS="name:value,..."
#: (RabbitMQ: x-queue-type:quorum makes its queues keep acknowledgements across a broker crash)
EXTRA_HEADERS = dict(item.split(':', 1) for item in os.environ.get('STOMPEST_DEMO_HEADERS', '').split(',') if item)

LOG = logging.getLogger('twisted_transformer')


class PoisonMessage(Exception):
    """The message cannot be transformed; it belongs on the error destination."""


@defer.inlineCallbacks
def main(reactor, source, destination, errorDestination):
    config = StompConfig(
        os.environ.get('STOMP_URI', 'tcp://localhost:61613'),
        login=os.environ.get('STOMP_LOGIN'),
        passcode=os.environ.get('STOMP_PASSCODE'),
        version=StompSpec.VERSION_1_2,
    )
    client = yield Stomp(config, reactor=reactor, autoReconnect=True).connect(
        host=os.environ.get('STOMP_HOST'), heartBeats=(1000, 1000), connectedTimeout=10
    )
    # Ctrl-C stops the reactor (SIGTERM too); first let the handlers still running finish (and
    # ack), then disconnect.
    reactor.addSystemEventTrigger('before', 'shutdown', stop, client)

    def transform(client, frame):
        seq = frame.headers.get('seq', '?')
        if frame.headers.get('poison') == 'true':
            raise PoisonMessage(f'refusing poison message seq={seq}')
        headers = {**EXTRA_HEADERS, 'seq': seq, 'transformed-by': 'stompest', StompSpec.PERSISTENT_HEADER: 'true'}
        # The listener acks the input when this Deferred fires: after the broker has the output.
        return client.send(destination, frame.body.upper(), headers, receipt=f'seq-{seq}')

    client.subscribe(
        source,
        {
            **EXTRA_HEADERS,
            StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL,
            StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: 100,  # each broker ignores the other's header
            StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER: 100,
        },
        listener=SubscriptionListener(transform, ack=True, errorDestination=errorDestination),
    )
    LOG.info('transforming %s -> %s (errors -> %s); Ctrl-C to stop', source, destination, errorDestination)
    yield client.disconnected  # fires when we disconnect, errs back if the connection was lost
    LOG.info('stopped')


def stop(client):
    LOG.info('interrupted, disconnecting once the messages in flight are done')
    return client.disconnect(timeout=30).addErrback(lambda failure: LOG.warning('%s', failure.getErrorMessage()))


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    task.react(
        main,
        (
            os.environ.get('STOMPEST_DEMO_IN', '/queue/stompest.demo.in'),
            os.environ.get('STOMPEST_DEMO_OUT', '/queue/stompest.demo.out'),
            os.environ.get('STOMPEST_DEMO_ERROR', '/queue/stompest.demo.error'),
        ),
    )
