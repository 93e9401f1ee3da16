# -*- test-case-name: test_tls_options -*-
"""
TLS settings for C{ssl:} listeners that do not name their own key:
C{--tls-cert} and C{--tls-key} (PEM files: the certificate chain, leaf
first, and its private key), C{--tls-min-version} (C{1.2}, the default, or
C{1.3}), C{--tls-ciphers} (an OpenSSL cipher string for TLS 1.2; Twisted's
default, forward-secret AEAD ciphers, otherwise) and C{--tls-sni
HOST=CERT,KEY} (repeatable: the certificate served to clients that ask for
C{HOST} by SNI; the default one to the others).  ALPN offers C{http/1.1}
(L{web2.channel.HTTPFactory.acceptableProtocols}).

    python -m web2 --listen ssl:8443 --tls-cert fullchain.pem --tls-key key.pem \\
        --tls-sni www.example.org=www.pem,www.key

The files are read when the server (each worker) starts, so a C{--workers}
master serves renewed certificates after C{SIGHUP}.  Needs pyOpenSSL (the
C{tls} extra).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["TLSSettings", "buildCertificateOptions", "parseSNI", "sslEndpoint",
           "tlsVersion"]

_PEM_CERT = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


class TLSError(ValueError):
    """
    A TLS setting is wrong (a file missing, not PEM, a key that does not
    match its certificate); the message says which.
    """


def tlsVersion(text: str) -> str:
    """
    Coerce C{--tls-min-version}: C{1.2} or C{1.3}.
    """
    value = str(text).strip().lower().removeprefix("tlsv").removeprefix("tls")
    if value not in ("1.2", "1.3"):
        raise ValueError(f"must be 1.2 or 1.3, not {text!r}")
    return value


def parseSNI(text: str) -> tuple[str, str, str]:
    """
    Parse C{HOST=CERT,KEY}.
    """
    host, sep, files = text.partition("=")
    cert, comma, key = files.partition(",")
    if not sep or not comma or not host.strip() or not cert or not key:
        raise ValueError(f"expected HOST=CERT,KEY, not {text!r}")
    return host.strip().lower(), cert, key


@dataclass
class TLSSettings:
    """
    The TLS settings of a site (C{None} fields: not given).
    """

    cert: str | None = None
    key: str | None = None
    minVersion: str = "1.2"
    ciphers: str | None = None
    sni: list = field(default_factory=list)

    @property
    def configured(self) -> bool:
        return bool(self.cert or self.key or self.sni)


def _read(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise TLSError(f"cannot read the TLS {what} {path!r}: {e.strerror}") from None


def _contextOptions(cert: str, key: str, settings: TLSSettings, **extra):
    from OpenSSL import crypto
    from twisted.internet import ssl
    from twisted.internet._sslverify import OpenSSLAcceptableCiphers

    chain = _PEM_CERT.findall(_read(cert, "certificate"))
    if not chain:
        raise TLSError(f"the TLS certificate {cert!r} holds no PEM certificate")
    try:
        certificates = [crypto.load_certificate(crypto.FILETYPE_PEM, c) for c in chain]
        privateKey = crypto.load_privatekey(crypto.FILETYPE_PEM, _read(key, "key"))
    except crypto.Error as e:
        raise TLSError(f"{cert!r} or {key!r} is not a PEM certificate or key: {e}") \
            from None
    version = {"1.2": ssl.TLSVersion.TLSv1_2, "1.3": ssl.TLSVersion.TLSv1_3}
    kwargs = dict(privateKey=privateKey, certificate=certificates[0],
                  extraCertChain=certificates[1:],
                  raiseMinimumTo=version[settings.minVersion], **extra)
    if settings.ciphers:
        kwargs["acceptableCiphers"] = OpenSSLAcceptableCiphers.fromOpenSSLCipherString(
            settings.ciphers)
    options = ssl.CertificateOptions(**kwargs)
    try:
        context = options.getContext()
    except Exception as e:  # OpenSSL.SSL.Error: a key of another certificate
        raise TLSError(f"the TLS key {key!r} does not fit the certificate {cert!r}, "
                       f"or the ciphers are wrong: {e}") from None
    return options, context


def buildCertificateOptions(settings: TLSSettings):
    """
    The context factory for C{settings}: the default certificate, and one
    context per SNI name chosen when the client asks for it.

    @raise TLSError: a file is missing or wrong.
    """
    if not (settings.cert and settings.key):
        raise TLSError("--tls-cert and --tls-key are both needed")
    options, context = _contextOptions(settings.cert, settings.key, settings)
    byName = {}
    for host, cert, key in settings.sni:
        byName[host.encode("idna")] = _contextOptions(cert, key, settings)[1]
    if byName:
        def chooseContext(connection):
            name = connection.get_servername()
            chosen = byName.get((name or b"").lower())
            if chosen is not None:
                connection.set_context(chosen)

        context.set_tlsext_servername_callback(chooseContext)
    return options


def _sslParts(description: str) -> dict | None:
    """
    The port, interface and backlog of C{ssl:PORT[:interface=..][:backlog=..]}
    when it names no key of its own; else C{None}.
    """
    kind, _, rest = description.partition(":")
    if kind.strip().lower() != "ssl":
        return None
    parts = rest.split(":")
    named = dict(p.split("=", 1) for p in parts[1:] if "=" in p)
    if "privateKey" in named or "certKey" in named:
        return None
    unknown = set(named) - {"interface", "backlog"}
    if unknown or any("=" not in p for p in parts[1:]):
        raise TLSError(f"{description!r}: with --tls-cert, an ssl: listener takes "
                       "only interface= and backlog=")
    try:
        port = int(parts[0])
        backlog = int(named.get("backlog", 50))
    except ValueError:
        raise TLSError(f"{description!r}: the port and backlog must be numbers") from None
    return {"port": port, "interface": named.get("interface", ""), "backlog": backlog}


def sslEndpoint(reactor, description: str, settings: TLSSettings | None):
    """
    The endpoint of an C{ssl:} listener that names no key, with the site's
    TLS settings; C{None} for every other listener (Twisted parses those).

    @raise TLSError: the listener names no key and no C{--tls-cert} is set,
        or a TLS file is wrong.
    """
    parts = _sslParts(description)
    if parts is None:
        return None
    if settings is None or not settings.configured:
        if "privateKey" not in description:
            return None  # Twisted's own error (server.pem) stays
    from twisted.internet import endpoints

    return endpoints.SSL4ServerEndpoint(reactor, parts["port"],
                                        buildCertificateOptions(settings),
                                        backlog=parts["backlog"],
                                        interface=parts["interface"])
