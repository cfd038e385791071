import itertools
import random
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stompest.error import StompConnectionError, StompConnectTimeout, StompError, StompFailoverUriError
from stompest.protocol.failover import (
    StompFailoverTransport,
    StompFailoverUri,
    brokerUri,
    hostPort,
    isLocalHost,
    reconnectDelay,
)

DEFAULTS = {
    'initialReconnectDelay': 10,
    'maxReconnectDelay': 30000,
    'useExponentialBackOff': True,
    'backOffMultiplier': 2.0,
    'maxReconnectAttempts': -1,
    'startupMaxReconnectAttempts': 0,
    'reconnectDelayJitter': 0,
    'randomize': True,
    'priorityBackup': False,
}


def tcp(host, port=61613):
    return {'protocol': 'tcp', 'host': host, 'port': port}


def ssl(host, port=61614):
    return {'protocol': 'ssl', 'host': host, 'port': port}


def pastStartup(transport):
    """Use the startup phase (the first iteration) up, so that the next iteration is a reconnect
    phase, where the unlimited default ``maxReconnectAttempts`` applies."""
    if transport.startup:
        next(iter(transport))
    return transport


def take(transport, count, connected=True):
    """The first ``count`` (host, delay) pairs of a fresh iteration (by default a reconnect phase,
    see :func:`pastStartup`)."""
    if connected:
        pastStartup(transport)
    return [(broker['host'], delay) for (broker, delay) in itertools.islice(iter(transport), count)]


def drain(schedule):
    """All (host, delay) pairs until the schedule gives up, and the error it gave up with."""
    pairs = []
    with pytest.raises(StompConnectTimeout) as info:
        for broker, delay in schedule:
            pairs.append((broker['host'], delay))
    return pairs, info.value


# --- parsing -------------------------------------------------------------------------------------


def test_parsesSingleTcpBroker():
    uri = StompFailoverUri('tcp://localhost:61613')
    assert uri.brokers == [tcp('localhost')]


def test_parsesSingleSslBroker():
    uri = StompFailoverUri('ssl://broker.example.com:61614')
    assert uri.brokers == [ssl('broker.example.com')]


def test_singleBrokerHasAllDefaultOptions():
    assert StompFailoverUri('tcp://localhost:61613').options == DEFAULTS


def test_failoverUriWithoutOptionsHasAllDefaultOptions():
    uri = StompFailoverUri('failover:(tcp://a:61613,ssl://b:61614)')
    assert uri.brokers == [tcp('a'), ssl('b')]
    assert uri.options == DEFAULTS


def test_parsesFailoverUriWithOptionsSeparatedByCommas():
    uri = StompFailoverUri('failover:(tcp://a:61613,ssl://b:61614)?randomize=false,initialReconnectDelay=100')
    assert uri.brokers == [tcp('a'), ssl('b')]
    assert uri.options == dict(DEFAULTS, randomize=False, initialReconnectDelay=100)


def test_parsesFailoverUriWithOptionsSeparatedByAmpersands():
    uri = StompFailoverUri(
        'failover:(tcp://a:61613,tcp://b:61613)?randomize=false&maxReconnectAttempts=3&backOffMultiplier=1.5'
    )
    assert uri.brokers == [tcp('a'), tcp('b')]
    assert uri.options == dict(DEFAULTS, randomize=False, maxReconnectAttempts=3, backOffMultiplier=1.5)


def test_parsesFailoverUriWithMixedOptionSeparators():
    uri = StompFailoverUri('failover:(tcp://a:61613)?randomize=false&maxReconnectDelay=5,reconnectDelayJitter=3')
    assert uri.options == dict(DEFAULTS, randomize=False, maxReconnectDelay=5, reconnectDelayJitter=3)


def test_parsesFailoverUriWithoutParentheses():
    uri = StompFailoverUri('failover:tcp://a:61613,tcp://b:61613,ssl://c:1')
    assert uri.brokers == [tcp('a'), tcp('b'), ssl('c', 1)]
    assert uri.options == DEFAULTS


@pytest.mark.parametrize(
    'text',
    [
        'failover:tcp://a:61613,tcp://b:61613?randomize=false,maxReconnectAttempts=2',
        'tcp://a:61613,tcp://b:61613?randomize=false,maxReconnectAttempts=2',
        '(tcp://a:61613,tcp://b:61613)?randomize=false,maxReconnectAttempts=2',
    ],
)
def test_parsesTheFormsStompestTwoThreeAccepted(text):
    uri = StompFailoverUri(text)
    assert uri.brokers == [tcp('a'), tcp('b')]
    assert uri.options == dict(DEFAULTS, randomize=False, maxReconnectAttempts=2)
    assert uri.uri == str(uri) == text


