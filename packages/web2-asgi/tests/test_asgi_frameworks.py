"""
Real frameworks on web2-asgi, served on loopback sockets on the asyncio
reactor and spoken to with real clients: Starlette and FastAPI with httpx
(pages, streamed responses, file uploads, lifespan state) and the
C{websockets} library (WebSocket routes), and the lifespans' startup and
shutdown.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from _asgi_apps import EVENTS, fastapiApp, starletteApp
from _asgi_helpers import LiveServer, inThread
from twisted.internet import defer, reactor
from twisted.trial.unittest import TestCase

from web2.asgi import Lifespan

httpx = pytest.importorskip("httpx")
websockets = pytest.importorskip("websockets.sync.client")

TIMEOUT = 10.0


def _get(url, **kwargs):
    with httpx.Client(timeout=TIMEOUT) as client:
        return client.get(url, **kwargs)


def _post(url, **kwargs):
    with httpx.Client(timeout=TIMEOUT) as client:
        return client.post(url, **kwargs)


def _streamed(url):
    """
    The body of C{url} read as it arrives, and how it was framed.
    """
    with httpx.Client(timeout=TIMEOUT) as client, client.stream("GET", url) as response:
        pieces = list(response.iter_raw())
        return response.status_code, response.headers, b"".join(pieces)


def _websocket(url, script, subprotocols=None):
    """
    Run C{script(connection)} on a WebSocket connection to C{url}.
    """
    with websockets.connect(url, open_timeout=TIMEOUT, close_timeout=TIMEOUT,
                            subprotocols=subprotocols) as connection:
        return script(connection)


class FrameworkTests(TestCase):

    @defer.inlineCallbacks
    def serve(self, app, mount="/"):
        """
        Serve C{app} with its lifespan started, as the plugin does; stop
        both at cleanup.
        """
        probe = LiveServer(app, mount=mount)
        lifespan = Lifespan(app, probe.resource.runner, reactor=reactor, mode="on",
                            appName=type(app).__name__)
        probe.resource.lifespan = lifespan
        lifespan.startService()
        self.addCleanup(lambda: lifespan.stopService() if lifespan.running else None)
        self.addCleanup(probe.stop)
        yield lifespan.whenReady()
        self.assertIsNone(lifespan.failure)
        return probe, lifespan

    @defer.inlineCallbacks
    def test_starletteUnderAPrefix(self):
        """
        A Starlette page mounted at /app sees its mount as root_path, routes
        on the rest, builds its own URL right, and reads the lifespan state.
        """
        server, _ = yield self.serve(starletteApp(), "/app")
        response = yield inThread(_get, server.url("/app/?x=1"))
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {
            "greeting": "hello from the lifespan", "path": "/app/", "root_path": "/app",
            "url": server.url("/app/?x=1"), "client": "127.0.0.1"})
        response = yield inThread(_get, server.url("/app/nothing"))
        self.assertEqual(response.status_code, 404)

    @defer.inlineCallbacks
    def test_starletteStreaming(self):
        """
        A StreamingResponse arrives chunked and whole.
        """
        server, _ = yield self.serve(starletteApp())
        status, headers, body = yield inThread(_streamed, server.url("/stream?n=200&size=1000"))
        self.assertEqual(status, 200)
        self.assertEqual(headers.get("transfer-encoding"), "chunked")
        self.assertEqual(body, b"".join(b"%d" % (i % 10) * 1000 for i in range(200)))

    @defer.inlineCallbacks
    def test_starletteUpload(self):
        """
        A 3 MiB multipart upload reaches the form parser byte for byte.
        """
        server, _ = yield self.serve(starletteApp())
        data = os.urandom(3 * 1024 * 1024)
        response = yield inThread(_post, server.url("/upload"),
                                  files={"file": ("big.bin", data)}, data={"note": "hi"})
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"name": "big.bin", "size": len(data),
                                           "sha256": hashlib.sha256(data).hexdigest(),
                                           "note": "hi"})

    @defer.inlineCallbacks
    def test_starletteWebSocket(self):
        """
        The websockets library talks to a Starlette WebSocket route: the
        subprotocol, text and binary echoes, and the application's close
        code and reason.
        """
        server, _ = yield self.serve(starletteApp())
        url = f"ws://127.0.0.1:{server.portNumber}/ws"

        def script(connection):
            connection.send("hi")
            text = connection.recv(timeout=TIMEOUT)
            connection.send(b"\x01\x02\x03")
            data = connection.recv(timeout=TIMEOUT)
            connection.send("close")
            try:
                connection.recv(timeout=TIMEOUT)
            except websockets_exceptions().ConnectionClosed as e:
                closed = (e.rcvd.code, e.rcvd.reason)
            return connection.subprotocol, text, data, closed

        result = yield inThread(_websocket, url, script, ["chat"])
        self.assertEqual(result, ("chat", "echo hi", b"\x03\x02\x01", (4001, "asked to")))

    @defer.inlineCallbacks
    def test_starletteWebSocketClientLeaves(self):
        """
        The client closing is websocket.disconnect with its code.
        """
        server, _ = yield self.serve(starletteApp())
        url = f"ws://127.0.0.1:{server.portNumber}/ws"
        del EVENTS[:]

        def script(connection):
            connection.send("x")
            connection.recv(timeout=TIMEOUT)
            connection.close(code=4321)

        yield inThread(_websocket, url, script)
        yield _until(lambda: ("starlette", "ws-disconnect 4321") in EVENTS)

    @defer.inlineCallbacks
    def test_starletteLifespan(self):
        """
        Startup ran before the first request; stopping the lifespan runs
        the application's shutdown.
        """
        del EVENTS[:]
        server, lifespan = yield self.serve(starletteApp())
        self.assertEqual(EVENTS, [("starlette", "startup")])
        yield lifespan.stopService()
        self.assertEqual(EVENTS, [("starlette", "startup"), ("starlette", "shutdown")])
        response = yield inThread(_get, server.url("/"))
        self.assertEqual(response.status_code, 503)

    @defer.inlineCallbacks
    def test_fastapi(self):
        """
        FastAPI: typed path and query parameters, a sync endpoint run in
        anyio's worker thread reading the lifespan state, a streamed
        response, an upload, and a JSON WebSocket.
        """
        del EVENTS[:]
        server, lifespan = yield self.serve(fastapiApp())
        response = yield inThread(_get, server.url("/items/7?q=x"))
        self.assertEqual(response.json(), {"item": 7, "q": "x"})
        response = yield inThread(_get, server.url("/items/notanumber"))
        self.assertEqual(response.status_code, 422)
        response = yield inThread(_get, server.url("/state"))
        self.assertEqual(response.json(), {"answer": 42})
        status, headers, body = yield inThread(_streamed, server.url("/stream?n=4"))
        self.assertEqual(body, b"line 0\nline 1\nline 2\nline 3\n")
        data = os.urandom(200000)
        response = yield inThread(_post, server.url("/upload"),
                                  files={"file": ("f.bin", data)}, data={"note": "n"})
        self.assertEqual(response.json()["sha256"], hashlib.sha256(data).hexdigest())
        url = f"ws://127.0.0.1:{server.portNumber}/ws"

        def script(connection):
            connection.send('{"a": 1}')
            return connection.recv(timeout=TIMEOUT)

        self.assertEqual((yield inThread(_websocket, url, script)), '{"got":{"a":1}}')
        yield _until(lambda: ("fastapi", "ws-disconnect 1000") in EVENTS)
        yield lifespan.stopService()
        self.assertEqual(EVENTS[0], ("fastapi", "startup"))
        self.assertEqual(EVENTS[-1], ("fastapi", "shutdown"))


def websockets_exceptions():
    import websockets.exceptions

    return websockets.exceptions


def _until(predicate):
    from _asgi_helpers import waitFor

    return waitFor(predicate)
