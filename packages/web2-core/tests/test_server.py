"""
Tests for L{web2.server} and L{web2.resource}: traversal, dispatch, what
every resource gets for free (preconditions, ranges, error pages, Server and
Date) and error handling, through a real channel on a StringTransport.
"""

from __future__ import annotations

import re

from _core_helpers import Connection, parseResponses
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import classImplements
from zope.interface.verify import verifyObject

from web2 import http, resource, responsecode, server
from web2.http_headers import ETag, Headers, generateDateTime
from web2.iweb import IResource, IResponse, ISiteRoot
from web2.proxy import TrustedProxies, TrustedProxyResource

LAST_MODIFIED = 1_700_000_000
BODY = b"0123456789abcdefghijklmnopqrstuvwxyz"


class Entity(resource.Resource):
    """
    A resource with validators, so conditional and range requests apply.
    """

    def render(self, request):
        response = http.Response(200, None, BODY)
        response.headers.setHeader("etag", ETag("v1"))
        response.headers.setHeader("last-modified", LAST_MODIFIED)
        return response


class BigEntity(Entity):
    def render(self, request):
        response = Entity.render(self, request)
        response.stream = http.Response(200, None, BIG).stream
        return response


BIG = bytes(range(256)) * 4


class Methods(resource.Resource):
    def render(self, request):
        return "<p>get</p>"

    def http_POST(self, request):
        return responsecode.CREATED

    http_DELETE = None


class Failing(resource.Resource):
    def render(self, request):
        raise ValueError("secret detail")


class Forbidden(resource.Resource):
    def render(self, request):
        raise http.HTTPError(responsecode.FORBIDDEN)


class AsyncChild(resource.Resource):
    async def render(self, request):
        return b"from a coroutine"


class DeferredLocate(resource.Resource):
    def locateChild(self, request, segments):
        return defer.succeed((Entity(), segments[1:]))


class Leaf(resource.LeafResource):
    def render(self, request):
        return "/".join(request.postpath)


class Root(resource.Resource):
    addSlash = True
    child_entity = Entity()
    child_big = BigEntity()
    child_methods = Methods()
    child_failing = Failing()
    child_forbidden = Forbidden()
    child_async = AsyncChild()
    child_deferred = DeferredLocate()
    child_leaf = Leaf()
    child_wrapped = resource.WrapperResource(Entity())
    child_elsewhere = resource.RedirectResource(path="/entity")

    def child_dynamic(self, request):
        return Methods()

    def render(self, request):
        return http.Response(200, None, b"root")


def request(path, method="GET", headers=b"", body=b"", root=None):
    conn = Connection(root or Root())
    if body:
        headers += b"Content-Length: %d\r\n" % len(body)
    conn.send(
        method.encode() + b" " + path.encode() + b" HTTP/1.1\r\nHost: example.com\r\n"
        + headers + b"\r\n" + body
    )
    responses = parseResponses(conn.output(), headRequests=(0,) if method == "HEAD" else ())
    assert len(responses) == 1, responses
    return responses[0]


class InterfaceTests(SynchronousTestCase):
    def test_resources(self):
        for r in (resource.Resource(), resource.LeafResource(), resource.WrapperResource(Entity())):
            self.assertTrue(verifyObject(IResource, r))

    def test_response(self):
        self.assertTrue(verifyObject(IResponse, http.Response()))

    def test_adaptations(self):
        self.assertEqual(IResponse(404).code, 404)
        self.assertEqual(IResponse(b"x").stream.read(), b"x")
        self.assertEqual(IResponse("x").stream.read(), b"x")


