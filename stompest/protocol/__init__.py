"""The sans-IO STOMP protocol layer: frames, parser, commands, session and failover URIs.

Nothing here touches a socket, a thread, a clock or a random generator on its own: bytes go in,
frames come out, and time and randomness are passed in. Both clients are built on it, and so
can yours. Import from this package root, as in stompest 2.3::

    from stompest.protocol import StompFrame, StompParser, StompSession, StompSpec, commands

``from stompest.protocol import StompConfig`` (stompest 2.3's place for it) still works, with a
:class:`DeprecationWarning`: the configuration now lives in :mod:`stompest.config`. It is imported
only when asked for, so importing this package loads no more than the protocol layer.
"""

import warnings
from typing import Any

from stompest.protocol import commands
from stompest.protocol.failover import StompFailoverTransport, StompFailoverUri
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.parser import StompParser
from stompest.protocol.session import StompSession
from stompest.protocol.spec import StompSpec

__all__ = [
    'StompFailoverTransport',
    'StompFailoverUri',
    'StompFrame',
    'StompHeartBeat',
    'StompParser',
    'StompSession',
    'StompSpec',
    'commands',
]


def __getattr__(name: str) -> Any:
    """``StompConfig``, for code written against stompest 2.3, where it was importable from here."""
    if name == 'StompConfig':
        warnings.warn(
            'from stompest.protocol import StompConfig (stompest 2.3) is deprecated; '
            'use from stompest.config import StompConfig',
            DeprecationWarning,
            stacklevel=2,
        )
        from stompest.config import StompConfig

        return StompConfig
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
