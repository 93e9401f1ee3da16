"""
The websocket scope with plain ASGI applications and the C{websockets}
library on real sockets: accept with a subprotocol and headers, text and
bytes, close codes both ways, the denial response extension, refusals and
failures before and after accepting, and invalid handshakes answered
without the application.
"""

from __future__ import annotations

import pytest
from _asgi_helpers import LiveServer, inThread, rawExchange, waitFor
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from web2.asgi import ClientDisconnected

client = pytest.importorskip("websockets.sync.client")
exceptions = pytest.importorskip("websockets.exceptions")

TIMEOUT = 10.0


def _session(port, script, path="/", subprotocols=None):
    with client.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=TIMEOUT,
                        close_timeout=TIMEOUT, subprotocols=subprotocols) as connection:
        return script(connection)


def _refused(port, path="/"):
    """
    Try to connect; the HTTP status of the refusal, its headers and body.
    """
    try:
        with client.connect(f"ws://127.0.0.1:{port}{path}", open_timeout=TIMEOUT):
            return None
    except exceptions.InvalidStatus as e:
        response = e.response
        return response.status_code, dict(response.headers), response.body


def _closedWith(connection):
    try:
        connection.recv(timeout=TIMEOUT)
    except exceptions.ConnectionClosed as e:
        return (e.rcvd.code, e.rcvd.reason) if e.rcvd else None
    return "not closed"


class WebSocketTests(TestCase):

    def serve(self, app):
        server = LiveServer(app)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_echoAndClose(self):
        events = []

        async def app(scope, receive, send):
            assert scope["type"] == "websocket"
            events.append((scope["scheme"], scope["path"], scope["subprotocols"]))
            assert (await receive()) == {"type": "websocket.connect"}
            await send({"type": "websocket.accept", "subprotocol": "b",
                        "headers": [(b"x-served-by", b"web2")]})
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    events.append(("disconnect", message["code"]))
                    return
                if message.get("text") == "bye":
                    await send({"type": "websocket.close", "code": 4000, "reason": "bye"})
                    try:
                        await send({"type": "websocket.send", "text": "too late"})
                    except ClientDisconnected:
                        events.append("send after close raised")
                    return
                if "text" in message:
                    await send({"type": "websocket.send", "text": message["text"].upper()})
                else:
                    await send({"type": "websocket.send", "bytes": message["bytes"] * 2})

        server = self.serve(app)

        def script(connection):
            connection.send("abc")
            first = connection.recv(timeout=TIMEOUT)
            connection.send(b"\x00\xff")
            second = connection.recv(timeout=TIMEOUT)
            header = connection.response.headers.get("x-served-by")
            connection.send("bye")
            return connection.subprotocol, header, first, second, _closedWith(connection)

        result = yield inThread(_session, server.portNumber, script, "/room?x=1", ["a", "b"])
        self.assertEqual(result, ("b", "web2", "ABC", b"\x00\xff\x00\xff", (4000, "bye")))
        self.assertEqual(events[0], ("ws", "/room", ["a", "b"]))
        self.assertIn("send after close raised", events)

    @defer.inlineCallbacks
    def test_clientCloses(self):
        events = []

        async def app(scope, receive, send):
            await receive()
            await send({"type": "websocket.accept"})
            message = await receive()
            events.append(message)

        server = self.serve(app)
        yield inThread(_session, server.portNumber, lambda c: c.close(4100, "done"))
        yield waitFor(lambda: events)
        self.assertEqual(events, [{"type": "websocket.disconnect", "code": 4100,
                                   "reason": "done"}])

    @defer.inlineCallbacks
    def test_refusals(self):
        """
        Closing before accepting is 403; the denial extension sends the
        application's own response; returning without deciding is 403;
        failing before deciding is 500 with one logged error.
        """
        async def closes(scope, receive, send):
            await receive()
            await send({"type": "websocket.close"})

        async def denies(scope, receive, send):
            assert "websocket.http.response" in scope["extensions"]
            await receive()
            await send({"type": "websocket.http.response.start", "status": 401,
                        "headers": [(b"www-authenticate", b"Bearer"),
                                    (b"content-type", b"text/plain")]})
            await send({"type": "websocket.http.response.body", "body": b"who ",
                        "more_body": True})
            await send({"type": "websocket.http.response.body", "body": b"are you?"})

        async def undecided(scope, receive, send):
            await receive()

        async def fails(scope, receive, send):
            raise RuntimeError("broken handler")

        for app, expected in [(closes, 403), (denies, 401), (undecided, 403), (fails, 500)]:
            server = self.serve(app)
            status, headers, body = yield inThread(_refused, server.portNumber)
            self.assertEqual(status, expected, app)
            if app is denies:
                self.assertEqual(headers["www-authenticate"], "Bearer")
                self.assertEqual(body, b"who are you?")
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)

    @defer.inlineCallbacks
    def test_failureAfterAcceptIs1011(self):
        async def app(scope, receive, send):
            await receive()
            await send({"type": "websocket.accept"})
            await receive()
            raise KeyError("oops")

        server = self.serve(app)

        def script(connection):
            connection.send("x")
            return _closedWith(connection)

        code, _ = yield inThread(_session, server.portNumber, script)
        self.assertEqual(code, 1011)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    @defer.inlineCallbacks
    def test_returningClosesWith1000(self):
        async def app(scope, receive, send):
            await receive()
            await send({"type": "websocket.accept"})
            await send({"type": "websocket.send", "text": "only this"})

        server = self.serve(app)
        result = yield inThread(_session, server.portNumber,
                                lambda c: (c.recv(timeout=TIMEOUT), _closedWith(c)))
        self.assertEqual(result, ("only this", (1000, "")))

    @defer.inlineCallbacks
    def test_invalidHandshakeNeverReachesTheApplication(self):
        calls = []

        async def app(scope, receive, send):
            calls.append(scope)

        server = self.serve(app)
        answer = yield inThread(rawExchange, server.portNumber,
                                b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
                                b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                b"Sec-WebSocket-Key: short\r\nConnection: close\r\n\r\n")
        self.assertTrue(answer.startswith(b"HTTP/1.1 400"), answer[:80])
        self.assertEqual(calls, [])