def test_parsesASingleBrokerWithOptions():
    uri = StompFailoverUri('tcp://123.456.789.0:61616?randomize=true,maxReconnectAttempts=-1,priorityBackup=true')
    assert uri.brokers == [tcp('123.456.789.0', 61616)]
    assert uri.options == dict(DEFAULTS, randomize=True, priorityBackup=True)


def test_parsesABareBrokerList():
    assert StompFailoverUri('tcp://a:61613,ssl://b:61614').brokers == [tcp('a'), ssl('b')]


def test_parsesFailoverUriWithSlashesBeforeParentheses():
    assert StompFailoverUri('failover://(tcp://a:61613)?randomize=false').brokers == [tcp('a')]


def test_parsesIpv6LiteralHostsInBrackets():
    assert StompFailoverUri('tcp://[::1]:61613').brokers == [tcp('::1')]
    uri = StompFailoverUri('failover:(tcp://[fe80::1%eth0]:61613,ssl://[2001:db8::7]:61614)?randomize=false')
    assert uri.brokers == [tcp('fe80::1%eth0'), ssl('2001:db8::7')]


def test_parsesIpv4Hosts():
    assert StompFailoverUri('tcp://127.0.0.1:1').brokers == [tcp('127.0.0.1', 1)]
    assert StompFailoverUri('tcp://10.0.0.1:65535').brokers == [tcp('10.0.0.1', 65535)]


def test_parsesProtocolCaseInsensitively():
    assert StompFailoverUri('TCP://a:61613').brokers == [tcp('a')]
    assert StompFailoverUri('FAILOVER:(SSL://a:61614)').brokers == [ssl('a')]


@pytest.mark.parametrize(
    'name, text, value',
    [
        ('initialReconnectDelay', '0', 0),
        ('initialReconnectDelay', '250', 250),
        ('maxReconnectDelay', '1000', 1000),
        ('useExponentialBackOff', 'false', False),
        ('useExponentialBackOff', 'true', True),
        ('backOffMultiplier', '1.5', 1.5),
        ('backOffMultiplier', '3', 3.0),
        ('maxReconnectAttempts', '-1', -1),
        ('maxReconnectAttempts', '0', 0),
        ('maxReconnectAttempts', '7', 7),
        ('startupMaxReconnectAttempts', '-1', -1),
        ('startupMaxReconnectAttempts', '5', 5),
        ('reconnectDelayJitter', '20', 20),
        ('randomize', 'false', False),
        ('randomize', 'true', True),
        ('priorityBackup', 'true', True),
    ],
)
def test_parsesEachOptionToItsType(name, text, value):
    options = StompFailoverUri(f'failover:(tcp://a:61613)?{name}={text}').options
    assert options == dict(DEFAULTS, **{name: value})
    assert type(options[name]) is type(value)


def test_parsesPriorityUrisAsCommaSeparatedList():
    uri = StompFailoverUri(
        'failover:(tcp://a:61613,tcp://b:61613,ssl://c:61614)?priorityBackup=true,priorityURIs=tcp://b:61613,ssl://c:61614,randomize=false'
    )
    assert uri.options == dict(DEFAULTS, priorityBackup=True, randomize=False, priorityURIs=[tcp('b'), ssl('c')])


def test_parsesPriorityUrisSeparatedByAmpersands():
    uri = StompFailoverUri('failover:(tcp://a:61613,tcp://b:61613)?priorityURIs=tcp://b:61613&priorityBackup=true')
    assert uri.options['priorityURIs'] == [tcp('b')]
    assert uri.options['priorityBackup'] is True


def test_acceptsEmptyOptionString():
    assert StompFailoverUri('failover:(tcp://a:61613)?').options == DEFAULTS


@pytest.mark.parametrize(
    'text',
    [
        'tcp://a:61613',
        'failover:(tcp://a:61613,ssl://b:61614)?randomize=false,initialReconnectDelay=100',
        'failover:tcp://a:61613,tcp://b:61613',
    ],
)
def test_strAndReprGiveTheUriBack(text):
    uri = StompFailoverUri(text)
    assert str(uri) == text
    assert repr(uri) == f'StompFailoverUri({text!r})'
    assert eval(repr(uri), {'StompFailoverUri': StompFailoverUri}).brokers == uri.brokers


