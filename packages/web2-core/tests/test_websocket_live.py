"""
L{web2.websocket} on a real server on 127.0.0.1: the C{websockets}
library as a client (echo, compression, large messages, backpressure,
close codes), and raw-socket hostile clients (unmasked frames, oversized
frames, invalid UTF-8, a ping flood from a client that never reads, a
client that never answers our Close).
"""

from __future__ import annotations

import base64
import os
import random
import socket
import struct
import time

import pytest

pytest.importorskip("wsproto")
websockets = pytest.importorskip("websockets")

from _core_helpers import LiveServer, inThread  # noqa: E402
from twisted.internet import defer  # noqa: E402
from twisted.trial.unittest import TestCase  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from web2 import resource, server  # noqa: E402
from web2.websocket import ConnectionClosed, WebSocketResource  # noqa: E402


class Root(resource.Resource):
    def render(self, request):
        from web2 import http
        return http.Response(200, None, b"plain HTTP still works")


def _frame(opcode, payload, fin=True, mask=True):
    first = (0x80 if fin else 0) | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126:
        header = struct.pack("!BB", first, bit | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, bit | 126, n)
    else:
        header = struct.pack("!BBQ", first, bit | 127, n)
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _rawUpgrade(port, path="/echo", after=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    key = base64.b64encode(os.urandom(16))
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Key: " + key + b"\r\n\r\n" + after)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(4096)
        if not chunk:
            raise AssertionError(f"closed during the handshake: {data!r}")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 101 "), head
    return s, rest


def _readUntilClosed(s, rest=b"", limit=10_000_000):
    """
    Read until the server closes; return (first close code or None, bytes).
    """
    data = rest
    try:
        while len(data) < limit:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    s.close()
    # Find the Close frame (unmasked, opcode 8) by walking the frames.
    pos = 0
    while pos + 2 <= len(data):
        opcode = data[pos] & 0x0F
        n = data[pos + 1] & 0x7F
        pos += 2
        if n == 126:
            n = struct.unpack("!H", data[pos:pos + 2])[0]
            pos += 2
        elif n == 127:
            n = struct.unpack("!Q", data[pos:pos + 8])[0]
            pos += 8
        if opcode == 8:
            return struct.unpack("!H", data[pos:pos + 2])[0], data
        pos += n
    return None, data


class LiveTests(TestCase):
    timeout = 120

    def setUp(self):
        self.handlers = []
        self.stats = {"maxPendingSends": 0, "closed": []}

        async def echo(hs):
            ws = hs.accept()
            self.handlers.append(ws)
            try:
                async for message in ws:
                    await ws.send(message)
            finally:
                self.stats["closed"].append((ws.closeCode, ws.closeReason))

        async def flood(hs):
            # Sends 8 MiB as fast as backpressure allows.
            ws = hs.accept()
            pending = 0
            for i in range(128):
                # Incompressible: the client offers permessage-deflate.
                d = ws.send(random.Random(i).randbytes(65536))
                if not d.called:
                    pending += 1
                await d
            self.stats["maxPendingSends"] = pending
            await ws.close(1000, "all sent")

        async def wait(hs):
            ws = hs.accept()
            self.handlers.append(ws)
            await ws.whenClosed()

        root = Root()
        root.putChild("echo", WebSocketResource(echo, maxMessageSize=4 * 1024 * 1024))
        root.putChild("small", WebSocketResource(echo, maxMessageSize=1000))
        root.putChild("flood", WebSocketResource(flood))
        root.putChild("quiet", WebSocketResource(
            wait, sendTimeout=2.0, closeTimeout=1.0, pingInterval=None, idleTimeout=None))
        self.server = LiveServer(site=server.Site(root))
        self.addCleanup(self.server.stop)
        self.port = self.server.portNumber
        self.url = f"ws://127.0.0.1:{self.port}"

    @defer.inlineCallbacks
    def test_websocketsClientEcho(self):
        def client():
            with connect(self.url + "/echo", max_size=None) as c:
                ext = c.response.headers.get("Sec-WebSocket-Extensions")
                c.send("héllo")
                text = c.recv(timeout=20)
                big = os.urandom(3 * 1024 * 1024)
                c.send(big)
                back = c.recv(timeout=20)
                c.send([b"frag", b"ment", b"ed"])
                frag = c.recv(timeout=20)
                pong = c.ping()
                assert pong.wait(20)
            return ext, text, back == big, frag, c.close_code
        ext, text, same, frag, code = yield inThread(client)
        self.assertIn("permessage-deflate", ext)
        self.assertEqual(text, "héllo")
        self.assertTrue(same)
        self.assertEqual(frag, b"fragmented")
        self.assertEqual(code, 1000)
        yield self.handlers[0].whenClosed()
        self.assertEqual(self.stats["closed"], [(1000, "")])

    @defer.inlineCallbacks
    def test_tooBigMessage(self):
        def client():
            with connect(self.url + "/small", compression=None) as c:
                c.send(b"x" * 5000)
                try:
                    c.recv(timeout=20)
                except websockets.exceptions.ConnectionClosed as e:
                    return e.rcvd.code if e.rcvd else None
            return "not closed"
        self.assertEqual((yield inThread(client)), 1009)

    @defer.inlineCallbacks
    def test_backpressure(self):
        """
        A client that reads slowly makes the server's sends wait, and gets
        every byte in order.
        """
        def client():
            # A small receive buffer: the kernel cannot take the 8 MiB.
            raw = socket.socket()
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            raw.connect(("127.0.0.1", self.port))
            with connect(self.url + "/flood", sock=raw, max_size=None) as c:
                time.sleep(1.0)  # let the server's output pile up
                total = 0
                for i in range(128):
                    m = c.recv(timeout=30)
                    assert m == random.Random(i).randbytes(65536), i
                    total += len(m)
                try:
                    c.recv(timeout=30)
                except websockets.exceptions.ConnectionClosedOK as e:
                    return total, e.rcvd.code
        total, code = yield inThread(client)
        self.assertEqual((total, code), (128 * 65536, 1000))
        self.assertGreater(self.stats["maxPendingSends"], 0)

    @defer.inlineCallbacks
    def test_pipelinedFrame(self):
        def client():
            s, rest = _rawUpgrade(self.port, after=_frame(0x1, b"early"))
            while len(rest) < 7:
                rest += s.recv(100)
            s.sendall(_frame(0x8, b"\x03\xe8"))
            return _readUntilClosed(s, rest)
        code, data = yield inThread(client)
        self.assertEqual(code, 1000)
        self.assertIn(b"early", data)

    @defer.inlineCallbacks
    def test_hostileFrames(self):
        cases = [
            (_frame(0x1, b"hi", mask=False), 1002),
            (_frame(0x1, b"\xc3\x28"), 1007),
            (struct.pack("!BBQ", 0x82, 0xFF, 2 ** 62), 1009),
            (_frame(0x9, b"x" * 126), 1002),
        ]
        for data, expected in cases:
            def client(data=data):
                s, rest = _rawUpgrade(self.port, path="/small")
                s.sendall(data)
                return _readUntilClosed(s, rest)
            code, _ = yield inThread(client)
            self.assertEqual(code, expected, data[:20])

    @defer.inlineCallbacks
    def test_pingFloodFromANonReader(self):
        """
        A client floods pings and never reads: the server stops reading it
        once its pongs pass the high-water mark and cuts it off after
        sendTimeout; what waits in the server stays bounded.
        """
        def client():
            s, rest = _rawUpgrade(self.port, path="/quiet")
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            ping = _frame(0x9, b"p" * 125)
            s.settimeout(0.5)
            sent = 0
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    s.send(ping * 64)
                    sent += 1
                except TimeoutError:
                    continue
                except OSError:
                    break
            s.close()
            return sent
        result = inThread(client)
        biggest = 0
        while not result.called:
            for ws in self.handlers:
                if not ws._gone:
                    from web2.channel.http import _bufferingDescriptor
                    sink = _bufferingDescriptor(ws.transport)
                    if sink is not None:
                        biggest = max(biggest, len(sink.dataBuffer) + sink._tempDataLen)
            yield _sleep(0.05)
        yield result
        ws = self.handlers[0]
        yield ws.whenClosed()
        self.assertEqual(ws.closeCode, 1006)
        # The high-water mark (64 KiB) plus one read's worth of pongs.
        self.assertLess(biggest, 1024 * 1024)

    @defer.inlineCallbacks
    def test_closeNeverAnswered(self):
        """
        The server closes; the client never answers: the TCP connection is
        closed by the server after closeTimeout.
        """
        def client():
            s, rest = _rawUpgrade(self.port, path="/quiet")
            start = time.monotonic()
            code, _ = _readUntilClosed(s, rest)
            return code, time.monotonic() - start
        d = inThread(client)
        while not self.handlers:
            yield _sleep(0.01)
        closed = self.handlers[0].close(1001, "going")
        code, _ = yield d
        result = yield closed
        self.assertEqual(code, 1001)
        # No Close came back: the connection ended abnormally.
        self.assertEqual(result.code, 1006)
        self.assertIsInstance(result, ConnectionClosed)

    @defer.inlineCallbacks
    def test_plainHTTPOnTheSameServer(self):
        from web2.testing import fetch
        status, _, body = yield inThread(fetch, self.port, "/")
        self.assertEqual((status, body), (200, b"plain HTTP still works"))
        status, headers, _ = yield inThread(fetch, self.port, "/echo")
        self.assertEqual(status, 426)
        self.assertEqual(headers.get("upgrade"), "websocket")


def _sleep(seconds):
    from twisted.internet import reactor
    d = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d
