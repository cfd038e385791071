"""stompest.cli.output: message formats, the progress bar and the tables."""

from __future__ import annotations

import io
import json

from stompest.cli.output import ProgressBar, formatMessage, formatTable, rate
from stompest.protocol.frame import StompFrame


def test_jsonOutputKeepsUtf8BodiesAsText():
    frame = StompFrame('MESSAGE', {'destination': '/queue/a', 'x': 'ä'}, 'grüße'.encode())
    record = json.loads(formatMessage(frame, asJson=True))
    assert record == {'headers': {'destination': '/queue/a', 'x': 'ä'}, 'body': 'grüße', 'bodyEncoding': 'utf-8'}


def test_jsonOutputEncodesBinaryBodiesAsBase64():
    frame = StompFrame('MESSAGE', {'destination': '/queue/a'}, b'\xff\x00\x01')
    line = formatMessage(frame, asJson=True)
    assert line.endswith(b'\n') and line.count(b'\n') == 1
    record = json.loads(line)
    assert record['bodyEncoding'] == 'base64'
    assert record['body'] == '/wAB'


def test_textOutputIsHeadersBlankLineBody():
    frame = StompFrame('MESSAGE', {'destination': '/queue/a', 'message-id': 'm1'}, b'hi\x00there')
    assert formatMessage(frame, asJson=False) == b'destination:/queue/a\nmessage-id:m1\n\nhi\x00there\n\n'


def test_tableAlignsColumns():
    assert formatTable([('sent', '10'), ('lost', '0')]) == 'sent  10\nlost   0\n'


def test_rateHasThousandsSeparatorsAndNoDivisionByZero():
    assert (rate(12345, 1.0), rate(5, 0.0)) == ('12,345', 'n/a')


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progressBarRedrawsInPlaceAtMostEveryInterval():
    stream, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(stream, 10, width=10, interval=0.1, clock=clock, live=True)
    bar.update(1, 'one')
    bar.update(2, 'two')  # same instant: skipped
    clock.now = 0.2
    bar.update(5, 'five')
    bar.finish(10, 'done')
    assert stream.getvalue() == ('\r[#.........]  10.0% one\r[#####.....]  50.0% five\r[##########] 100.0% done\n')


def test_progressBarOffATerminalDrawsOnlyTheFinalLine():
    stream = io.StringIO()  # not a terminal
    bar = ProgressBar(stream, 4, width=4)
    for done in range(5):
        bar.update(done, f'{done}')
    bar.finish(4, 'done')
    assert stream.getvalue() == '\r[####] 100.0% done\n'
