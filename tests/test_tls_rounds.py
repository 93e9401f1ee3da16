"""
The channel's rounds (rule 5 of L{web2.channel.http}, issue #14) hold over
TLS too.  Twisted's TLS layer hands the channel each TLS record on its own,
so a client that puts every pipelined request in a record of its own makes
one call per request; the request answered without drawing on the round
is one per round, not one per call, or such a client would escape the
rounds altogether.  A real TLS listener in the test's reactor, a real TLS
client.
"""

import pathlib
import shutil
import socket
import ssl
import tempfile

import pytest
from _tls import selfSigned
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from web2 import http, resource, server
from web2.channel.http import HTTPFactory
from web2.testing import inThread

REQUESTS = 600


class Numbered(resource.LeafResource):
    def render(self, request):
        return http.Response(200, None, request.postpath[-1])


class TLSRoundsTests(TestCase):
    @defer.inlineCallbacks
    def test_oneRecordPerRequestStillTakesTurns(self):
        """
        Six hundred pipelined requests, each in a TLS record of its own,
        sent in one burst: all are answered, in order, and the connection
        waited for turns (with a round of one request).  Before, every
        record's request was answered at once: no wait at all.
        """
        if not hasattr(socket, "TCP_CORK"):
            pytest.skip("needs TCP_CORK to send the records in one burst")
        from twisted.internet import reactor
        from twisted.internet import ssl as tssl

        directory = pathlib.Path(tempfile.mkdtemp(prefix="web2-tls-rounds-"))
        self.addCleanup(shutil.rmtree, directory, True)
        key, cert = selfSigned(directory)
        factory = HTTPFactory(server.Site(Numbered()), reactor=reactor,
                              maxRequestsPerRound=1)
        waits = []
        waitForTurn = factory.protocol._waitForTurn

        def recordingWait(channel):
            waits.append(channel)
            waitForTurn(channel)

        factory.protocol._waitForTurn = recordingWait
        port = reactor.listenSSL(
            0, factory, tssl.DefaultOpenSSLContextFactory(str(key), str(cert)),
            interface="127.0.0.1")
        self.addCleanup(port.stopListening)

        def client(portNumber):
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            raw = socket.create_connection(("127.0.0.1", portNumber), timeout=30)
            with context.wrap_socket(raw) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
                for i in range(REQUESTS):
                    # One sendall, one TLS record.
                    sock.sendall(b"GET /n/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
                data = b""
                while data.count(b"HTTP/1.1 200 ") < REQUESTS:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            return data

        data = yield inThread(client, port.getHost().port)
        bodies = [part.split(b"\r\n\r\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]
        self.assertEqual(bodies, [b"%d" % i for i in range(REQUESTS)])
        self.assertGreater(len(waits), 0)
