"""
WebSocket over TLS (C{wss://}): the hand-off after the 101 works under
Twisted's TLS transport, with the C{websockets} library as the client:
an echo, a large message both ways, and backpressure to a client that
reads late.
"""

from __future__ import annotations

import os
import random
import socket
import ssl
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("wsproto")
websockets = pytest.importorskip("websockets")
pytest.importorskip("OpenSSL")

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "packages/web2-core/tests"))
from _core_helpers import inThread  # noqa: E402
from test_tls_send_hold import selfSigned  # noqa: E402
from twisted.internet import defer, reactor  # noqa: E402
from twisted.trial.unittest import TestCase  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from web2 import resource, server  # noqa: E402
from web2.channel import HTTPFactory  # noqa: E402
from web2.websocket import WebSocketResource  # noqa: E402


class WSSTests(TestCase):
    timeout = 120

    def setUp(self):
        self.waited = []

        async def echo(hs):
            ws = hs.accept()
            async for message in ws:
                await ws.send(message)

        async def flood(hs):
            ws = hs.accept()
            for i in range(64):
                d = ws.send(random.Random(i).randbytes(65536))
                if not d.called:
                    self.waited.append(i)
                await d
            await ws.close()

        root = resource.Resource()
        root.putChild("echo", WebSocketResource(echo, maxMessageSize=8 * 1024 * 1024))
        root.putChild("flood", WebSocketResource(flood))
        self.factory = HTTPFactory(server.Site(root), reactor=reactor)
        self.port = reactor.listenSSL(0, self.factory, selfSigned(), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.url = f"wss://127.0.0.1:{self.port.getHost().port}"
        self.context = ssl.create_default_context()
        self.context.check_hostname = False
        self.context.verify_mode = ssl.CERT_NONE

    def tearDown(self):
        for channel in list(self.factory.connections):
            channel.abortConnection()

    @defer.inlineCallbacks
    def test_echo(self):
        def client():
            with connect(self.url + "/echo", ssl=self.context, max_size=None) as c:
                c.send("over TLS")
                first = c.recv(timeout=20)
                big = os.urandom(5 * 1024 * 1024)
                c.send(big)
                return first, c.recv(timeout=60) == big
        first, same = yield inThread(client)
        self.assertEqual((first, same), ("over TLS", True))

    @defer.inlineCallbacks
    def test_backpressure(self):
        def client():
            # A small receive buffer: the kernel cannot take the 4 MiB.
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            raw.connect(("127.0.0.1", self.port.getHost().port))
            with connect(self.url + "/flood", sock=raw, ssl=self.context,
                         max_size=None) as c:
                time.sleep(1.0)
                for i in range(64):
                    assert c.recv(timeout=30) == random.Random(i).randbytes(65536), i
                return "ok"
        self.assertEqual((yield inThread(client)), "ok")
        self.assertTrue(self.waited, "no send waited for the slow TLS client")
