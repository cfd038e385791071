"""The sans-IO STOMP protocol layer: frames, parser, commands, session and failover URIs.

Nothing here touches a socket, a thread, a clock or a random generator on its own: bytes go in,
frames come out, and time and randomness are passed in. Both clients are built on it, and so
can yours. Import from this package root, as in stompest 2.3::

    from stompest.protocol import StompFrame, StompParser, StompSession, StompSpec, commands
"""

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
