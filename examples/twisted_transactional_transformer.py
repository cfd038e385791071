"""Consume a queue, transform each message, and send the result on: in transactions.

    python examples/twisted_transactional_transformer.py

The transactional sibling of ``twisted_transformer.py``. Each message's body is upper-cased and
sent on with a ``transformed-by`` header (its ``seq`` header is kept). Outputs and input ACKs
travel together in transactions of up to 100 messages (or 50 ms), each committed with a receipt:
one round trip per batch instead of one per message. On ActiveMQ a transaction's outputs and ACKs
commit or roll back together, so a crash never loses or duplicates a message; on RabbitMQ the
guarantee is at least once. A message with the header ``poison:true`` makes the handler raise: it
goes to the error destination (failure recorded in its headers), inside the same transaction.
Runs until SIGINT (Ctrl-C) or SIGTERM: then it commits what is complete and disconnects.

Environment (all optional): ``STOMP_URI`` (default ``tcp://localhost:61613``), ``STOMP_LOGIN``,
``STOMP_PASSCODE``, ``STOMP_HOST`` (the ``host`` header; RabbitMQ wants its virtual host, ``/``),
``STOMPEST_DEMO_IN`` (default ``/queue/stompest.demo.in``), ``STOMPEST_DEMO_OUT`` (default
``/queue/stompest.demo.out``), ``STOMPEST_DEMO_ERROR`` (default ``/queue/stompest.demo.error``),
``STOMPEST_DEMO_BATCH`` (default 100).
"""

import logging
import os

from twisted.internet import defer, task

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.transformer import Output, TransactionalTransformer

LOG = logging.getLogger('twisted_transactional_transformer')


class PoisonMessage(Exception):
    """The message cannot be transformed; it belongs on the error destination."""


@defer.inlineCallbacks
def main(reactor, source, destination, errorDestination, batch):
    config = StompConfig(
        os.environ.get('STOMP_URI', 'tcp://localhost:61613'),
        login=os.environ.get('STOMP_LOGIN'),
        passcode=os.environ.get('STOMP_PASSCODE'),
        version=StompSpec.VERSION_1_2,
    )
    client = yield Stomp(config, reactor=reactor).connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10)
    # SIGINT and SIGTERM stop the reactor; first commit what is complete, then disconnect.
    reactor.addSystemEventTrigger('before', 'shutdown', stop, client)

    def transform(client, frame):
        seq = frame.headers.get('seq', '?')
        if frame.headers.get('poison') == 'true':
            raise PoisonMessage(f'refusing poison message seq={seq}')
        # Zero or more outputs; they are sent (persistent) in the transaction that ACKs the input.
        return Output(destination, frame.body.upper(), {'seq': seq, 'transformed-by': 'stompest'})

    transformer = TransactionalTransformer(transform, batch=batch, linger=50, errorDestination=errorDestination)
    yield client.subscribe(source, {}, listener=transformer)  # ack mode and prefetch: set by the transformer
    LOG.info(
        'transforming %s -> %s (errors -> %s) in transactions of up to %d; Ctrl-C to stop',
        source,
        destination,
        errorDestination,
        batch,
    )
    yield client.disconnected  # fires when we disconnect, errs back if the connection was lost
    LOG.info('stopped: %d messages committed in %d transactions', transformer.committed, transformer.commits)


def stop(client):
    LOG.info('interrupted: committing what is complete, then disconnecting')
    return client.disconnect(timeout=30).addErrback(lambda failure: LOG.warning('%s', failure.getErrorMessage()))


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    task.react(
        main,
        (
            os.environ.get('STOMPEST_DEMO_IN', '/queue/stompest.demo.in'),
            os.environ.get('STOMPEST_DEMO_OUT', '/queue/stompest.demo.out'),
            os.environ.get('STOMPEST_DEMO_ERROR', '/queue/stompest.demo.error'),
            int(os.environ.get('STOMPEST_DEMO_BATCH', '100')),
        ),
    )
