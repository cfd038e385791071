"""Helpers of the Twisted client: endpoints and TLS, timeouts, error destinations.

stompest 2.3's public names are here: :func:`endpointFactory`, :func:`sendToErrorDestination`,
:func:`sendToErrorDestinationAndRaise`, :data:`MESSAGE_FAILED_HEADER`.

TLS (``ssl://`` brokers)
------------------------
Twisted cannot use a stdlib :class:`ssl.SSLContext` for its connections, so
:attr:`StompConfig.sslContext <stompest.config.StompConfig>` is read by this rule:

=====================================================  ===============================================
``config.sslContext``                                  what the Twisted client does
=====================================================  ===============================================
``None``                                               ``optionsForClientTLS(host)``: the platform's
                                                       trusted CAs, certificate and host name verified
an ``IOpenSSLClientConnectionCreator`` (what           used as it is (so ``CertificateOptions`` with a
``optionsForClientTLS(...)`` returns, or               client certificate, or with ``verify=False``
``CertificateOptions``)                                for a test broker, are your explicit choice)
an ``IOpenSSLTrustRoot`` or a                          ``optionsForClientTLS(host, trustRoot=...)``:
``twisted.internet.ssl.Certificate``                   trust that CA, host name verified
a ``str`` / ``os.PathLike``                            a PEM file of CA certificates to trust (host
                                                       name verified)
an :class:`ssl.SSLContext`                             its CA certificates (those loaded from a
                                                       ``cafile`` and marked as CAs) are trusted,
                                                       host name verified; none usable is a
                                                       ``ValueError``; ``CERT_NONE`` turns
                                                       verification off (logged as a warning); a
                                                       client certificate cannot be carried over
=====================================================  ===============================================
"""

from __future__ import annotations

import contextlib
import ipaddress
import itertools
import logging
import os
import ssl as stdlibssl
from collections.abc import Callable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any

from twisted.internet import defer, interfaces
from twisted.internet.endpoints import HostnameEndpoint, TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS

from stompest.error import StompAlreadyRunningError, StompNotRunningError
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec
from stompest.util import cloneFrame

if TYPE_CHECKING:
    from stompest.twisted.client import Stomp

__all__ = [
    'MESSAGE_FAILED_HEADER',
    'InFlightOperations',
    'WaitingDeferred',
    'EndpointFactory',
    'endpointFactory',
    'defaultEndpointFactory',
    'tcpEndpoint',
    'sendToErrorDestination',
    'sendToErrorDestinationAndRaise',
    'errorFrame',
    'clientTLSCreator',
    'withTimeout',
    'errorDestinationHeaders',
    'describeFailure',
    'ERROR_DESTINATION_DROPPED_HEADERS',
]

#: ``endpointFactory(broker, timeout=None) -> IStreamClientEndpoint``; ``broker`` is a dict with
#: ``protocol`` (``'tcp'`` or ``'ssl'``), ``host`` and ``port``, ``timeout`` the connect timeout in s.
EndpointFactory = Callable[..., interfaces.IStreamClientEndpoint]

_DEFAULT_CONNECT_TIMEOUT = 30

#: The header of an error-destination copy that says why its handler failed (``str(exc)``, as 2.3).
MESSAGE_FAILED_HEADER = 'message-failed'

_errorReceipts = itertools.count(1)

#: Headers of a failed MESSAGE not copied when it is forwarded to an error destination: the
#: broker sets them anew (message-id, subscription, ack, destination), or they would be wrong
#: for the new message (redelivered, receipt, transaction, content-length is recomputed).
ERROR_DESTINATION_DROPPED_HEADERS = frozenset(
    {
        StompSpec.MESSAGE_ID_HEADER,
        StompSpec.SUBSCRIPTION_HEADER,
        StompSpec.ACK_HEADER,
        StompSpec.DESTINATION_HEADER,
        StompSpec.REDELIVERED_HEADER,
        StompSpec.RECEIPT_HEADER,
        StompSpec.TRANSACTION_HEADER,
        StompSpec.CONTENT_LENGTH_HEADER,
    }
)

_FAILURE_TEXT_LIMIT = 200

log = logging.getLogger(__name__)


