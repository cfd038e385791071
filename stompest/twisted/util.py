"""Helpers of the Twisted client: endpoints and TLS, timeouts, error-destination headers.

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

import ipaddress
import logging
import os
import ssl as stdlibssl
from collections.abc import Callable
from typing import Any

from twisted.internet import defer, interfaces
from twisted.internet.endpoints import TCP4ClientEndpoint, TCP6ClientEndpoint, wrapClientTLS

from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec

__all__ = [
    'EndpointFactory',
    'defaultEndpointFactory',
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
    """The endpoint factory :class:`~stompest.twisted.Stomp` uses unless given one: TCP
    (``TCP4ClientEndpoint``, or ``TCP6ClientEndpoint`` for an IPv6 literal) on ``reactor``,
    wrapped in TLS (:func:`clientTLSCreator`) for ``ssl://`` brokers."""

    def endpointFactory(broker: dict[str, Any], timeout: float | None = None) -> Any:
        host, port = broker['host'], broker['port']
        tcpTimeout = _DEFAULT_CONNECT_TIMEOUT if timeout is None else timeout
        try:
            isIPv6 = isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
        except ValueError:
            isIPv6 = False
        endpointClass = TCP6ClientEndpoint if isIPv6 else TCP4ClientEndpoint
        endpoint: Any = endpointClass(reactor, host, port, timeout=tcpTimeout)
        if broker['protocol'] == 'ssl':
            endpoint = wrapClientTLS(clientTLSCreator(sslContext, host), endpoint)
        return endpoint

    return endpointFactory


def withTimeout(
    deferred: defer.Deferred, timeout: float | None, clock: Any, error: Callable[[], Exception]
) -> defer.Deferred:
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
