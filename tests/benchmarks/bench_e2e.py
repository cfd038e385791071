"""End-to-end throughput: stompest's Twisted client against stomp.py 9 and a raw-socket client.

Run on demand (pytest does not collect ``bench_*.py``)::

    .venv/bin/python tests/benchmarks/bench_e2e.py                       # both brokers, 50,000 x 100 B
    .venv/bin/python tests/benchmarks/bench_e2e.py --brokers rabbitmq --count 20000
    .venv/bin/python tests/benchmarks/bench_e2e.py --brokers activemq --clients stompest --profile /tmp/e2e.prof

For every broker and client the same thing is measured, on a queue of its own: produce ``count``
messages of ``size`` bytes (the last one asks for a receipt, and production ends when it arrives),
then consume them all with ``ack:client-individual``, acknowledging each message, and disconnect
with a receipt (so every ACK has been processed when the clock stops). The end-to-end rate is
``count / (produce + consume)``.

Each measurement runs in a fresh interpreter (this file with ``--worker``): a Twisted reactor runs
once per process, and stomp.py's threads should not share a process with it. Broker URIs come from
``scripts/brokers/brokers env`` (``STOMPEST_ACTIVEMQ_URI`` ...) or the usual loopback defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import urlparse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BROKERS_SCRIPT = os.path.join(ROOT, 'scripts', 'brokers', 'brokers')

DEFAULTS = {
    'activemq': {'uri': 'tcp://127.0.0.1:61613', 'login': None, 'passcode': None},
    'rabbitmq': {'uri': 'tcp://127.0.0.1:61623', 'login': 'guest', 'passcode': 'guest'},
}
CLIENTS = ('stompest', 'stomppy', 'raw')
WORKER_TIMEOUT = 600.0


# ---------------------------------------------------------------------------------------------
# Broker addresses
# ---------------------------------------------------------------------------------------------


def brokerSettings() -> dict[str, dict[str, str | None]]:
    """Broker URIs and logins: ``brokers env`` when the script answers, else the defaults."""
    settings = {name: dict(values) for name, values in DEFAULTS.items()}
    env: dict[str, str] = {}
    try:
        output = subprocess.run([BROKERS_SCRIPT, 'env'], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        output = ''
    for line in output.splitlines():
        name, sep, value = line.partition('=')
        if sep:
            env[name.strip()] = (shlex.split(value) or [''])[0]
    env.update({k: v for k, v in os.environ.items() if k.startswith('STOMPEST_')})
    for name in settings:
        prefix = f'STOMPEST_{name.upper()}_'
        for key in ('uri', 'login', 'passcode'):
            if prefix + key.upper() in env:
                settings[name][key] = env[prefix + key.upper()]
    return settings


def hostPort(uri: str) -> tuple[str, int]:
    parsed = urlparse(uri)
    return parsed.hostname or '127.0.0.1', parsed.port or 61613


# ---------------------------------------------------------------------------------------------
# (c) raw socket: frames compiled in advance, minimal parsing
# ---------------------------------------------------------------------------------------------


class RawConnection:
    """A socket that speaks just enough STOMP 1.2 for the benchmark."""

    def __init__(self, uri: str, login: str | None, passcode: str | None) -> None:
        self.sock = socket.create_connection(hostPort(uri), timeout=WORKER_TIMEOUT)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b''
        headers = b'accept-version:1.2\nhost:/\nheart-beat:0,0\n'
        if login is not None:
            headers += b'login:%s\npasscode:%s\n' % (login.encode(), (passcode or '').encode())
        self.sock.sendall(b'CONNECT\n' + headers + b'\n\x00')
        frame = self.nextFrame()
        if not frame.startswith(b'CONNECTED'):
            raise RuntimeError(f'raw CONNECT failed: {frame[:200]!r}')

    def frames(self):
        """Yield lists of whole frames (without NUL, leading EOLs stripped), one list per read."""
        while True:
            data = self.sock.recv(1 << 18)
            if not data:
                raise ConnectionError('broker closed the connection')
            chunks = (self.buffer + data).split(b'\x00')
            self.buffer = chunks.pop()
            yield [chunk.lstrip(b'\r\n') for chunk in chunks]

    def nextFrame(self) -> bytes:
        for batch in self.frames():
            if batch:
                if len(batch) > 1:
                    raise RuntimeError('unexpected frames after a single-frame reply')
                return batch[0]
        raise AssertionError('unreachable')

    def disconnect(self) -> None:
        self.sock.sendall(b'DISCONNECT\nreceipt:bye\n\n\x00')
        for batch in self.frames():
            if any(frame.startswith(b'RECEIPT') for frame in batch):
                break
        self.sock.close()


def rawProduce(uri, login, passcode, queue, count, size):
    conn = RawConnection(uri, login, passcode)
    frame = b'SEND\ndestination:%s\ncontent-length:%d\n\n%s\x00' % (queue.encode(), size, b'x' * size)
    last = b'SEND\ndestination:%s\ncontent-length:%d\nreceipt:done\n\n%s\x00' % (queue.encode(), size, b'x' * size)
    start = time.perf_counter()
    sent = 0
    while sent < count - 1:
        batch = min(1000, count - 1 - sent)
        conn.sock.sendall(frame * batch)
        sent += batch
    conn.sock.sendall(last)
    reply = conn.nextFrame()
    if not reply.startswith(b'RECEIPT'):
        raise RuntimeError(f'raw producer: expected RECEIPT, got {reply[:200]!r}')
    elapsed = time.perf_counter() - start
    conn.disconnect()
    return elapsed


def rawConsume(uri, login, passcode, queue, count):
    conn = RawConnection(uri, login, passcode)
    start = time.perf_counter()
    conn.sock.sendall(b'SUBSCRIBE\nid:0\ndestination:%s\nack:client-individual\n\n\x00' % queue.encode())
    received = 0
    for batch in conn.frames():
        acks = []
        for frame in batch:
            if not frame.startswith(b'MESSAGE'):
                raise RuntimeError(f'raw consumer: unexpected frame {frame[:200]!r}')
            begin = frame.index(b'\nack:') + 5
            acks.append(b'ACK\nid:%s\n\n\x00' % frame[begin : frame.index(b'\n', begin)])
        if acks:
            conn.sock.sendall(b''.join(acks))
            received += len(acks)
        if received >= count:
            break
    conn.disconnect()
    return time.perf_counter() - start, received


# ---------------------------------------------------------------------------------------------
# (b) stomp.py 9
# ---------------------------------------------------------------------------------------------


def stomppyConnect(uri, login, passcode, listener):
    import stomp

    conn = stomp.Connection12([hostPort(uri)], heartbeats=(0, 0), vhost='/', auto_decode=False)
    conn.set_listener('bench', listener)
    conn.connect(login, passcode, wait=True)
    return conn


def stomppyProduce(uri, login, passcode, queue, count, size):
    import stomp

    done = threading.Event()

    class Listener(stomp.ConnectionListener):
        def on_receipt(self, frame):
            done.set()

    conn = stomppyConnect(uri, login, passcode, Listener())
    body = b'x' * size
    start = time.perf_counter()
    for _ in range(count - 1):
        conn.send(queue, body)
    conn.send(queue, body, headers={'receipt': 'done'})
    if not done.wait(WORKER_TIMEOUT):
        raise RuntimeError('stomp.py producer: no receipt')
    elapsed = time.perf_counter() - start
    conn.disconnect(receipt='bye')
    return elapsed


def stomppyConsume(uri, login, passcode, queue, count):
    import stomp

    done = threading.Event()
    state = {'received': 0}
    holder = {}

    class Listener(stomp.ConnectionListener):
        def on_message(self, frame):
            holder['conn'].ack(frame.headers['ack'])
            state['received'] += 1
            if state['received'] >= count:
                done.set()

    conn = stomppyConnect(uri, login, passcode, Listener())
    holder['conn'] = conn
    start = time.perf_counter()
    conn.subscribe(queue, id='0', ack='client-individual')
    if not done.wait(WORKER_TIMEOUT):
        raise RuntimeError(f'stomp.py consumer: only {state["received"]} of {count} messages')
    conn.disconnect(receipt='bye')
    return time.perf_counter() - start, state['received']


# ---------------------------------------------------------------------------------------------
# (a) stompest's Twisted client
# ---------------------------------------------------------------------------------------------


def stompestRun(uri, login, passcode, queue, count, size, phase, yieldEvery=1000):
    from twisted.internet import defer, task

    from stompest.config import StompConfig
    from stompest.protocol import StompSpec
    from stompest.twisted import Stomp
    from stompest.twisted.listener import SubscriptionListener

    config = StompConfig(uri, login=login, passcode=passcode, version=StompSpec.VERSION_1_2)
    result = {}

    @defer.inlineCallbacks
    def produce(reactor):
        client = yield Stomp(config, reactor=reactor).connect(host='/', heartBeats=(0, 0))
        body = b'x' * size
        start = time.perf_counter()
        for i in range(1, count):
            client.send(queue, body)
            if yieldEvery and i % yieldEvery == 0:
                # Let the reactor write what was sent so far while the loop goes on, as stomp.py
                # (one blocking sendall per frame) and raw (per 1,000 frames) do; without this
                # nothing leaves before the loop ends and the broker idles meanwhile.
                yield task.deferLater(reactor, 0, lambda: None)
        yield client.send(queue, body, receipt='done')
        result['produce'] = time.perf_counter() - start
        yield client.disconnect(receipt='bye')

    @defer.inlineCallbacks
    def consume(reactor):
        client = yield Stomp(config, reactor=reactor).connect(host='/', heartBeats=(0, 0))
        allReceived = defer.Deferred()
        state = {'received': 0}

        def onMessage(client, frame):
            state['received'] += 1
            if state['received'] == count:
                allReceived.callback(None)

        start = time.perf_counter()
        client.subscribe(
            queue,
            {StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL},
            listener=SubscriptionListener(onMessage, ack=True),
        )
        yield allReceived.addTimeout(WORKER_TIMEOUT, reactor)
        yield client.disconnect(receipt='bye')
        result['consume'] = time.perf_counter() - start
        result['received'] = state['received']

    def main(reactor):
        return produce(reactor) if phase == 'produce' else consume(reactor)

    try:
        task.react(main)
    except SystemExit as exc:  # task.react always exits; the figures are in result
        if exc.code not in (0, None):
            raise
    return result


def worker(args) -> None:
    """Measure one phase of one client and print the result as one JSON line."""
    if args.worker == 'stompest':
        call = (
            stompestRun,
            args.uri,
            args.login,
            args.passcode,
            args.queue,
            args.count,
            args.size,
            args.phase,
            args.yield_every,
        )
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            out = profiler.runcall(*call)
            profiler.dump_stats(f'{args.profile}.{args.phase}')
        else:
            out = call[0](*call[1:])
    elif args.phase == 'produce':
        produce = rawProduce if args.worker == 'raw' else stomppyProduce
        out = {'produce': produce(args.uri, args.login, args.passcode, args.queue, args.count, args.size)}
    else:
        consume = rawConsume if args.worker == 'raw' else stomppyConsume
        elapsed, received = consume(args.uri, args.login, args.passcode, args.queue, args.count)
        out = {'consume': elapsed, 'received': received}
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def runWorker(client, phase, broker, queue, args):
    command = [
        sys.executable,
        os.path.abspath(__file__),
        '--worker',
        client,
        '--phase',
        phase,
        '--uri',
        broker['uri'],
        '--queue',
        queue,
        '--count',
        str(args.count),
        '--size',
        str(args.size),
    ]
    if broker['login'] is not None:
        command += ['--login', broker['login'], '--passcode', broker['passcode'] or '']
    if args.profile and client == 'stompest':
        command += ['--profile', f'{args.profile}.{args.brokerName}']
    if client == 'stompest':
        command += ['--yield-every', str(args.yield_every)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=WORKER_TIMEOUT + 60, cwd=ROOT)
    if completed.returncode != 0:
        raise RuntimeError(f'{client} {phase} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}')
    return json.loads(completed.stdout.strip().splitlines()[-1])


def measure(brokerName, broker, client, args):
    queue = f'/queue/stompest.bench.{client}.{uuid.uuid4().hex[:12]}'
    produced = runWorker(client, 'produce', broker, queue, args)
    consumed = runWorker(client, 'consume', broker, queue, args)
    if consumed['received'] != args.count:
        raise RuntimeError(f'{client}: received {consumed["received"]} of {args.count}')
    total = produced['produce'] + consumed['consume']
    return {
        'produce': args.count / produced['produce'],
        'consume': args.count / consumed['consume'],
        'e2e': args.count / total,
    }


def machine() -> str:
    model = platform.processor() or 'unknown CPU'
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    return f'nproc={os.cpu_count()}, {model}, Python {platform.python_version()}'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--brokers', default='activemq,rabbitmq')
    parser.add_argument('--clients', default=','.join(CLIENTS))
    parser.add_argument('--count', type=int, default=50_000)
    parser.add_argument('--size', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=1, help='repeat each measurement; the best round is reported')
    parser.add_argument('--profile', help='cProfile the stompest runs into PROFILE.<broker>.<phase>')
    parser.add_argument(
        '--yield-every',
        type=int,
        default=1000,
        help="stompest's producer lets the reactor write after this many sends (0: never)",
    )
    parser.add_argument('--worker', choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument('--phase', choices=('produce', 'consume'), help=argparse.SUPPRESS)
    parser.add_argument('--uri', help=argparse.SUPPRESS)
    parser.add_argument('--login', help=argparse.SUPPRESS)
    parser.add_argument('--passcode', help=argparse.SUPPRESS)
    parser.add_argument('--queue', help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    settings = brokerSettings()
    clients = [c.strip() for c in args.clients.split(',') if c.strip()]
    print(f'# {time.strftime("%Y-%m-%d %H:%M")}  {machine()}  count={args.count} size={args.size} B')
    for brokerName in [b.strip() for b in args.brokers.split(',') if b.strip()]:
        args.brokerName = brokerName
        broker = settings[brokerName]
        rates = {}
        for client in clients:
            rounds = [measure(brokerName, broker, client, args) for _ in range(args.rounds)]
            rates[client] = max(rounds, key=lambda r: r['e2e'])
            r = rates[client]
            print(
                f'{brokerName:9} {client:9} produce {r["produce"]:9,.0f} msg/s  consume {r["consume"]:9,.0f} msg/s'
                f'  end-to-end {r["e2e"]:9,.0f} msg/s',
                flush=True,
            )
        if 'stompest' in rates:
            for other in ('stomppy', 'raw'):
                if other in rates:
                    ratios = '  '.join(
                        f'{k} {rates["stompest"][k] / rates[other][k]:.2f}x' for k in ('produce', 'consume', 'e2e')
                    )
                    print(f'{brokerName:9} stompest/{other:8} {ratios}', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
