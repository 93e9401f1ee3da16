"""
web2-asgi on real loopback sockets and the asyncio reactor: plain ASGI
applications, request bodies streamed at the application's pace, streamed
responses held by a client that does not read, and the client leaving.
"""

from __future__ import annotations

from _asgi_helpers import (
    LiveServer,
    fetch,
    inThread,
)
from twisted.internet import defer
from twisted.trial.unittest import TestCase


async def echo(scope, receive, send):
    """
    Answer with the scope's path and the body received.
    """
    assert scope["type"] == "http"
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = b"%s %s|%s|" % (scope["method"].encode(), scope["root_path"].encode(),
                           scope["path"].encode()) + b"".join(chunks)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body})


class LiveTests(TestCase):

    def serve(self, app, **kwargs):
        server = LiveServer(app, **kwargs)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_getAndPost(self):
        server = self.serve(echo, mount="/app")
        status, headers, body = yield inThread(fetch, server.portNumber, "/app/x%20y")
        self.assertEqual((status, body), (200, b"GET /app|/app/x y|"))
        self.assertEqual(headers["content-length"], str(len(body)))
        status, _, body = yield inThread(fetch, server.portNumber, "/app/", "POST",
                                         body=b"a" * 300000)
        self.assertEqual(status, 200)
        self.assertTrue(body.endswith(b"|" + b"a" * 300000))