class TraversalTests(SynchronousTestCase):
    def test_rootAddSlash(self):
        response = request("/")
        self.assertEqual(response.body, b"root")

    def test_addSlashRedirectKeepsQuery(self):
        conn = Connection(Root())
        conn.send(b"GET /?a=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n")
        [response] = conn.responses()
        self.assertEqual(response.status, 200)

    def test_childAttribute(self):
        self.assertEqual(request("/methods").body, b"<p>get</p>")

    def test_childMethod(self):
        self.assertEqual(request("/dynamic").body, b"<p>get</p>")

    def test_notFound(self):
        response = request("/nothing/here")
        self.assertEqual(response.status, 404)
        self.assertIn(b"/nothing/here", response.body)

    def test_notFoundEscapesURI(self):
        response = request("/%3Cscript%3E")
        self.assertEqual(response.status, 404)
        self.assertNotIn(b"<script>", response.body)

    def test_emptySegmentsAreNotMerged(self):
        """
        Repeated slashes are not merged: C{//entity} names the child C{""}
        of the root and then C{entity}, not C{/entity}, and a leaf sees the
        empty segments.  A path a front end did not normalize reaches only
        what it names (docs/deployment.rst, "Behind nginx or Apache", says
        why; an Apache C{ProxyPass "/app" "http://web2/"} sends them).
        """
        self.assertEqual(request("/entity").status, 200)
        self.assertEqual(request("//entity").status, 404)
        self.assertEqual(request("/wrapped//").status, 404)
        self.assertEqual(request("/leaf//a/").body, b"/a/")

    def test_deferredLocate(self):
        self.assertEqual(request("/deferred/x").body, BODY)

    def test_coroutineRender(self):
        self.assertEqual(request("/async").body, b"from a coroutine")

    def test_leafGetsPostpath(self):
        self.assertEqual(request("/leaf/a/b%2Fc").body, b"a/b/c")

    def test_wrapper(self):
        self.assertEqual(request("/wrapped").body, BODY)

    def test_redirectResource(self):
        response = request("/elsewhere?q=1")
        self.assertEqual(response.status, 301)
        self.assertEqual(response.header("location"), "http://example.com/entity?q=1")

    def test_absoluteFormTarget(self):
        response = request("http://other.example:8080/methods")
        self.assertEqual(response.body, b"<p>get</p>")

    def test_optionsStar(self):
        response = request("*", method="OPTIONS")
        self.assertEqual(response.status, 200)
        self.assertIn("GET", response.header("allow"))

    def test_connectNotImplemented(self):
        response = request("example.com:443", method="CONNECT")
        self.assertEqual(response.status, 501)


class DispatchTests(SynchronousTestCase):
    def test_post(self):
        self.assertEqual(request("/methods", "POST").status, 201)

    def test_notAllowed(self):
        response = request("/methods", "PUT")
        self.assertEqual(response.status, 405)
        allow = {m.strip() for m in response.header("allow").split(",")}
        self.assertEqual(allow, {"GET", "HEAD", "OPTIONS", "POST"})

    def test_removedMethod(self):
        self.assertEqual(request("/methods", "DELETE").status, 405)

    def test_options(self):
        response = request("/methods", "OPTIONS")
        self.assertEqual(response.status, 200)
        self.assertIn("POST", response.header("allow"))

    def test_headMatchesGet(self):
        response = request("/entity", "HEAD")
        self.assertEqual(response.header("content-length"), str(len(BODY)))
        self.assertEqual(response.body, b"")

    def test_resourceWithoutRender(self):
        response = request("/", root=resource.Resource())
        self.assertEqual(response.status, 405)
        self.assertNotIn("GET", response.header("allow"))


