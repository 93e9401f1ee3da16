"""
Real-socket tests: twisted.web resources in a web2 site on 127.0.0.1 over
the real reactor, answering C{http.client} (run in a thread, so that the
reactor keeps serving).
"""

from __future__ import annotations

import http.client as httpclient
import os
import socket
import tempfile

from twisted.internet import defer, reactor, threads
from twisted.trial.unittest import TestCase
from twisted.web import resource, server, static

from web2 import server as web2server
from web2.channel import HTTPFactory
from web2.compat import OldResourceAdapter, SessionStore


class Counter(resource.Resource):
    isLeaf = True

    def render_GET(self, request):
        session = request.getSession()
        session.count = getattr(session, "count", 0) + 1
        return b"count %d" % session.count


class Upload(resource.Resource):
    isLeaf = True

    def render_POST(self, request):
        data = request.content.read()
        return b"%d %s" % (len(data), request.args.get(b"name", [b"-"])[0])


class Ticker(resource.Resource):
    """
    Streams C{n} ticks, one per reactor turn, then finishes.
    """

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.finished = []

    def render_GET(self, request):
        count = [int(request.args.get(b"n", [b"5"])[0])]
        request.notifyFinish().addBoth(self.finished.append)

        def tick():
            if self.finished:  # the client left
                return
            if count[0] == 0:
                request.finish()
                return
            request.write(b"tick%d\n" % count[0])
            count[0] -= 1
            reactor.callLater(0.001, tick)

        tick()
        return server.NOT_DONE_YET


def _exchange(port, requests):
    """
    Send C{(method, path, body, headers)} requests on one persistent
    connection; C{(status, headers, body)} for each.
    """
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=20)
    results = []
    try:
        for method, path, body, headers in requests:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            results.append((response.status, dict(response.getheaders()), response.read()))
    finally:
        conn.close()
    return results


def _hangUpMidResponse(port):
    """
    Ask for a long stream, read its start, and drop the connection.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        sock.sendall(b"GET /ticker?n=100000 HTTP/1.1\r\nHost: x\r\n\r\n")
        received = b""
        while b"tick" not in received:
            received += sock.recv(4096)
    finally:
        sock.close()
    return received


class LiveCompatTests(TestCase):
    timeout = 60

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.big = os.urandom(3 * 1024 * 1024)
        with open(os.path.join(self.tmp, "big.bin"), "wb") as f:
            f.write(self.big)
        root = resource.Resource()
        root.putChild(b"count", Counter())
        root.putChild(b"upload", Upload())
        root.putChild(b"files", static.File(self.tmp))
        self.ticker = Ticker()
        root.putChild(b"ticker", self.ticker)
        self.store = SessionStore()
        self.addCleanup(self.store.expireAll)
        site = web2server.Site(OldResourceAdapter(root, sessionStore=self.store),
                               accessLogging=False)
        self.port = reactor.listenTCP(0, HTTPFactory(site), interface="127.0.0.1")
        self.portNumber = self.port.getHost().port
        self.addCleanup(self.port.stopListening)

    @defer.inlineCallbacks
    def test_sessionsAndUploads(self):
        first = yield threads.deferToThread(
            _exchange, self.portNumber, [("GET", "/count", None, {})])
        [(status, headers, body)] = first
        self.assertEqual((status, body), (200, b"count 1"))
        cookie = headers["Set-Cookie"].split(";")[0]
        results = yield threads.deferToThread(_exchange, self.portNumber, [
            ("GET", "/count", None, {"Cookie": cookie}),
            ("POST", "/upload", b"name=file&x=" + b"y" * 200000,
             {"Content-Type": "application/x-www-form-urlencoded"}),
            ("GET", "/count", None, {"Cookie": cookie}),
        ])
        self.assertEqual([r[2] for r in results],
                         [b"count 2", b"200012 file", b"count 3"])

    @defer.inlineCallbacks
    def test_staticFileAndStream(self):
        results = yield threads.deferToThread(_exchange, self.portNumber, [
            ("GET", "/files/big.bin", None, {}),
            ("GET", "/files/big.bin", None, {"Range": "bytes=1000-1999"}),
            ("GET", "/ticker?n=3", None, {}),
        ])
        (s1, h1, b1), (s2, _, b2), (s3, h3, b3) = results
        self.assertEqual((s1, int(h1["Content-Length"])), (200, len(self.big)))
        self.assertEqual(b1, self.big)
        self.assertEqual((s2, b2), (206, self.big[1000:2000]))
        self.assertEqual((s3, b3, h3.get("Transfer-Encoding")),
                         (200, b"tick3\ntick2\ntick1\n", "chunked"))
        self.assertEqual(self.ticker.finished, [None])

    @defer.inlineCallbacks
    def test_clientDisconnectFailsNotifyFinish(self):
        yield threads.deferToThread(_hangUpMidResponse, self.portNumber)
        for _ in range(500):
            if self.ticker.finished:
                break
            yield deferLater(0.01)
        [outcome] = self.ticker.finished
        self.assertIsNotNone(outcome)
        self.assertTrue(outcome.check(Exception))


def deferLater(seconds):
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)
