"""stompest 2.3 names the protocol layer keeps: the lazy ``StompConfig`` import, ``stompest.util``,
``stompest.VERSION``/``FULL_VERSION`` (issue 8)."""

from __future__ import annotations

import json
import subprocess
import sys
import warnings

import pytest

import stompest
import stompest.protocol
from stompest.config import StompConfig
from stompest.protocol import StompFrame, StompSpec
from stompest.util import checkattr, cloneFrame, filterReservedHeaders
from tests.helpers import ROOT


def loadedAfter(code: str) -> list[str]:
    program = f'import sys, json; sys.path.insert(0, {ROOT!r}); {code}; print(json.dumps(sorted(sys.modules)))'
    result = subprocess.run([sys.executable, '-I', '-c', program], capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


# --- from stompest.protocol import StompConfig ----------------------------------------------------


def test_stompConfigFromTheProtocolPackageWarnsAndIsTheConfigClass():
    with pytest.warns(DeprecationWarning) as record:
        from stompest.protocol import StompConfig as Deprecated
    assert Deprecated is StompConfig
    message = str(record[0].message)
    assert 'from stompest.protocol import StompConfig' in message
    assert 'from stompest.config import StompConfig' in message
    assert record[0].filename == __file__  # the warning points at the importing line


def test_theAttributeFormWarnsToo():
    with pytest.warns(DeprecationWarning, match='stompest.config'):
        assert stompest.protocol.StompConfig is StompConfig


def test_importingTheProtocolPackageLoadsNoConfig():
    loaded = loadedAfter('import stompest.protocol')
    assert 'stompest.config' not in loaded
    assert 'stompest.config' in loadedAfter('from stompest.protocol import StompConfig')


def test_otherMissingNamesStillRaiseAttributeError():
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        stompest.protocol.NoSuchThing  # noqa: B018
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        assert 'StompConfig' not in stompest.protocol.__all__


# --- stompest.util ---------------------------------------------------------------------------------


def test_filterReservedHeaders():
    headers = {
        'message-id': 'delete me',
        'timestamp': 'delete me too',
        'foo': 'bar',
        'destination': '/queue/a',
        'expires': '0',
        'priority': '4',
    }
    assert filterReservedHeaders(headers) == {'foo': 'bar'}
    assert 'message-id' in headers


@pytest.mark.parametrize(('persistent', 'expected'), [(None, None), (True, 'true'), (False, 'false'), (1, 'true')])
def test_cloneFrame(persistent, expected):
    frame = StompFrame(
        StompSpec.MESSAGE,
        rawHeaders=[('message-id', 'm'), ('destination', '/queue/a'), ('x', '1'), ('x', '2')],
        body=b'b',
        version=StompSpec.VERSION_1_1,
    )
    clone = cloneFrame(frame, persistent=persistent)
    assert clone is not frame and clone.rawHeaders is None
    assert clone.headers.get('persistent') == expected
    assert {k: v for k, v in clone.headers.items() if k != 'persistent'} == {'x': '1'}
    assert (clone.command, clone.body, clone.version) == ('MESSAGE', b'b', StompSpec.VERSION_1_1)
    clone.headers['x'] = 'changed'
    assert frame.headers['x'] == '1' and frame.rawHeaders is not None


def test_checkattrReadsTheAttributeBeforeTheCall():
    calls = []

    class Client:
        connected = False

        @property
        def transport(self):
            if not self.connected:
                raise RuntimeError('not connected')
            return 'transport'

        @checkattr('transport')
        def send(self, data):
            """Send data."""
            calls.append(data)
            return len(data)

    client = Client()
    with pytest.raises(RuntimeError, match='not connected'):
        client.send('x')
    assert calls == []
    client.connected = True
    assert client.send('xy') == 2 and calls == ['xy']
    assert Client.send.__doc__ == 'Send data.' and Client.send.__name__ == 'send'


# --- versions --------------------------------------------------------------------------------------


def test_versionNames():
    assert stompest.FULL_VERSION == stompest.__version__
    assert stompest.VERSION == '.'.join(stompest.__version__.split('.')[:2])