def clientTLSCreator(sslContext: Any, host: str) -> Any:
    """The ``IOpenSSLClientConnectionCreator`` for a TLS connection to ``host`` (see the table in
    the module documentation for what ``sslContext`` may be)."""
    from twisted.internet import ssl

    if sslContext is not None and interfaces.IOpenSSLClientConnectionCreator.providedBy(sslContext):
        return sslContext
    if sslContext is None:
        return ssl.optionsForClientTLS(host)
    from twisted.internet._sslverify import IOpenSSLTrustRoot  # public in docs, not re-exported

    if isinstance(sslContext, ssl.Certificate) or IOpenSSLTrustRoot.providedBy(sslContext):
        trustRoot = sslContext
    elif isinstance(sslContext, (str, os.PathLike)):
        with open(sslContext, 'rb') as pemFile:
            trustRoot = _trustRootFromPem(pemFile.read(), str(sslContext))
    elif isinstance(sslContext, stdlibssl.SSLContext):
        if sslContext.verify_mode == stdlibssl.CERT_NONE:
            # An explicit choice of the caller (never our default): honour it, loudly.
            log.warning('TLS certificate verification is off for %s [sslContext.verify_mode=CERT_NONE]', host)
            return ssl.CertificateOptions(verify=False)
        from OpenSSL import crypto

        certificates = [
            ssl.Certificate.load(der, crypto.FILETYPE_ASN1) for der in sslContext.get_ca_certs(binary_form=True)
        ]
        if not certificates:
            # Falling back to the platform's CAs would silently ignore what the caller asked for.
            raise ValueError(
                'The ssl.SSLContext holds no CA certificate the Twisted client can use: '
                'SSLContext.get_ca_certs() lists only certificates marked as CAs, which a self-signed broker '
                'certificate often is not [pass the path of the PEM file as sslContext instead]'
            )
        trustRoot = ssl.trustRootFromCertificates(certificates)
    else:
        raise TypeError(f'Unsupported sslContext for the Twisted client: {sslContext!r} [see stompest.twisted.util]')
    return ssl.optionsForClientTLS(host, trustRoot=trustRoot)


def _trustRootFromPem(data: bytes, name: str) -> Any:
    from twisted.internet import ssl

    marker = b'-----END CERTIFICATE-----'
    blocks = [block + marker for block in data.split(marker) if b'-----BEGIN CERTIFICATE-----' in block]
    if not blocks:
        raise ValueError(f'No PEM certificate found: {name!r}')
    return ssl.trustRootFromCertificates([ssl.Certificate.loadPEM(block) for block in blocks])


def defaultEndpointFactory(reactor: Any, sslContext: Any = None) -> EndpointFactory:
    """The endpoint factory :class:`~stompest.twisted.Stomp` uses unless given one: TCP on
    ``reactor`` (:func:`tcpEndpoint`), wrapped in TLS (:func:`clientTLSCreator`) for ``ssl://``
    brokers."""

    def endpointFactory(broker: dict[str, Any], timeout: float | None = None) -> Any:
        host, port = broker['host'], broker['port']
        tcpTimeout = _DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout
        endpoint: Any = tcpEndpoint(reactor, host, port, tcpTimeout)
        if broker['protocol'] == 'ssl':
            endpoint = wrapClientTLS(clientTLSCreator(sslContext, host), endpoint)
        return endpoint

    return endpointFactory


def tcpEndpoint(reactor: Any, host: str, port: int, timeout: float) -> Any:
    """The TCP endpoint for ``host``: ``TCP4ClientEndpoint`` or ``TCP6ClientEndpoint`` for an IP
    literal, else ``HostnameEndpoint``, which resolves the name through the reactor's name
    resolver to IPv4 and IPv6 addresses alike and tries them in turn (RFC 8305), so a broker
    whose name resolves only to an IPv6 address is reached too. ``timeout`` is per attempt."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return HostnameEndpoint(reactor, host, port, timeout=timeout)
    endpointClass = TCP6ClientEndpoint if address.version == 6 else TCP4ClientEndpoint
    return endpointClass(reactor, host, port, timeout=timeout)


def withTimeout(
    deferred: defer.Deferred[Any], timeout: float | None, clock: Any, error: Callable[[], Exception]
) -> defer.Deferred[Any]:
    """``deferred``, cancelled after ``timeout`` seconds on ``clock``; its timeout then surfaces as
    ``error()`` (a stompest error) instead of Twisted's ``TimeoutError``. ``None`` means no timeout."""
    if timeout is None:
        return deferred
    timedOut = []

    def onTimeout(result: Any, seconds: float) -> Any:
        timedOut.append(True)
        return result

    deferred.addTimeout(timeout, clock, onTimeoutCancel=onTimeout)

    def translate(failure: Any) -> Any:
        if timedOut:
            raise error() from failure.value
        return failure

    return deferred.addErrback(translate)


