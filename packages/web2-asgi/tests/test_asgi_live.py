"""
web2-asgi on real loopback sockets and the asyncio reactor: plain ASGI
applications under a mount, a large body posted, a file sent with
http.response.pathsend, pipelined requests (hostile clients are in
test_asgi_hostile).
"""

from __future__ import annotations

import os

from _asgi_helpers import (
    LiveServer,
    fetch,
    inThread,
    parseResponses,
    rawExchange,
    requestBytes,
    tempPath,
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

    @defer.inlineCallbacks
    def test_pathsendOverASocket(self):
        """
        http.response.pathsend of a 5 MiB file reaches a real client whole,
        with its length.
        """
        path = tempPath(self)
        data = os.urandom(5 * 1024 * 1024)
        with open(path, "wb") as f:
            f.write(data)

        async def sendsFile(scope, receive, send):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/octet-stream")]})
            await send({"type": "http.response.pathsend", "path": path})

        server = self.serve(sendsFile)
        status, headers, body = yield inThread(fetch, server.portNumber, "/f")
        self.assertEqual((status, headers["content-length"]), (200, str(len(data))))
        self.assertEqual(body, data)

    @defer.inlineCallbacks
    def test_pipelinedRequestsAnsweredInOrder(self):
        server = self.serve(echo)
        requests = b"".join(
            requestBytes(f"/r{i}", headers=[("Connection", "close")] if i == 4 else ())
            for i in range(5))
        answer = yield inThread(rawExchange, server.portNumber, requests)
        responses = parseResponses(answer, eof=True)
        self.assertEqual([r.body for r in responses],
                         [b"GET |/r%d|" % i for i in range(5)])
