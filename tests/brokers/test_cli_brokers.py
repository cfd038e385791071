"""The ``stompest`` command against the real brokers, run as ``python -m stompest`` in a
subprocess (as a user would), with the broker's URI, login and virtual host in the environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.brokers.conftest import exampleEnvironment

pytestmark = pytest.mark.broker

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TIMEOUT = 120  # seconds for one command; each takes about a second when all is well


def environmentFor(broker, **overrides: str) -> dict[str, str]:
    env = exampleEnvironment(broker, os.environ)
    env.update(overrides)
    return env


def stompest(env: dict[str, str], *argv: str, stdin: bytes = b'') -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, '-m', 'stompest', *argv],
        input=stdin,
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=TIMEOUT,
    )


def test_sendThenListenAsJson(broker, destination, tmp_path):
    env = environmentFor(broker)
    sent = stompest(env, 'send', destination, 'grüße', '--header', 'origin=cli-test', '--receipt', '--persistent')
    assert sent.returncode == 0, sent.stderr.decode()
    sent = stompest(env, 'send', destination, '--receipt', stdin=b'line one\nline two\r\n')
    assert sent.returncode == 0, sent.stderr.decode()
    binary = tmp_path / 'body.bin'
    binary.write_bytes(b'\xff\x00\xfe')
    sent = stompest(env, 'send', '--file', str(binary), destination)
    assert sent.returncode == 0, sent.stderr.decode()
    assert sent.stderr.decode() == f"stompest: sent 1 message to '{destination}'\n"

    listened = stompest(env, 'listen', destination, '--count', '4', '--json', '--timeout', '30')
    assert listened.returncode == 0, listened.stderr.decode()
    records = [json.loads(line) for line in listened.stdout.decode().splitlines()]
    assert [(record['body'], record['bodyEncoding']) for record in records] == [
        ('grüße', 'utf-8'),
        ('line one', 'utf-8'),
        ('line two', 'utf-8'),
        ('/wD+', 'base64'),
    ]
    assert records[0]['headers']['origin'] == 'cli-test'
    assert records[0]['headers']['persistent'] == 'true'
    assert all(record['headers']['destination'] == destination for record in records)

    # all four were acknowledged: nothing is left on the queue
    empty = stompest(env, 'listen', destination, '--timeout', '1')
    assert (empty.returncode, empty.stdout) == (0, b''), empty.stderr.decode()


def test_listenCountNotReachedGivesOneErrorLine(broker, destination):
    listened = stompest(environmentFor(broker), 'listen', destination, '--count', '1', '--timeout', '0.5')
    assert listened.returncode == 1
    expected = f"stompest: error: Only 0 of 1 messages arrived on '{destination}' [--timeout=0.5]\n"
    assert listened.stderr.decode() == expected


def test_benchReportsBothDirectionsWithinItsWindow(broker):
    bench = stompest(environmentFor(broker), 'bench', '--count', '300', '--size', '50', '--window', '100')
    assert bench.returncode == 0, bench.stderr.decode()
    table = dict(line.rsplit(None, 1) for line in bench.stdout.decode().splitlines())
    assert table['messages produced'] == '300'
    assert table['messages consumed'] == '300'
    assert table['bytes consumed'] == '15,000'
    assert 1 <= int(table['most in flight']) <= 100


def test_demoLosesNothingAndEveryMessageArrivesPersistent(broker):
    demo = stompest(environmentFor(broker), 'demo', '--count', '300', '--poison', '4')
    assert demo.returncode == 0, demo.stderr.decode()
    rows = dict(line.rsplit(None, 1) for line in demo.stdout.decode().splitlines())
    assert rows == {
        'mode': 'transactions',
        'inputs per transaction': '100',
        'sent': '300',
        'inputs committed': '300',
        'received': '296',
        'sent to the error destination': '4',
        'lost': '0',
        'messages/s': rows['messages/s'],
    }
    assert float(rows['messages/s'].replace(',', '')) > 0
    progress = demo.stderr.decode().split('\n')[-2]  # the bar's final state, drawn in place
    assert progress.startswith('\r[') and '100.0%' in progress


def test_demoComparesBothModesAndLosesNothingInEither(broker):
    demo = stompest(environmentFor(broker), 'demo', '--mode', 'both', '--count', '300', '--poison', '3')
    assert demo.returncode == 0, demo.stderr.decode()
    *tables, comparison = demo.stdout.decode().strip().split('\n')
    assert comparison.startswith('transactions ') and ' msg/s vs receipts ' in comparison, comparison
    rows = [line.rsplit(None, 1) for line in tables]
    modes = [value for key, value in rows if key == 'mode']
    assert modes == ['receipts', 'transactions']
    assert [value for key, value in rows if key == 'lost'] == ['0', '0']
    assert [value for key, value in rows if key == 'received'] == ['297', '297']
    assert [value for key, value in rows if key == 'transformed'] == ['297']  # receipts: outputs confirmed
    assert [value for key, value in rows if key == 'inputs committed'] == ['300']  # poison forwarded in the tx


def test_refusedLoginOnRabbitMQGivesOneErrorLine(rabbitmq, destination):
    wrong = 'not-the-passcode'
    sent = stompest(environmentFor(rabbitmq, STOMP_PASSCODE=wrong), 'send', destination, 'x')
    assert sent.returncode == 1
    stderr = sent.stderr.decode()
    assert stderr.count('\n') == 1 and stderr.startswith('stompest: error: ')
    assert "Access refused for user 'guest'" in stderr
    assert wrong not in stderr


def test_unknownDestinationOnRabbitMQGivesOneErrorLine(rabbitmq):
    sent = stompest(environmentFor(rabbitmq), 'send', '/bogus/x', 'x')
    assert sent.returncode == 1
    stderr = sent.stderr.decode()
    assert stderr.count('\n') == 1 and stderr.startswith('stompest: error: ')
    assert "'/bogus/x' is not a valid destination" in stderr


def test_sendAndListenOverTlsWithTheBrokersCa(broker, destination):
    env = environmentFor(broker, STOMP_URI=broker.sslUri)
    sent = stompest(env, 'send', destination, 'over tls', '--receipt', '--ca', broker.caFile)
    assert sent.returncode == 0, sent.stderr.decode()
    listened = stompest(env, 'listen', destination, '--count', '1', '--json', '--timeout', '30', '--ca', broker.caFile)
    assert listened.returncode == 0, listened.stderr.decode()
    assert json.loads(listened.stdout)['body'] == 'over tls'


def test_untrustedCertificateGivesOneErrorLineWithTheCaHint(activemq, destination):
    sent = stompest(environmentFor(activemq, STOMP_URI=activemq.sslUri), 'send', destination, 'x')
    assert sent.returncode == 1
    stderr = sent.stderr.decode()
    assert stderr.count('\n') == 1
    assert stderr.startswith('stompest: error: certificate of ') and ' not trusted: self-signed certificate' in stderr
    assert f'(tried {activemq.sslUri} once); hint: ' in stderr and '--ca FILE' in stderr


def test_refusedVirtualHostOnRabbitMQHintsAtHostSlash(rabbitmq, destination):
    sent = stompest(environmentFor(rabbitmq, STOMP_HOST=''), 'send', destination, 'x')  # host: 127.0.0.1
    assert sent.returncode == 1
    stderr = sent.stderr.decode()
    assert stderr.count('\n') == 1
    assert "refused the connection: Bad CONNECT: Virtual host '127.0.0.1' access denied" in stderr
    assert stderr.endswith(
        'hint: RabbitMQ reads the CONNECT host header as its virtual host: pass --host / (or STOMP_HOST=/)\n'
    )


def started(env: dict[str, str], *argv: str) -> subprocess.Popen:
    """``python -m stompest ARGV`` running, once its first line is on stderr (it has connected)."""
    process = subprocess.Popen(
        [sys.executable, '-m', 'stompest', *argv],
        env=env,
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stderr is not None
    first = process.stderr.readline()
    assert first.startswith(b'stompest: '), first
    return process


def stopped(process: subprocess.Popen, signum: int) -> tuple[int, str, str]:
    process.send_signal(signum)
    try:
        stdout, stderr = process.communicate(timeout=TIMEOUT)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    return process.returncode, stdout.decode(), stderr.decode()


def test_interruptedBenchLeavesNothingOnItsQueue(broker, destination):
    env = environmentFor(broker)
    bench = started(env, 'bench', '--count', '200000', '--destination', destination)
    time.sleep(1.5)  # the scenario of issue 11: interrupted after 1.5 s (not a synchronisation)
    status, stdout, stderr = stopped(bench, signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, stderr
    assert 'Traceback' not in stderr
    table = dict(line.rsplit(None, 1) for line in stdout.splitlines())
    produced = int(table['messages produced'].replace(',', ''))
    assert 0 < produced < 200000
    assert int(table['most in flight'].replace(',', '')) <= 500
    assert f"nothing left on '{destination}'" in stderr
    left = stompest(env, 'listen', destination, '--timeout', '1')
    assert (left.returncode, left.stdout) == (0, b''), left.stderr.decode()


def test_demoStopsGracefullyOnSigterm(activemq):
    demo = started(environmentFor(activemq), 'demo', '--count', '100000')
    time.sleep(2)  # let it run (not a synchronisation: any moment of the run will do)
    status, stdout, stderr = stopped(demo, signal.SIGTERM)
    assert status == 128 + signal.SIGTERM, stderr
    assert 'Traceback' not in stderr
    rows = dict(line.rsplit(None, 1) for line in stdout.splitlines())
    assert 'not accounted for (interrupted)' in rows and 0 < int(rows['sent'].replace(',', '')) < 100000


def test_demoOverTlsOnActiveMQ(activemq):
    env = environmentFor(activemq, STOMP_URI=activemq.sslUri)
    demo = stompest(env, 'demo', '--count', '100', '--ca', activemq.caFile)
    assert demo.returncode == 0, demo.stderr.decode()
    assert dict(line.rsplit(None, 1) for line in demo.stdout.decode().splitlines())['lost'] == '0'
