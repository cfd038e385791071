"""Benchmark: stompest's StompParser and frame serialisation against stomp.py 9, fed the same bytes.

Run on demand (not collected by pytest)::

    .venv/bin/python tests/benchmarks/bench_parser.py [--quick]

stomp.py is driven through its real receive path: a :class:`stomp.transport.BaseTransport` whose
``receive()`` hands out our chunks, read with the transport's own frame splitting
(``__read_frames`` -> ``__read`` -> ``stomp.utils.parse_frame``); only the listener dispatch at the
end (``process_frame``) is replaced. Serialisation goes through stomp.py's
``Protocol12.send`` -> ``BaseTransport.transmit`` (``convert_frame`` + ``pack``), with the socket
write replaced by keeping the bytes.

Timed runs behave like a consumer: each frame is handed over and dropped (counted), on both sides.
Keeping every parsed frame alive (13 MiB of 64 KiB bodies per run) made each body land on fresh
memory pages, a cost of the benchmark rather than of either parser, which hid most of the
difference between them. Separate untimed runs keep the frames and check both sides agree.
"""

from __future__ import annotations

import gc
import os
import platform
import random
import sys
import time
import tracemalloc
from collections.abc import Callable

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))  # the checkout

from stomp.protocol import Protocol12  # noqa: E402
from stomp.transport import BaseTransport  # noqa: E402
from stomp.utils import Frame, convert_frame, pack  # noqa: E402

from stompest.protocol.frame import StompFrame  # noqa: E402
from stompest.protocol.parser import StompParser  # noqa: E402
from stompest.protocol.spec import StompSpec  # noqa: E402

try:
    from stompest.protocol import commands
except ImportError:  # not landed yet
    commands = None  # type: ignore[assignment]

QUICK = '--quick' in sys.argv
#: ``--json PATH``: also write the frames/s figures as JSON in the shape that docs/data/bench_parser.json
#: has (the docs draw their parser chart from that file; copy a run's output there to redraw it).
JSON_PATH = sys.argv[sys.argv.index('--json') + 1] if '--json' in sys.argv[:-1] else None
#: the cases for --json: {"name", "unit", "results": {client: value}}, in the order measured
CASES: list[dict[str, object]] = []
REPEAT = 3 if QUICK else 5


class FeedTransport(BaseTransport):
    """stomp.py's transport with the socket replaced by a list of chunks."""

    def __init__(self, chunks: list[bytes], keep: bool = True) -> None:
        super().__init__(auto_decode=False)
        self._chunks = iter(chunks)
        self.running = True
        self.blocking = False  # receive() returning None means "nothing more for now"
        self.done = False
        self.keep = keep
        self.count = 0
        self.frames: list[Frame] = []
        self.sent: list[bytes] = []

    def receive(self) -> bytes | None:
        chunk = next(self._chunks, None)
        if chunk is None:
            self.done = True
        return chunk

    def process_frame(self, f: Frame, frame_str: bytes) -> None:
        if self.keep:
            self.frames.append(f)
        else:
            self.count += 1

    def send(self, encoded_frame: bytes) -> None:
        self.sent.append(encoded_frame)


def stompPyParse(chunks: list[bytes]) -> list[Frame]:
    """All frames, kept (for checking)."""
    transport = FeedTransport(chunks)
    readFrames = transport._BaseTransport__read_frames  # type: ignore[attr-defined]
    while not transport.done:
        readFrames()
    return transport.frames


def stompPyConsume(chunks: list[bytes]) -> int:
    """How many frames; each is dropped once delivered, as a consumer would (timed)."""
    transport = FeedTransport(chunks, keep=False)
    readFrames = transport._BaseTransport__read_frames  # type: ignore[attr-defined]
    while not transport.done:
        readFrames()
    return transport.count


def stompestParse(chunks: list[bytes]) -> list:
    """All frames, kept (for checking)."""
    parser = StompParser(StompSpec.VERSION_1_2)
    frames: list = []
    extend = frames.extend
    add = parser.add
    get = parser.get
    for chunk in chunks:
        add(chunk)
        extend(iter(get, None))
    return frames


