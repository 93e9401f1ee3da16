"""
The channel's send hold under TLS: the output a client leaves unread waits
in the TCP transport beneath the TLS layer, and the channel finds it there
(web2-core's own tests cover plain TCP; TLS needs pyOpenSSL, which only the
cross-package venv has).
"""

from __future__ import annotations

import datetime
import socket
import ssl
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))

from _core_helpers import inThread  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402
from twisted.internet import ssl as tssl
from twisted.trial.unittest import TestCase  # noqa: E402

from web2 import http, resource, server  # noqa: E402
from web2.channel import HTTPFactory  # noqa: E402


def selfSigned():
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    keyPem = key.private_bytes(serialization.Encoding.PEM,
                               serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption())
    return tssl.PrivateCertificate.loadPEM(
        keyPem + cert.public_bytes(serialization.Encoding.PEM)).options()


class Page(resource.LeafResource):
    def render(self, request):
        return http.Response(200, None, b"z" * 8000)


class TLSSendHoldTests(TestCase):
    def setUp(self):
        self.factory = HTTPFactory(server.Site(Page()), reactor=reactor, sendTimeout=2.0)
        self.port = reactor.listenSSL(0, self.factory, selfSigned(), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.holds = []
        protocol = self.factory.protocol
        hold = protocol._holdForOutput

        def recordingHold(channel):
            self.holds.append(channel._unsentBytes())
            hold(channel)

        protocol._holdForOutput = recordingHold

    def tearDown(self):
        for channel in list(self.factory.connections):
            channel.abortConnection()

    @defer.inlineCallbacks
    def test_unreadTLSPipelineIsHeldAndDropped(self):
        request = b"GET /page HTTP/1.1\r\nHost: a\r\n\r\n"

        def attack(port):
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            raw.connect(("127.0.0.1", port))
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(raw)
            sock.settimeout(0.5)
            sent = 0
            try:
                for _ in range(5000):
                    sock.sendall(request * 50)
                    sent += 50
            except (TimeoutError, OSError):
                pass
            return sock, sent

        sock, sent = yield inThread(attack, self.port.getHost().port)
        self.addCleanup(sock.close)
        self.assertLess(sent, 5000 * 50)
        self.assertTrue(self.holds)
        self.assertLess(max(self.holds), 256 * 1024)
        deadline = time.monotonic() + 30
        while self.factory.connections and time.monotonic() < deadline:
            d = defer.Deferred()
            reactor.callLater(0.1, d.callback, None)
            yield d
        self.assertEqual(self.factory.connections, set())
