"""Failover URIs and the reconnect schedule they describe.

A broker address is either a single broker, ``tcp://host:port`` or ``ssl://host:port``, or an
ActiveMQ style failover URI listing several brokers; either may carry options after a ``?``:

* ``failover:(tcp://a:61613,ssl://b:61614)?randomize=false,initialReconnectDelay=100``
* ``failover:(tcp://a:61613,tcp://b:61613)?randomize=false&maxReconnectAttempts=3``
* ``failover:tcp://a:61613,tcp://b:61613?randomize=false`` (no parentheses)
* ``tcp://a:61613?maxReconnectAttempts=3`` and ``tcp://a:61613,tcp://b:61613`` (no ``failover:``)

These are the forms stompest 2.3 accepted. Options are separated by ``,`` or ``&``. IPv6 literal hosts go in brackets
(``tcp://[::1]:61613``). :class:`StompFailoverUri` parses such a URI;
:class:`StompFailoverTransport` turns it into a sequence of ``(broker, delay)`` pairs, which a
client walks through until one connection attempt succeeds. This module never sleeps, never
reads the time and never draws random numbers of its own: the delays are plain numbers (in
seconds) and the randomness comes from the ``rng`` you pass in.

Options (names, defaults and meaning as in ActiveMQ's failover transport; times are given in
milliseconds in the URI):

============================  =========  ========  ===============================================
Name                          Type       Default   Meaning
============================  =========  ========  ===============================================
initialReconnectDelay         int (ms)   10        Delay before the first reconnect attempt.
maxReconnectDelay             int (ms)   30000     Upper bound of the (backed off) delay.
useExponentialBackOff         bool       true      Multiply the delay by ``backOffMultiplier``
                                                   after each failed reconnect attempt.
backOffMultiplier             float      2.0       The back-off factor (at least 1).
maxReconnectAttempts          int        -1        Reconnect attempts after a connection that
                                                   had succeeded was lost: -1 retries forever,
                                                   0 makes one pass over the brokers, n > 0
                                                   gives up after n retries.
startupMaxReconnectAttempts   int        0         The same limit for the very first
                                                   connection: 0 (the default) makes one pass
                                                   over the brokers and gives up, so a client
                                                   started with no broker up fails fast; -1
                                                   retries forever.
reconnectDelayJitter          int (ms)   0         Each delay is lengthened by a uniformly
                                                   drawn amount in [0, jitter) (as stompest 2.3
                                                   did), and still capped at
                                                   ``maxReconnectDelay``.
randomize                     bool       true      Shuffle the brokers anew for each pass.
priorityBackup                bool       false     Try priority brokers first in each pass.
priorityURIs                  URI list   (none)    The priority brokers (a comma separated list
                                                   of ``tcp://host:port`` URIs from the broker
                                                   list); without it, the brokers on the local
                                                   host are the priority ones.
============================  =========  ========  ===============================================

Booleans are ``true`` or ``false``, in lower case (as stompest 2.3 required).

How limits count: every broker tried is one attempt. A limit of n allows the first attempt
and n more, but a schedule never gives up before it has tried every broker of the URI once, so
``failover:(tcp://a:61613,tcp://b:61613)`` with the defaults tries ``a``, then ``b``, then raises
:class:`~stompest.error.StompConnectTimeout` (stompest 2.3 gave up after ``a``; trying every broker
once is what ActiveMQ's own transport does). The first iteration over a
:class:`StompFailoverTransport` is the startup phase, limited by ``startupMaxReconnectAttempts``;
every later iteration is a reconnect phase, limited by ``maxReconnectAttempts``, whether or not a
connection succeeded in between (stompest 2.3's phases; 0 means no retry, as in ActiveMQ's code).
So a client started while its brokers are down fails fast instead of hanging, and a client that
was connected keeps trying to come back.

>>> uri = StompFailoverUri('failover:(tcp://a:61613,ssl://b:61614)?randomize=false,initialReconnectDelay=100')
>>> uri.brokers
[{'protocol': 'tcp', 'host': 'a', 'port': 61613}, {'protocol': 'ssl', 'host': 'b', 'port': 61614}]
>>> uri.options['initialReconnectDelay'], uri.options['randomize'], uri.options['maxReconnectDelay']
(100, False, 30000)

A client tries the brokers in turn, waiting before each attempt, until one connects or the
schedule gives up (here, nothing connects):

>>> transport = StompFailoverTransport('failover:(tcp://a:61613,tcp://b:61613)?randomize=false&startupMaxReconnectAttempts=3')
>>> try:
...     for broker, delay in transport:
...         print(broker['host'], delay)   # a real client: sleep(delay), connect, break on success
... except StompConnectTimeout as exc:
...     print(exc)
a 0.0
b 0.01
a 0.02
b 0.04
Reconnect timeout: 4 attempts [startupMaxReconnectAttempts=3, failover:(tcp://a:61613,tcp://b:61613)?randomize=false&startupMaxReconnectAttempts=3]
"""

