"""stompest._demo and stompest.cli.demo: persistent SENDs, and a stop that ends the pipeline."""

from __future__ import annotations

from twisted.internet import defer, task
from twisted.internet.testing import MemoryReactorClock

from stompest._demo import DemoPipeline, DemoStats, PoisonMessage
from stompest.config import StompConfig
from stompest.protocol.frame import StompFrame


class RecordingClient:
    """Stands in for a connected Twisted client: records each SEND, confirms it at once."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def send(self, destination, body=b'', headers=None, receipt=None):
        self.sent.append((destination, body, dict(headers or {})))
        return defer.succeed(None)


def pipelineOf(count: int = 4, poison: int = 1, **options) -> DemoPipeline:
    stats = DemoStats(count=count, poison=poison)
    return DemoPipeline(MemoryReactorClock(), StompConfig('tcp://127.0.0.1:61613'), stats, '/queue/d', **options)


def test_everySendOfThePipelineIsPersistent():
    demo, client = pipelineOf(), RecordingClient()
    demo.produce(client)
    message = StompFrame('MESSAGE', {'seq': '1', 'destination': '/queue/d.in', 'message-id': 'm1'}, b'message 1')
    demo.transform(client, message)
    demo.forwardToErrors(client, PoisonMessage('refusing poison message seq=1'), message, '/queue/d.error')
    destinations = [destination for destination, _, _ in client.sent]
    assert destinations == ['/queue/d.in'] * 4 + ['/queue/d.out', '/queue/d.error']
    assert all(headers.get('persistent') == 'true' for _, _, headers in client.sent)
    assert client.sent[4][1] == b'MESSAGE 1'
    assert 'refusing poison' in client.sent[5][2]['stompest-failure']


def test_producerMarksPoisonMessages():
    demo, client = pipelineOf(count=10, poison=2), RecordingClient()
    demo.produce(client)
    assert [headers['seq'] for _, _, headers in client.sent if headers.get('poison') == 'true'] == ['3', '8']


def test_stopWhileConnectingCancelsTheWaitAndEndsTheRun(reactor):
    def waitingConnector(reactor):  # a failover walk waiting for its next attempt
        return task.deferLater(reactor, 100, lambda: None)

    stats = DemoStats(count=4, poison=0)
    demo = DemoPipeline(reactor, StompConfig('tcp://127.0.0.1:61613'), stats, '/queue/d', connector=waitingConnector)
    running = demo.run()
    demo.stop(15)
    assert running.result is stats
    assert (stats.interrupted, stats.stopSignal, stats.sent) == (True, 15, 0)


def test_cancelledWalkStopsEvenWhileTheClientIsConnecting(reactor):
    from stompest.cli.context import Context
    from stompest.cli.demo import connectTwisted

    from .helpers import parse

    args = parse('demo', '--uri', 'failover:(tcp://127.0.0.1:61613)?startupMaxReconnectAttempts=-1')
    lines: list[str] = []
    context = Context(None, None, None)  # type: ignore[arg-type]
    context.report = lines.append  # type: ignore[method-assign]
    connecting = connectTwisted(reactor, args, context)
    assert len(reactor.tcpClients) == 1  # the first attempt is under way (it never completes here)
    connecting.cancel()
    failures = []
    connecting.addErrback(failures.append)
    assert failures and failures[0].check(defer.CancelledError)
    reactor.advance(60)
    assert len(reactor.tcpClients) == 1 and lines == []  # no further attempt after the cancel