def describeFailure(exc: BaseException) -> str:
    """``'ExceptionType: text'``, on one line and cut short, for the ``stompest-failure`` header."""
    text = ' '.join(str(exc).split())
    description = f'{type(exc).__name__}: {text}' if text else type(exc).__name__
    if len(description) > _FAILURE_TEXT_LIMIT:
        description = description[: _FAILURE_TEXT_LIMIT - 3] + '...'
    return description


def errorDestinationHeaders(frame: StompFrame, exc: BaseException) -> dict[str, str]:
    """The headers a failed MESSAGE is forwarded to its error destination with: the original
    headers minus :data:`ERROR_DESTINATION_DROPPED_HEADERS`, plus ``original-destination`` and
    ``stompest-failure`` (see :func:`describeFailure`). In STOMP 1.0 (no header escaping, ASCII)
    the failure text is made ASCII."""
    headers = {name: value for name, value in frame.headers.items() if name not in ERROR_DESTINATION_DROPPED_HEADERS}
    original = frame.headers.get(StompSpec.DESTINATION_HEADER)
    if original is not None:
        headers[StompSpec.ORIGINAL_DESTINATION_HEADER] = original
    description = describeFailure(exc)
    if (frame.version or StompSpec.DEFAULT_VERSION) == StompSpec.VERSION_1_0:
        description = description.encode('ascii', 'backslashreplace').decode('ascii')
    headers[StompSpec.ERROR_DESTINATION_FAILURE_HEADER] = description
    return headers


def errorFrame(frame: StompFrame, exc: BaseException) -> StompFrame:
    """The copy of a failed MESSAGE for its error destination: 2.3's
    ``cloneFrame(frame, persistent=True)`` plus :data:`MESSAGE_FAILED_HEADER` (``str(exc)``,
    unless the frame had one), ``original-destination`` and ``stompest-failure`` (see
    :func:`describeFailure`); beyond 2.3, without any of :data:`ERROR_DESTINATION_DROPPED_HEADERS`
    (a receipt or transaction of the original SEND, which ActiveMQ copies into the MESSAGE,
    would be wrong on the new SEND). In STOMP 1.0 the failure texts are made ASCII."""
    clone = cloneFrame(frame, persistent=True)
    headers = {name: value for name, value in clone.headers.items() if name not in ERROR_DESTINATION_DROPPED_HEADERS}
    ascii10 = (frame.version or StompSpec.DEFAULT_VERSION) == StompSpec.VERSION_1_0
    failed = ' '.join(str(exc).split())
    description = describeFailure(exc)
    if ascii10:
        failed = failed.encode('ascii', 'backslashreplace').decode('ascii')
        description = description.encode('ascii', 'backslashreplace').decode('ascii')
    headers.setdefault(MESSAGE_FAILED_HEADER, failed)
    original = frame.headers.get(StompSpec.DESTINATION_HEADER)
    if original is not None:
        headers[StompSpec.ORIGINAL_DESTINATION_HEADER] = original
    headers[StompSpec.ERROR_DESTINATION_FAILURE_HEADER] = description
    clone.headers = headers
    return clone


def sendToErrorDestination(
    connection: Stomp, failure: BaseException, frame: StompFrame, errorDestination: str | None
) -> defer.Deferred[None] | None:
    """Forward a MESSAGE whose handler failed to ``errorDestination`` (2.3's default
    ``onMessageFailed``; ``failure`` is the handler's exception, a ``Failure`` is accepted too).

    The copy (:func:`errorFrame`) is sent with a receipt; the returned Deferred fires when the
    broker confirmed it, and the :class:`~stompest.twisted.listener.SubscriptionListener` ACKs
    the original only then (at least once: a crash in between leaves both, never neither). The
    listener waits for it even when a custom handler calls this function without returning its
    result. Without ``errorDestination`` nothing is sent and ``None`` returned, as in 2.3.
    """
    if not errorDestination:
        return None
    exc = _exception(failure)
    copyFrame = errorFrame(frame, exc)
    receipt = f'stompest-error-destination-{next(_errorReceipts)}'
    sending = connection.send(errorDestination, copyFrame.body, copyFrame.headers, receipt=receipt)
    connection._forwarding(frame, sending)
    return sending