@pytest.mark.parametrize(
    'uri, message',
    [
        ('http://a:61613', "Invalid protocol (only 'tcp', 'ssl'): 'http'"),
        ('failover:(tcp://a:61613,stomp://b:61613)', "Invalid protocol (only 'tcp', 'ssl'): 'stomp'"),
        ('tcp://a', "Missing port: 'tcp://a'"),
        ('tcp://a:', "Invalid port: ''"),
        ('tcp://a:61613x', "Invalid port: '61613x'"),
        ('tcp://a:+1', "Invalid port: '+1'"),
        ('tcp://a:0', 'Port out of range (1 to 65535): 0'),
        ('tcp://a:65536', 'Port out of range (1 to 65535): 65536'),
        ('tcp://:61613', "Missing host: 'tcp://:61613'"),
        ('tcp://[not-ipv6]:61613', "Invalid IPv6 address: 'not-ipv6'"),
        ('localhost:61613', "Invalid broker URI: 'localhost:61613'"),
        ('', "Empty broker list: ''"),
        ('tcp://a:61613?randomize=True', "Invalid value for option randomize (not 'true' or 'false'): 'True'"),
        ('tcp://a:61613??=false', "Invalid option: '?'"),
        ('tcp://a:61613, tcp://b:61613', "Invalid broker URI: ' tcp://b:61613'"),
        ('(tcp://a:61613', "Unbalanced parentheses: '(tcp://a:61613'"),
        ('failover:(tcp://a:61613', "Unbalanced parentheses: '(tcp://a:61613'"),
        ('failover:tcp://a:61613)', "Unbalanced parentheses: 'tcp://a:61613)'"),
        ('failover:((tcp://a:61613))', "Unbalanced parentheses: '((tcp://a:61613))'"),
        ('failover:(tcp://a:61613)x', "Invalid text after broker list: 'x'"),
        ('failover:()', "Empty broker list: ''"),
        ('failover:', "Empty broker list: ''"),
        ('failover:(tcp://a:61613,)', "Invalid broker URI: ''"),
        (
            'failover:tcp://a:61613?randomize=false)',
            "Invalid value for option randomize (not 'true' or 'false'): 'false)'",
        ),
    ],
)
def test_rejectsBadUri(uri, message):
    with pytest.raises(StompFailoverUriError) as info:
        StompFailoverUri(uri)
    assert str(info.value) == f'{message} [{uri}]'
    assert info.value.uri == uri


@pytest.mark.parametrize(
    'query, message',
    [
        ('timeout=100', "Invalid option: 'timeout'"),
        ('Randomize=false', "Invalid option: 'Randomize'"),
        ('randomize', "Invalid option (not name=value): 'randomize'"),
        ('randomize=false,,maxReconnectAttempts=1', "Invalid option (not name=value): ''"),
        ('randomize=yes', "Invalid value for option randomize (not 'true' or 'false'): 'yes'"),
        ('randomize=TRUE', "Invalid value for option randomize (not 'true' or 'false'): 'TRUE'"),
        ('priorityBackup=1', "Invalid value for option priorityBackup (not 'true' or 'false'): '1'"),
        ('initialReconnectDelay=1.5', "Invalid value for option initialReconnectDelay (not an integer): '1.5'"),
        ('initialReconnectDelay=-1', "Invalid value for option initialReconnectDelay (less than 0): '-1'"),
        ('maxReconnectDelay=', "Invalid value for option maxReconnectDelay (not an integer): ''"),
        ('maxReconnectAttempts=-2', "Invalid value for option maxReconnectAttempts (less than -1): '-2'"),
        ('startupMaxReconnectAttempts=x', "Invalid value for option startupMaxReconnectAttempts (not an integer): 'x'"),
        ('reconnectDelayJitter=-5', "Invalid value for option reconnectDelayJitter (less than 0): '-5'"),
        ('backOffMultiplier=0.5', "Invalid value for option backOffMultiplier (less than 1): '0.5'"),
        ('backOffMultiplier=inf', "Invalid value for option backOffMultiplier (not a decimal number): 'inf'"),
        ('backOffMultiplier=nan', "Invalid value for option backOffMultiplier (not a decimal number): 'nan'"),
        ('randomize=false&randomize=true', "Duplicate option: 'randomize'"),
        ('priorityURIs=tcp://c:61613', "Invalid priorityURIs entry (not in the broker list): 'tcp://c:61613'"),
        ('priorityURIs=tcp://a:1', "Invalid priorityURIs entry (not in the broker list): 'tcp://a:1'"),
        ('priorityURIs=a:61613', "Invalid broker URI: 'a:61613'"),
    ],
)
def test_rejectsBadOption(query, message):
    uri = 'failover:(tcp://a:61613,tcp://b:61613)?' + query
    with pytest.raises(StompFailoverUriError) as info:
        StompFailoverUri(uri)
    assert str(info.value) == f'{message} [{uri}]'


