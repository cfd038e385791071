"""Consume a queue with ``ack:client-individual`` and count the messages.

    python examples/twisted_consumer.py [COUNT]

Stops after COUNT messages, or when none has arrived for the idle timeout, or on Ctrl-C, and
prints one summary line: how many arrived, how many distinct ``seq`` headers, the duplicates
(redeliveries) and the seconds taken.

Environment (all optional): ``STOMP_URI`` (default ``tcp://localhost:61613``), ``STOMP_LOGIN``,
``STOMP_PASSCODE``, ``STOMP_HOST`` (the ``host`` header; RabbitMQ wants its virtual host, ``/``),
``STOMPEST_DEMO_OUT`` queue to read (default ``/queue/stompest.demo.out``),
``STOMPEST_DEMO_COUNT`` (the command line wins; default 10000), ``STOMPEST_DEMO_IDLE`` idle
timeout in seconds (default 10), ``STOMPEST_DEMO_RECORD`` a file to write each message's ``seq``
to, one a line.
"""

import logging
import os
import sys
import time

from twisted.internet import defer, task

from stompest.config import StompConfig
from stompest.protocol import StompSpec
from stompest.twisted import Stomp
from stompest.twisted.listener import SubscriptionListener

LOG = logging.getLogger('twisted_consumer')


@defer.inlineCallbacks
def main(reactor, source, count, idleTimeout, recordPath):
    config = StompConfig(
        os.environ.get('STOMP_URI', 'tcp://localhost:61613'),
        login=os.environ.get('STOMP_LOGIN'),
        passcode=os.environ.get('STOMP_PASSCODE'),
        version=StompSpec.VERSION_1_2,
    )
    client = yield Stomp(config, reactor=reactor).connect(host=os.environ.get('STOMP_HOST'), connectedTimeout=10)
    seqs = []
    started = time.monotonic()
    stopping = []

    def stop(why):
        """Disconnect once; the handlers still running finish (and ack) first."""
        if not stopping:
            stopping.append(why)
            LOG.info('%s, disconnecting', why)
            client.disconnect(timeout=10).addErrback(lambda failure: LOG.warning('%s', failure.getErrorMessage()))
        # A shutting-down reactor waits for this Deferred: fire it when the client is done.
        done = defer.Deferred()

        def passOn(result):
            done.callback(None)
            return result

        client.disconnected.addBoth(passOn)
        return done

    idleTimer = reactor.callLater(idleTimeout, stop, f'no message for {idleTimeout:g} s')
    reactor.addSystemEventTrigger('before', 'shutdown', stop, 'interrupted')

    def consume(client, frame):
        seqs.append(frame.headers.get('seq', '?'))
        if len(seqs) == count:
            stop(f'all {count} messages received')
        elif idleTimer.active():
            idleTimer.reset(idleTimeout)

    client.subscribe(
        source,
        {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL, StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: 500},
        listener=SubscriptionListener(consume, ack=True),
    )
    LOG.info('counting messages on %s', source)
    try:
        yield client.disconnected
    finally:
        if idleTimer.active():
            idleTimer.cancel()
        if recordPath:
            with open(recordPath, 'w') as record:
                record.writelines(f'{seq}\n' for seq in seqs)
        print(
            f'received {len(seqs)} messages from {source}: {len(set(seqs))} distinct, '
            f'{len(seqs) - len(set(seqs))} duplicates, {time.monotonic() - started:.1f} s',
            flush=True,
        )


if __name__ == '__main__':
    logging.basicConfig(level=logging.INFO, format='%(asctime)s %(name)s %(levelname)s %(message)s')
    task.react(
        main,
        (
            os.environ.get('STOMPEST_DEMO_OUT', '/queue/stompest.demo.out'),
            int(sys.argv[1] if len(sys.argv) > 1 else os.environ.get('STOMPEST_DEMO_COUNT', 10000)),
            float(os.environ.get('STOMPEST_DEMO_IDLE', 10)),
            os.environ.get('STOMPEST_DEMO_RECORD'),
        ),
    )