class ErrorTests(SynchronousTestCase):
    def test_unhandledException(self):
        response = request("/failing")
        self.assertEqual(response.status, 500)
        self.assertNotIn(b"secret detail", response.body)
        self.assertNotIn(b"Traceback", response.body)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)

    def test_httpError(self):
        response = request("/forbidden")
        self.assertEqual(response.status, 403)
        self.assertIn(b"permission", response.body)

    def test_customErrorHandler(self):
        def handler(request, response):
            if response.code == 404:
                response.stream = None
                return http.Response(404, None, b"custom 404")
            return response

        handler.handleErrors = True
        conn = Connection(site=server.Site(Root(), errorHandler=handler))
        conn.send(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
        [response] = conn.responses()
        self.assertEqual(response.body, b"custom 404")


class PreconditionTests(SynchronousTestCase):
    def test_ifNoneMatch304(self):
        response = request("/entity", headers=b'If-None-Match: "v1"\r\n')
        self.assertEqual(response.status, 304)
        self.assertEqual(response.header("etag"), '"v1"')
        self.assertEqual(response.body, b"")

    def test_ifNoneMatchWeak304(self):
        self.assertEqual(request("/entity", headers=b'If-None-Match: W/"v1"\r\n').status, 304)

    def test_ifNoneMatchOther200(self):
        self.assertEqual(request("/entity", headers=b'If-None-Match: "v2"\r\n').status, 200)

    def test_ifMatchFails412(self):
        self.assertEqual(request("/entity", headers=b'If-Match: "v2"\r\n').status, 412)

    def test_ifModifiedSince304(self):
        date = generateDateTime(LAST_MODIFIED).encode()
        self.assertEqual(request("/entity", headers=b"If-Modified-Since: " + date + b"\r\n").status, 304)

    def test_ifModifiedSinceOlder200(self):
        date = generateDateTime(LAST_MODIFIED - 10).encode()
        self.assertEqual(request("/entity", headers=b"If-Modified-Since: " + date + b"\r\n").status, 200)

    def test_ifModifiedSinceIgnoredWithIfNoneMatch(self):
        date = generateDateTime(LAST_MODIFIED).encode()
        response = request(
            "/entity", headers=b'If-None-Match: "v2"\r\nIf-Modified-Since: ' + date + b"\r\n"
        )
        self.assertEqual(response.status, 200)

    def test_ifUnmodifiedSince412(self):
        date = generateDateTime(LAST_MODIFIED - 10).encode()
        self.assertEqual(request("/entity", headers=b"If-Unmodified-Since: " + date + b"\r\n").status, 412)

    def test_malformedDateIgnored(self):
        self.assertEqual(request("/entity", headers=b"If-Modified-Since: yesterday\r\n").status, 200)


class FractionalEntity(resource.Resource):
    """
    Last-Modified from C{time.time()}: a date with a fraction of a second,
    sent truncated to its second (the tutorial's C{children.py} does this).
    """

    def render(self, request):
        response = http.Response(200, None, BODY)
        response.headers.setHeader("last-modified", LAST_MODIFIED + 0.75)
        return response


class FractionalDateTests(SynchronousTestCase):
    """
    Dates are compared at one-second resolution: the client can only send
    back the whole second it was given.
    """

    def ask(self, header, date, extra=b""):
        root = Root()
        root.child_fraction = FractionalEntity()
        value = generateDateTime(date).encode()
        return request("/fraction", headers=header + b": " + value + b"\r\n" + extra,
                       root=root)

    def test_lastModifiedSentTruncated(self):
        root = Root()
        root.child_fraction = FractionalEntity()
        self.assertEqual(request("/fraction", root=root).header("last-modified"),
                         generateDateTime(LAST_MODIFIED))

    def test_ifModifiedSinceTheExactDate304(self):
        self.assertEqual(self.ask(b"If-Modified-Since", LAST_MODIFIED).status, 304)

    def test_ifModifiedSinceASecondEarlier200(self):
        self.assertEqual(self.ask(b"If-Modified-Since", LAST_MODIFIED - 1).status, 200)

    def test_ifUnmodifiedSinceTheExactDate(self):
        self.assertEqual(self.ask(b"If-Unmodified-Since", LAST_MODIFIED).status, 200)
        self.assertEqual(self.ask(b"If-Unmodified-Since", LAST_MODIFIED - 1).status, 412)

    def test_ifRangeTheExactDate(self):
        response = self.ask(b"If-Range", LAST_MODIFIED, b"Range: bytes=0-1\r\n")
        self.assertEqual((response.status, response.body), (206, b"01"))


class RangeTests(SynchronousTestCase):
    def test_single(self):
        response = request("/entity", headers=b"Range: bytes=2-5\r\n")
        self.assertEqual(response.status, 206)
        self.assertEqual(response.body, b"2345")
        self.assertEqual(response.header("content-range"), f"bytes 2-5/{len(BODY)}")

    def test_suffix(self):
        response = request("/entity", headers=b"Range: bytes=-3\r\n")
        self.assertEqual(response.body, b"xyz")

    def test_openEnded(self):
        self.assertEqual(request("/entity", headers=b"Range: bytes=33-\r\n").body, b"xyz")

    def test_endClamped(self):
        self.assertEqual(request("/entity", headers=b"Range: bytes=34-1000\r\n").body, b"yz")

    def test_unsatisfiable(self):
        response = request("/entity", headers=b"Range: bytes=100-200\r\n")
        self.assertEqual(response.status, 416)
        self.assertEqual(response.header("content-range"), f"bytes */{len(BODY)}")

    def test_multipart(self):
        response = request("/big", headers=b"Range: bytes=500-501,0-1\r\n")
        self.assertEqual(response.status, 206)
        contentType = response.header("content-type")
        self.assertTrue(contentType.startswith("multipart/byteranges"))
        boundary = contentType.split("boundary=")[1].strip('"').encode()
        self.assertEqual(
            response.body,
            b"\r\n--" + boundary + b"\r\nContent-Range: bytes 0-1/1024\r\n\r\n\x00\x01"
            b"\r\n--" + boundary + b"\r\nContent-Range: bytes 500-501/1024\r\n\r\n\xf4\xf5"
            b"\r\n--" + boundary + b"--\r\n",
        )
        self.assertEqual(int(response.header("content-length")), len(response.body))

    def test_smallGapsCoalesced(self):
        response = request("/entity", headers=b"Range: bytes=0-1,30-31\r\n")
        self.assertEqual(response.status, 206)
        self.assertEqual(response.header("content-range"), "bytes 0-31/36")

    def test_overlappingCoalesced(self):
        response = request("/entity", headers=b"Range: bytes=0-5,3-8\r\n")
        self.assertEqual(response.status, 206)
        self.assertEqual(response.body, b"012345678")

    def test_manyRangesIgnored(self):
        ranges = ",".join(f"{i}-{i}" for i in range(0, 36, 1)).encode()
        response = request("/entity", headers=b"Range: bytes=" + ranges + b"\r\n")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, BODY)

    def test_ifRangeMismatchFull(self):
        response = request("/entity", headers=b'Range: bytes=0-1\r\nIf-Range: "v2"\r\n')
        self.assertEqual(response.status, 200)

    def test_ifRangeMatch(self):
        response = request("/entity", headers=b'Range: bytes=0-1\r\nIf-Range: "v1"\r\n')
        self.assertEqual(response.status, 206)

    def test_malformedRangeIgnored(self):
        self.assertEqual(request("/entity", headers=b"Range: bytes=zz\r\n").status, 200)

    def test_acceptRanges(self):
        self.assertEqual(request("/entity").header("accept-ranges"), "bytes")

    def test_postIgnoresRange(self):
        response = request("/methods", "POST", headers=b"Range: bytes=0-1\r\n")
        self.assertEqual(response.status, 201)


