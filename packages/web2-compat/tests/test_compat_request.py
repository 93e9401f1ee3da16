"""
Tests for L{web2.compat.request.OldRequest}: the twisted.web C{IRequest}
a resource sees, through a real web2 channel.
"""

from __future__ import annotations

import base64
import os
import time

import pytest
from _compat_helpers import Connection, get
from twisted.internet import address
from twisted.web import http as twhttp
from twisted.web import resource, server
from twisted.web.http_headers import Headers as TwistedHeaders
from twisted.web.iweb import IRequest
from zope.interface.verify import verifyObject

from web2.compat import CACHED, OldRequest, OldResourceAdapter


class Probe(resource.Resource):
    """
    A leaf that runs C{check(request)} and answers with its result.
    """

    isLeaf = True

    def __init__(self, check):
        super().__init__()
        self.check = check
        self.requests = []

    def render(self, request):
        self.requests.append(request)
        result = self.check(request)
        return result if isinstance(result, bytes) else repr(result).encode()


def probe(check, target="/", **kwargs):
    leaf = Probe(check)
    response = get(leaf, target, **kwargs)
    return response, leaf.requests[-1]


def test_providesIRequest():
    _, request = probe(lambda r: b"")
    assert isinstance(request, OldRequest)
    assert verifyObject(IRequest, request)


def test_basicAttributes():
    _, request = probe(lambda r: b"", "/p/q%20r?a=1")
    assert request.method == b"GET"
    assert request.uri == b"/p/q%20r?a=1"
    assert request.path == b"/p/q%20r"
    assert request.clientproto == b"HTTP/1.1"
    assert request.postpath == [b"p", b"q r"]
    assert request.prepath == []
    assert isinstance(request.requestHeaders, TwistedHeaders)
    assert isinstance(request.responseHeaders, TwistedHeaders)
    assert request.content.read() == b""


def test_headers():
    def check(request):
        return [request.getHeader(b"x-multi"), request.getHeader("X-Multi"),
                request.getHeader(b"absent"), request.getAllHeaders()[b"x-multi"],
                request.requestHeaders.getRawHeaders(b"x-multi")]

    r, _ = probe(check, headers=[("X-Multi", "one"), ("X-Multi", "two")])
    assert r.body == repr([b"two", "two", None, b"two", [b"one", b"two"]]).encode()


def test_getAllHeadersIsRequestHeaders():
    def check(request):
        request.setHeader(b"x-response", b"no")
        return sorted(request.getAllHeaders())

    r, _ = probe(check, headers=[("X-Request", "yes")])
    assert b"b'x-request'" in r.body
    assert b"x-response" not in r.body
    assert b"b'host'" in r.body


def test_cookies():
    def check(request):
        request.addCookie(b"plain", b"v")
        request.addCookie("text", "v;x\r\nSet-Cookie: evil", path=b"/", domain="example.com",
                          max_age=60, expires=b"Wed, 01 Jan 2031 00:00:00 GMT",
                          secure=True, httpOnly=True, sameSite="Strict", comment=b"c")
        return [request.getCookie(b"a"), request.getCookie(b"b"), request.getCookie(b"zz")]

    r, _ = probe(check, headers=[("Cookie", "a=1; b=two=2"), ("Cookie", "c=3")])
    assert r.body == repr([b"1", b"two=2", None]).encode()
    cookies = r.headerValues("set-cookie")
    assert cookies[0] == "plain=v"
    assert cookies[1] == ("text=v x Set-Cookie: evil; Expires=Wed, 01 Jan 2031 00:00:00 GMT; "
                          "Domain=example.com; Path=/; Max-Age=60; Comment=c; Secure; "
                          "HttpOnly; SameSite=strict")
    assert len(cookies) == 2


def test_badSameSite():
    def check(request):
        with pytest.raises(ValueError):
            request.addCookie(b"a", b"b", sameSite="sometimes")
        with pytest.raises(ValueError):
            request.addCookie(b"a", b"b", sameSite="none")
        return b"ok"

    assert probe(check)[0].body == b"ok"