def test_uriErrorIsAStompErrorAndAValueError():
    with pytest.raises(ValueError):
        StompFailoverUri('tcp://a')
    assert issubclass(StompFailoverUriError, StompError)


def test_rejectsNonStringUri():
    with pytest.raises(StompFailoverUriError):
        StompFailoverUri(None)


# --- the schedule --------------------------------------------------------------------------------


def test_singleBrokerIsTriedAtOnceThenWithExponentialBackOff():
    transport = StompFailoverTransport('tcp://a:61613', rng=random.Random(0))
    assert take(transport, 6) == [('a', 0.0), ('a', 0.01), ('a', 0.02), ('a', 0.04), ('a', 0.08), ('a', 0.16)]


def test_yieldsBrokerDictsAndFloatDelays():
    broker, delay = next(iter(StompFailoverTransport('ssl://b:61614')))
    assert broker == ssl('b')
    assert type(delay) is float and delay == 0.0


def test_yieldsCopiesOfTheBrokers():
    transport = StompFailoverTransport('tcp://a:61613')
    broker, _ = next(iter(transport))
    broker['host'] = 'changed'
    assert next(iter(transport))[0] == tcp('a')
    assert transport.uri.brokers == [tcp('a')]


def test_acceptsAParsedUri():
    uri = StompFailoverUri('failover:(tcp://a:61613,tcp://b:61613)?randomize=false')
    transport = StompFailoverTransport(uri)
    assert transport.uri is uri
    assert take(transport, 3) == [('a', 0.0), ('b', 0.01), ('a', 0.02)]


def test_withoutRandomizeBrokersAreTriedInOrderAndCycled():
    transport = StompFailoverTransport(
        'failover:(tcp://a:1,tcp://b:2,tcp://c:3)?randomize=false,initialReconnectDelay=100'
    )
    assert take(transport, 7) == [('a', 0.0), ('b', 0.1), ('c', 0.2), ('a', 0.4), ('b', 0.8), ('c', 1.6), ('a', 3.2)]


def test_withoutBackOffTheDelayStaysTheInitialDelay():
    transport = StompFailoverTransport(
        'failover:(tcp://a:1,tcp://b:2)?randomize=false,useExponentialBackOff=false,initialReconnectDelay=250'
    )
    assert take(transport, 5) == [('a', 0.0), ('b', 0.25), ('a', 0.25), ('b', 0.25), ('a', 0.25)]


def test_backOffUsesTheMultiplier():
    transport = StompFailoverTransport('failover:(tcp://a:1)?backOffMultiplier=1.5,initialReconnectDelay=100')
    assert take(transport, 5) == [('a', 0.0), ('a', 0.1), ('a', 0.15), ('a', 0.225), ('a', 0.3375)]


def test_backOffIsCappedAtMaxReconnectDelay():
    transport = StompFailoverTransport('failover:(tcp://a:1)?initialReconnectDelay=100,maxReconnectDelay=500')
    assert take(transport, 7) == [('a', 0.0), ('a', 0.1), ('a', 0.2), ('a', 0.4), ('a', 0.5), ('a', 0.5), ('a', 0.5)]


def test_initialDelayAboveTheCapIsCapped():
    transport = StompFailoverTransport('failover:(tcp://a:1)?initialReconnectDelay=800,maxReconnectDelay=300')
    assert take(transport, 3) == [('a', 0.0), ('a', 0.3), ('a', 0.3)]


def test_zeroInitialDelayStaysZero():
    transport = StompFailoverTransport('failover:(tcp://a:1,tcp://b:1)?initialReconnectDelay=0,randomize=false')
    assert take(transport, 4) == [('a', 0.0), ('b', 0.0), ('a', 0.0), ('b', 0.0)]


def test_randomizedScheduleIsFixedBySeed():
    uri = 'failover:(tcp://a:1,tcp://b:2,tcp://c:3)?initialReconnectDelay=100,maxReconnectDelay=400'
    uri += ',startupMaxReconnectAttempts=-1'
    expected = [
        ('b', 0.0),
        ('a', 0.1),
        ('c', 0.2),
        ('c', 0.4),
        ('b', 0.4),
        ('a', 0.4),
        ('b', 0.4),
        ('c', 0.4),
        ('a', 0.4),
    ]
    assert take(StompFailoverTransport(uri, rng=random.Random(42)), 9, connected=False) == expected
    assert take(StompFailoverTransport(uri, rng=random.Random(42)), 9, connected=False) == expected