class CookieTests(SynchronousTestCase):
    def test_cookies(self):
        class Show(resource.Resource):
            def render(self, request):
                return repr(sorted(request.cookies.items()))

        response = request("/", headers=b"Cookie: a=1; b=two; a=3\r\n", root=Show())
        self.assertEqual(response.body, b"[('a', '1'), ('b', 'two')]")

    def test_setCookie(self):
        from web2.http_headers import Cookie

        class Set(resource.Resource):
            def render(self, request):
                response = http.Response(200, None, b"ok")
                response.headers.setHeader("set-cookie", [
                    Cookie("sid", "abc", path="/", httpOnly=True, sameSite="Lax", maxAge=60),
                    Cookie("theme", "dark"),
                ])
                return response

        response = request("/", root=Set())
        lines = response.headerValues("set-cookie")
        self.assertEqual(len(lines), 2)
        self.assertIn("sid=abc", lines[0])
        self.assertIn("HttpOnly", lines[0])
        self.assertIn("SameSite=Lax", lines[0])
        self.assertIn("Max-Age=60", lines[0])

    def test_malformedCookieHeader(self):
        class Show(resource.Resource):
            def render(self, request):
                return repr(request.cookies)

        response = request("/", headers=b"Cookie: \x01\x02\r\n", root=Show())
        self.assertIn(response.status, (200, 400))


class FailingStream:
    """
    A body that fails after its first piece.
    """

    length = None

    def __init__(self):
        self.reads = 0

    def read(self):
        self.reads += 1
        if self.reads == 1:
            return b"first piece"
        raise OSError("disk on fire")

    def close(self):
        pass

    def split(self, point):
        raise NotImplementedError


