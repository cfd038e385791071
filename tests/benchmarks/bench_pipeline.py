"""Queue-to-queue transformer throughput: transactions against per-message receipts.

Run on demand (pytest does not collect ``bench_*.py``)::

    STOMPEST_BROKERS_PORT_OFFSET=400 .venv/bin/python tests/benchmarks/bench_pipeline.py
    .venv/bin/python tests/benchmarks/bench_pipeline.py --brokers activemq --batches 100 --count 20000
    .venv/bin/python tests/benchmarks/bench_pipeline.py --json /tmp/pipeline.json --profile /tmp/pipe.prof

For every broker, ``count`` persistent messages of ``size`` bytes, numbered by a ``seq`` header,
are pre-loaded on a fresh IN queue (raw socket, confirmed by receipts); then the clock runs while
one pipeline moves them all to OUT (each output persistent, carrying ``seq``), until the last
input's acknowledgement is confirmed by the broker:

* ``transactions``: :class:`~stompest.twisted.transformer.TransactionalTransformer` (batch ``b``,
  at most 4 COMMITs in flight); the clock stops at the RECEIPT of the COMMIT that completes ``count``.
* ``receipts``: stompest's :class:`~stompest.twisted.listener.SubscriptionListener`, a RECEIPT per
  output and the input ACKed after it (``examples/twisted_transformer.py``; prefetch 100).
* ``stomppy``: stomp.py 9 doing the same (SEND with a receipt from ``on_message``, ACK in
  ``on_receipt``; prefetch 100).
* ``ceiling``: a raw socket doing what ``transactions`` does (BEGIN, a SEND per input, its ACK or,
  where the transformer uses cumulative acks (ActiveMQ), one ACK per transaction, a COMMIT
  with a receipt per ``b`` inputs, 4 COMMITs in flight) with frames built by string formatting.

The two receipt pipelines and ``stomppy`` do not depend on the batch size; they run once per
broker. Each pipeline runs in a fresh interpreter (this file with ``--worker``). OUT is drained and
counted after every run (a run that lost or duplicated a message is an error). The last line is::

    pipeline: transactions <a> msg/s, receipts <b> msg/s, stomp.py <c> msg/s, ceiling <d> msg/s (activemq, batch 100)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from tests.benchmarks.bench_e2e import brokerSettings, hostPort, machine  # noqa: E402

PIPELINES = ('transactions', 'receipts', 'stomppy', 'ceiling')
BATCHED = ('transactions', 'ceiling')
MAX_TRANSACTIONS = 4
LINGER = 0.05  # s, the transformer's default linger
PREFETCH = 100  # of the receipt pipelines (the example's)
WORKER_TIMEOUT = 600.0


def brokerCpu(name: str) -> float | None:
    """CPU seconds the broker process used so far (from /proc; None when its pid is unknown)."""
    state = os.environ.get('STOMPEST_BROKERS_DIR') or os.path.join(ROOT, '.brokers')
    pidFile = os.path.join(state, name, 'beam.pid' if name == 'rabbitmq' else 'broker.pid')
    try:
        with open(pidFile) as f:
            pid = int(f.read().strip())
        with open(f'/proc/{pid}/stat') as f:
            fields = f.read().rsplit(')', 1)[1].split()
    except (OSError, ValueError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


def cpuSeconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Broker:
    """What tests/brokers/rawstomp.py needs of a broker (a BrokerInfo look-alike)."""

    def __init__(self, uri: str, login: str | None, passcode: str | None) -> None:
        self.uri = uri
        self.host, self.port = hostPort(uri)
        self.login, self.passcode = login, passcode
        self.vhost = '/'


# ---------------------------------------------------------------------------------------------
# (a) transactions and (b) receipts: stompest's Twisted client
# ---------------------------------------------------------------------------------------------


def stompestRun(
    broker: Broker, source: str, target: str, count: int, batch: int, mode: str, prefetch: int | None
) -> dict:
    from twisted.internet import defer, task

    from stompest.config import StompConfig
    from stompest.protocol import StompSpec
    from stompest.twisted import Stomp
    from stompest.twisted.listener import SubscriptionListener
    from stompest.twisted.transformer import Output, TransactionalTransformer

    config = StompConfig(broker.uri, login=broker.login, passcode=broker.passcode, version=StompSpec.VERSION_1_2)
    result: dict = {}

    @defer.inlineCallbacks
    def main(reactor):
        client = yield Stomp(config, reactor=reactor).connect(host='/', heartBeats=(0, 0))
        finished: defer.Deferred = defer.Deferred()
        if mode == 'transactions':

            def transform(client, frame):
                return Output(target, frame.body, {'seq': frame.headers['seq']})

            def committed(n):
                if transformer.committed >= count and not finished.called:
                    finished.callback(None)

            transformer = TransactionalTransformer(
                transform, batch=batch, maxTransactions=MAX_TRANSACTIONS, onCommitted=committed, prefetch=prefetch
            )
            listener = transformer
            headers: dict = {}
        else:
            state = {'done': 0}

            def acked(_):
                state['done'] += 1
                if state['done'] >= count and not finished.called:
                    finished.callback(None)

            def transform(client, frame):
                seq = frame.headers['seq']
                sending = client.send(target, frame.body, {'seq': seq, 'persistent': 'true'}, receipt=f'seq-{seq}')
                return sending.addCallback(acked)  # the listener ACKs when this fires (right after)

            listener = SubscriptionListener(transform, ack=True, maxInFlight=PREFETCH)
            headers = {
                StompSpec.ACK_HEADER: StompSpec.ACK_CLIENT_INDIVIDUAL,
                StompSpec.ACTIVEMQ_PREFETCH_SIZE_HEADER: PREFETCH,
                StompSpec.RABBITMQ_PREFETCH_COUNT_HEADER: PREFETCH,
            }
        start = time.perf_counter()
        result['cpuStart'] = cpuSeconds()
        client.subscribe(source, headers, listener=listener)
        yield finished.addTimeout(WORKER_TIMEOUT, reactor)
        if mode != 'transactions':
            yield client.disconnect(receipt='bye')  # every ACK processed when its RECEIPT comes
            result['seconds'] = time.perf_counter() - start
        else:
            result['seconds'] = time.perf_counter() - start
            yield client.disconnect(receipt='bye')

    try:
        task.react(main)
    except SystemExit as exc:  # task.react always exits; the figures are in result
        if exc.code not in (0, None):
            raise
    return result


# ---------------------------------------------------------------------------------------------
# (c) stomp.py 9: a receipt per output, the input ACKed in on_receipt
# ---------------------------------------------------------------------------------------------


def stomppyRun(
    broker: Broker, source: str, target: str, count: int, batch: int, mode: str, prefetch: int | None
) -> dict:
    import stomp

    done = threading.Event()
    pending: dict[str, str] = {}  # receipt -> ack id of the input
    state = {'acked': 0}
    lock = threading.Lock()
    holder: dict = {}

    class Listener(stomp.ConnectionListener):
        def on_message(self, frame):
            seq = frame.headers['seq']
            receipt = f'seq-{seq}'
            with lock:
                pending[receipt] = frame.headers['ack']
            holder['conn'].send(target, frame.body, headers={'seq': seq, 'persistent': 'true', 'receipt': receipt})

        def on_receipt(self, frame):
            with lock:
                ackId = pending.pop(frame.headers.get('receipt-id'), None)
            if ackId is None:
                return
            holder['conn'].ack(ackId)
            with lock:
                state['acked'] += 1
                if state['acked'] >= count:
                    done.set()

    conn = stomp.Connection12([(broker.host, broker.port)], heartbeats=(0, 0), vhost='/', auto_decode=False)
    conn.set_listener('bench', Listener())
    conn.connect(broker.login, broker.passcode, wait=True)
    holder['conn'] = conn
    start = time.perf_counter()
    conn.subscribe(
        source,
        id='0',
        ack='client-individual',
        headers={'activemq.prefetchSize': str(PREFETCH), 'prefetch-count': str(PREFETCH)},
    )
    if not done.wait(WORKER_TIMEOUT):
        raise RuntimeError(f'stomp.py: only {state["acked"]} of {count} inputs acknowledged')
    conn.disconnect(receipt='bye')
    return {'seconds': time.perf_counter() - start}


# ---------------------------------------------------------------------------------------------
# (d) the raw-socket ceiling: the same transactions, frames built by string formatting
# ---------------------------------------------------------------------------------------------


def ceilingRun(
    broker: Broker, source: str, target: str, count: int, batch: int, mode: str, prefetch: int | None
) -> dict:
    import select
    import socket

    from stompest.twisted.transformer import defaultAckMode

    sock = socket.create_connection((broker.host, broker.port), timeout=WORKER_TIMEOUT)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    login = b''
    if broker.login:
        login = b'login:%s\npasscode:%s\n' % (broker.login.encode(), (broker.passcode or '').encode())
    sock.sendall(b'CONNECT\naccept-version:1.2\nhost:/\nheart-beat:0,0\n' + login + b'\n\x00')
    buffer = b''
    while b'\x00' not in buffer:
        buffer += sock.recv(65536)
    connected, buffer = buffer.split(b'\x00', 1)
    server = next((line[7:].decode() for line in connected.split(b'\n') if line.startswith(b'server:')), None)
    # the transformer's rule (one cumulative ACK per transaction on ActiveMQ Classic)
    cumulative = defaultAckMode(server) == 'client'
    ackMode = b'client' if cumulative else b'client-individual'
    lastAck = b''
    window = str(prefetch if prefetch is not None else batch * (MAX_TRANSACTIONS + 1)).encode()
    target_ = target.encode()
    start = time.perf_counter()
    sock.sendall(
        b'SUBSCRIBE\nid:0\ndestination:%s\nack:%s\nactivemq.prefetchSize:%s\n'
        b'prefetch-count:%s\n\n\x00' % (source.encode(), ackMode, window, window)
    )
    inFlight: dict[bytes, int] = {}  # commit receipt -> inputs
    committed = 0
    number = 0
    open_: list[bytes] = []
    openCount = 0
    waiting: list[tuple[bytes, int, list[bytes]]] = []  # full transactions held back by the bound
    txid = b''

    outgoing: list[bytes] = []

    def commitFrames(txid: bytes, receipt: bytes, ackId: bytes | None) -> bytes:
        ack = b'ACK\nid:%s\ntransaction:%s\n\n\x00' % (ackId, txid) if ackId is not None else b''
        return ack + b'COMMIT\ntransaction:%s\nreceipt:%s\n\n\x00' % (txid, receipt)

    def flushWaiting():
        while waiting and len(inFlight) < MAX_TRANSACTIONS:
            receipt, n, parts = waiting.pop(0)
            outgoing.extend(parts)
            inFlight[receipt] = n

    # Non-blocking: a blocking sendall of a large transaction while the broker writes to us can
    # stall both sides (each waits for the other to read).
    sock.setblocking(False)
    pendingBytes = b''
    while committed < count:
        if outgoing:
            pendingBytes += b''.join(outgoing)
            outgoing.clear()
        wait = LINGER if openCount else WORKER_TIMEOUT
        readable, writable, _ = select.select([sock], [sock] if pendingBytes else [], [], wait)
        if not readable and not writable:
            if not openCount:
                raise TimeoutError('ceiling: the broker went silent')
            # nothing came for LINGER s: commit what the open transaction has (as the transformer's
            # linger does; ActiveMQ's maxPageSize, 200 by default, stops dispatching before 500)
            receipt = txid + b'-commit'
            open_.append(commitFrames(txid, receipt, lastAck if cumulative else None))
            waiting.append((receipt, openCount, open_))
            open_, openCount = [], 0
            flushWaiting()
            continue
        if writable:
            try:
                sent = sock.send(pendingBytes)
            except BlockingIOError:
                sent = 0
            pendingBytes = pendingBytes[sent:]
        if not readable:
            continue
        try:
            data = sock.recv(1 << 18)
        except BlockingIOError:
            continue
        if not data:
            raise ConnectionError('the broker closed the connection')
        chunks = (buffer + data).split(b'\x00')
        buffer = chunks.pop()
        for chunk in chunks:
            frame = chunk.lstrip(b'\r\n')
            if frame.startswith(b'RECEIPT'):
                begin = frame.index(b'receipt-id:') + 11
                end = frame.find(b'\n', begin)
                committed += inFlight.pop(frame[begin : end if end >= 0 else len(frame)], 0)
                continue
            if not frame.startswith(b'MESSAGE'):
                raise RuntimeError(f'ceiling: unexpected frame {frame[:300]!r}')
            head, _, body = frame.partition(b'\n\n')
            head += b'\n'
            begin = head.index(b'\nack:') + 5
            ackId = head[begin : head.index(b'\n', begin)]
            begin = head.index(b'\nseq:') + 5
            seq = head[begin : head.index(b'\n', begin)]
            if not openCount:
                number += 1
                txid = b'tx-%d' % number
                open_.append(b'BEGIN\ntransaction:%s\n\n\x00' % txid)
            open_.append(
                b'SEND\ndestination:%s\npersistent:true\nseq:%s\ntransaction:%s\ncontent-length:%d\n\n%s\x00'
                % (target_, seq, txid, len(body), body)
            )
            if cumulative:
                lastAck = ackId
            else:
                open_.append(b'ACK\nid:%s\ntransaction:%s\n\n\x00' % (ackId, txid))
            openCount += 1
            if openCount >= batch:
                receipt = txid + b'-commit'
                open_.append(commitFrames(txid, receipt, lastAck if cumulative else None))
                waiting.append((receipt, openCount, open_))
                open_, openCount = [], 0
        # a partial transaction at the very end commits at once
        if openCount and committed + sum(inFlight.values()) + sum(w[1] for w in waiting) + openCount >= count:
            receipt = txid + b'-commit'
            open_.append(commitFrames(txid, receipt, lastAck if cumulative else None))
            waiting.append((receipt, openCount, open_))
            open_, openCount = [], 0
        flushWaiting()
    seconds = time.perf_counter() - start
    sock.setblocking(True)
    sock.sendall(b'DISCONNECT\nreceipt:bye\n\n\x00')
    sock.close()
    return {'seconds': seconds}


RUNNERS = {'transactions': stompestRun, 'receipts': stompestRun, 'stomppy': stomppyRun, 'ceiling': ceilingRun}


def worker(args) -> None:
    broker = Broker(args.uri, args.login, args.passcode)
    prefetch = args.prefetch or None
    call = (RUNNERS[args.worker], broker, args.source, args.target, args.count, args.batch, args.worker, prefetch)
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        out = profiler.runcall(*call)
        profiler.dump_stats(args.profile)
    else:
        out = call[0](*call[1:])
    out['cpu'] = cpuSeconds() - out.pop('cpuStart', 0.0)  # from the subscribe on (stompest), else whole process
    sys.stdout.write(json.dumps(out) + '\n')
    sys.stdout.flush()


# ---------------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------------


def measure(brokerName: str, settings: dict, pipeline: str, batch: int, args) -> dict:
    from tests.brokers.rawstomp import drain, preload

    broker = Broker(settings['uri'], settings['login'], settings['passcode'])
    queue = f'stompest.bench.pipeline.{pipeline}.{uuid.uuid4().hex[:10]}'
    source, target = f'/queue/{queue}.in', f'/queue/{queue}.out'
    preload(broker, source, args.count, args.size)
    command = [
        sys.executable,
        os.path.abspath(__file__),
        '--worker',
        pipeline,
        '--uri',
        broker.uri,
        '--source',
        source,
        '--target',
        target,
        '--count',
        str(args.count),
        '--batch',
        str(batch),
        '--prefetch',
        str(args.prefetch),
    ]
    if broker.login is not None:
        command += ['--login', broker.login, '--passcode', broker.passcode or '']
    if args.profile and pipeline == 'transactions':
        command += ['--profile', f'{args.profile}.{brokerName}.{batch}']
    before = brokerCpu(brokerName)
    completed = subprocess.run(command, capture_output=True, text=True, timeout=WORKER_TIMEOUT + 60, cwd=ROOT)
    after = brokerCpu(brokerName)
    if completed.returncode != 0:
        raise RuntimeError(f'{pipeline} failed (exit {completed.returncode}):\n{completed.stderr[-3000:]}')
    reply = json.loads(completed.stdout.strip().splitlines()[-1])
    seconds = reply['seconds']
    tally = drain(broker, target, args.count, idle=1.0)
    if tally.missing or tally.duplicates:
        raise RuntimeError(f'{pipeline} on {brokerName}: {tally.missing} lost, {tally.duplicates} duplicated')
    return {
        'broker': brokerName,
        'pipeline': pipeline,
        'batch': batch if pipeline in BATCHED else None,
        'count': args.count,
        'seconds': seconds,
        'rate': args.count / seconds,
        'cpu': reply['cpu'],
        'brokerCpu': None if before is None or after is None else after - before,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--brokers', default='activemq,rabbitmq')
    parser.add_argument('--pipelines', default=','.join(PIPELINES))
    parser.add_argument('--batches', default='10,100,500')
    parser.add_argument('--count', type=int, default=10_000)
    parser.add_argument('--size', type=int, default=100)
    parser.add_argument('--rounds', type=int, default=1, help='repeat each measurement; the best round is reported')
    parser.add_argument(
        '--prefetch',
        type=int,
        default=0,
        help='broker prefetch of the batched pipelines (default: the transformer default, batch * 5)',
    )
    parser.add_argument('--json', help='write every measurement to this file (a JSON list)')
    parser.add_argument('--profile', help='cProfile the transactions runs into PROFILE.<broker>.<batch>')
    parser.add_argument('--worker', choices=PIPELINES, help=argparse.SUPPRESS)
    for hidden in ('--uri', '--login', '--passcode', '--source', '--target'):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument('--batch', type=int, default=100, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args)
        return 0

    settings = brokerSettings()
    pipelines = [p.strip() for p in args.pipelines.split(',') if p.strip()]
    batches = [int(b) for b in args.batches.split(',') if b.strip()]
    print(
        f'# {time.strftime("%Y-%m-%d %H:%M")}  {machine()}  count={args.count} size={args.size} B rounds={args.rounds}',
        flush=True,
    )
    results: list[dict] = []
    best: dict[tuple[str, str, int | None], float] = {}
    for brokerName in [b.strip() for b in args.brokers.split(',') if b.strip()]:
        runs = [(pipeline, batch) for pipeline in pipelines for batch in (batches if pipeline in BATCHED else [None])]
        measured: dict[tuple[str, int | None], list[dict]] = {run: [] for run in runs}
        for _ in range(args.rounds):  # rounds interleaved: a slow minute of the machine hits all alike
            for pipeline, batch in runs:
                run = measure(brokerName, settings[brokerName], pipeline, batch or 0, args)
                measured[(pipeline, batch)].append(run)
        for (pipeline, batch), rounds in measured.items():
            results.extend(rounds)
            rate = max(r['rate'] for r in rounds)
            best[(brokerName, pipeline, batch)] = rate
            label = f'batch {batch}' if batch else 'per message'
            each = ', '.join(f'{r["rate"]:,.0f}' for r in rounds)
            cpu = min(r['cpu'] for r in rounds)
            brokerCosts = [r['brokerCpu'] for r in rounds if r['brokerCpu'] is not None]
            brokerText = f', broker CPU {min(brokerCosts) / args.count * 1e6:,.0f} us/msg' if brokerCosts else ''
            print(
                f'{brokerName:9} {pipeline:13} {label:12} {rate:9,.0f} msg/s  (rounds: {each}; client CPU '
                f'{cpu / args.count * 1e6:,.0f} us/msg{brokerText})',
                flush=True,
            )
    if args.json:
        with open(args.json, 'w') as out:
            json.dump({'machine': machine(), 'count': args.count, 'size': args.size, 'results': results}, out, indent=2)
    for brokerName in [b.strip() for b in args.brokers.split(',') if b.strip()]:
        a = best.get((brokerName, 'transactions', 100))
        b, c = best.get((brokerName, 'receipts', None)), best.get((brokerName, 'stomppy', None))
        d = best.get((brokerName, 'ceiling', 100))
        if a and b and c and d:
            print(
                f'{brokerName:9} transactions/receipts {a / b:.2f}x, transactions/stomp.py {a / c:.2f}x, '
                f'transactions/ceiling {a / d:.2f}x (batch 100)'
            )
    if all(
        best.get(key)
        for key in [
            ('activemq', 'transactions', 100),
            ('activemq', 'receipts', None),
            ('activemq', 'stomppy', None),
            ('activemq', 'ceiling', 100),
        ]
    ):
        a, b = best[('activemq', 'transactions', 100)], best[('activemq', 'receipts', None)]
        c, d = best[('activemq', 'stomppy', None)], best[('activemq', 'ceiling', 100)]
        print(
            f'pipeline: transactions {a:,.0f} msg/s, receipts {b:,.0f} msg/s, stomp.py {c:,.0f} msg/s, '
            f'ceiling {d:,.0f} msg/s (activemq, batch 100)'
        )
    return 0


if __name__ == '__main__':
    sys.exit(main())