@pytest.mark.parametrize("header, expected", [
    ("Basic " + base64.b64encode(b"alice:s3:cret").decode(), (b"alice", b"s3:cret")),
    (None, (b"", b"")),
    ("Basic !!!not-base64!!!", (b"", b"")),
    ("Basic " + base64.b64encode(b"nocolon").decode(), (b"", b"")),
    ("Bearer abc", (b"", b"")),
])
def test_basicAuth(header, expected):
    headers = [("Authorization", header)] if header else []
    _, request = probe(lambda r: b"", headers=headers)
    assert (request.getUser(), request.getPassword()) == expected


def test_addresses():
    def check(request):
        return [request.getClientAddress(), request.getClientIP(), request.getHost(),
                request.isSecure(), request.getRequestHostname()]

    r, request = probe(check)
    assert request.getClientAddress() == address.IPv4Address("TCP", "127.0.0.1", 54321)
    assert request.getClientIP() == "127.0.0.1"
    assert request.getHost() == address.IPv4Address("TCP", "127.0.0.1", 8080)
    assert request.isSecure() is False
    assert request.getRequestHostname() == b"example.com"


def test_urls():
    def check(request):
        request.rememberRootURL()
        return [request.prePathURL(), str(request.URLPath()), request.getRootURL(),
                request.childLink(b"c"), request.sibLink(b"s")]

    root = resource.Resource()
    leaf = Probe(check)
    root.putChild(b"sp ace", leaf)
    r = get(root, "/sp%20ace/rest/more")
    assert r.body == repr([b"http://example.com/sp%20ace", "http://example.com/sp%20ace",
                           b"http://example.com/sp%20ace", b"../c", b"../../s"]).encode()


def test_uriAndPathCarryThePathPrefix():
    """
    Under a prefix that web2 knows of (a gateway's C{SCRIPT_NAME}, such as
    Apache running web2 as C{/cgi/app.cgi}, or a trusted proxy's
    C{X-Forwarded-Prefix}), C{uri} and C{path} are the client's, prefix
    included, like C{prePathURL}; they used to lack it, so a resource
    redirecting to C{request.uri} sent its clients out of the application.
    """
    from web2.resource import Resource

    leaf = Probe(lambda r: [r.uri, r.path, r.prepath, r.postpath, r.prePathURL()])

    class Prefixed(Resource):
        def locateChild(self, request, segments):
            request.pathPrefix = "/cgi/app.cgi"
            return OldResourceAdapter(leaf), segments

    r = Connection(Prefixed()).request("/p/q%20r?a=1")
    assert r.body == repr([b"/cgi/app.cgi/p/q%20r?a=1", b"/cgi/app.cgi/p/q%20r", [],
                           [b"p", b"q r"], b"http://example.com/cgi/app.cgi/"]).encode()


def test_setHost():
    def check(request):
        request.setHost(b"public.example", 8443, ssl=True)
        return [request.isSecure(), request.getRequestHostname(), request.getHost().port,
                request.prePathURL(), request.getHeader(b"host")]

    r, _ = probe(check)
    assert r.body == repr([True, b"public.example", 8443, b"https://public.example:8443/",
                           b"public.example:8443"]).encode()


def test_setResponseCode():
    def check(request):
        with pytest.raises(TypeError):
            request.setResponseCode("200")
        with pytest.raises(ValueError):
            request.setResponseCode(101)
        request.setResponseCode(202, b"Taken")
        return request.code_message

    r, _ = probe(check)
    assert (r.status, r.body) == (202, b"Taken")


