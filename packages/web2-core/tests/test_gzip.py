"""
Tests for L{web2.filter.gzip} and L{web2.filter.location}.
"""

from __future__ import annotations

import gzip
import zlib

from _core_helpers import Connection
from twisted.trial.unittest import SynchronousTestCase

from web2 import http, resource, stream
from web2.filter.gzip import gzipfilter
from web2.filter.location import addLocation
from web2.http_headers import ETag, MimeType

TEXT = b"web2 compresses text. " * 200
HTML = MimeType("text", "html")


class Page(resource.Resource):
    def __init__(self, body=TEXT, mime=HTML, code=200, streaming=False):
        self.body, self.mime, self.code, self.streaming = body, mime, code, streaming

    def render(self, request):
        request.addResponseFilter(gzipfilter, atEnd=True)
        body = self.body
        if self.streaming:
            body = stream.ProducerStream()
            for i in range(0, len(self.body), 1000):
                body.write(self.body[i:i + 1000])
            body.finish()
        response = http.Response(self.code, {"content-type": self.mime}, body)
        response.headers.setHeader("etag", ETag("abc"))
        return response


class Created(resource.Resource):
    def http_POST(self, request):
        addLocation(request, "/things/1")
        return 201


def fetch(root, headers=b"", method=b"GET"):
    conn = Connection(root)
    conn.send(method + b" / HTTP/1.1\r\nHost: h\r\n" + headers + b"\r\n")
    [response] = conn.responses()
    return response


class GzipTests(SynchronousTestCase):
    def test_gzip(self):
        r = fetch(Page(), b"Accept-Encoding: gzip, deflate\r\n")
        self.assertEqual(r.header("content-encoding"), "gzip")
        self.assertEqual(gzip.decompress(r.body), TEXT)
        self.assertIn("Accept-Encoding", r.header("vary"))
        self.assertEqual(r.header("etag"), 'W/"abc"')

    def test_deflatePreferredByQ(self):
        r = fetch(Page(), b"Accept-Encoding: gzip;q=0.5, deflate\r\n")
        self.assertEqual(r.header("content-encoding"), "deflate")
        self.assertEqual(zlib.decompress(r.body), TEXT)

    def test_streamingBody(self):
        r = fetch(Page(streaming=True), b"Accept-Encoding: gzip\r\n")
        self.assertEqual(gzip.decompress(r.body), TEXT)

    def test_notAccepted(self):
        r = fetch(Page(), b"Accept-Encoding: identity\r\n")
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.body, TEXT)
        self.assertIn("Accept-Encoding", r.header("vary"))

    def test_gzipRefused(self):
        r = fetch(Page(), b"Accept-Encoding: gzip;q=0\r\n")
        self.assertIsNone(r.header("content-encoding"))

    def test_binaryNotCompressed(self):
        r = fetch(Page(mime=MimeType("image", "png")), b"Accept-Encoding: gzip\r\n")
        self.assertIsNone(r.header("content-encoding"))

    def test_smallNotCompressed(self):
        r = fetch(Page(body=b"tiny"), b"Accept-Encoding: gzip\r\n")
        self.assertIsNone(r.header("content-encoding"))

    def test_rangeNotCompressed(self):
        r = fetch(Page(), b"Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n")
        self.assertEqual(r.status, 206)
        self.assertIsNone(r.header("content-encoding"))
        self.assertEqual(r.body, TEXT[:10])


class LocationTests(SynchronousTestCase):
    def test_locationOn201(self):
        r = fetch(Created(), method=b"POST")
        self.assertEqual(r.status, 201)
        self.assertEqual(r.header("location"), "http://h/things/1")
