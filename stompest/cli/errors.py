"""The command's error lines: the cause first, then what was tried, then a hint where one helps.

``stompest: error: connection refused by 127.0.0.1:61613 (tried tcp://127.0.0.1:61613 once)``

:func:`describeCause` reads the chain of a failed connection attempt (stompest's error, the
socket's or TLS library's error it was raised from, or Twisted's) and says what happened in
the words a user searches for; :class:`ConnectFailed` adds the attempts; :func:`describeError`
makes the line of any error the command ends with.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator, Sequence
from typing import Any

from stompest.error import StompConnectTimeout, StompError, StompProtocolError
from stompest.protocol.failover import brokerUri, hostPort

__all__ = ['CliError', 'ConnectFailed', 'brokerUri', 'describeCause', 'describeError', 'hostPort']

#: The longest part of a broker's ERROR body quoted in the error line.
ERROR_DETAIL_LIMIT = 200

HINT_CA = "pass the CA certificate that signed the broker's certificate with --ca FILE (--no-verify: testing only)"
HINT_OTHER_CA = 'the certificate given with --ca did not sign the broker\'s certificate'
HINT_VHOST = "RabbitMQ reads the CONNECT host header as its virtual host: pass --host / (or STOMP_HOST=/)"
HINT_LOGIN = 'check --login and the passcode ($STOMP_PASSCODE)'
HINT_TLS_PORT = 'a TLS port needs an ssl:// URI'
HINT_NOT_STOMP = 'is it a STOMP port (and ssl:// for a TLS port)?'


class CliError(Exception):
    """A failure the command reports as one line (not a bug, so no traceback).

    :param hint: what the user might do about it, appended as ``; hint: ...``.
    """

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint

    def line(self) -> str:
        """The error line without the ``stompest: error:`` prefix."""
        return f'{self}; hint: {self.hint}' if self.hint else str(self)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _twistedError(name: str) -> type[BaseException] | None:
    """A class of ``twisted.internet.error`` if Twisted was imported already (only ``demo`` does)."""
    import sys

    module = sys.modules.get('twisted.internet.error')
    found = getattr(module, name, None) if module is not None else None
    return found if isinstance(found, type) else None


def _isA(exc: BaseException, *twistedNames: str, builtin: tuple[type[BaseException], ...] = ()) -> bool:
    types = builtin + tuple(t for t in map(_twistedError, twistedNames) if t is not None)
    return bool(types) and isinstance(exc, types)


def _errorFrameText(frame: Any) -> str:
    """``message`` header, then the first line of the body (brokers put the reason there)."""
    message = frame.headers.get('message', '') if getattr(frame, 'headers', None) else ''
    body = (getattr(frame, 'body', b'') or b'').decode('utf-8', 'replace').strip()
    detail = body.splitlines()[0] if body else ''
    if len(detail) > ERROR_DETAIL_LIMIT:
        detail = detail[:ERROR_DETAIL_LIMIT] + '...'
    parts = [part for part in (message, detail) if part]
    if len(parts) == 2 and parts[1].startswith(parts[0]):
        parts = parts[1:]
    return ': '.join(parts)


def describeCause(
    exc: BaseException, broker: dict[str, Any], *, caGiven: bool = False, timeout: float | None = None
) -> tuple[str, str | None]:
    """What went wrong with one connection attempt to ``broker``: ``(cause, hint or None)``.

    :param caGiven: whether ``--ca`` was given (the hint for an untrusted certificate differs).
    :param timeout: the ``--connect-timeout`` in force, named when something timed out.
    """
    where = hostPort(broker)
    within = f' within {timeout:g} s [--connect-timeout]' if timeout else ''
    chain = list(_chain(exc))
    for error in chain:
        if isinstance(error, StompProtocolError) and error.frame is not None:
            text = _errorFrameText(error.frame)
            lowered = text.lower()
            hint = (
                HINT_VHOST
                if 'virtual host' in lowered or 'vhost' in lowered
                else (
                    HINT_LOGIN if 'access refused' in lowered or 'login' in lowered or 'password' in lowered else None
                )
            )
            return f'{where} refused the connection: {text or "ERROR frame"}', hint
    for error in chain:
        if isinstance(error, ssl.SSLCertVerificationError):
            reason = error.verify_message or error.reason or 'verification failed'
            if 'hostname' in str(reason).lower():
                return f'certificate of {where} does not match the host name: {reason}', None
            return f'certificate of {where} not trusted: {reason}', HINT_OTHER_CA if caGiven else HINT_CA
        if 'certificate verify failed' in str(error).lower():
            return f'certificate of {where} not trusted', HINT_OTHER_CA if caGiven else HINT_CA
    for error in chain:
        if _isA(error, 'ConnectionRefusedError', builtin=(ConnectionRefusedError,)):
            return f'connection refused by {where}', None
        if _isA(error, 'DNSLookupError', builtin=(socket.gaierror,)):
            return f'cannot resolve the host name {broker["host"]!r}', None
        if 'No CONNECTED frame' in str(error) or 'CONNECTED frame not received' in str(error):
            return f'no CONNECTED frame from {where}{within}', HINT_NOT_STOMP
        if _isA(error, 'TimeoutError', 'TCPTimedOutError', builtin=(TimeoutError,)) or (
            isinstance(error, StompConnectTimeout) and str(error).startswith('Connect timeout')
        ):
            return f'no answer from {where}{within}', None
        if _isA(error, 'ConnectionLost', 'ConnectionDone', builtin=(ConnectionResetError, BrokenPipeError)) or (
            'Connection closed by' in str(error)
        ):
            return f'connection closed by {where}', HINT_TLS_PORT if broker['protocol'] == 'tcp' else None
    for error in chain:
        if isinstance(error, OSError) and not isinstance(error, StompError):
            return f'cannot connect to {where}: {error.strerror or error}', None
    return f'cannot connect to {where}: {describeError(exc)}', None


class ConnectFailed(CliError):
    """No broker of the URI could be connected to: the last attempt's cause, then the attempts.

    :param attempts: the URI of every broker tried, in order (one entry per attempt).
    :param limit: ``(name, value)`` of the failover option that ended the walk, or ``None`` when
        the walk ended at a refusal (an ERROR frame: no other broker is tried).
    """

    def __init__(
        self, cause: str, attempts: Sequence[str], limit: tuple[str, int] | None, *, hint: str | None = None
    ) -> None:
        super().__init__(f'{cause} ({triedText(attempts, limit)})', hint=hint)
        self.attempts = list(attempts)


def triedText(attempts: Sequence[str], limit: tuple[str, int] | None) -> str:
    """What was tried, for the error line.

    >>> triedText(['tcp://a:61613'], ('startupMaxReconnectAttempts', 0))
    'tried tcp://a:61613 once'
    >>> triedText(['tcp://a:1', 'tcp://b:2', 'tcp://a:1'], ('startupMaxReconnectAttempts', 2))
    'tried 3 times: tcp://a:1, tcp://b:2; the URI allows no more [startupMaxReconnectAttempts=2]'
    """
    brokers = list(dict.fromkeys(attempts))
    if len(attempts) == 1:
        return f'tried {attempts[0]} once'
    text = f'tried {len(attempts)} times: {", ".join(brokers)}'
    if limit is not None and len(brokers) < len(attempts):
        text += f'; the URI allows no more [{limit[0]}={limit[1]}]'
    return text


def describeError(exc: BaseException) -> str:
    """One line saying what went wrong, for ``stompest: error: ...``.

    For a :class:`CliError` its line (with the hint); otherwise the message of ``exc``, the
    broker's reason when it sent an ERROR frame (RabbitMQ's ``message`` header says only
    ``Bad CONNECT``; the body says why), and the reason of the error it was raised from.
    """
    if isinstance(exc, CliError):
        return ' '.join(exc.line().split())
    message = str(exc) or type(exc).__name__
    frame = getattr(exc, 'frame', None)
    body = getattr(frame, 'body', b'') or b''
    if body.strip():
        detail = body.decode('utf-8', 'replace').strip().splitlines()[0]
        if len(detail) > ERROR_DETAIL_LIMIT:
            detail = detail[:ERROR_DETAIL_LIMIT] + '...'
        if detail not in message:
            message = f'{message}: {detail}'
    cause = exc.__cause__
    if isinstance(cause, (StompError, OSError)):
        reason = str(cause)
        if reason and reason not in message:
            message = f'{message} ({reason})'
    return ' '.join(message.split())  # one line, whatever the broker sent