class MidBodyFailureTests(SynchronousTestCase):
    def test_failureAfterHeadersAborts(self):
        """
        A body that fails after the headers went out aborts the connection
        (the client sees a truncated chunked body, never a second response)
        and the failure is logged.
        """
        from zope.interface import alsoProvides

        from web2.iweb import IByteStream

        class Broken(resource.Resource):
            def render(self, request):
                body = FailingStream()
                alsoProvides(body, IByteStream)
                return http.Response(200, None, body)

        conn = Connection(Broken())
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        out = conn.output()
        self.assertTrue(out.startswith(b"HTTP/1.1 200 OK"))
        self.assertIn(b"first piece", out)
        self.assertNotIn(b"0\r\n\r\n", out)
        self.assertTrue(conn.transport.disconnecting)
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 1)


class ClientGoneTests(SynchronousTestCase):
    def test_bodyReadFailsWhenTheConnectionIsLost(self):
        """
        A resource reading the body of a client whose connection is lost
        (a reset, or a front end closing its upstream connection) fails
        with the loss: one informational line, no logged failure.  It used
        to be "Unhandled error while answering", critical, with a
        traceback.
        """
        from twisted.internet.error import ConnectionLost
        from twisted.logger import LogLevel, formatEvent, globalLogPublisher
        from twisted.python.failure import Failure

        from web2.stream import readAll

        class Upload(resource.Resource):
            def http_POST(self, request):
                return readAll(request.stream).addCallback(
                    lambda data: http.Response(200, None, b"got it"))

        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        conn = Connection(Upload())
        conn.send(b"POST /?upload HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nabc")
        conn.lose(Failure(ConnectionLost("reset by peer")))
        self.assertEqual(self.flushLoggedErrors(), [])
        mine = [e for e in events if e.get("log_namespace") == "web2.server"]
        self.assertEqual([e["log_level"] for e in mine], [LogLevel.info])
        self.assertIn("POST /?upload", formatEvent(mine[0]))
        self.assertIn("client", formatEvent(mine[0]))

    def test_otherFailuresStillLogged(self):
        """
        A failure of the resource's own, while the connection is alive, is
        still logged with its traceback.
        """
        response = request("/failing")
        self.assertEqual(response.status, 500)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)


class AccessEventTests(SynchronousTestCase):
    def test_siteObserverGetsEvent(self):
        """
        The site's access-log observer gets one complete twisted.logger
        event per request, with the fields the formatters use.
        """
        from twisted.logger import LogLevel, formatEvent

        events = []
        conn = Connection(site=server.Site(Root(), accessLogObserver=events.append))
        conn.send(b"GET /entity HTTP/1.1\r\nHost: example.com\r\nReferer: http://r/\r\n"
                  b"User-Agent: tester\r\n\r\n")
        [event] = events
        self.assertEqual(event["log_namespace"], "web2.access")
        self.assertEqual(event["log_level"], LogLevel.info)
        self.assertEqual((event["method"], event["uri"], event["status"]), ("GET", "/entity", 200))
        self.assertEqual(event["bytes"], len(BODY))
        self.assertEqual((event["referer"], event["user_agent"]), ("http://r/", "tester"))
        self.assertEqual(event["client"], "127.0.0.1")
        self.assertEqual(event["protocol"], "HTTP/1.1")
        self.assertEqual(formatEvent(event), "127.0.0.1 GET /entity 200")

    def test_globalPublisher(self):
        from twisted.logger import globalLogPublisher

        events = []

        def observer(event):
            if event.get("log_namespace") == "web2.access":
                events.append(event)

        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        conn = Connection(site=server.Site(Root(), accessLogging=True))
        conn.send(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertEqual([e["status"] for e in events], [404])

    def test_offByDefault(self):
        self.assertIsNone(server.Site(Root())._accessLog)


class RunawayTraversalTests(SynchronousTestCase):
    def test_growingPathBounded(self):
        """
        A resource that keeps handing back a longer path (a rewriting bug)
        ends in a logged 500 after a bounded number of steps, not a hang.
        """
        from zope.interface import implementer

        @implementer(IResource)
        class Grow:
            def locateChild(self, request, segments):
                return Grow(), ("x",) + tuple(segments)

            def renderHTTP(self, request):
                return b"never"

        response = request("/a", root=Grow())
        self.assertEqual(response.status, 500)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)