def test_randomizeShufflesEachPassWithTheGivenRng():
    hosts = ['a', 'b', 'c', 'd']
    uri = 'failover:({})?useExponentialBackOff=false'.format(','.join(f'tcp://{host}:1' for host in hosts))
    transport = StompFailoverTransport(uri + ',startupMaxReconnectAttempts=-1', rng=random.Random(7))
    reference = random.Random(7)
    expectedHosts = []
    for _ in range(5):
        shuffled = list(hosts)
        reference.shuffle(shuffled)
        expectedHosts.extend(shuffled)
    expected = [(host, 0.0 if index == 0 else 0.01) for (index, host) in enumerate(expectedHosts)]
    assert take(transport, 20, connected=False) == expected


def test_randomizeVisitsEveryBrokerOncePerPass():
    uri = 'failover:({})'.format(','.join(f'tcp://h{index}:1' for index in range(5)))
    pairs = take(StompFailoverTransport(uri, rng=random.Random(3)), 50)
    for start in range(0, 50, 5):
        assert sorted(host for (host, _) in pairs[start : start + 5]) == ['h0', 'h1', 'h2', 'h3', 'h4']


def test_jitterIsDrawnFromTheRngAndKeptNonNegative():
    # as in stompest 2.3: the jitter lengthens a delay by [0, jitter), and the cap holds, jitter included
    uri = 'failover:(tcp://a:1)?initialReconnectDelay=10,maxReconnectDelay=40,reconnectDelayJitter=15'
    transport = StompFailoverTransport(uri + ',startupMaxReconnectAttempts=-1', rng=random.Random(5))
    reference = random.Random(5)
    expected = [('a', 0.0)]
    for base in [10, 20, 40, 40, 40, 40, 40]:
        expected.append(('a', min(40.0, base + reference.random() * 15) / 1000.0))
    assert take(transport, 8, connected=False) == expected


def test_noDelayExceedsMaxReconnectDelayJitterIncluded():
    uri = 'failover:(tcp://a:1)?initialReconnectDelay=100,reconnectDelayJitter=50,maxReconnectDelay=120'
    delays = [delay for (_, delay) in take(StompFailoverTransport(uri, rng=random.Random(1)), 200)]
    assert max(delays) == 0.12 and min(delays[1:]) >= 0.1


def test_jitteredRandomizedScheduleIsFixedBySeed():
    uri = 'failover:(tcp://a:1,tcp://b:1)?initialReconnectDelay=1000,reconnectDelayJitter=100,maxReconnectDelay=3000'
    uri += ',startupMaxReconnectAttempts=-1'
    pairs = take(StompFailoverTransport(uri, rng=random.Random(11)), 6, connected=False)
    assert pairs == take(StompFailoverTransport(uri, rng=random.Random(11)), 6, connected=False)
    assert [host for (host, _) in pairs] == ['a', 'b', 'a', 'b', 'b', 'a']
    assert [round(delay, 6) for (_, delay) in pairs] == [0.0, 1.086574, 2.085686, 3.0, 3.0, 3.0]


def test_zeroJitterDrawsNoRandomNumbers():
    class NoRandom(random.Random):
        def random(self):
            raise AssertionError('no random number expected')

    transport = StompFailoverTransport('failover:(tcp://a:1,tcp://b:2)?randomize=false', rng=NoRandom(0))
    assert len(take(transport, 10)) == 10


# --- attempt limits -------------------------------------------------------------------------------


def connectedOnce(uri):
    """A transport past its startup phase: ``maxReconnectAttempts`` applies from now on."""
    return pastStartup(StompFailoverTransport(uri))


def test_maxReconnectAttemptsZeroMakesOnePassOverTheBrokers():
    transport = connectedOnce('failover:(tcp://a:1,tcp://b:2)?maxReconnectAttempts=0,randomize=false')
    pairs, error = drain(transport)
    assert pairs == [('a', 0.0), ('b', 0.01)]
    assert str(error) == f'Reconnect timeout: 2 attempts [maxReconnectAttempts=0, {transport.uri}]'
    assert error.broker == tcp('b', 2)
    assert isinstance(error, StompConnectionError)