def sendToErrorDestinationAndRaise(
    connection: Stomp, failure: BaseException, frame: StompFrame, errorDestination: str | None
) -> None:
    """:func:`sendToErrorDestination`, then raise ``failure`` (2.3): the listener ACKs the message
    once the copy was confirmed (if one was sent) and disconnects with ``failure`` as the reason."""
    sendToErrorDestination(connection, failure, frame, errorDestination)
    raise _exception(failure)


def _exception(failure: Any) -> BaseException:
    value = getattr(failure, 'value', None)
    if isinstance(value, BaseException) and not isinstance(failure, BaseException):
        return value  # a twisted Failure
    assert isinstance(failure, BaseException), f'not an exception: {failure!r}'
    return failure


def endpointFactory(broker: dict[str, Any], timeout: float | None = None) -> Any:
    """2.3's ``endpointFactory(broker, timeout=None)``: the endpoint for ``broker`` on the global
    reactor (TLS with the platform's trusted CAs, see the module documentation)."""
    from twisted.internet import reactor

    return defaultEndpointFactory(reactor)(broker, timeout)


class WaitingDeferred(defer.Deferred[Any]):
    """A Deferred one can wait for with a timeout (2.3)."""

    @defer.inlineCallbacks
    def wait(self, timeout: float | None = None, fail: BaseException | None = None, clock: Any = None) -> Any:
        """Fire with this Deferred's result; after ``timeout`` seconds (on ``clock``, default the
        global reactor) errback it with ``fail`` first."""
        call = None
        if timeout is not None:
            if clock is None:
                from twisted.internet import reactor as clock
            call = clock.callLater(timeout, self.errback, fail)
        try:
            result = yield self
        finally:
            if call is not None and call.active():
                call.cancel()
        return result


class InFlightOperations(MutableMapping[Any, defer.Deferred[Any]]):
    """Operations in progress by key, each a Deferred (2.3): a key can be in progress once
    (:class:`~stompest.error.StompAlreadyRunningError`); looking up one that is not raises
    :class:`~stompest.error.StompNotRunningError` (both are ``KeyError`` too)."""

    def __init__(self, info: str) -> None:
        self._info = info
        self._waiting: dict[Any, defer.Deferred[Any]] = {}

    def __len__(self) -> int:
        return len(self._waiting)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._waiting)

    def __getitem__(self, key: Any) -> defer.Deferred[Any]:
        try:
            return self._waiting[key]
        except KeyError:
            raise StompNotRunningError(f'{self.info(key)} not in progress') from None

    def __setitem__(self, key: Any, value: defer.Deferred[Any]) -> None:
        if key in self._waiting:
            raise StompAlreadyRunningError(f'{self.info(key)} already in progress')
        if not isinstance(value, defer.Deferred):
            raise ValueError(f'Not a Deferred: {value!r}')
        self._waiting[key] = value

    def __delitem__(self, key: Any) -> None:
        del self._waiting[key]

    @contextlib.contextmanager
    def __call__(self, key: Any, log: logging.Logger | None = None) -> Iterator[WaitingDeferred]:
        """Track ``key`` while the block runs: the block gets a :class:`WaitingDeferred`, which
        fires with ``None`` when the block ends (or fails with what the block raised)."""
        self[key] = waiting = WaitingDeferred()
        info = self.info(key)
        if log is not None:
            log.debug('%s started.', info)
        try:
            yield waiting
            if not waiting.called:
                waiting.callback(None)
        except Exception as exc:
            if log is not None:
                log.error('%s failed [%s]', info, exc)
            if not waiting.called:
                waiting.errback(exc)
            raise
        finally:
            self._waiting.pop(key, None)
        if log is not None:
            log.debug('%s complete.', info)

    def info(self, key: Any) -> str:
        return ' '.join(str(part) for part in (self._info, key) if part)
