# -*- test-case-name: test_gzip -*-
"""
Compression of responses on the fly: gzip or deflate, chosen from the
client's Accept-Encoding (q-values honoured, C{identity;q=0} respected).

Install per request with C{request.addResponseFilter(gzipfilter,
atEnd=True)}, or for a whole site through the C{--gzip} option.  A response
is compressed only when that helps and is safe: a 200 whose type is text or
a known textual type, with no Content-Encoding yet, and at least
C{minimumSize} bytes when the length is known.  Partial responses are never
compressed (their byte positions refer to the identity body), and a strong
ETag is made weak, since the compressed bytes differ.
"""

from __future__ import annotations

import zlib

from twisted.internet import defer
from zope.interface import implementer

from web2.http_headers import ETag, HeaderParseError
from web2.iweb import IByteStream

#: Media types worth compressing besides C{text/*}.
COMPRESSIBLE = frozenset((
    "application/json", "application/javascript", "application/xml",
    "application/xhtml+xml", "application/rss+xml", "application/atom+xml",
    "image/svg+xml", "application/ld+json", "application/manifest+json",
    "application/wasm",
))

minimumSize = 256


@implementer(IByteStream)
class CompressingStream:
    """
    A byte stream that compresses another one as it is read.
    """

    length = None

    def __init__(self, source, encoding: str, level: int = 6):
        wbits = 31 if encoding == "gzip" else 15
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, wbits)
        self._source = source
        self._done = False

    def read(self):
        while not self._done:
            data = self._source.read()
            if isinstance(data, defer.Deferred):
                return data.addCallback(self._afterWait)
            out = self._feed(data)
            if out:
                return out
        return None

    def _feed(self, data) -> bytes:
        if data is None:
            self._done = True
            return self._compressor.flush()
        return self._compressor.compress(data)

    def _afterWait(self, data):
        out = self._feed(data)
        return out if out else self.read()

    def split(self, point):
        raise NotImplementedError("a compressed stream of unknown length cannot be split")

    def close(self):
        self._done = True
        self._source.close()


def _chooseEncoding(request) -> str | None:
    try:
        accepted = request.headers.getHeader("accept-encoding")
    except HeaderParseError:
        return None
    if not accepted:
        return None
    best, bestQ = None, 0.0
    for encoding in ("gzip", "deflate"):
        q = accepted.get(encoding, accepted.get("*", 0.0))
        if q > bestQ:
            best, bestQ = encoding, q
    return best


def _compressible(contentType) -> bool:
    if contentType is None:
        return False
    if contentType.mediaType == "text":
        return True
    return f"{contentType.mediaType}/{contentType.mediaSubtype}" in COMPRESSIBLE


def gzipfilter(request, response):
    """
    Compress C{response} if the client accepts it and it is worth it.
    """
    if response.code != 200 or response.stream is None:
        return response
    headers = response.headers
    if headers.hasHeader("content-encoding") or headers.hasHeader("content-range"):
        return response
    try:
        contentType = headers.getHeader("content-type")
    except HeaderParseError:
        return response
    if not _compressible(contentType):
        return response
    vary = headers.getRawHeaders("vary", [])
    if not any("accept-encoding" in v.lower() or v.strip() == "*" for v in vary):
        headers.setRawHeaders("vary", vary + ["Accept-Encoding"])
    length = response.stream.length
    if length is not None and length < minimumSize:
        return response
    encoding = _chooseEncoding(request)
    if encoding is None:
        return response
    headers.setRawHeaders("content-encoding", [encoding])
    headers.removeHeader("content-length")
    headers.removeHeader("accept-ranges")
    etag = headers.getHeader("etag")
    if etag is not None and not etag.weak:
        headers.setHeader("etag", ETag(etag.tag, weak=True))
    response.stream = CompressingStream(response.stream, encoding)
    return response