def test_maxReconnectAttemptsCountsRetriesAfterTheFirstAttempt():
    transport = connectedOnce('failover:(tcp://a:1,tcp://b:2)?maxReconnectAttempts=3,randomize=false')
    pairs, error = drain(transport)
    assert pairs == [('a', 0.0), ('b', 0.01), ('a', 0.02), ('b', 0.04)]
    assert str(error) == f'Reconnect timeout: 4 attempts [maxReconnectAttempts=3, {transport.uri}]'
    assert error.broker == tcp('b', 2)


def test_scheduleIsExhaustedAfterGivingUpAndAFreshIterationStartsOver():
    transport = StompFailoverTransport('tcp://a:1')
    schedule = iter(transport)
    next(schedule)
    with pytest.raises(StompConnectTimeout):
        next(schedule)
    with pytest.raises(StopIteration):
        next(schedule)
    assert take(transport, 1) == [('a', 0.0)]


def test_defaultStartupLimitMakesOnePassSoADeadBrokerFailsFast():
    transport = StompFailoverTransport('failover:(tcp://a:1,tcp://b:2,tcp://c:3)?randomize=false')
    pairs, error = drain(transport)
    assert pairs == [('a', 0.0), ('b', 0.01), ('c', 0.02)]
    assert 'startupMaxReconnectAttempts=0' in str(error)


def test_defaultReconnectLimitRetriesForeverOnceConnected():
    transport = connectedOnce('failover:(tcp://a:1,tcp://b:2)')
    assert len(take(transport, 500)) == 500


def test_startupLimitAppliesUntilConnected():
    transport = StompFailoverTransport('failover:(tcp://a:1)?startupMaxReconnectAttempts=1,maxReconnectAttempts=3')
    pairs, error = drain(transport)
    assert pairs == [('a', 0.0), ('a', 0.01)]
    assert 'startupMaxReconnectAttempts=1' in str(error)
    transport.connected()
    pairs, error = drain(transport)
    assert pairs == [('a', 0.0), ('a', 0.01), ('a', 0.02), ('a', 0.04)]
    assert str(error).startswith('Reconnect timeout: 4 attempts [maxReconnectAttempts=3, ')


def test_maxReconnectAttemptsDoesNotApplyAtStartup():
    transport = StompFailoverTransport('failover:(tcp://a:1)?maxReconnectAttempts=2')
    pairs, error = drain(transport)
    assert pairs == [('a', 0.0)]
    assert 'startupMaxReconnectAttempts=0' in str(error)


def test_startupLimitMinusOneRetriesForeverAtStartupOnly():
    transport = StompFailoverTransport('failover:(tcp://a:1)?startupMaxReconnectAttempts=-1,maxReconnectAttempts=0')
    assert len(take(transport, 1000, connected=False)) == 1000
    transport.connected()
    pairs, _ = drain(transport)
    assert pairs == [('a', 0.0)]


def test_startupLimitMayBeLargerThanTheReconnectLimit():
    transport = StompFailoverTransport('failover:(tcp://a:1)?startupMaxReconnectAttempts=4,maxReconnectAttempts=1')
    assert len(drain(transport)[0]) == 5
    transport.connected()
    assert len(drain(transport)[0]) == 2


def test_connectedResetsDelayAndAttemptsOfARunningSchedule():
    transport = StompFailoverTransport(
        'failover:(tcp://a:1,tcp://b:2)?randomize=false,startupMaxReconnectAttempts=-1,maxReconnectAttempts=2'
    )
    schedule = iter(transport)
    assert [next(schedule)[1] for _ in range(3)] == [0.0, 0.01, 0.02]
    transport.connected()
    pairs = [(broker['host'], delay) for (broker, delay) in itertools.islice(schedule, 3)]
    assert pairs == [('a', 0.0), ('b', 0.01), ('a', 0.02)]
    with pytest.raises(StompConnectTimeout):
        next(schedule)


def test_eachIterationStartsAFreshConnection():
    transport = StompFailoverTransport('failover:(tcp://a:1,tcp://b:2)?randomize=false,startupMaxReconnectAttempts=1')
    assert take(transport, 2) == [('a', 0.0), ('b', 0.01)]
    assert take(transport, 2) == [('a', 0.0), ('b', 0.01)]


# --- priorityBackup -------------------------------------------------------------------------------


class FakeIsLocalHost:
    def __init__(self, *local):
        self.local = set(local)
        self.calls = []

    def __call__(self, host):
        self.calls.append(host)
        return host in self.local


