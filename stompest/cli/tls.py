"""The Twisted client's TLS settings for the command line's ``--ca``, ``--cert``, ``--key`` and
``--no-verify`` (``stompest demo`` is the one command that runs the Twisted client)."""

from __future__ import annotations

from typing import Any

__all__ = ['twistedTls']


def twistedTls(uri: str, ca: str | None, cert: str | None, key: str | None, noVerify: bool) -> Any:
    """What the Twisted client takes as ``StompConfig.sslContext`` for the command's TLS options.

    An :class:`ssl.SSLContext` is not enough here: the Twisted client takes only CA certificates
    from it, and :meth:`ssl.SSLContext.get_ca_certs` leaves out a self-signed server certificate
    that is not marked as a CA (ActiveMQ's test certificate is one). So: the CA file's path when
    only ``--ca`` is given (the client loads it as its trust root), else a connection creator.
    With ``--cert`` the certificate is presented to, and the host name checked against, the
    first broker of the URI.
    """
    if not (cert or key or noVerify):
        return ca
    from OpenSSL import SSL
    from twisted.internet import ssl
    from twisted.internet.interfaces import IOpenSSLClientConnectionCreator
    from zope.interface import implementer  # type: ignore[import-untyped]

    from stompest.protocol.failover import StompFailoverUri

    clientCertificate = None
    if cert:
        with open(cert, 'rb') as certFile:
            pem = certFile.read()
        if key:
            with open(key, 'rb') as keyFile:
                pem += b'\n' + keyFile.read()
        clientCertificate = ssl.PrivateCertificate.loadPEM(pem)
    if noVerify:
        options = ssl.CertificateOptions(
            privateKey=clientCertificate.privateKey.original if clientCertificate else None,
            certificate=clientCertificate.original if clientCertificate else None,
            verify=False,
        )

        @implementer(IOpenSSLClientConnectionCreator)
        class Unverified:
            def clientConnectionForTLS(self, tlsProtocol: Any) -> Any:
                connection = SSL.Connection(options.getContext(), None)
                connection.set_app_data(tlsProtocol)
                return connection

        return Unverified()
    host = StompFailoverUri(uri).brokers[0]['host']
    trustRoot = None
    if ca:
        with open(ca, 'rb') as caFile:
            trustRoot = ssl.trustRootFromCertificates([ssl.Certificate.loadPEM(caFile.read())])
    return ssl.optionsForClientTLS(host, trustRoot=trustRoot, clientCertificate=clientCertificate)
