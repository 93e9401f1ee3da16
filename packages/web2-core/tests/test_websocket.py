"""
Tests for L{web2.websocket} over the real channel, on a L{StringTransport}
with a L{task.Clock}: the handshake checks, the hand-off of the connection
(pipelined bytes included), messages both ways, backpressure, limits,
hostile input and timeouts.  A wsproto client connection makes and reads
the frames.
"""

from __future__ import annotations

import base64
import os
import struct
import zlib

import pytest

pytest.importorskip("wsproto")

from _core_helpers import Connection
from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase
from wsproto.connection import Connection as WSConnection
from wsproto.connection import ConnectionType
from wsproto.events import (
    BytesMessage,
    CloseConnection,
    Ping,
    Pong,
    TextMessage,
)

from web2 import server, websocket
from web2.websocket import ConnectionClosed, WebSocketResource

KEY = base64.b64encode(b"0123456789abcdef").decode()


def handshakeBytes(key=KEY, version="13", method="GET", extra=(), proto="1.1",
                   connection="Upgrade", upgrade="websocket"):
    lines = [f"{method} /ws HTTP/{proto}", "Host: example.com"]
    if upgrade:
        lines.append(f"Upgrade: {upgrade}")
    if connection:
        lines.append(f"Connection: {connection}")
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    lines.extend(extra)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Harness:
    """
    A web2 site whose root is a L{WebSocketResource}, one connection to it,
    and a wsproto client to talk through it.
    """

    def __init__(self, handler, resourceArgs=None, **options):
        self.clock = task.Clock()
        options.setdefault("reactor", self.clock)
        self.resource = WebSocketResource(handler, **(resourceArgs or {}), **options)
        self.conn = Connection(site=server.Site(self.resource), clock=self.clock)
        self.transport = self.conn.transport
        self.client = WSConnection(ConnectionType.CLIENT)
        self._seen = 0
        self.head = None

    def upgrade(self, extra=()):
        self.conn.send(handshakeBytes(extra=extra))
        self.clock.advance(0)
        out = self.transport.value()
        end = out.find(b"\r\n\r\n")
        assert end > 0, out
        self.head = out[:end + 4]
        self._seen = end + 4
        return self.head

    def send(self, *events):
        self.conn.send(b"".join(self.client.send(e) for e in events))

    def events(self):
        out = self.transport.value()
        data, self._seen = out[self._seen:], len(out)
        if data:
            self.client.receive_data(data)
        return list(self.client.events())


def echo(sent):
    async def handler(hs):
        ws = hs.accept()
        sent.append(ws)
        async for message in ws:
            await ws.send(message)
    return handler


