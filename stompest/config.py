"""Client configuration: where the broker is and how to log in.

>>> config = StompConfig('failover:(tcp://localhost:61613,tcp://localhost:61615)?randomize=false',
...                      login='guest', passcode='guest', version='1.2')
>>> config.version
'1.2'
>>> config  # doctest: +NORMALIZE_WHITESPACE
StompConfig(uri='failover:(tcp://localhost:61613,tcp://localhost:61615)?randomize=false', login='guest',
            passcode='********', version='1.2', check=True, sslContext=None)
"""

from __future__ import annotations

from typing import Any

from stompest.protocol.spec import StompSpec

__all__ = ['StompConfig']


class StompConfig:
    """Everything a client needs to reach and log in to a broker.

    :param uri: a broker URI (``tcp://host:port``, ``ssl://host:port``) or an ActiveMQ failover URI
        (``failover:(tcp://a:61613,ssl://b:61614)?randomize=false``).
    :param login: the ``login`` header of CONNECT.
    :param passcode: the ``passcode`` header of CONNECT (never logged, masked in ``repr``).
    :param version: the highest STOMP version to offer; ``None`` means
        :attr:`StompSpec.DEFAULT_VERSION` (1.0), as in stompest 2.3.
    :param check: whether the session checks that commands are legal in its state.
    :param sslContext: for ``ssl://`` brokers, an :class:`ssl.SSLContext` to use (the sync client)
        or the context to take CA and client certificates from (the Twisted client). ``None`` means
        a default context that verifies the broker's certificate and host name.
    """

    def __init__(
        self,
        uri: str,
        login: str | None = None,
        passcode: str | None = None,
        version: str | None = None,
        check: bool = True,
        sslContext: Any = None,
    ) -> None:
        self.uri = uri
        self.login = login
        self.passcode = passcode
        self.version = StompSpec.version(version)
        self.check = check
        self.sslContext = sslContext

    def __repr__(self) -> str:
        passcode = None if self.passcode is None else StompSpec.PASSCODE_MASK
        return (
            f'StompConfig(uri={self.uri!r}, login={self.login!r}, passcode={passcode!r}, '
            f'version={self.version!r}, check={self.check!r}, sslContext={self.sslContext!r})'
        )