class PlainFilterPathTests(SynchronousTestCase):
    """
    A 200 to a GET or HEAD without preconditions or Range takes a one-step
    path through the default filters; it must give exactly what the
    general filter loop gives.
    """

    def _both(self, target, method=b"GET", headers=b""):
        def identity(request, response):
            return response

        plain = server.Site(Root())
        general = server.Site(Root(), responseFilters=[identity])
        data = method + b" " + target + b" HTTP/1.1\r\nHost: h\r\n" + headers + b"\r\n"
        outputs = []
        for site in (plain, general):
            conn = Connection(site=site)
            conn.send(data)
            # The Date may tick between the two.
            outputs.append(re.sub(rb"Date: [^\r]*\r\n", b"", conn.transport.value()))
        return outputs

    def test_sameAsTheGeneralLoop(self):
        for target, method, headers in [
            (b"/entity", b"GET", b""),
            (b"/entity", b"HEAD", b""),
            (b"/entity", b"GET", b"Range: bytes=0-1\r\n"),
            (b"/entity", b"GET", b'If-None-Match: "v1"\r\n'),
            (b"/entity", b"HEAD", b"Range: bytes=0-1\r\n"),
            (b"/big", b"GET", b""),
            (b"/missing", b"GET", b""),
            (b"/methods", b"POST", b"Content-Length: 0\r\n"),
        ]:
            plain, general = self._both(target, method, headers)
            self.assertEqual(plain, general, (target, method, headers))
            self.assertTrue(plain.startswith(b"HTTP/1.1 "))

    def test_acceptRangesOnlyForAKnownLength(self):
        plain, general = self._both(b"/entity")
        self.assertIn(b"Accept-Ranges: bytes\r\n", plain)

    def test_customErrorHandlerOrFiltersTakeTheGeneralLoop(self):
        site = server.Site(Root())
        self.assertIs(site._plainChain, None)
        site.filterChain()
        self.assertIsNotNone(site._plainChain)
        site.errorHandler = lambda request, response: response
        site.filterChain()
        self.assertIs(site._plainChain, None)
        site.errorHandler = server.defaultErrorHandler
        site.responseFilters.append(lambda request, response: response)
        site.filterChain()
        self.assertIs(site._plainChain, None)


class _AppRequest(server.Request):
    """
    An application's own request class: a class attribute, state of its
    own set in its constructor, and a method.
    """

    flavour = "app"

    def __init__(self, *args, **kwargs):
        server.Request.__init__(self, *args, **kwargs)
        self.user = None

    def greeting(self):
        return f"{self.flavour} {self.user} {self.path}"


class _AppSite(server.Site):
    """
    A site making L{_AppRequest}s, each kept for the test to look at.
    """

    def __init__(self, resource):
        server.Site.__init__(self, resource)
        self.made = []

    def __call__(self, chanRequest, method, uri, version, contentLength, headers):
        made = _AppRequest(
            chanRequest, method, uri, version, contentLength, headers, site=self
        )
        self.made.append(made)
        return made


class _Greeter(resource.LeafResource):
    """
    Sets attributes of its own on the request, as applications do, holds it
    weakly, as web2-static does, and answers with the subclass's greeting.
    """

    def render(self, request):
        import weakref

        request.user = "ann"
        request.notes = ["seen"]
        self.ref = weakref.ref(request)
        return http.Response(200, None, request.greeting())


