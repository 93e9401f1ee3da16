"""
Real-socket tests: a L{web2.static.File} site on 127.0.0.1 over the real
reactor, with its real thread pool for listings and cache fills, answering
C{http.client}.  The large file goes out with C{os.sendfile} where the
platform has it.
"""

from __future__ import annotations

import hashlib
import http.client as httpclient
import json
import os
import tempfile

from twisted.internet import defer, reactor, threads
from twisted.trial.unittest import TestCase

from web2 import server
from web2.channel import HTTPFactory
from web2.static import File, FileCache


def _fetch(port, requests):
    """
    Send C{requests} (C{(path, headers)}) on one persistent connection; the
    list of C{(status, headers, body)}.
    """
    conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=20)
    results = []
    try:
        for path, headers in requests:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            results.append((response.status, dict(response.getheaders()), response.read()))
    finally:
        conn.close()
    return results


class LiveStaticTests(TestCase):
    timeout = 60

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.big = os.urandom(1024 * 1024) * 10
        with open(os.path.join(self.tmp, "big.bin"), "wb") as f:
            f.write(self.big)
        with open(os.path.join(self.tmp, "small.txt"), "wb") as f:
            f.write(b"small file\n")
        os.mkdir(os.path.join(self.tmp, "dir"))
        with open(os.path.join(self.tmp, "dir", "entry.txt"), "wb") as f:
            f.write(b"e")
        self.cache = FileCache()
        root = File(self.tmp, listing=True, cache=self.cache)
        self.factory = HTTPFactory(server.Site(root, accessLogging=False))
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.portNumber = self.port.getHost().port
        self.addCleanup(self.port.stopListening)

    @defer.inlineCallbacks
    def test_largeFileWhole(self):
        sent = []
        import os

        realSendfile = getattr(os, "sendfile", None)
        if realSendfile is not None:
            def countingSendfile(*args):
                count = realSendfile(*args)
                sent.append(count)
                return count

            self.patch(os, "sendfile", countingSendfile)
        [(status, headers, body)] = yield threads.deferToThread(
            _fetch, self.portNumber, [("/big.bin", {})])
        self.assertEqual(status, 200)
        self.assertEqual(int(headers["Content-Length"]), len(self.big))
        self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(self.big).digest())
        if realSendfile is not None:
            self.assertTrue(sum(sent) > len(self.big) // 2, "sendfile was not used")

    @defer.inlineCallbacks
    def test_largeFileRangeAndConditional(self):
        results = yield threads.deferToThread(_fetch, self.portNumber, [
            ("/big.bin", {"Range": "bytes=5000000-5000999"}),
            ("/big.bin", {"Range": "bytes=-10"}),
        ])
        (s1, h1, b1), (s2, h2, b2) = results
        self.assertEqual((s1, b1), (206, self.big[5000000:5001000]))
        self.assertEqual((s2, b2), (206, self.big[-10:]))
        [(s3, _, b3)] = yield threads.deferToThread(
            _fetch, self.portNumber, [("/big.bin", {"If-None-Match": h1["ETag"]})])
        self.assertEqual((s3, b3), (304, b""))

    @defer.inlineCallbacks
    def test_smallFileCachedThroughThreadPool(self):
        [(status, _, body)] = yield threads.deferToThread(
            _fetch, self.portNumber, [("/small.txt", {})])
        self.assertEqual((status, body), (200, b"small file\n"))
        for _ in range(100):
            if len(self.cache):
                break
            yield deferLater(0.01)
        self.assertEqual(len(self.cache), 1)
        [(status, _, body)] = yield threads.deferToThread(
            _fetch, self.portNumber, [("/small.txt", {})])
        self.assertEqual((status, body), (200, b"small file\n"))

    @defer.inlineCallbacks
    def test_listingThroughThreadPool(self):
        results = yield threads.deferToThread(_fetch, self.portNumber, [
            ("/dir", {}),
            ("/dir/", {}),
            ("/dir/?format=json", {}),
        ])
        (s1, h1, _), (s2, _, page), (s3, _, document) = results
        self.assertEqual((s1, h1["Location"]), (301, "./dir/"))
        self.assertEqual(s2, 200)
        self.assertIn(b'<a href="entry.txt">entry.txt</a>', page)
        self.assertEqual(json.loads(document)["entries"][0]["name"], "entry.txt")


def deferLater(seconds):
    from twisted.internet import task

    return task.deferLater(reactor, seconds, lambda: None)
