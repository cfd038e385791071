"""The sans-IO core imports no I/O, thread or framework module (STYLE.md, section 1).

Each import runs in a fresh interpreter, so modules loaded by other tests cannot hide a violation.
Measured when written: the core pulls in ``random`` (failover) and ``uuid`` (session), neither of
which drags in socket, select, ssl or threading on CPython 3.10+.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys

import pytest

import stompest.protocol

FORBIDDEN = ('twisted', 'socket', 'ssl', 'select', 'threading', 'stompest.sync', 'stompest.twisted')
MODULES = ['stompest.protocol'] + [
    f'stompest.protocol.{info.name}' for info in pkgutil.iter_modules(stompest.protocol.__path__)
]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def importedBy(module: str) -> list[str]:
    code = f'import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))'
    result = subprocess.run(
        [sys.executable, '-I', '-c', f'import sys; sys.path.insert(0, {ROOT!r}); {code}'],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_theProtocolSubmodulesAreAllChecked():
    assert {'stompest.protocol.parser', 'stompest.protocol.frame', 'stompest.protocol.spec'} <= set(MODULES)


@pytest.mark.parametrize('module', MODULES)
def test_protocolModuleImportsNoIoOrFramework(module):
    loaded = importedBy(module)
    offending = [name for name in loaded if name.split('.')[0] in FORBIDDEN or name.startswith(FORBIDDEN[-2:])]
    assert offending == []


def test_theCheckWouldNoticeAViolation():
    assert 'socket' in importedBy('stompest.protocol; import socket')
