"""Send numbered messages to a queue with stompest's Twisted client.

    python examples/twisted_producer.py [COUNT]

Each message carries its sequence number (1, 2, ...) in a ``seq`` header and in its body. The
last one asks for a receipt, so when the producer exits the broker has them all.

Environment (all optional):

- ``STOMP_URI`` broker or failover URI, default ``tcp://localhost:61613``; ``STOMP_LOGIN``,
  ``STOMP_PASSCODE``, ``STOMP_HOST``
  (the ``host`` header, default the broker's host name; RabbitMQ: ``guest``/``guest`` and host ``/``)
- ``STOMPEST_DEMO_IN`` destination, default ``/queue/stompest.demo.in``
- ``STOMPEST_DEMO_COUNT`` how many messages (the command line wins), default 10000
- ``STOMPEST_DEMO_HEADERS`` extra headers for every SEND, ``name:value,...`` (RabbitMQ:
  ``x-queue-type:quorum`` keeps acknowledgements across a broker crash)
- ``STOMPEST_DEMO_POISON_EVERY`` mark every n-th message with ``poison:true`` (the transformer
  refuses those, and they end on its error destination); default 0, none
"""

import logging
import os
import sys

from twisted.internet import defer, task

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.twisted import Stomp

#: extra headers for every SEND and SUBSCRIBE, from STOMPEST_DEMO_HEADERS="name:value,..."
#: (RabbitMQ: x-queue-type:quorum makes its queues keep acknowledgements across a broker crash)
EXTRA_HEADERS = dict(item.split(':', 1) for item in os.environ.get('STOMPEST_DEMO_HEADERS', '').split(',') if item)

LOG = logging.getLogger('twisted_producer')


@defer.inlineCallbacks
def main(reactor, count, destination, poisonEvery):
    config = StompConfig(
        os.environ.get('STOMP_URI', 'tcp://localhost:61613'),
        login=os.environ.get('STOMP_LOGIN'),
        passcode=os.environ.get('STOMP_PASSCODE'),
        version=StompSpec.VERSION_1_2,
    )
    client = yield Stomp(config, reactor=reactor).connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10)
    # Ctrl-C stops the reactor; disconnect first, so the socket is closed the polite way.
    interrupted = []

    def onCtrlC():
        interrupted.append(True)
        LOG.info('interrupted, disconnecting')
        return client.disconnect(timeout=10).addErrback(lambda failure: LOG.warning('%s', failure.getErrorMessage()))

    trigger = reactor.addSystemEventTrigger('before', 'shutdown', onCtrlC)
    for seq in range(1, count + 1):
        headers = {**EXTRA_HEADERS, 'seq': seq, StompSpec.PERSISTENT_HEADER: 'true'}  # kept across a restart
        if poisonEvery and seq % poisonEvery == 0:
            headers['poison'] = 'true'
        last = client.send(destination, f'message {seq}'.encode(), headers, receipt='last' if seq == count else None)
    try:
        if count:
            yield last.addTimeout(60, reactor)  # once the last receipt is in, the broker has them all
    except Exception:
        if interrupted:
            return
        raise
    reactor.removeSystemEventTrigger(trigger)
    LOG.info('sent %d messages to %s', count, destination)
    yield client.disconnect(receipt='bye', timeout=10)


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    task.react(
        main,
        (
            int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get('STOMPEST_DEMO_COUNT', 10000)),
            os.environ.get('STOMPEST_DEMO_IN', '/queue/stompest.demo.in'),
            int(os.environ.get('STOMPEST_DEMO_POISON_EVERY', 0)),
        ),
    )