class HandshakeTests(SynchronousTestCase):
    def respond(self, data, resourceArgs=None):
        h = Harness(echo([]), resourceArgs)
        h.conn.send(data)
        h.clock.advance(0)
        return h.transport.value()

    def test_accept(self):
        """
        A valid handshake is answered 101 with the accept key of RFC 6455.
        """
        h = Harness(echo([]))
        head = h.upgrade()
        self.assertTrue(head.startswith(b"HTTP/1.1 101 "))
        # The example of RFC 6455 section 1.3.
        self.assertEqual(websocket._acceptKey("dGhlIHNhbXBsZSBub25jZQ=="),
                         b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        self.assertIn(b"Sec-WebSocket-Accept: " + websocket._acceptKey(KEY), head)
        self.assertIn(b"Upgrade: websocket", head)

    def test_wrongVersion(self):
        out = self.respond(handshakeBytes(version="8"))
        self.assertTrue(out.startswith(b"HTTP/1.1 426 "), out)
        self.assertIn(b"Sec-WebSocket-Version: 13", out)

    def test_badKey(self):
        for key in (None, "short", "!!!!not-base64!!!!!!!!=="):
            out = self.respond(handshakeBytes(key=key))
            self.assertTrue(out.startswith(b"HTTP/1.1 400 "), (key, out))

    def test_notGET(self):
        out = self.respond(handshakeBytes(method="POST", extra=("Content-Length: 0",)))
        self.assertTrue(out.startswith(b"HTTP/1.1 405 "), out)

    def test_http10(self):
        out = self.respond(handshakeBytes(proto="1.0"))
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)

    def test_body(self):
        out = self.respond(handshakeBytes(extra=("Content-Length: 3",)) + b"abc")
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)

    def test_noConnectionUpgrade(self):
        out = self.respond(handshakeBytes(connection="keep-alive"))
        self.assertTrue(out.startswith(b"HTTP/1.1 400 "), out)

    def test_plainGET(self):
        out = self.respond(handshakeBytes(upgrade=None, connection=None, key=None, version=None))
        self.assertTrue(out.startswith(b"HTTP/1.1 426 "), out)
        self.assertIn(b"Upgrade: websocket", out)

    def test_originRefused(self):
        args = {"origins": {"https://good.example"}}
        out = self.respond(handshakeBytes(extra=("Origin: https://evil.example",)), args)
        self.assertTrue(out.startswith(b"HTTP/1.1 403 "), out)
        out = self.respond(handshakeBytes(extra=("Origin: https://good.example",)), args)
        self.assertTrue(out.startswith(b"HTTP/1.1 101 "), out)

    def test_rejectKeepsHTTP(self):
        """
        A handler's reject() answers with its status, and the connection
        goes on with the next HTTP request.
        """
        def handler(hs):
            hs.reject(409, "busy", [("X-Why", "full")])
        h = Harness(handler)
        h.conn.send(handshakeBytes() + handshakeBytes())
        h.clock.advance(0)
        out = h.transport.value()
        self.assertEqual(out.count(b"HTTP/1.1 409 "), 2, out)
        self.assertIn(b"X-Why: full", out)
        self.assertFalse(h.transport.disconnecting)

    def test_undecided(self):
        """
        A handler that neither accepts nor rejects refuses with 403; one
        that fails first answers 500.
        """
        h = Harness(lambda hs: None)
        h.conn.send(handshakeBytes())
        self.assertTrue(h.transport.value().startswith(b"HTTP/1.1 403 "))

        def broken(hs):
            raise RuntimeError("boom")
        h = Harness(broken)
        h.conn.send(handshakeBytes())
        self.assertTrue(h.transport.value().startswith(b"HTTP/1.1 500 "))
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    def test_subprotocolAndHeaders(self):
        chosen = []

        def handler(hs):
            ws = hs.accept(headers=[("Set-Cookie", "a=b")])
            chosen.append(ws.subprotocol)
        h = Harness(handler, {"subprotocols": ["chat.v2", "chat.v1"]})
        head = h.upgrade(extra=("Sec-WebSocket-Protocol: chat.v1, chat.v2",))
        self.assertIn(b"Sec-WebSocket-Protocol: chat.v2", head)
        self.assertIn(b"Set-Cookie: a=b", head)
        self.assertEqual(chosen, ["chat.v2"])

    def test_subprotocolNotOffered(self):
        def handler(hs):
            hs.accept("nope")
        h = Harness(handler)
        h.conn.send(handshakeBytes())
        self.assertTrue(h.transport.value().startswith(b"HTTP/1.1 500 "))
        self.flushLoggedErrors(ValueError)

    def test_clientGoneBeforeTheDecision(self):
        """
        A handler that accepts after the client left gets ConnectionClosed
        (1006); no switch happens and nothing is logged as an error.
        """
        decide = defer.Deferred()
        outcome = []

        async def handler(hs):
            await decide
            try:
                hs.accept()
            except ConnectionClosed as e:
                outcome.append(e.code)
        h = Harness(handler)
        h.conn.send(handshakeBytes())
        h.conn.lose()
        decide.callback(None)
        self.assertEqual(outcome, [1006])
        self.assertNotIn(b" 101 ", h.transport.value())

    def test_asyncAccept(self):
        """
        A handler may decide later; the request waits, and bytes the client
        sent meanwhile go to the WebSocket.
        """
        decide = defer.Deferred()

        async def handler(hs):
            await decide
            ws = hs.accept()
            async for message in ws:
                await ws.send(message.upper())
        h = Harness(handler)
        h.conn.send(handshakeBytes() + h.client.send(TextMessage(data="waited")))
        self.assertEqual(h.transport.value(), b"")
        decide.callback(None)
        out = h.transport.value()
        end = out.find(b"\r\n\r\n") + 4
        self.assertTrue(out.startswith(b"HTTP/1.1 101 "))
        h.client.receive_data(out[end:])
        self.assertEqual([e.data for e in h.client.events()], ["WAITED"])

    def test_pipelinedBytesGoToTheWebSocket(self):
        """
        Frames sent in the same packet as the handshake reach the
        WebSocket, not the HTTP reader.
        """
        h = Harness(echo([]))
        frame = h.client.send(TextMessage(data="early"))
        h.conn.send(handshakeBytes() + frame)
        h.clock.advance(0)
        out = h.transport.value()
        end = out.find(b"\r\n\r\n") + 4
        h.client.receive_data(out[end:])
        self.assertEqual([e.data for e in h.client.events()], ["early"])

    def test_httpDeadlinesStop(self):
        """
        After the switch, the channel's idle timeout no longer applies;
        the WebSocket's own does.
        """
        h = Harness(echo([]), idleTimeout=500.0, pingInterval=None)
        h.upgrade()
        h.clock.advance(200)  # beyond the channel's idleTimeout of 60
        self.assertFalse(h.transport.disconnecting)
        h.clock.advance(301)
        self.assertEqual([e.code for e in h.events() if isinstance(e, CloseConnection)],
                         [1001])