def stompestConsume(chunks: list[bytes]) -> int:
    """How many frames; each is dropped once delivered, as a consumer would (timed)."""
    parser = StompParser(StompSpec.VERSION_1_2)
    count = 0
    add = parser.add
    get = parser.get
    for chunk in chunks:
        add(chunk)
        for _ in iter(get, None):
            count += 1
    return count


def _parseOne(data: bytes) -> object:
    parser = StompParser(StompSpec.VERSION_1_2)
    parser.add(data)
    return parser.get()


def chunked(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def best(function: Callable[[], object], repeat: int = REPEAT) -> float:
    """The best wall time of ``repeat`` runs (garbage collection off while timing)."""
    times = []
    for _ in range(repeat):
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            function()
            times.append(time.perf_counter() - start)
        finally:
            gc.enable()
    return min(times)


def messageWire(count: int, bodySize: int = 100) -> bytes:
    frames = []
    for index in range(count):
        headers = {
            'destination': '/queue/stompest.bench',
            'message-id': f'ID:bench-host-12345-1700000000000-1:1:1:1:{index}',
            'subscription': '0',
            'ack': f'ack-{index}',
            'content-type': 'text/plain',
            'timestamp': '1700000000000',
        }
        body = (b'x' * bodySize)[:bodySize]
        frames.append(bytes(StompFrame(StompSpec.MESSAGE, headers, body, version=StompSpec.VERSION_1_2)) + b'\n')
    return b''.join(frames)


def binaryWire(count: int, bodySize: int) -> bytes:
    rng = random.Random(1)
    body = rng.randbytes(bodySize)
    frame = StompFrame(StompSpec.MESSAGE, {'destination': '/queue/bin', 'message-id': '1', 'subscription': '0'}, body)
    frame.setContentLength()
    frame.version = StompSpec.VERSION_1_2
    return (bytes(frame) + b'\n') * count


def row(*cells: object) -> None:
    print('  '.join(str(cell).ljust(width) for cell, width in zip(cells, (34, 16, 16, 10), strict=False)))


def compareParsers(title: str, wire: bytes, chunkSize: int, count: int, target: float) -> None:
    chunks = chunked(wire, chunkSize)
    ours, theirs = stompestParse(chunks), stompPyParse(chunks)
    assert len(ours) == count, (len(ours), count)
    assert len(theirs) == count, (len(theirs), count)
    assert all(a.body == b.body and a.headers == b.headers for a, b in zip(ours, theirs, strict=True))
    del ours, theirs
    assert stompestConsume(chunks) == stompPyConsume(chunks) == count
    oursTime = best(lambda: stompestConsume(chunks))
    theirsTime = best(lambda: stompPyConsume(chunks))
    ratio = theirsTime / oursTime
    CASES.append(
        {
            'name': f'Parsing {title}, {chunkSize}-byte chunks',
            'unit': 'frames/s',
            'results': {
                'stompest StompParser': round(count / oursTime),
                'stomp.py 9 transport + parse_frame': round(count / theirsTime),
            },
        }
    )
    print(f'\n## {title} ({count} frames, {len(wire)} bytes, {chunkSize}-byte chunks)')
    row('', 'frames/s', 'MiB/s', '')
    row('stompest StompParser', f'{count / oursTime:,.0f}', f'{len(wire) / oursTime / 2**20:,.1f}')
    row('stomp.py 9 transport+parse_frame', f'{count / theirsTime:,.0f}', f'{len(wire) / theirsTime / 2**20:,.1f}')
    print(f'ratio stompest/stomp.py: {ratio:.2f}x (target >= {target}x): {"met" if ratio >= target else "MISSED"}')


def linearBodies() -> None:
    print('\n## One large body with content-length, 1500-byte chunks (time per MiB must stay flat)')
    row('body', 'stompest ms', 'ms per MiB', '')
    for mib in (1, 4, 16):
        chunks = chunked(binaryWire(1, mib * 2**20), 1500)
        elapsed = best(lambda chunks=chunks: stompestConsume(chunks), 3)
        row(f'{mib} MiB', f'{elapsed * 1e3:.1f}', f'{elapsed * 1e3 / mib:.2f}')
    chunks = chunked(binaryWire(1, 2**20), 1500)
    elapsed = best(lambda: stompPyConsume(chunks), 1)
    print(f'(stomp.py, 1 MiB body in 1500-byte chunks, for reference: {elapsed * 1e3:.1f} ms)')


def linearSmallFrames() -> None:
    count = 500 if QUICK else 2000
    print('\n## Small MESSAGE frames fed 1 byte at a time (time per frame must stay flat)')
    row('frames', 'stompest ms', 'us per frame', 'frames/s')
    for n in (count, 4 * count):
        chunks = chunked(messageWire(n), 1)
        assert len(stompestParse(chunks)) == n
        elapsed = best(lambda chunks=chunks: stompestConsume(chunks), 3)
        row(f'{n} ({len(chunks)} chunks)', f'{elapsed * 1e3:.1f}', f'{elapsed * 1e6 / n:.2f}', f'{n / elapsed:,.0f}')
    ours = n / elapsed
    chunks = chunked(messageWire(count), 1)
    elapsed = best(lambda: stompPyConsume(chunks), 1)
    print(f'(stomp.py, {count} frames 1 byte at a time, for reference: {count / elapsed:,.0f} frames/s)')
    CASES.append(
        {
            'name': 'Small MESSAGE frames fed one byte at a time',
            'unit': 'frames/s',
            'results': {
                'stompest StompParser': round(ours),
                'stomp.py 9 transport + parse_frame': round(count / elapsed),
            },
        }
    )


def linearOneByteBodies() -> None:
    """One frame with a 10,000 and a 40,000 byte body fed one byte at a time (moved here from the
    unit suite, where a wall-clock figure does not belong): a re-scan from the start of the buffer
    would make 4x the bytes cost 16x the time, so the ratio must stay well under 8."""
    print('\n## One body fed 1 byte at a time, 10,000 vs 40,000 bytes (ratio must stay < 8; linear is 4)')
    row('body', '10,000 ms', '40,000 ms', 'ratio')
    for contentLength in (False, True):

        def wire(size: int, contentLength: bool = contentLength) -> list[bytes]:
            head = b'MESSAGE\n' + b'x:y\n' * 20 + (b'content-length:%d\n' % size if contentLength else b'')
            return chunked(head + b'\n' + b'a' * size + b'\x00', 1)

        small, large = wire(10000), wire(40000)
        assert stompestConsume(small) == stompestConsume(large) == 1
        smallTime = best(lambda small=small: stompestConsume(small), 3)
        largeTime = best(lambda large=large: stompestConsume(large), 3)
        ratio = largeTime / smallTime
        name = 'with content-length' if contentLength else 'to NUL'
        row(name, f'{smallTime * 1e3:.1f}', f'{largeTime * 1e3:.1f}', f'{ratio:.2f} {"met" if ratio < 8 else "MISSED"}')


def peakMemory() -> None:
    size = 8 * 2**20
    print('\n## Peak memory (tracemalloc) parsing one 8 MiB body')
    row('chunks', 'peak MiB', 'peak / body', '')
    for chunkSize in (1500, 65536):
        chunks = chunked(binaryWire(1, size), chunkSize)
        gc.collect()
        tracemalloc.start()
        frames = stompestParse(chunks)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert len(frames[0].body) == size
        del frames
        ratio = peak / size
        row(f'{chunkSize} bytes', f'{peak / 2**20:.2f}', f'{ratio:.2f}x', 'met' if ratio <= 2.5 else 'MISSED (<= 2.5x)')


def serialisation() -> None:
    count = 20000 if QUICK else 100000
    headers = {'persistent': 'true', 'content-type': 'text/plain', 'correlation-id': 'abc-123', 'priority': '4'}
    body = b'x' * 100
    destination = '/queue/stompest.bench'
    v12 = StompSpec.VERSION_1_2

    def viaFrame() -> None:
        for _ in range(count):
            bytes(StompFrame(StompSpec.SEND, {'destination': destination, **headers}, body, version=v12))

    def viaCommands() -> None:
        send = commands.send
        for _ in range(count):
            bytes(send(destination, body, headers, version=v12))

    transport = FeedTransport([])
    transport.blocking = True
    protocol = Protocol12(transport)

    def viaStompPy() -> None:
        transport.sent.clear()
        for _ in range(count):
            protocol.send(destination, body, headers=headers)  # stomp.py copies them itself

    def viaConvertFrame() -> None:
        for _ in range(count):
            pack(convert_frame(Frame('SEND', {'destination': destination, **headers}, body)))

    viaStompPy()
    ours = bytes(StompFrame(StompSpec.SEND, {'destination': destination, **headers}, body, version=v12))
    theirs = StompParser(v12)
    theirs.add(transport.sent[-1])
    sent = theirs.get()
    sent.headers.pop('content-length')  # stomp.py adds it, stompest only for bodies with NULs
    assert sent == StompParser(v12).add(ours) or _parseOne(ours) == sent, (transport.sent[-1], ours)
    print(f'\n## Serialising SEND frames (5 headers, 100-byte body, {count} frames)')
    row('', 'frames/s', '', '')
    results = {}
    for name, function in [
        ('stompest bytes(StompFrame(...))', viaFrame),
        ('stompest bytes(commands.send(...))', viaCommands if commands is not None else None),
        ('stomp.py Protocol12.send->transmit', viaStompPy),
        ('stomp.py pack(convert_frame(Frame))', viaConvertFrame),
    ]:
        if function is None:
            row(name, 'not available')
            continue
        results[name] = count / best(function)
        row(name, f'{results[name]:,.0f}')
    reference = results['stomp.py Protocol12.send->transmit']
    for name in ('stompest bytes(StompFrame(...))', 'stompest bytes(commands.send(...))'):
        if name in results:
            ratio = results[name] / reference
            print(f'{name} vs stomp.py send: {ratio:.2f}x (target >= 2x): {"met" if ratio >= 2 else "MISSED"}')
    ratio = results['stompest bytes(StompFrame(...))'] / results['stomp.py pack(convert_frame(Frame))']
    print(f'stompest bytes(StompFrame(...)) vs bare convert_frame: {ratio:.2f}x')
    CASES.append(
        {
            'name': 'Serialising SEND frames (5 headers, 100 B body, STOMP 1.2)',
            'unit': 'frames/s',
            'results': {name: round(value) for name, value in results.items()},
        }
    )


def machine() -> None:
    model = 'unknown'
    try:
        with open('/proc/cpuinfo') as cpuinfo:
            for line in cpuinfo:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    import stomp

    print(f'# {time.strftime("%Y-%m-%d")}  {platform.node() and "host"}: nproc={os.cpu_count()}, CPU {model}')
    print(f'# Python {platform.python_version()} ({platform.python_implementation()}), stomp.py {stomp.__version__}')


def main() -> None:
    machine()
    count = 5000 if QUICK else 20000
    compareParsers('MESSAGE frames, 6 headers, 100-byte body', messageWire(count), 4096, count, 3)
    # A socket hands over what has arrived, up to the size asked for: Twisted asks for 64 KiB,
    # stomp.py's Transport for 16 KiB (recv_bytes), and a TLS record carries at most 16 KiB.
    binary = binaryWire(200, 65536)
    compareParsers('MESSAGE frames, 64 KiB binary body with content-length', binary, 65536, 200, 2)
    compareParsers('MESSAGE frames, 64 KiB binary body with content-length', binary, 16384, 200, 2)
    linearBodies()
    linearSmallFrames()
    linearOneByteBodies()
    peakMemory()
    serialisation()
    if JSON_PATH is not None:
        import json

        when = time.strftime('%Y-%m-%d %H:%M')
        source = f'tests/benchmarks/bench_parser.py --json, {when}, nproc={os.cpu_count()}, '
        source += f'Python {platform.python_version()}; each figure the best of {REPEAT} timings'
        with open(JSON_PATH, 'w') as out:
            json.dump({'source': source, 'cases': CASES}, out, indent=1)
            out.write('\n')
        print(f'\n# wrote {JSON_PATH}')


if __name__ == '__main__':
    main()
