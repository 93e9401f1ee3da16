"""
TLS helpers of the cross-package tests: a self-signed certificate for
C{localhost} written to files, for C{ssl:} endpoints.
"""

from __future__ import annotations

import datetime

import pytest


def selfSigned(directory):
    """
    Write a new EC key and a self-signed certificate for C{localhost},
    valid from yesterday to tomorrow, into C{directory}; skip the test
    where pyOpenSSL or cryptography is missing.

    @return: C{(keyPath, certPath)}.
    """
    pytest.importorskip("OpenSSL")
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    keyPath, certPath = directory / "key.pem", directory / "cert.pem"
    keyPath.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return keyPath, certPath