class MessageTests(SynchronousTestCase):
    def test_echoTextAndBinary(self):
        h = Harness(echo([]))
        h.upgrade()
        h.send(TextMessage(data="héllo"), BytesMessage(data=b"\x00\xff"))
        got = h.events()
        self.assertEqual([e.data for e in got], ["héllo", b"\x00\xff"])

    def test_fragmentsAndInterleavedPing(self):
        """
        A message in fragments, with a ping between them, is delivered
        whole; the ping is answered at once.  UTF-8 split across fragments
        is fine.
        """
        h = Harness(echo([]))
        h.upgrade()
        text = "€uro"
        raw = text.encode()
        h.send(BytesMessage(data=b"ab", message_finished=False))
        h.send(Ping(payload=b"p"))
        h.send(BytesMessage(data=b"cd", message_finished=True))
        # A text message whose first character is split across frames.
        h.send(TextMessage(data=raw[:1].decode("latin-1"), message_finished=False))
        events = h.events()
        self.assertEqual(events[0], Pong(payload=b"p"))
        self.assertEqual(events[1].data, b"abcd")

        h2 = Harness(echo([]))
        h2.upgrade()
        # Build the split by hand: wsproto's client encodes str, so mask raw bytes.
        h2.conn.send(_frame(0x1, raw[:2], fin=False) + _frame(0x0, raw[2:], fin=True))
        self.assertEqual([e.data for e in h2.events()], [text])

    def test_closeHandshakeFromClient(self):
        sent = []
        h = Harness(echo(sent))
        h.upgrade()
        h.send(CloseConnection(code=1000, reason="bye"))
        events = h.events()
        self.assertEqual([(e.code, e.reason) for e in events], [(1000, "bye")])
        self.assertTrue(h.transport.disconnecting)
        h.conn.lose()
        self.assertEqual((sent[0].closeCode, sent[0].closeReason), (1000, "bye"))

    def test_serverClose(self):
        sent = []

        def handler(hs):
            ws = hs.accept()
            sent.append(ws)
            return ws.whenClosed()
        h = Harness(handler, closeTimeout=5.0)
        h.upgrade()
        closed = sent[0].close(4000, "done")
        self.assertEqual([(e.code, e.reason) for e in h.events()], [(4000, "done")])
        self.assertFalse(h.transport.disconnecting)
        h.send(CloseConnection(code=4000, reason="done"))
        self.assertTrue(h.transport.disconnecting)
        h.conn.lose()
        self.assertEqual(self.successResultOf(closed).code, 4000)

    def test_closeTimeout(self):
        """
        A client that never answers our Close is cut off after closeTimeout.
        """
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred(),
                    closeTimeout=5.0, pingInterval=None)
        h.upgrade()
        sent[0].close()
        h.clock.advance(4.9)
        self.assertFalse(h.transport.disconnecting)
        h.clock.advance(0.2)
        self.assertTrue(h.transport.disconnecting or h.transport.disconnected)

    def test_handlerEndsCloses1000(self):
        h = Harness(lambda hs: hs.accept() and None)
        h.upgrade()
        self.assertEqual([e.code for e in h.events()], [1000])

    def test_handlerFailureCloses1011(self):
        async def handler(hs):
            hs.accept()
            raise KeyError("oops")
        h = Harness(handler)
        h.upgrade()
        self.assertEqual([e.code for e in h.events()], [1011])
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_keepAlivePing(self):
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred(),
                    pingInterval=10.0, idleTimeout=25.0)
        h.upgrade()
        h.clock.advance(10.1)
        pings = [e for e in h.events() if isinstance(e, Ping)]
        self.assertEqual(len(pings), 1)
        h.send(pings[0].response())
        h.clock.advance(24)
        self.assertFalse(h.transport.disconnecting)
        # Nothing more from the client: idle timeout, close 1001.
        h.clock.advance(30)
        self.assertIn(1001, [e.code for e in h.events() if isinstance(e, CloseConnection)])

    def test_pingRoundTrip(self):
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade()
        d = sent[0].ping(b"x")
        self.assertNoResult(d)
        h.clock.advance(2)
        [ping] = h.events()
        h.send(ping.response())
        self.assertEqual(self.successResultOf(d), 2.0)

    def test_clientGoneFailsReceive(self):
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade()
        d = sent[0].receive()
        h.conn.lose()
        self.assertEqual(self.failureResultOf(d, ConnectionClosed).value.code, 1006)
        self.failureResultOf(sent[0].send("x"), ConnectionClosed)

    def test_deflate(self):
        """
        permessage-deflate is negotiated and both directions compress.
        """
        h = Harness(echo([]))
        head = h.upgrade(extra=(
            "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",))
        self.assertIn(b"Sec-WebSocket-Extensions: permessage-deflate", head)
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        h.conn.send(_frame(0x1, c.compress(b"z" * 10000) + c.flush(zlib.Z_SYNC_FLUSH)[:-4],
                           rsv1=True))
        out = h.transport.value()[len(head):]
        self.assertEqual(out[0], 0xC1)  # FIN, RSV1 (compressed), text
        length = out[1]
        self.assertLess(length, 126)
        inflated = zlib.decompressobj(-15).decompress(out[2:2 + length] + b"\x00\x00\xff\xff")
        self.assertEqual(inflated, b"z" * 10000)


