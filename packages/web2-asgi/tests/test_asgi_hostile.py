"""
Hostile clients against web2-asgi on real sockets: one that never reads an
endless streamed response (the application's send() is held, memory stays
bounded, and the client leaving ends it), one that leaves mid-upload (the
application sees http.disconnect), and malformed requests that never reach
the application.
"""

from __future__ import annotations

import socket

from _asgi_helpers import LiveServer, inThread, rawExchange, waitFor
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from web2.asgi import ClientDisconnected

CHUNK = b"x" * 65536
#: Far below what an unbounded server would have taken by then, far above
#: what the socket buffers of both ends can hold on loopback.
BOUND = 32 * 1024 * 1024


class HostileTests(TestCase):

    def serve(self, app, **kwargs):
        server = LiveServer(app, **kwargs)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_clientThatNeverReads(self):
        """
        An endless response to a client that reads nothing: send() is held
        once the buffers are full, with a bounded amount sent; the client
        closing makes send() raise ClientDisconnected.
        """
        state = {"sent": 0, "cycle": None, "ended": None}

        async def endless(scope, receive, send):
            state["cycle"] = send.__self__
            await send({"type": "http.response.start", "status": 200, "headers": []})
            try:
                while True:
                    await send({"type": "http.response.body", "body": CHUNK,
                                "more_body": True})
                    state["sent"] += len(CHUNK)
            except ClientDisconnected as e:
                state["ended"] = e

        server = self.serve(endless)
        client = socket.create_connection(("127.0.0.1", server.portNumber))
        self.addCleanup(client.close)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")

        def held():
            cycle = state["cycle"]
            return cycle is not None and cycle._paused and cycle._resume is not None

        yield waitFor(held)
        sent = state["sent"]
        self.assertLess(sent, BOUND)
        self.assertGreater(sent, 0)
        client.close()
        yield waitFor(lambda: state["ended"] is not None)
        self.assertLess(state["sent"], BOUND)

    @defer.inlineCallbacks
    def test_clientLeavesMidUpload(self):
        """
        A client announcing 10 MB and leaving after 100 kB: the application
        reading the body gets http.disconnect.
        """
        seen = []

        async def reader(scope, receive, send):
            while True:
                message = await receive()
                seen.append((message["type"], len(message.get("body", b""))))
                if message["type"] == "http.disconnect":
                    return
                if not message.get("more_body"):
                    break
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"all read"})

        server = self.serve(reader)

        def upload():
            with socket.create_connection(("127.0.0.1", server.portNumber)) as s:
                s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n"
                          + b"u" * 100000)

        yield inThread(upload)
        yield waitFor(lambda: seen and seen[-1][0] == "http.disconnect")
        self.assertEqual(sum(n for kind, n in seen if kind == "http.request"), 100000)

    @defer.inlineCallbacks
    def test_malformedRequestsNeverReachTheApplication(self):
        calls = []

        async def app(scope, receive, send):
            calls.append(scope)

        server = self.serve(app)
        for data, status in [
            (b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
             b"400"),
            (b"GET / HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
            (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", b"505"),
        ]:
            answer = yield inThread(rawExchange, server.portNumber, data)
            self.assertTrue(answer.startswith(b"HTTP/1.1 " + status), answer[:100])
        self.assertEqual(calls, [])
