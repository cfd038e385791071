"""The sans-IO core imports no I/O, thread or framework module (STYLE.md, section 1).

Each import runs in a fresh interpreter, so modules loaded by other tests cannot hide a violation.
Measured when written: the core pulls in ``random`` (failover) and ``uuid`` (session), neither of
which drags in socket, select, ssl or threading on CPython 3.10+.
"""

from __future__ import annotations

import pkgutil

import pytest

import stompest.protocol
from tests.helpers import importedBy

FORBIDDEN = ('twisted', 'socket', 'ssl', 'select', 'threading', 'stompest.sync', 'stompest.twisted')
MODULES = ['stompest.protocol'] + [
    f'stompest.protocol.{info.name}' for info in pkgutil.iter_modules(stompest.protocol.__path__)
]


def test_theProtocolSubmodulesAreAllChecked():
    assert {'stompest.protocol.parser', 'stompest.protocol.frame', 'stompest.protocol.spec'} <= set(MODULES)


@pytest.mark.parametrize('module', MODULES)
def test_protocolModuleImportsNoIoOrFramework(module):
    loaded = importedBy(module)
    offending = [name for name in loaded if name.split('.')[0] in FORBIDDEN or name.startswith(FORBIDDEN[-2:])]
    assert offending == []


def test_theCheckWouldNoticeAViolation():
    assert 'socket' in importedBy('stompest.protocol; import socket')