class DeflateNegotiationTests(SynchronousTestCase):
    """
    permessage-deflate offers (RFC 7692 section 7) and what is answered.
    """

    def answer(self, offer, **options):
        h = Harness(echo([]), **options)
        head = h.upgrade(extra=(f"Sec-WebSocket-Extensions: {offer}",))
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"sec-websocket-extensions:"):
                return line.split(b":", 1)[1].strip().decode()
        return None

    def test_windowChosenByTheServer(self):
        self.assertEqual(self.answer("permessage-deflate"),
                         "permessage-deflate; server_max_window_bits=12")
        self.assertEqual(
            self.answer("permessage-deflate; client_max_window_bits"),
            "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
        self.assertEqual(self.answer("permessage-deflate", compressionWindowBits=15),
                         "permessage-deflate")

    def test_clientLimits(self):
        self.assertEqual(
            self.answer("permessage-deflate; server_max_window_bits=10; "
                        "server_no_context_takeover; client_no_context_takeover"),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
            "server_max_window_bits=10")

    def test_declined(self):
        for offer in ("permessage-deflate; server_max_window_bits=8",
                      "permessage-deflate; server_max_window_bits=16",
                      "permessage-deflate; server_max_window_bits",
                      "permessage-deflate; unknown=1",
                      "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                      "x-webkit-deflate-frame"):
            self.assertIsNone(self.answer(offer), offer)
        self.assertIsNone(self.answer("permessage-deflate", compression=False))

    def test_fallsBackToALaterOffer(self):
        self.assertEqual(
            self.answer("permessage-deflate; server_max_window_bits=8, permessage-deflate"),
            "permessage-deflate; server_max_window_bits=12")

    def test_compressorIsSmall(self):
        """
        The server compresses with the negotiated window and memLevel 5
        (zlib's defaults would take 256 KiB per connection).
        """
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade(extra=("Sec-WebSocket-Extensions: permessage-deflate",))
        made = []
        real = zlib.compressobj

        def spy(*args):
            made.append(args)
            return real(*args)
        self.patch(zlib, "compressobj", spy)
        sent[0].send("x" * 1000)
        self.assertEqual(made, [(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -12, 5)])


def _frame(opcode, payload, fin=True, mask=True, rsv1=False):
    first = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", first, (0x80 if mask else 0) | n)
    elif n < 65536:
        header = struct.pack("!BBH", first, (0x80 if mask else 0) | 126, n)
    else:
        header = struct.pack("!BBQ", first, (0x80 if mask else 0) | 127, n)
    if not mask:
        return header + payload
    key = os.urandom(4)
    return header + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


class HostileTests(SynchronousTestCase):
    def closeCode(self, h):
        codes = [e.code for e in h.events() if isinstance(e, CloseConnection)]
        self.assertTrue(h.transport.disconnecting)
        return codes

    def test_unmaskedFrame(self):
        h = Harness(echo([]))
        h.upgrade()
        h.conn.send(_frame(0x1, b"hi", mask=False))
        self.assertEqual(self.closeCode(h), [1002])

    def test_badOpcodeAndFragmentedControl(self):
        for data in (_frame(0x3, b"x"), _frame(0x9, b"p", fin=False), _frame(0x0, b"x")):
            h = Harness(echo([]))
            h.upgrade()
            h.conn.send(data)
            self.assertEqual(self.closeCode(h), [1002], data)

    def test_invalidUTF8(self):
        h = Harness(echo([]))
        h.upgrade()
        h.conn.send(_frame(0x1, b"ok \xff\xfe"))
        self.assertEqual(self.closeCode(h), [1007])

    def test_oversizedFrameRefusedByItsHeader(self):
        """
        A frame whose header announces more than maxFrameSize is refused
        before any of its payload arrives.
        """
        h = Harness(echo([]), maxMessageSize=1000)
        h.upgrade()
        header = struct.pack("!BBQ", 0x82, 0x80 | 127, 2 ** 40) + b"abcd"
        h.conn.send(header)
        self.assertEqual(self.closeCode(h), [1009])

    def test_oversizedMessageInFragments(self):
        h = Harness(echo([]), maxMessageSize=1000)
        h.upgrade()
        for _ in range(3):
            h.conn.send(_frame(0x2 if _ == 0 else 0x0, b"x" * 400, fin=False))
        self.assertEqual(self.closeCode(h), [1009])

    def test_deflateBomb(self):
        """
        A message that inflates beyond the limit closes with 1009, having
        inflated no more than the limit allows.
        """
        h = Harness(echo([]), maxMessageSize=100_000)
        head = h.upgrade(extra=("Sec-WebSocket-Extensions: permessage-deflate",))
        self.assertIn(b"permessage-deflate", head)
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        bomb = c.compress(b"\0" * 50_000_000) + c.flush(zlib.Z_SYNC_FLUSH)[:-4]
        self.assertLess(len(bomb), 100_000)
        h.conn.send(_frame(0x2, bomb, rsv1=True))
        self.assertEqual(self.closeCode(h), [1009])

    def test_badDeflateData(self):
        h = Harness(echo([]))
        h.upgrade(extra=("Sec-WebSocket-Extensions: permessage-deflate",))
        h.conn.send(_frame(0x2, b"\xff\xff\xff\xff garbage", rsv1=True))
        self.assertEqual(self.closeCode(h), [1007])

    def test_slowApplicationStopsReading(self):
        """
        Messages the application does not take queue up to
        maxQueuedMessages; then the socket is not read and the rest of the
        input stays unparsed until the application receives.
        """
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred(),
                    maxQueuedMessages=3)
        h.upgrade()
        h.conn.send(b"".join(h.client.send(TextMessage(data=str(i))) for i in range(10)))
        ws = sent[0]
        self.assertEqual(len(ws._messages), 3)
        self.assertEqual(h.transport.producerState, "paused")
        got = [self.successResultOf(ws.receive()) for _ in range(10)]
        self.assertEqual(got, [str(i) for i in range(10)])
        self.assertEqual(h.transport.producerState, "producing")

    def test_pingFloodToAClientThatDoesNotRead(self):
        """
        While our output is over the high-water mark nothing more is
        parsed, so pings cannot grow it; sendTimeout ends the connection.
        """
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred(),
                    sendTimeout=30.0, pingInterval=None, idleTimeout=None)
        h.upgrade()
        ws = sent[0]
        # The transport says its buffer passed the high-water mark.
        ws.pauseProducing()
        before = len(h.transport.value())
        h.conn.send(b"".join(_frame(0x9, b"p" * 100) for _ in range(10000)))
        self.assertEqual(len(h.transport.value()), before)
        self.assertEqual(h.transport.producerState, "paused")
        d = ws.send("x")
        self.assertNoResult(d)
        h.clock.advance(31)
        self.assertTrue(h.transport.disconnected)
        h.conn.lose()
        self.failureResultOf(d, ConnectionClosed)

    def test_sendWaitsForDrain(self):
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade()
        ws = sent[0]
        self.successResultOf(ws.send("a"))
        ws.pauseProducing()
        d = ws.send("b")
        self.assertNoResult(d)
        ws.resumeProducing()
        self.successResultOf(d)

    def test_drainClosesGoingAway(self):
        h = Harness(echo([]))
        h.upgrade()
        h.conn.factory.drain(timeout=10)
        self.assertEqual([e.code for e in h.events()], [1001])

    def test_closeWithAFullQueue(self):
        """
        The application closes while its queue is full (the socket not
        read): reading resumes for the peer's Close, and the handshake
        completes instead of timing out.
        """
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred(),
                    maxQueuedMessages=2)
        h.upgrade()
        h.conn.send(b"".join(h.client.send(TextMessage(data=str(i))) for i in range(5)))
        ws = sent[0]
        self.assertEqual(h.transport.producerState, "paused")
        closed = ws.close(1000)
        self.assertEqual(h.transport.producerState, "producing")
        h.events()
        h.send(CloseConnection(code=1000))
        self.assertTrue(h.transport.disconnecting)
        h.conn.lose()
        self.assertEqual(self.successResultOf(closed).code, 1000)

    def test_sendTypeChecked(self):
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade()
        self.assertRaises(TypeError, sent[0].send, 5)

    def test_sendAfterCloseSaysWhy(self):
        """
        A send after the peer's Close fails with the peer's code; after
        our own Close, with ours.
        """
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade()
        h.send(CloseConnection(code=4001, reason="peer"))
        error = self.failureResultOf(sent[0].send("x"), ConnectionClosed).value
        self.assertEqual((error.code, error.reason), (4001, "peer"))
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade()
        sent[1].close(4002, "mine")
        error = self.failureResultOf(sent[1].send("x"), ConnectionClosed).value
        self.assertEqual((error.code, error.reason), (4002, "mine"))

    def test_halfCloseWithoutAClose(self):
        """
        A client that half-closes without a Close frame: the server closes
        the connection, and the application learns 1006.
        """
        sent = []
        h = Harness(lambda hs: sent.append(hs.accept()) or defer.Deferred())
        h.upgrade()
        d = sent[0].receive()
        h.conn.channel.readConnectionLost()
        self.assertTrue(h.transport.disconnecting)
        h.conn.lose()
        self.assertEqual(self.failureResultOf(d, ConnectionClosed).value.code, 1006)
