"""
TLS options for real (L{web2.tlsoptions}): C{--tls-cert}/C{--tls-key} on an
C{ssl:} listener, certificates chosen by SNI, the minimum version, ALPN,
a wrong key refused at start-up, and certificates renewed on SIGHUP under
C{--workers}; the client is Python's C{ssl} sending SNI.
"""

import datetime
import signal
import socket
import ssl
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _launch_helpers import Server, assertNoTraceback, pythonWeb2, runToEnd  # noqa: E402

LOCAL = "ssl:0:interface=127.0.0.1"


def _certificate(directory, name, serial=None):
    """
    A self-signed certificate for C{name} and its key, as PEM files.
    """
    pytest.importorskip("OpenSSL")
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(serial or x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    certPath, keyPath = directory / f"{name}.pem", directory / f"{name}.key"
    certPath.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyPath.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    return certPath, keyPath


def _handshake(port, serverName, maximum=None, alpn=("h2", "http/1.1")):
    """
    Connect with SNI C{serverName}; return the certificate's common name,
    the TLS version, the ALPN protocol and the answer to a GET.
    """
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if maximum is not None:
        context.maximum_version = maximum
    context.set_alpn_protocols(list(alpn))
    with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
        with context.wrap_socket(raw, server_hostname=serverName) as tls:
            from cryptography import x509

            cert = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            name = cert.subject.rfc4514_string()
            tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = b""
            while chunk := tls.recv(65536):
                answer += chunk
            return name, tls.version(), tls.selected_alpn_protocol(), answer


def test_sniChoosesTheCertificate(tmp_path):
    cert, key = _certificate(tmp_path, "localhost")
    otherCert, otherKey = _certificate(tmp_path, "other.test")
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/=text:secret",
                           "--tls-cert", str(cert), "--tls-key", str(key),
                           "--tls-sni", f"other.test={otherCert},{otherKey}"),
                cwd=tmp_path) as server:
        port = server.port
        name, version, alpn, answer = _handshake(port, "other.test")
        assert name == "CN=other.test"
        assert alpn == "http/1.1" and answer.endswith(b"secret")
        assert _handshake(port, "localhost")[0] == "CN=localhost"
        assert _handshake(port, "unknown.test")[0] == "CN=localhost"
        assert _handshake(port, "OTHER.test")[0] == "CN=other.test"
        # TLS 1.2 is accepted by default.
        name, version, _, answer = _handshake(port, "localhost", ssl.TLSVersion.TLSv1_2)
        assert version == "TLSv1.2" and answer.endswith(b"secret")
        result = server.stop()
    assert result.returncode == 0, result.output
    assertNoTraceback(result.output)


def test_minimumVersion(tmp_path):
    cert, key = _certificate(tmp_path, "localhost")
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/=text:x",
                           "--tls-cert", str(cert), "--tls-key", str(key),
                           "--tls-min-version", "1.3"), cwd=tmp_path) as server:
        port = server.port
        assert _handshake(port, "localhost")[1] == "TLSv1.3"
        with pytest.raises(ssl.SSLError):
            _handshake(port, "localhost", ssl.TLSVersion.TLSv1_2)
        result = server.stop()
    assert result.returncode == 0, result.output


def test_wrongKeyRefusedAtStartup(tmp_path):
    cert, _ = _certificate(tmp_path, "localhost")
    _, otherKey = _certificate(tmp_path, "other.test")
    result = runToEnd(pythonWeb2("--listen", LOCAL, "--mount", "/=text:x",
                                 "--tls-cert", str(cert), "--tls-key", str(otherKey)),
                      cwd=tmp_path)
    assert result.returncode == 1, result.output
    assert "does not fit the certificate" in result.stderr
    assertNoTraceback(result.output)
    missing = runToEnd(pythonWeb2("--listen", LOCAL, "--tls-cert", "nope.pem",
                                  "--tls-key", "nope.key"), cwd=tmp_path)
    assert missing.returncode == 1
    assert "cannot read the TLS certificate 'nope.pem'" in missing.stderr


def test_certificateRenewedOnSighup(tmp_path):
    """
    C{--workers 1}: a certificate replaced on disk is served after SIGHUP
    (the new worker reads the files), with no restart.
    """
    cert, key = _certificate(tmp_path, "localhost", serial=1111)
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/=text:x", "--workers", "1",
                           "--tls-cert", str(cert), "--tls-key", str(key)),
                cwd=tmp_path) as server:
        port = server.port
        assert server.waitForOutput("is ready", timeout=60)

        def serial():
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with socket.create_connection(("127.0.0.1", port), timeout=20) as raw:
                with context.wrap_socket(raw, server_hostname="localhost") as tls:
                    from cryptography import x509

                    return x509.load_der_x509_certificate(
                        tls.getpeercert(binary_form=True)).serial_number

        assert serial() == 1111
        _certificate(tmp_path, "localhost", serial=2222)
        server.process.send_signal(signal.SIGHUP)
        assert server.waitForOutput("reload done", timeout=60), server.output
        # The old worker may take a last connection before its SIGTERM.
        deadline = time.monotonic() + 30
        while serial() != 2222 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert serial() == 2222
        result = server.stop()
    assert result.returncode == 0, result.output


def test_tlsTableOfTheSiteFile(tmp_path):
    """
    The site file's C{[tls]} table: paths relative to the file, SNI
    certificates as sub-tables, and the minimum version.
    """
    conf = tmp_path / "conf"
    conf.mkdir()
    _certificate(conf, "localhost")
    _certificate(conf, "other.test")
    (conf / "site.toml").write_text(
        'listen = ["ssl:0:interface=127.0.0.1"]\n'
        '[mounts]\n"/" = "text:from the file"\n'
        '[tls]\ncert = "localhost.pem"\nkey = "localhost.key"\nmin-version = "1.3"\n'
        '[tls.sni."other.test"]\ncert = "other.test.pem"\nkey = "other.test.key"\n')
    with Server(pythonWeb2("--config", str(conf / "site.toml")), cwd=tmp_path) as server:
        port = server.port
        name, version, _, answer = _handshake(port, "other.test")
        assert (name, version) == ("CN=other.test", "TLSv1.3")
        assert answer.endswith(b"from the file")
        assert _handshake(port, "localhost")[0] == "CN=localhost"
        with pytest.raises(ssl.SSLError):
            _handshake(port, "localhost", ssl.TLSVersion.TLSv1_2)
        result = server.stop()
    assert result.returncode == 0, result.output
    (conf / "bad.toml").write_text('[tls]\ncert = "x.pem"\nkeys = "x.key"\n')
    bad = runToEnd(pythonWeb2("--config", str(conf / "bad.toml")), cwd=tmp_path)
    assert bad.returncode == 1
    assert "[tls]: unknown key 'keys'" in bad.stderr