class RequestObjectTests(SynchronousTestCase):
    """
    Requests stay open objects in both builds (the compiled build makes
    L{server.Request}, L{http.Request} and the channel's request extension
    types with fields; see C{server.pxd}): applications subclass them and
    set attributes of their own, and the interfaces still hold.
    """

    def test_subclassAndOwnAttributes(self):
        from web2.iweb import IChanRequest, IRequest

        greeter = _Greeter()
        site = _AppSite(greeter)
        conn = Connection(site=site)
        conn.send(b"GET /x?y=1 HTTP/1.1\r\nHost: example.com\r\n\r\n")
        [response] = parseResponses(conn.output())
        self.assertEqual((response.status, response.body), (200, b"app ann /x"))
        [made] = site.made
        self.assertIs(greeter.ref(), made)
        self.assertEqual(made.notes, ["seen"])
        self.assertEqual(made.__dict__, {"user": "ann", "notes": ["seen"]})
        self.assertEqual((made.path, made.querystring), ("/x", "y=1"))
        self.assertEqual((made.host, made.port, made.scheme), ("example.com", 80, "http"))
        self.assertTrue(verifyObject(IRequest, made))
        self.assertTrue(IChanRequest.providedBy(made.chanRequest))
        # A method replaced on one request (web2-asgi does so with
        # connectionLost) is that request's alone.
        made.connectionLost = lambda reason: None
        self.assertIn("connectionLost", made.__dict__)

    def test_asteriskTarget(self):
        """
        C{OPTIONS *} has a path too: C{*}, with no query.
        """
        site = _AppSite(Root())
        conn = Connection(site=site)
        conn.send(b"OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n")
        [response] = parseResponses(conn.output())
        self.assertEqual(response.status, 200)
        [made] = site.made
        self.assertEqual((made.path, made.querystring), ("*", ""))


class DirectRequest(server.Request):
    """
    A request answered without traversal, by the L{DirectRoot} that made
    its class.
    """

    def process(self):
        self._parseURL()
        self._parseHost()
        for rewrite in self.rewrites:
            rewrite(self)
        self._finish(http.Response(200, {"x-answered": "directly"},
                                   f"{self.scheme} {self.host} {self.path}"))


class DirectRoot(Root):
    """
    A root resource that makes its site's requests (L{ISiteRoot}).
    """

    def __init__(self):
        super().__init__()
        self.sites = []

    def requestFactory(self, site, rewrites=()):
        self.sites.append(site)
        requestClass = type("DirectRequest", (DirectRequest,), {"rewrites": rewrites})
        return lambda *args: requestClass(*args, site=site)


classImplements(DirectRoot, ISiteRoot)


class SiteRootTests(SynchronousTestCase):
    """
    A root providing L{ISiteRoot} makes its site's requests; any other root
    gets L{server.Request}s, and the choice follows the site's root.
    """

    def test_rootMakesTheRequests(self):
        root = DirectRoot()
        verifyObject(ISiteRoot, root)
        site = server.Site(root)
        conn = Connection(site=site)
        for _ in range(3):
            response = conn.request("/some/where")
            self.assertEqual(response.status, 200)
            self.assertEqual(response.header("x-answered"), "directly")
            self.assertEqual(response.body, b"http example.com /some/where")
            self.assertIsNotNone(response.header("server"))
        # Asked once, not per request.
        self.assertEqual(root.sites, [site])

    def test_otherRootsMakeOrdinaryRequests(self):
        site = server.Site(Root())
        request = site(None, "GET", "/", (1, 1), 0, Headers())
        self.assertIs(type(request), server.Request)

    def test_choiceFollowsTheRoot(self):
        """
        Replacing the site's root replaces the request factory with it.
        """
        direct = DirectRoot()
        site = server.Site(Root())
        conn = Connection(site=site)
        self.assertIsNone(conn.request("/").header("x-answered"))
        site.resource = direct
        self.assertEqual(conn.request("/").header("x-answered"), "directly")
        site.resource = Root()
        self.assertIsNone(conn.request("/").header("x-answered"))

    def test_trustedProxyWrapperRewritesFirst(self):
        """
        L{TrustedProxyResource} around such a root is one too, and its
        requests are rewritten (scheme and host from the proxy) before they
        are answered; around any other root it is not.
        """
        proxies = TrustedProxies(["127.0.0.1"], fields=("for", "proto", "host"))
        wrapped = TrustedProxyResource(DirectRoot(), proxies)
        self.assertTrue(ISiteRoot.providedBy(wrapped))
        self.assertFalse(ISiteRoot.providedBy(TrustedProxyResource(Root(), proxies)))
        conn = Connection(site=server.Site(wrapped))
        response = conn.request("/x", headers=[("X-Forwarded-Proto", "https"),
                                               ("X-Forwarded-Host", "www.example.org")])
        self.assertEqual(response.body, b"https www.example.org /x")