from __future__ import annotations

import ipaddress
import math
import random
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from stompest.error import StompConnectTimeout, StompFailoverUriError

__all__ = ['StompFailoverTransport', 'StompFailoverUri', 'brokerUri', 'hostPort', 'isLocalHost', 'reconnectDelay']

#: A broker as a dict: ``{'protocol': 'tcp' | 'ssl', 'host': str, 'port': int}``.
Broker = dict[str, Any]

_PROTOCOLS = ('tcp', 'ssl')
_FAILOVER_PREFIX = 'failover:'
_LOCALHOST_IPV4 = re.compile(r'127\.\d+\.\d+\.\d+')
_BROKER_PATTERN = re.compile(
    r'(?P<protocol>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>\[[^\]]*\]|[A-Za-z0-9._-]*)(?::(?P<port>[^:/]*))?/?'
)
_INT_PATTERN = re.compile(r'-?[0-9]+')
_FLOAT_PATTERN = re.compile(r'[0-9]+(\.[0-9]*)?|\.[0-9]+')


def _parseBool(text: str) -> bool:
    if text == 'true':
        return True
    if text == 'false':
        return False
    raise ValueError("not 'true' or 'false'")


def _parseInt(minimum: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not _INT_PATTERN.fullmatch(text):
            raise ValueError('not an integer')
        value = int(text)
        if value < minimum:
            raise ValueError(f'less than {minimum}')
        return value

    return parse


def _parseMultiplier(text: str) -> float:
    if not _FLOAT_PATTERN.fullmatch(text):
        raise ValueError('not a decimal number')
    value = float(text)
    if not (math.isfinite(value) and value >= 1.0):
        raise ValueError('less than 1')
    return value


#: name -> (parser of the URI text, default). ``priorityURIs`` is handled apart (its value is a list).
_OPTIONS: dict[str, tuple[Callable[[str], Any], Any]] = {
    'initialReconnectDelay': (_parseInt(0), 10),
    'maxReconnectDelay': (_parseInt(0), 30000),
    'useExponentialBackOff': (_parseBool, True),
    'backOffMultiplier': (_parseMultiplier, 2.0),
    'maxReconnectAttempts': (_parseInt(-1), -1),
    'startupMaxReconnectAttempts': (_parseInt(-1), 0),
    'reconnectDelayJitter': (_parseInt(0), 0),
    'randomize': (_parseBool, True),
    'priorityBackup': (_parseBool, False),
}
_PRIORITY_URIS = 'priorityURIs'


class StompFailoverUri:
    """A parsed broker or failover URI.

    :param uri: ``tcp://host:port``, ``ssl://host:port``, ``failover:(uri,...,uri)``,
        ``failover:uri,...,uri`` or ``uri,...,uri``, each optionally followed by ``?options``.
    :raises stompest.error.StompFailoverUriError: the URI, an option name or an option value is
        invalid.

    .. attribute:: brokers

        The brokers, in the order given: a list of dicts with ``protocol``, ``host`` and ``port``.

    .. attribute:: options

        Every option (see the module documentation) with its typed value, defaults filled in
        (``priorityURIs`` only when given, so the dict is stompest 2.3's otherwise).

    .. attribute:: uri

        The URI as given.

    >>> uri = StompFailoverUri('tcp://[::1]:61613')
    >>> uri.brokers
    [{'protocol': 'tcp', 'host': '::1', 'port': 61613}]
    >>> uri.options['maxReconnectAttempts']
    -1
    >>> str(uri)
    'tcp://[::1]:61613'
    >>> StompFailoverUri('failover:tcp://a:61613,tcp://b:61613').brokers[1]['host']
    'b'
    >>> StompFailoverUri('tcp://a:0x10')
    Traceback (most recent call last):
    ...
    stompest.error.StompFailoverUriError: Invalid port: '0x10' [tcp://a:0x10]
    """

    def __init__(self, uri: str) -> None:
        if not isinstance(uri, str):
            raise StompFailoverUriError(f'Invalid URI (not a string): {uri!r}')
        self._uri = self.uri = uri
        self.brokers: list[Broker] = []
        self.options: dict[str, Any] = {name: default for (name, (_, default)) in _OPTIONS.items()}
        self._parse(uri)

    def __str__(self) -> str:
        return self._uri

    def __repr__(self) -> str:
        return f'StompFailoverUri({self._uri!r})'

    def _error(self, message: str, value: Any) -> StompFailoverUriError:
        return StompFailoverUriError(f'{message}: {value!r} [{self._uri}]', uri=self._uri)

    def _parse(self, uri: str) -> None:
        rest = uri
        if rest.lower().startswith(_FAILOVER_PREFIX):
            rest = rest[len(_FAILOVER_PREFIX) :]
            if rest.startswith('//('):  # failover://(...) is a common spelling of failover:(...)
                rest = rest[2:]
        if rest.startswith('('):
            end = rest.find(')')
            if end == -1:
                raise self._error('Unbalanced parentheses', rest)
            brokers, query = rest[1:end], rest[end + 1 :]
            if '(' in brokers or ')' in query:
                raise self._error('Unbalanced parentheses', rest)
            if query and not query.startswith('?'):
                raise self._error('Invalid text after broker list', query)
            self.brokers = self._parseBrokers(brokers)
            self._parseOptions(query[1:])
        else:
            brokers, _, query = rest.partition('?')
            if '(' in brokers or ')' in brokers:
                raise self._error('Unbalanced parentheses', rest)
            self.brokers = self._parseBrokers(brokers)
            self._parseOptions(query)

    def _parseBrokers(self, text: str) -> list[Broker]:
        if not text.strip():
            raise self._error('Empty broker list', text)
        return [self._parseBroker(part) for part in text.split(',')]

    def _parseBroker(self, text: str) -> Broker:
        match = _BROKER_PATTERN.fullmatch(text)
        if not match:
            raise self._error('Invalid broker URI', text)
        protocol = match.group('protocol').lower()
        if protocol not in _PROTOCOLS:
            allowed = ', '.join(map(repr, _PROTOCOLS))
            raise self._error(f'Invalid protocol (only {allowed})', match.group('protocol'))
        host = match.group('host')
        if host.startswith('['):
            host = host[1:-1]
            try:
                ipaddress.IPv6Address(host.split('%', 1)[0])
            except ValueError:
                raise self._error('Invalid IPv6 address', host) from None
        if not host:
            raise self._error('Missing host', text)
        port = match.group('port')
        if port is None:
            raise self._error('Missing port', text)
        if not re.fullmatch('[0-9]+', port):
            raise self._error('Invalid port', port)
        if not (0 < int(port) < 65536):
            raise self._error('Port out of range (1 to 65535)', int(port))
        return {'protocol': protocol, 'host': host, 'port': int(port)}

    def _parseOptions(self, query: str) -> None:
        if not query:
            return
        seen: set[str] = set()
        last = None
        for item in re.split('[,&]', query):
            if '=' not in item:
                # a further entry of priorityURIs' comma separated list
                if last == _PRIORITY_URIS and '://' in item:
                    self.options[_PRIORITY_URIS].append(self._parseBroker(item))
                    continue
                raise self._error('Invalid option (not name=value)', item)
            name, value = item.split('=', 1)
            if name in seen:
                raise self._error('Duplicate option', name)
            seen.add(name)
            last = name
            if name == _PRIORITY_URIS:
                self.options[name] = [self._parseBroker(value)]
                continue
            if name not in _OPTIONS:
                raise self._error('Invalid option', name)
            parse = _OPTIONS[name][0]
            try:
                self.options[name] = parse(value)
            except ValueError as exc:
                raise self._error(f'Invalid value for option {name} ({exc})', value) from None
        for broker in self.options.get(_PRIORITY_URIS) or []:
            if broker not in self.brokers:
                raise self._error(f'Invalid {_PRIORITY_URIS} entry (not in the broker list)', brokerUri(broker))


def hostPort(broker: Broker) -> str:
    """``host:port`` of a broker (as :attr:`StompFailoverUri.brokers` lists them), an IPv6 literal
    host in brackets so that the port cannot be mistaken for part of the address.

    >>> hostPort({'protocol': 'tcp', 'host': '::1', 'port': 61613})
    '[::1]:61613'
    """
    host = broker['host']
    return f'[{host}]:{broker["port"]}' if ':' in host else f'{host}:{broker["port"]}'


def brokerUri(broker: Broker) -> str:
    """A broker as URI text, ``protocol://host:port`` (IPv6 in brackets), for logs and errors,
    and for a config that names this one broker.

    >>> brokerUri({'protocol': 'tcp', 'host': '::1', 'port': 61613})
    'tcp://[::1]:61613'
    >>> brokerUri({'protocol': 'ssl', 'host': 'broker', 'port': 61614})
    'ssl://broker:61614'
    """
    return f'{broker["protocol"]}://{hostPort(broker)}'


def reconnectDelay(attempt: int, options: Mapping[str, Any], jitter: float = 0.0) -> float:
    """The delay in seconds before reconnect attempt ``attempt`` (1: the first retry of a phase),
    under a failover URI's ``options``: a pure policy, the randomness passed in (like Twisted's
    ``backoffPolicy``), so that a test or another client gets the same schedule from the same draws.

    The delay starts at ``initialReconnectDelay`` ms, is multiplied by ``backOffMultiplier`` per
    attempt (with ``useExponentialBackOff``) and capped at ``maxReconnectDelay``; ``jitter``, a draw
    from [0, 1), adds that fraction of ``reconnectDelayJitter`` ms, still under the cap.

    >>> options = StompFailoverUri('failover:(tcp://a:1)?initialReconnectDelay=100,maxReconnectDelay=300').options
    >>> [reconnectDelay(n, options) for n in (1, 2, 3, 4)]
    [0.1, 0.2, 0.3, 0.3]
    """
    maximum = float(options['maxReconnectDelay'])
    delay = float(options['initialReconnectDelay'])
    if options['useExponentialBackOff']:
        multiplier = options['backOffMultiplier']
        for _ in range(attempt - 1):  # step by step, capped each time: the floats of a running product
            if delay >= maximum or delay == 0 or multiplier == 1:
                break
            delay = min(delay * multiplier, maximum)
    delay = min(delay, maximum)
    spread = options['reconnectDelayJitter']
    if spread:
        delay = min(delay + jitter * spread, maximum)
    return delay / 1000.0


def isLocalHost(host: str) -> bool:
    """Whether ``host`` names this machine.

    True for ``localhost``, loopback addresses (``127.0.0.0/8``, ``::1``), this host's own name, its
    fully qualified name and the address ``socket.gethostbyname`` gives for it (stompest 2.3's
    checks), and any name that resolves to a loopback address or to an address of this host's
    name; names are resolved (this may block on DNS). A name that cannot be resolved is not local.

    >>> isLocalHost('localhost'), isLocalHost('127.0.0.2'), isLocalHost('::1')
    (True, True, True)
    >>> isLocalHost('192.0.2.1')
    False
    """
    import socket

    if host.lower().rstrip('.') == 'localhost' or _LOCALHOST_IPV4.fullmatch(host):
        return True
    hostName = socket.gethostname()
    for alternative in (str, socket.gethostbyname, socket.getfqdn):
        try:
            if host == alternative(hostName):
                return True
        except (OSError, UnicodeError):
            pass

    def addresses(name: str) -> set[str]:
        try:
            infos = socket.getaddrinfo(name, None)
        except (OSError, UnicodeError):
            return set()
        return {str(info[4][0]).split('%', 1)[0] for info in infos}

    candidates = addresses(host)
    for address in candidates:
        ip = ipaddress.ip_address(address)
        mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
        if ip.is_loopback or (mapped is not None and mapped.is_loopback):
            return True
    if not candidates:
        return False
    return bool(candidates & addresses(socket.gethostname()))


_defaultIsLocalHost = isLocalHost  # the constructor's parameter of the same name shadows it


class StompFailoverTransport:
    """The reconnect schedule of a failover URI: iterate it for ``(broker, delay)`` pairs.

    ``delay`` is in seconds (a float): wait that long, then try to connect to ``broker``. The
    first attempt of an iteration has delay 0; each further attempt waits
    ``initialReconnectDelay``, then (with ``useExponentialBackOff``) that times
    ``backOffMultiplier`` per failed attempt, lengthened by up to ``reconnectDelayJitter``, and
    never more than ``maxReconnectDelay``, jitter included. The brokers are tried in passes over
    the whole list, shuffled anew for each pass when ``randomize`` is on, priority brokers first
    when ``priorityBackup`` is on. When the attempt limit is used up the iterator raises
    :class:`~stompest.error.StompConnectTimeout` (and is exhausted from then on). Unlike
    ActiveMQ, which waits once per pass over the brokers, every attempt after the first one
    waits (as stompest 2.3 did).

    Each ``iter(transport)`` starts afresh (delay, attempts, pass). The first iteration is the
    startup phase (``startupMaxReconnectAttempts``), every later one a reconnect phase
    (``maxReconnectAttempts``), as in stompest 2.3: a client iterates once per connect, and its
    first connect is the startup. :meth:`connected` is for a caller that keeps iterating the
    same schedule after a success.

    The example of stompest 2.3's documentation, on this class (every broker is tried once before
    the schedule gives up, which 2.3 did not do; here it makes no difference):

    >>> uri = ('failover:(tcp://remote1:61615,tcp://localhost:61616)?randomize=false,'
    ...        'startupMaxReconnectAttempts=3,initialReconnectDelay=7,maxReconnectDelay=8,maxReconnectAttempts=0')
    >>> failover = StompFailoverTransport(uri)
    >>> def walk():
    ...     try:
    ...         for (broker, delay) in failover:
    ...             print(f"{broker['host']}:{broker['port']} {delay:.3f}")
    ...     except StompConnectTimeout as exc:
    ...         print(str(exc).split(' [')[0])
    >>> walk()  # the startup phase
    remote1:61615 0.000
    localhost:61616 0.007
    remote1:61615 0.008
    localhost:61616 0.008
    Reconnect timeout: 4 attempts
    >>> walk()  # a reconnect phase: maxReconnectAttempts=0, one pass over the brokers
    remote1:61615 0.000
    localhost:61616 0.007
    Reconnect timeout: 2 attempts

    :param uri: a broker or failover URI (see :class:`StompFailoverUri`), or a parsed one.
    :param rng: the source of randomness for ``randomize`` and ``reconnectDelayJitter``
        (default: a fresh :class:`random.Random`). Pass ``random.Random(seed)`` for repeatable
        schedules.
    :param isLocalHost: tells whether a host name is this machine; only called when
        ``priorityBackup`` is on and no ``priorityURIs`` are given (default: the class's
        :meth:`isLocalHost`, which resolves names, so a subclass may override it as in 2.3).

    >>> import random
    >>> transport = StompFailoverTransport(
    ...     'failover:(tcp://a:61613,tcp://b:61613)?initialReconnectDelay=100,maxReconnectDelay=300,startupMaxReconnectAttempts=4',
    ...     rng=random.Random(1))
    >>> schedule = iter(transport)
    >>> [(broker['host'], delay) for (broker, delay) in [next(schedule) for _ in range(5)]]
    [('b', 0.0), ('a', 0.1), ('b', 0.2), ('a', 0.3), ('a', 0.3)]
    >>> next(schedule)
    Traceback (most recent call last):
    ...
    stompest.error.StompConnectTimeout: Reconnect timeout: 5 attempts [startupMaxReconnectAttempts=4, failover:(tcp://a:61613,tcp://b:61613)?initialReconnectDelay=100,maxReconnectDelay=300,startupMaxReconnectAttempts=4]
    """

    def __init__(
        self,
        uri: str | StompFailoverUri,
        *,
        rng: random.Random | None = None,
        isLocalHost: Callable[[str], bool] | None = None,
    ) -> None:
        self._uri = uri if isinstance(uri, StompFailoverUri) else StompFailoverUri(uri)
        self._rng = random.Random() if rng is None else rng
        self._isLocalHostOf = self.isLocalHost if isLocalHost is None else isLocalHost
        self._priority: list[bool] | None = None  # per broker, computed on first use
        self._iterations = 0
        self._startup = True
        self._last: Broker = {}  # the broker of the latest attempt
        self._reset()

    @staticmethod
    def isLocalHost(host: str) -> bool:
        """Whether ``host`` names this machine (see :func:`isLocalHost`; stompest 2.3 had this
        as a class method, which :attr:`priorityBackup <StompFailoverUri.options>` consults)."""
        return _defaultIsLocalHost(host)

    @property
    def uri(self) -> StompFailoverUri:
        """The parsed URI."""
        return self._uri

    @property
    def startup(self) -> bool:
        """Whether the running (or, before the first, the next) iteration is the startup phase."""
        return self._startup

    def connected(self) -> None:
        """Tell the transport that the latest attempt connected.

        The iteration running goes on, if the caller keeps it, as a fresh reconnect phase: no
        delay, a new pass over the brokers, the ``maxReconnectAttempts`` limit. (A new iteration
        is a reconnect phase anyway, after the first.)
        """
        self._startup = False
        self._reset()

    def __iter__(self) -> Iterator[tuple[Broker, float]]:
        # a generator: this runs at the first next(), as in stompest 2.3
        self._iterations += 1
        self._startup = self._iterations == 1
        self._reset()
        while True:
            yield self._next()

    def _reset(self) -> None:
        self._attempts = 0
        self._pass: list[Broker] = []

    def _limit(self) -> tuple[str, int]:
        options = self._uri.options
        if self._startup:
            return 'startupMaxReconnectAttempts', options['startupMaxReconnectAttempts']
        return 'maxReconnectAttempts', options['maxReconnectAttempts']

    def _next(self) -> tuple[Broker, float]:
        if self._attempts == 0:
            delay = 0.0
        else:
            name, limit = self._limit()
            if limit != -1 and self._attempts > limit and self._attempts >= len(self._uri.brokers):
                raise StompConnectTimeout(
                    f'Reconnect timeout: {self._attempts} attempts [{name}={limit}, {self._uri}]',
                    broker=dict(self._last),
                )
            delay = self._nextDelay()
        if not self._pass:
            self._pass = self._newPass()
        broker = self._pass.pop(0)
        self._attempts += 1
        self._last = broker
        return dict(broker), delay

    def _nextDelay(self) -> float:
        """The delay (in seconds) before this reconnect attempt (the rng drawn only with jitter)."""
        options = self._uri.options
        jitter = self._rng.random() if options['reconnectDelayJitter'] else 0.0
        return reconnectDelay(self._attempts, options, jitter)

    def _newPass(self) -> list[Broker]:
        brokers = list(self._uri.brokers)
        if self._uri.options['randomize']:
            self._rng.shuffle(brokers)
        if self._uri.options['priorityBackup']:
            priority = self._priorities()
            indices = {id(broker): index for (index, broker) in enumerate(self._uri.brokers)}
            brokers.sort(key=lambda broker: not priority[indices[id(broker)]])
        return brokers

    def _priorities(self) -> list[bool]:
        if self._priority is None:
            preferred = self._uri.options.get(_PRIORITY_URIS)
            if preferred is not None:
                self._priority = [broker in preferred for broker in self._uri.brokers]
            else:
                self._priority = [bool(self._isLocalHostOf(broker['host'])) for broker in self._uri.brokers]
        return self._priority
