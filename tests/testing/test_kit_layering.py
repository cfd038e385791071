"""The kit's layering: the broker core loads no I/O or framework; only its adapters do."""

from __future__ import annotations

import os

from setuptools import find_packages

from tests.helpers import ROOT, importedBy


def test_theBrokerCoreLoadsNoTwistedNoSocketAndNoClient():
    loaded = importedBy('stompest.testing')
    assert [name for name in loaded if name.split('.')[0] in ('twisted', 'socket', 'select', 'ssl')] == []
    assert [name for name in loaded if name.startswith(('stompest.sync', 'stompest.twisted'))] == []


def test_theProtocolLayerDoesNotLoadTheKit():
    assert 'stompest.testing' not in importedBy('stompest.protocol')


def test_theAdaptersLoadOnlyTheirOwnWorld():
    twisted = importedBy('stompest.testing.twisted')
    assert 'twisted.internet.testing' in twisted and 'stompest.sync' not in twisted
    assert 'stompest.twisted' not in twisted  # the kit's adapter, not the client
    sync = importedBy('stompest.testing.sync')
    assert not [name for name in sync if name.split('.')[0] == 'twisted']


def test_theKitIsAPackageTheWheelShips():
    packages = find_packages(ROOT, include=['stompest', 'stompest.*'])
    assert 'stompest.testing' in packages
    assert os.path.exists(os.path.join(ROOT, 'stompest', 'py.typed'))  # typed, like the rest