def test_priorityBackupTriesLocalBrokersFirstInEachPass():
    isLocal = FakeIsLocalHost('here')
    uri = 'failover:(tcp://remote1:1,tcp://here:2,tcp://remote2:3)?randomize=false,priorityBackup=true,useExponentialBackOff=false'
    transport = StompFailoverTransport(uri, isLocalHost=isLocal)
    assert take(transport, 6) == [
        ('here', 0.0),
        ('remote1', 0.01),
        ('remote2', 0.01),
        ('here', 0.01),
        ('remote1', 0.01),
        ('remote2', 0.01),
    ]
    assert sorted(isLocal.calls) == ['here', 'remote1', 'remote2']  # asked once per broker, then remembered


def test_priorityBackupWithRandomizeShufflesWithinEachGroup():
    isLocal = FakeIsLocalHost('l1', 'l2')
    uri = 'failover:(tcp://r1:1,tcp://l1:1,tcp://r2:1,tcp://l2:1,tcp://r3:1)?priorityBackup=true'
    pairs = take(StompFailoverTransport(uri, rng=random.Random(9), isLocalHost=isLocal), 25)
    hosts = [host for (host, _) in pairs]
    for start in range(0, 25, 5):
        passHosts = hosts[start : start + 5]
        assert sorted(passHosts[:2]) == ['l1', 'l2']
        assert sorted(passHosts[2:]) == ['r1', 'r2', 'r3']
    transport = StompFailoverTransport(uri, rng=random.Random(9), isLocalHost=isLocal)
    assert hosts == [host for (host, _) in take(transport, 25)]


def test_priorityUrisChooseThePriorityBrokersWithoutAskingIsLocalHost():
    isLocal = FakeIsLocalHost('a')
    uri = (
        'failover:(tcp://a:1,tcp://b:2,tcp://c:3)?randomize=false,priorityBackup=true,priorityURIs=tcp://c:3,tcp://b:2'
    )
    transport = StompFailoverTransport(uri, isLocalHost=isLocal)
    assert [host for (host, _) in take(transport, 6)] == ['b', 'c', 'a', 'b', 'c', 'a']
    assert isLocal.calls == []


def test_isLocalHostIsNotCalledWithoutPriorityBackup():
    def isLocal(host):
        raise AssertionError(f'isLocalHost called for {host!r}')

    transport = StompFailoverTransport(
        'failover:(tcp://a:1,tcp://b:2)?priorityURIs=tcp://a:1', rng=random.Random(0), isLocalHost=isLocal
    )
    assert len(take(transport, 10)) == 10
    transport.connected()
    assert len(take(transport, 10)) == 10


def test_isLocalHostIsNotCalledBeforeIterating():
    isLocal = FakeIsLocalHost()
    StompFailoverTransport('failover:(tcp://a:1)?priorityBackup=true', isLocalHost=isLocal)
    assert isLocal.calls == []


# --- the default isLocalHost ------------------------------------------------------------------------


@pytest.mark.parametrize('host', ['localhost', 'LOCALHOST', '127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'])
def test_isLocalHostRecognisesLoopback(host):
    assert isLocalHost(host)


@pytest.mark.parametrize('host', ['192.0.2.1', '2001:db8::1', 'no-such-host.invalid'])
def test_isLocalHostRejectsOtherHosts(host):
    assert not isLocalHost(host)


def test_importingFailoverImportsNoSocketModule():
    code = 'import sys, stompest.protocol.failover; print("socket" in sys.modules)'
    output = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == 'False'


# --- properties -----------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    initialReconnectDelay=st.integers(0, 100000),
    maxReconnectDelay=st.integers(0, 100000),
    useExponentialBackOff=st.booleans(),
    backOffMultiplier=st.sampled_from(['1', '1.0', '1.5', '2', '2.0', '3.25', '10']),
    reconnectDelayJitter=st.integers(0, 5000),
    randomize=st.booleans(),
    brokerCount=st.integers(1, 4),
    seed=st.integers(0, 2**32),
)
def test_delaysAreNeverNegativeNorAboveTheCap(
    initialReconnectDelay,
    maxReconnectDelay,
    useExponentialBackOff,
    backOffMultiplier,
    reconnectDelayJitter,
    randomize,
    brokerCount,
    seed,
):
    options = {
        'initialReconnectDelay': initialReconnectDelay,
        'maxReconnectDelay': maxReconnectDelay,
        'useExponentialBackOff': str(useExponentialBackOff).lower(),
        'backOffMultiplier': backOffMultiplier,
        'reconnectDelayJitter': reconnectDelayJitter,
        'randomize': str(randomize).lower(),
    }
    brokers = ','.join(f'tcp://h{index}:{61613 + index}' for index in range(brokerCount))
    uri = 'failover:({})?{}'.format(brokers, '&'.join('{}={}'.format(*item) for item in options.items()))
    pairs = take(StompFailoverTransport(uri, rng=random.Random(seed)), 60)
    assert len(pairs) == 60
    assert pairs[0][1] == 0.0
    bound = maxReconnectDelay / 1000.0  # jitter included
    for _, delay in pairs:
        assert 0.0 <= delay <= bound


