"""Run by test_client_asyncio.py in a fresh interpreter: install Twisted's asyncio reactor, start the
in-memory FakeBroker on 127.0.0.1 (a real TCP port) and do connect/subscribe/send/receive/
disconnect with stompest.twisted.Stomp on that reactor. Prints 'OK <reactor class>'."""

from __future__ import annotations

import asyncio
import os
import sys


def main() -> int:
    from twisted.internet import asyncioreactor

    asyncioreactor.install(asyncio.new_event_loop())
    from twisted.internet import defer, protocol, reactor

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from helpers import FakeBroker  # noqa: E402  (this directory, not the tests package)

    from stompest.config import StompConfig
    from stompest.twisted import Stomp
    from stompest.twisted.listener import SubscriptionListener

    outcome: dict[str, object] = {}

    @defer.inlineCallbacks
    def scenario() -> object:
        port = reactor.listenTCP(0, protocol.Factory.forProtocol(FakeBroker), interface='127.0.0.1')
        try:
            client = Stomp(StompConfig(f'tcp://127.0.0.1:{port.getHost().port}', version='1.2'))
            yield client.connect(heartBeats=(200, 0), connectTimeout=5, connectedTimeout=5)
            received: defer.Deferred = defer.Deferred()
            listener = SubscriptionListener(lambda connection, frame: received.callback(frame.body))
            yield client.subscribe('/queue/a', {'ack': 'client-individual', 'id': 's'}, receipt='s', listener=listener)
            yield client.send('/queue/a', b'hello over asyncio', receipt='m')
            outcome['body'] = yield received
            yield client.disconnect(receipt='bye')
            yield client.disconnected
        finally:
            yield port.stopListening()

    def done(result: object) -> None:
        outcome['result'] = result
        reactor.stop()

    reactor.callWhenRunning(lambda: scenario().addBoth(done))
    watchdog = reactor.callLater(20, lambda: (outcome.setdefault('result', 'timeout'), reactor.stop()))
    reactor.run()
    if watchdog.active():
        watchdog.cancel()
    if outcome.get('body') != b'hello over asyncio' or outcome.get('result') is not None:
        print('FAILED', outcome)
        return 1
    print('OK', type(reactor).__name__)
    return 0


if __name__ == '__main__':
    sys.exit(main())
