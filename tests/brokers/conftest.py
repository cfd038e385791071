"""Fixtures for the tests that run against real brokers (ActiveMQ Classic, RabbitMQ + STOMP plugin).

The brokers are installed, started and stopped by ``scripts/brokers/brokers``; these fixtures
call that script:

* ``activemq``, ``activemq2``, ``rabbitmq`` (session scope): make sure the broker runs and
  yield a :class:`BrokerInfo`. A broker this test session started is stopped at the end of the
  session; one that was already running is left alone (so is every broker when
  ``STOMPEST_BROKERS_KEEP=1``). If a broker cannot be started, the test **fails** with the
  script's output: deselect broker tests explicitly with ``-m "not broker"``.
* ``broker``: parametrised over ActiveMQ and RabbitMQ, with the broker's name as test id.
* ``destination``: a fresh ``/queue/stompest.test.<uuid4 hex>`` per test.
* ``brokerControl``: freeze, thaw, kill, stop, start or restart a broker from a test; at
  teardown every broker it touched is thawed and started again, so later tests find it running.

Known broker behaviours live in :attr:`BrokerInfo.quirks` (facts measured in
``/work/shared/BROKERS.md``), so tests consult a flag instead of testing the broker's name.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPT = REPO / 'scripts' / 'brokers' / 'brokers'
STATE = Path(os.environ.get('STOMPEST_BROKERS_DIR') or REPO / '.brokers')
SCRIPT_TIMEOUT = float(os.environ.get('STOMPEST_BROKERS_START_TIMEOUT', 90)) + 60
KEEP = os.environ.get('STOMPEST_BROKERS_KEEP', '') not in ('', '0')

#: What every broker does the same way (STOMP 1.2 unless noted).
_COMMON_QUIRKS = {
    'frameTrailer': b'\x00\n',  # every frame ends with NUL + EOL; the EOL is not a heart-beat
    'receiptBeforeMessages': True,  # SUBSCRIBE with a receipt: RECEIPT first, then MESSAGEs
    'disconnectReceiptThenClose': True,  # DISCONNECT with receipt: RECEIPT, then the broker closes
    'cumulativeClientAck10': True,  # 1.0 ack:client: ACK of the last message-id acks all before it
    'dropsSilentClient': True,  # client heart-beat 1000,0 then silence: closed after ~3.0 s
    'escapesColonInValues': True,  # a raw ':' in a value comes back as '\c' (1.2)
}

QUIRKS: dict[str, Mapping[str, object]] = {
    'activemq': MappingProxyType(
        {
            **_COMMON_QUIRKS,
            'server': 'ActiveMQ/5.17',
            'enforcesLogin': False,  # any login/passcode (or none) is accepted
            'vhost': None,  # the host header is not checked
            'sendAddsContentLength': False,  # a SEND without content-length gives a MESSAGE without it
            'nackRedelivers': False,  # NACK: not redelivered; non-persistent dropped, persistent -> DLQ
            'nackPersistentToDlq': True,
            'deadLetterQueue': '/queue/ActiveMQ.DLQ',
            'closesOnError': True,  # unknown command, bad content-length, bad heart-beat: ERROR, then close
            'closesOnUnknownCommand': True,
            'errorBodyIsStackTrace': True,
            'errorCarriesReceiptId': True,  # an ERROR answering a frame with 'receipt' has 'receipt-id'
            'ackIdHasEscapedColons': True,  # ack:ID\cvm-...\c1 -- decode escapes before ACK/NACK
            'sendHeadersLeakIntoMessage': False,
            'heartBeatEvery': 'interval',  # server EOLs come every negotiated interval
            'acceptsHeaderWithoutColon': True,
            'acceptsInvalidEscape': True,
            'escapes10Output': False,  # 1.0: escapes decoded on input, not re-encoded on output
            'tempQueueDestination': True,  # /temp-queue/x works for SEND/SUBSCRIBE
            'slashInQueueName': True,
            'exchangeDestinations': False,  # /exchange/... is just a queue with that literal name
            'emptyDestinationOnSendCloses': True,
        }
    ),
    'rabbitmq': MappingProxyType(
        {
            **_COMMON_QUIRKS,
            'server': 'RabbitMQ/3.10',
            'enforcesLogin': True,  # guest/guest; a bad login: ERROR, socket closed 10 s later
            'badLoginCloseDelay': 10.0,
            'vhost': '/',  # the host header names the virtual host
            'sendAddsContentLength': True,
            'nackRedelivers': True,  # NACK: immediate redelivery with redelivered:true, new ack id
            'nackPersistentToDlq': False,
            'deadLetterQueue': None,
            'closesOnError': False,  # ERROR frames leave the connection open (except not_found)
            'closesOnUnknownCommand': False,
            'closesSilentlyOnMalformedFrame': True,  # no-colon header, bad escape, bad content-length
            'errorBodyIsStackTrace': False,
            'errorCarriesReceiptId': False,
            'ackIdHasEscapedColons': False,
            'sendHeadersLeakIntoMessage': True,  # the SEND's receipt and transaction headers reach the MESSAGE
            'heartBeatEvery': 'half',  # server EOLs come every half interval
            'acceptsHeaderWithoutColon': False,
            'acceptsInvalidEscape': False,
            'escapes10Output': True,  # 1.2 escaping even on 1.0 connections
            'tempQueueDestination': False,  # /temp-queue/x: ERROR for SEND and SUBSCRIBE
            'slashInQueueName': False,  # /queue/a/b: ERROR
            'exchangeDestinations': True,
            'unackedRequeuedOnDisconnect': True,
            'emptyDestinationOnSendCloses': False,
        }
    ),
}
QUIRKS['activemq2'] = QUIRKS['activemq']

#: scripts/brokers moves every port by STOMPEST_BROKERS_PORT_OFFSET (two checkouts, two broker sets).
PORT_OFFSET = int(os.environ.get('STOMPEST_BROKERS_PORT_OFFSET') or 0)
_BASE_PORTS = {'activemq': (61613, 61614), 'activemq2': (61615, 61616), 'rabbitmq': (61623, 61624)}
_PORTS = {name: (plain + PORT_OFFSET, tls + PORT_OFFSET) for name, (plain, tls) in _BASE_PORTS.items()}
_CA_FILES = {
    'activemq': STATE / 'activemq' / 'conf' / 'broker-cert.pem',
    'activemq2': STATE / 'activemq2' / 'conf' / 'broker-cert.pem',
    'rabbitmq': STATE / 'rabbitmq' / 'tls' / 'ca.pem',
}
_PID_FILES = {
    'activemq': (STATE / 'activemq' / 'broker.pid',),
    'activemq2': (STATE / 'activemq2' / 'broker.pid',),
    'rabbitmq': tuple(STATE / 'rabbitmq' / f for f in ('wrapper.pid', 'beam.pid', 'epmd.pid')),
}
_CREDENTIALS = {'rabbitmq': ('guest', 'guest')}


@dataclass(frozen=True)
class BrokerInfo:
    """Where a test broker listens and how it behaves.

    ``uri``/``sslUri`` are StompConfig URIs (TLS uses the name ``localhost``, which the
    certificate carries, so host name checking works); ``caFile`` is the PEM a client trusts.
    """

    name: str
    host: str
    port: int
    sslPort: int
    caFile: str
    login: str | None = None
    passcode: str | None = None
    vhost: str | None = None
    quirks: Mapping[str, object] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f'tcp://{self.host}:{self.port}'

    @property
    def sslUri(self) -> str:
        return f'ssl://localhost:{self.sslPort}'

    @property
    def pids(self) -> tuple[int, ...]:
        """The live pids the script recorded for this broker (read now, so restarts show)."""
        found = []
        for path in _PID_FILES[self.name]:
            try:
                pid = int(path.read_text().strip() or 0)
            except (OSError, ValueError):
                continue
            if pid and _alive(pid):
                found.append(pid)
        return tuple(found)

    def failoverUri(self, *others: BrokerInfo, **options: object) -> str:
        """``failover:(tcp://...,tcp://...)?option=value`` over this broker and ``others``."""
        uris = ','.join(broker.uri for broker in (self, *others))
        query = '&'.join(f'{key}={_uriValue(value)}' for key, value in options.items())
        return f'failover:({uris})' + (f'?{query}' if query else '')


def _alive(pid: int) -> bool:
    try:
        stat = Path(f'/proc/{pid}/stat').read_text()
    except OSError:
        return False
    return stat.rsplit(')', 1)[1].split()[0] != 'Z'


def _uriValue(value: object) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def brokerInfo(name: str) -> BrokerInfo:
    """The :class:`BrokerInfo` for one of ``activemq``, ``activemq2``, ``rabbitmq`` (no process check)."""
    port, sslPort = _PORTS[name]
    login, passcode = _CREDENTIALS.get(name, (None, None))
    return BrokerInfo(
        name=name,
        host='127.0.0.1',
        port=port,
        sslPort=sslPort,
        caFile=str(_CA_FILES[name]),
        login=login,
        passcode=passcode,
        vhost=QUIRKS[name]['vhost'],
        quirks=QUIRKS[name],  # type: ignore[arg-type]
    )


def exampleEnvironment(broker: BrokerInfo, environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of ``environ`` that points the examples (``STOMP_URI`` & co.) at ``broker``."""
    env = {key: value for key, value in environ.items() if not key.startswith('STOMP_')}
    env['STOMP_URI'] = broker.uri
    if broker.login is not None:
        env['STOMP_LOGIN'] = broker.login
        env['STOMP_PASSCODE'] = broker.passcode or ''
    if broker.vhost is not None:
        env['STOMP_HOST'] = broker.vhost
    return env


class BrokerScriptError(Exception):
    """scripts/brokers/brokers failed; the message holds its output."""


def runScript(*args: str, timeout: float = SCRIPT_TIMEOUT) -> str:
    """Run ``scripts/brokers/brokers ARGS``; return stdout, raise :class:`BrokerScriptError` on failure."""
    command = [str(SCRIPT), *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as exc:
        raise BrokerScriptError(
            f'{" ".join(command)} did not finish within {timeout:.0f} s\n{_tail(exc.stdout)}\n{_tail(exc.stderr)}'
        ) from exc
    if done.returncode != 0:
        raise BrokerScriptError(
            f'{" ".join(command)} exited with {done.returncode}\n'
            f'--- stdout ---\n{_tail(done.stdout)}\n--- stderr ---\n{_tail(done.stderr)}'
        )
    return done.stdout


def _tail(text: str | bytes | None, lines: int = 60) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors='replace')
    return '\n'.join((text or '').splitlines()[-lines:])


def _ensureRunning(name: str) -> bool:
    """Install (fast when done) and start ``name``; True if this call launched the process."""
    runScript('install', 'rabbitmq' if name == 'rabbitmq' else 'activemq')
    output = runScript('start', name)
    return f'{name}: started pid' in output


def _brokerFixture(name: str) -> Iterator[BrokerInfo]:
    try:
        startedHere = _ensureRunning(name)
    except BrokerScriptError as exc:
        pytest.fail(f'broker {name!r} could not be started:\n{exc}', pytrace=False)
    yield brokerInfo(name)
    if startedHere and not KEEP:
        try:
            runScript('stop', name)
        except BrokerScriptError as exc:
            pytest.fail(f'broker {name!r} could not be stopped:\n{exc}', pytrace=False)


@pytest.fixture(scope='session')
def activemq() -> Iterator[BrokerInfo]:
    """ActiveMQ Classic 5.17 on 127.0.0.1:61613 (stomp+ssl 61614); no credentials enforced."""
    yield from _brokerFixture('activemq')


@pytest.fixture(scope='session')
def activemq2() -> Iterator[BrokerInfo]:
    """A second ActiveMQ (own data, brokerName stompest-activemq2) on 61615 (ssl 61616), for failover."""
    yield from _brokerFixture('activemq2')


@pytest.fixture(scope='session')
def rabbitmq() -> Iterator[BrokerInfo]:
    """RabbitMQ 3.10 + rabbitmq_stomp on 127.0.0.1:61623 (ssl 61624); guest/guest, vhost '/'."""
    yield from _brokerFixture('rabbitmq')


@pytest.fixture(params=['activemq', 'rabbitmq'], ids=['activemq', 'rabbitmq'])
def broker(request: pytest.FixtureRequest) -> BrokerInfo:
    """Each test that takes ``broker`` runs once per broker; the test id names it."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def destination() -> str:
    """A queue no other test uses."""
    return f'/queue/stompest.test.{uuid.uuid4().hex}'


class BrokerControl:
    """Faults on demand: ``freeze``/``thaw`` (SIGSTOP/SIGCONT), ``kill`` (SIGKILL), ``stop``,
    ``start``, ``restart``. Takes a name or a :class:`BrokerInfo`; :meth:`restore` (run at the
    fixture's teardown) thaws and restarts every broker touched."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def _run(self, command: str, broker: BrokerInfo | str) -> str:
        name = broker if isinstance(broker, str) else broker.name
        if name not in _PORTS:
            raise ValueError(f'Unknown broker: {name!r} [known: {", ".join(_PORTS)}]')
        if name not in self.touched:
            self.touched.append(name)
        return runScript(command, name)

    def freeze(self, broker: BrokerInfo | str) -> str:
        return self._run('freeze', broker)

    def thaw(self, broker: BrokerInfo | str) -> str:
        return self._run('thaw', broker)

    def kill(self, broker: BrokerInfo | str) -> str:
        return self._run('kill', broker)

    def stop(self, broker: BrokerInfo | str) -> str:
        return self._run('stop', broker)

    def start(self, broker: BrokerInfo | str) -> str:
        return self._run('start', broker)

    def restart(self, broker: BrokerInfo | str) -> str:
        return self._run('restart', broker)

    def status(self, broker: BrokerInfo | str) -> str:
        """The script's status word: running, stopped, frozen, starting/unresponsive."""
        line = self._run('status', broker).strip()
        return line.split()[1] if line else ''

    def restore(self) -> None:
        problems = []
        for name in self.touched:
            try:
                if runScript('status', name).split()[1] == 'frozen':
                    runScript('thaw', name)
                runScript('start', name)
            except BrokerScriptError as exc:
                problems.append(f'{name}: {exc}')
        if problems:
            pytest.fail('could not restore the brokers after the test:\n' + '\n'.join(problems), pytrace=False)


@pytest.fixture
def brokerControl() -> Iterator[BrokerControl]:
    """Freeze, thaw, kill or restart brokers from a test; they run again after it."""
    control = BrokerControl()
    yield control
    control.restore()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under tests/brokers/ gets the ``broker`` marker (``-m "not broker"`` deselects them)."""
    for item in items:
        if HERE in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.broker)


@pytest.fixture(scope='session')
def throwawayCa(tmp_path_factory) -> str:
    """The PEM of a CA that signed nothing the brokers present (for refusal tests)."""
    folder = tmp_path_factory.mktemp('throwaway-ca')
    subprocess.run(
        [
            'openssl',
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-days',
            '1',
            '-subj',
            '/CN=stompest throwaway CA',
            '-keyout',
            str(folder / 'ca.key'),
            '-out',
            str(folder / 'ca.pem'),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return str(folder / 'ca.pem')