# --- stompest 2.3's phases and isLocalHost ----------------------------------------------------------


def test_everyIterationAfterTheFirstIsAReconnectPhaseConnectedOrNot():
    # as in stompest 2.3: the first iteration is the startup phase, every later one a reconnect
    # phase, whether or not a connection succeeded in between
    transport = StompFailoverTransport('failover:(tcp://a:1)?startupMaxReconnectAttempts=2,maxReconnectAttempts=1')
    assert transport.startup
    pairs, error = drain(transport)
    assert pairs == [('a', 0.0), ('a', 0.01), ('a', 0.02)] and 'startupMaxReconnectAttempts=2' in str(error)
    for _ in range(3):
        pairs, error = drain(transport)
        assert not transport.startup
        assert pairs == [('a', 0.0), ('a', 0.01)] and 'maxReconnectAttempts=1' in str(error)


def test_aReconnectPhaseStillTriesEveryBrokerOnce():
    # our rule, kept on purpose: 2.3 gave up after one broker here
    transport = connectedOnce('failover:(tcp://a:1,tcp://b:2,tcp://c:3)?randomize=false,maxReconnectAttempts=0')
    assert drain(transport)[0] == [('a', 0.0), ('b', 0.01), ('c', 0.02)]


def test_isLocalHostIsAStaticMethodWithStompestTwoThreesChecks(monkeypatch):
    import socket

    monkeypatch.setattr(socket, 'gethostbyname', lambda name: '192.0.2.7')
    assert StompFailoverTransport.isLocalHost('192.0.2.7')
    assert StompFailoverTransport.isLocalHost(socket.gethostname())
    assert StompFailoverTransport.isLocalHost('127.0.0.1')

    def broken(name):
        raise socket.gaierror()

    monkeypatch.setattr(socket, 'gethostbyname', broken)
    assert not StompFailoverTransport.isLocalHost('192.0.2.7')


def test_aSubclassMayOverrideIsLocalHost():
    class Transport(StompFailoverTransport):
        @classmethod
        def isLocalHost(cls, host):
            return host == 'b'

    transport = Transport('failover:(tcp://a:1,tcp://b:2)?randomize=false,priorityBackup=true')
    assert [host for (host, _) in take(transport, 2)] == ['b', 'a']


def test_brokerUriRoundTripsEachBrokerWithIpv6InBrackets() -> None:
    uri = StompFailoverUri('failover:(tcp://[::1]:61613,ssl://broker:61614,tcp://127.0.0.1:1)')
    assert [brokerUri(broker) for broker in uri.brokers] == [
        'tcp://[::1]:61613',
        'ssl://broker:61614',
        'tcp://127.0.0.1:1',
    ]
    assert [hostPort(broker) for broker in uri.brokers] == ['[::1]:61613', 'broker:61614', '127.0.0.1:1']


@pytest.mark.parametrize(
    'query',
    [
        'initialReconnectDelay=100,maxReconnectDelay=3000,backOffMultiplier=1.7',
        'initialReconnectDelay=5000,maxReconnectDelay=300',
        'initialReconnectDelay=0',
        'useExponentialBackOff=false,initialReconnectDelay=20',
        'initialReconnectDelay=10,maxReconnectDelay=200,reconnectDelayJitter=50',
    ],
)
def test_reconnectDelayIsTheTransportsScheduleAsAPureFunction(query: str) -> None:
    uri = f'failover:(tcp://a:1,tcp://b:2)?randomize=false,startupMaxReconnectAttempts=-1,{query}'
    transport = StompFailoverTransport(uri, rng=random.Random(7))  # the rng draws only the jitter here
    delays = [delay for _, delay in itertools.islice(transport, 12)]
    draws = random.Random(7)
    options = transport.uri.options
    expected = [0.0] + [
        reconnectDelay(n, options, draws.random() if options['reconnectDelayJitter'] else 0.0) for n in range(1, 12)
    ]
    assert delays == expected
    assert max(delays) <= options['maxReconnectDelay'] / 1000.0