def test_postFormArgsAndContent():
    def check(request):
        return [request.args, request.content.read()]

    body = b"a=1&a=2&b=&c=%20"
    r, request = probe(check, "/?q=0", method="POST", body=body,
                       headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.body == repr([{b"q": [b"0"], b"a": [b"1", b"2"], b"b": [b""], b"c": [b" "]},
                           body]).encode()


def test_postMultipart():
    boundary = "XyZ"
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n"
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"upload\"; "
        f"filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    ).encode() + b"\x00\x01binary\r\n" + f"--{boundary}--\r\n".encode()
    r, request = probe(lambda r: b"", method="POST", body=body,
                       headers=[("Content-Type", f"multipart/form-data; boundary={boundary}")])
    assert request.args == {b"field": [b"value"], b"upload": [b"\x00\x01binary"]}


def test_malformedMultipartIs400():
    leaf = Probe(lambda r: b"")
    r = get(leaf, "/", method="POST", body=b"garbage",
            headers=[("Content-Type", "multipart/form-data; boundary=Q")])
    assert r.status == 400
    assert leaf.requests == []


def test_tooManyFieldsIs400():
    leaf = Probe(lambda r: b"")
    body = b"&".join(b"f%d=1" % i for i in range(20))
    r = get(leaf, "/", method="POST", body=body, maxFormFields=10,
            headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.status == 400
    assert leaf.requests == []


def test_otherBodiesAreOnlyContent():
    def check(request):
        return [request.args, request.content.read()]

    r, _ = probe(check, method="PUT", body=b"a=1",
                 headers=[("Content-Type", "application/x-www-form-urlencoded")])
    assert r.body == repr([{}, b"a=1"]).encode()


def test_largeBodyIsSpooled():
    data = os.urandom(300 * 1024)
    r, request = probe(lambda r: r.content.read() == data, method="POST", body=data,
                       spoolThreshold=1024)
    assert r.body == b"True"
    assert not hasattr(request.content, "getvalue")


def test_bodyOverDeclaredLimitIs413():
    leaf = Probe(lambda r: b"")
    r = get(leaf, "/", method="POST", body=b"x" * 2000, maxBodySize=1000)
    assert r.status == 413
    assert leaf.requests == []


def test_chunkedBodyOverLimitIs413():
    leaf = Probe(lambda r: b"")
    conn = Connection(leaf, maxBodySize=1000)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn.channel.dataReceived(head)
    for _ in range(3):
        conn.channel.dataReceived(b"200\r\n" + b"y" * 512 + b"\r\n")
    [r] = conn.responses()
    assert r.status == 413
    assert leaf.requests == []


def test_bodyArrivesLater():
    leaf = Probe(lambda r: r.content.read())
    conn = Connection(leaf)
    conn.channel.dataReceived(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234")
    assert conn.responses() == []
    conn.channel.dataReceived(b"56789")
    [r] = conn.responses()
    assert r.body == b"0123456789"


# Conditional requests


PAST = time.time() - 3600


def test_setETagGives304():
    def check(request):
        if request.setETag(b'"v1"') is CACHED:
            return b""
        return b"full body"

    r, _ = probe(check, headers=[("If-None-Match", '"v1"')])
    assert (r.status, r.body, r.header("etag")) == (304, b"", '"v1"')
    r, _ = probe(check, headers=[("If-None-Match", '"v0"')])
    assert (r.status, r.body) == (200, b"full body")


def test_bareETagIsQuoted():
    r, _ = probe(lambda request: request.setETag(b"abc"), headers=[("If-None-Match", '"abc"')])
    assert (r.status, r.header("etag")) == (304, '"abc"')


def test_setLastModifiedGives304():
    def check(request):
        result = request.setLastModified(PAST)
        request.setLastModified(PAST - 100)  # earlier: ignored
        return b"" if result is CACHED else b"body"

    since = twhttp.datetimeToString(PAST + 10).decode()
    r, _ = probe(check, headers=[("If-Modified-Since", since)])
    assert r.status == 304
    assert r.header("last-modified") == twhttp.datetimeToString(int(PAST) + 1).decode()
    earlier = twhttp.datetimeToString(PAST - 1000).decode()
    r, _ = probe(check, headers=[("If-Modified-Since", earlier)])
    assert (r.status, r.body) == (200, b"body")


def test_filterAnswers304ForIgnoredCached():
    pending = []

    class Stubborn(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setETag(b'"v1"')  # the CACHED answer is ignored
            request.notifyFinish().addBoth(pending.append)
            self.request = request
            return server.NOT_DONE_YET

    leaf = Stubborn()
    conn = Connection(leaf)
    conn.sendRequest("/", headers=[("If-None-Match", '"v1"')])
    assert conn.responses() == []
    leaf.request.write(b"streamed anyway")
    [r] = conn.responses()
    assert (r.status, r.body, r.header("etag")) == (304, b"", '"v1"')
    assert pending == []
    conn.clock.advance(0)
    assert pending == [None]
    leaf.request.write(b"more")  # dropped: nobody reads it
    leaf.request.finish()
    assert len(conn.responses()) == 1
    assert not conn.transport.disconnecting


def test_ifMatchFailureIs412():
    r, _ = probe(lambda request: request.setETag(b'"v2"') or b"x",
                 headers=[("If-Match", '"v1"')])
    assert r.status == 412
