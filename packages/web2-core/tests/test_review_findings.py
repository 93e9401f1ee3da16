"""
Regression tests for the second-reader review of the request path: each
test names the defect it pins down.
"""

from __future__ import annotations

from twisted.trial.unittest import SynchronousTestCase

from web2 import http, resource, stream
from web2.testing import ChannelConnection


class _Held(resource.LeafResource):
    """
    Answers every method with a streaming 200 whose body the test feeds
    and finishes through C{self.body}, never reading the request body.
    """

    body = None

    def render(self, request):
        self.body = stream.ProducerStream()
        self.body.write(b"first,")
        return http.Response(200, None, self.body)

    http_POST = render


class DrainLimitDuringResponseTests(SynchronousTestCase):
    """
    channel/http.py _bodyData: passing C{maxDrainBytes} while discarding a
    body closed the connection even when the response was still being
    written, cutting it short.
    """

    def test_overLimitBodyWaitsForResponse(self):
        held = _Held()
        conn = ChannelConnection(held, maxDrainBytes=1000)
        # Expect: 100-continue answered without reading: the body that the
        # client sends anyway is discarded.
        conn.send(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        conn.send(b"x" * 3000)
        self.assertFalse(conn.closed, "closed while the response was unfinished")
        # Input is paused now: the body timeout no longer applies.
        conn.clock.advance(conn.channel.bodyTimeout + 1)
        self.assertFalse(conn.closed, "closed while the response was unfinished")
        held.body.write(b"second")
        held.body.finish()
        conn.pump()
        [response] = conn.responses()
        self.assertEqual(response.body, b"first,second")
        self.assertTrue(response.complete)
        self.assertTrue(conn.closed)


class _Plain(resource.LeafResource):
    def render(self, request):
        return http.Response(200, None, b"abcdefghij")


class PreconditionTests(SynchronousTestCase):
    """
    http.py checkPreconditions: If-Unmodified-Since on a representation
    without Last-Modified must be ignored (RFC 9110 13.1.4), not a 412.
    """

    def test_ifUnmodifiedSinceWithoutLastModified(self):
        conn = ChannelConnection(_Plain())
        response = conn.request(
            "/", headers=[("If-Unmodified-Since", "Sun, 06 Nov 1994 08:49:37 GMT")]
        )
        self.assertEqual(response.status, 200)
        self.assertEqual(response.body, b"abcdefghij")


class LingerAbortTimerTests(SynchronousTestCase):
    """
    channel/http.py _timedOut_linger: the sendTimeout abort it schedules
    was never cancelled, so every connection that lingered out kept a
    DelayedCall (and itself) alive for sendTimeout after it closed.
    """

    def test_abortTimerCancelledOnClose(self):
        from twisted.internet.interfaces import IHalfCloseableDescriptor
        from zope.interface import directlyProvides

        conn = ChannelConnection(_Plain(), lingerTimeout=5, sendTimeout=60)
        directlyProvides(conn.transport, IHalfCloseableDescriptor)
        conn.transport.loseWriteConnection = lambda: None
        conn.send(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        conn.clock.advance(6)
        self.assertTrue(conn.closed)
        conn.lose()
        self.assertEqual(conn.clock.getDelayedCalls(), [])


class RangeMethodTests(SynchronousTestCase):
    """
    filter/range.py rangefilter: Range on HEAD was honoured (206); RFC 9110
    14.2 defines range handling for GET only and requires other methods
    to ignore the field.
    """

    def test_headIgnoresRange(self):
        conn = ChannelConnection(_Plain())
        response = conn.request("/", method="HEAD", headers=[("Range", "bytes=0-3")])
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-length"), "10")
        self.assertEqual(response.header("accept-ranges"), "bytes")
        self.assertIsNone(response.header("content-range"))

    def test_getHonoursRange(self):
        conn = ChannelConnection(_Plain())
        response = conn.request("/", headers=[("Range", "bytes=0-3")])
        self.assertEqual(response.status, 206)
        self.assertEqual(response.body, b"abcd")


class DigestNonceCountTests(SynchronousTestCase):
    """
    auth.py DigestCredentialFactory.decode: the nonce count was recorded
    before the password was checked, so one forged answer with a huge
    C{nc} (no password needed) locked the real client out of its nonce.
    """

    def test_forgedCountDoesNotBurnNonce(self):
        from test_auth import FakeClock, digestAnswer, fetch, guarded

        from web2 import auth

        factory = auth.DigestCredentialFactory("SHA-256", "r", clock=FakeClock())
        conn = ChannelConnection(guarded([factory]))
        challenge = fetch(conn).header("www-authenticate")
        forged = digestAnswer(challenge, password=b"guess", nc=0xFFFFFFFF)
        self.assertEqual(fetch(conn, forged).status, 401)
        self.assertEqual(fetch(conn, digestAnswer(challenge, nc=1)).status, 200)
        # A replay of the accepted count is still refused.
        self.assertEqual(fetch(conn, digestAnswer(challenge, nc=1)).status, 401)


class ForwardedSpoofingTests(SynchronousTestCase):
    """
    proxy.py TrustedProxies.rewrite: with the defaults (both header
    families on) a Forwarded header wins whenever present.  Behind a proxy
    that only appends X-Forwarded-For (nginx's usual setup), a client's own
    Forwarded header passes through untouched and is believed whole: its
    address, host and scheme.  NOT FIXED: the fix is a decision about the
    defaults (trust one header family, named by the operator).
    """

    def test_clientForwardedBehindXForwardedProxy(self):
        from test_vhost_proxy import Named, fetch

        from web2.proxy import TrustedProxies, TrustedProxyResource

        root = TrustedProxyResource(Named("app"), TrustedProxies())
        r = fetch(root, b"GET / HTTP/1.1\r\nHost: internal\r\n"
                  b"Forwarded: for=10.1.1.1;host=evil.example\r\n"
                  b"X-Forwarded-For: 203.0.113.7\r\n\r\n")
        self.assertEqual(r.body, b"app http://internal:80 203.0.113.7")


class MoreReviewFindingsTests(SynchronousTestCase):
    """
    Findings of the second reading confirmed afterwards.
    """

    def test_absoluteTargetDoesNotSetScheme(self):
        """
        An absolute-form target's scheme is the client's claim: over plain
        HTTP the request's scheme stays http.
        """
        from web2 import resource

        class Show(resource.Resource):
            def render(self, request):
                return request.scheme

        conn = ChannelConnection(Show())
        conn.send(b"GET https://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
        [response] = conn.responses()
        self.assertEqual(response.body, b"http")

    def test_noContentLengthOn204(self):
        from web2 import http, resource

        class Empty(resource.Resource):
            def render(self, request):
                response = http.Response(204)
                response.headers.setRawHeaders("content-length", ["0"])
                return response

        conn = ChannelConnection(Empty())
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        [response] = conn.responses()
        self.assertEqual(response.status, 204)
        self.assertIsNone(response.header("content-length"))

    def test_invalidAppContentLengthDropped(self):
        """
        A garbage Content-Length set on a 304 by an application is dropped,
        not turned into an exception after the head was committed.
        """
        from web2 import http, resource

        class Bad(resource.Resource):
            def render(self, request):
                response = http.Response(304)
                response.headers.setRawHeaders("content-length", ["lots"])
                return response

        conn = ChannelConnection(Bad())
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        [response] = conn.responses()
        self.assertEqual(response.status, 304)
        self.assertIsNone(response.header("content-length"))
        self.flushLoggedErrors()


class IfRangeDateTests(SynchronousTestCase):
    """
    RFC 9110 13.1.5: an If-Range date is honoured only when Last-Modified
    is strong (at least a second before the response's Date).
    """

    def statusFor(self, lastModified):
        from web2.http_headers import generateDateTime

        class Page(resource.Resource):
            def render(self, request):
                response = http.Response(200, None, b"0123456789")
                response.headers.setHeader("last-modified", lastModified)
                return response

        conn = ChannelConnection(Page())
        stamp = generateDateTime(lastModified).encode()
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\nIf-Range: " + stamp + b"\r\n\r\n")
        [response] = conn.responses()
        return response.status

    def test_strongDateHonoured(self):
        import time

        self.assertEqual(self.statusFor(int(time.time()) - 3600), 206)

    def test_weakDateIgnored(self):
        """
        A Last-Modified not a second older than the response is weak: the
        whole representation is sent instead of a range.
        """
        import time

        self.assertEqual(self.statusFor(int(time.time()) + 5), 200)
