"""
Tests for L{web2.channel}: persistence, pipelining order, bodies in both
directions, 100-continue, protocol errors, timeouts, caps and draining, on a
StringTransport driven by a Clock.
"""

from __future__ import annotations

from _core_helpers import Connection
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from web2 import http, resource, stream
from web2.channel.http import HTTPChannelRequest
from web2.iweb import IChanRequest


class Hello(resource.Resource):
    addSlash = True

    def render(self, request):
        return http.Response(200, None, b"hello " + request.path.encode())


class Echo(resource.LeafResource):
    """
    Reads the whole body, then answers with it.
    """

    def http_POST(self, request):
        return stream.readAll(request.stream).addCallback(
            lambda body: http.Response(200, None, body)
        )

    http_PUT = http_POST


class Deferring(resource.LeafResource):
    """
    Answers only when the test fires C{pending}.
    """

    def __init__(self):
        self.pending = []

    def render(self, request):
        d = defer.Deferred()
        self.pending.append(d)
        return d

    http_PUT = render


class Streaming(resource.LeafResource):
    """
    A response of unknown length.
    """

    def render(self, request):
        body = stream.ProducerStream()
        body.write(b"part one,")
        body.write(b"part two")
        body.finish()
        return http.Response(200, None, body)


class Root(resource.Resource):
    addSlash = True
    child_hello = Hello()
    child_echo = Echo()
    child_stream = Streaming()

    def __init__(self):
        self.child_slow = Deferring()

    def render(self, request):
        return b"root"


def get(path="/", extra=b"", version=b"1.1"):
    return b"GET " + path.encode() + b" HTTP/" + version + b"\r\nHost: example.com\r\n" + extra + b"\r\n"


class ProtocolNegotiationTests(SynchronousTestCase):
    def test_factoryOffersHTTP11(self):
        """
        Twisted's TLS layer asks the factory it wraps which ALPN protocols
        it speaks; without an answer it refuses clients that offer ALPN.
        The real handshakes are in the cross tests (test_tls_alpn.py).
        """
        from twisted.internet.interfaces import IProtocolNegotiationFactory

        factory = Connection(Root()).factory
        self.assertTrue(verifyObject(IProtocolNegotiationFactory, factory))
        self.assertEqual(factory.acceptableProtocols(), [b"http/1.1"])


class ChannelRequestInterfaceTests(SynchronousTestCase):
    def test_providesIChanRequest(self):
        conn = Connection(Root())
        from web2._wire import RequestReader

        reader = RequestReader()
        reader.receive(get())
        head = reader.next_event()
        self.assertTrue(verifyObject(IChanRequest, HTTPChannelRequest(conn.channel, head)))


class ChannelInterfaceTests(SynchronousTestCase):
    """
    The channel is a Twisted protocol without subclassing Twisted's
    L{Protocol} (so that the compiled build can make it an extension
    type): what Twisted and its wrappers (TLS, the endpoints) expect of one.
    """

    def test_protocolInterfaces(self):
        from twisted.internet.interfaces import (
            IHalfCloseableProtocol,
            ILoggingContext,
            IProtocol,
        )

        from web2.channel.http import HTTPChannel

        channel = Connection(resource.Resource()).channel
        for interface in (IProtocol, IHalfCloseableProtocol, ILoggingContext):
            self.assertTrue(verifyObject(interface, channel))
            self.assertTrue(interface.implementedBy(HTTPChannel))
        self.assertEqual(channel.logPrefix(), "HTTPChannel")
        self.assertEqual(channel.connected, 1)
        self.assertIsNotNone(channel.transport)
        self.assertIsNotNone(channel.factory)

    def test_madeWithoutAFactory(self):
        """
        A channel made by hand (as C{Factory.forProtocol} would) has its
        defaults, and connects.
        """
        from twisted.internet import task
        from twisted.internet.testing import StringTransport

        from web2 import server
        from web2.channel.http import HTTPChannel

        channel = HTTPChannel(server.Site(resource.Resource()), task.Clock())
        self.assertEqual((channel.connected, channel.transport, channel.factory),
                         (0, None, None))
        transport = StringTransport()
        channel.makeConnection(transport)
        self.assertEqual((channel.connected, channel.transport), (1, transport))
        channel.dataReceived(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 "))


class PersistenceTests(SynchronousTestCase):
    def test_keepAlive11(self):
        """
        Two HTTP/1.1 requests on one connection get two responses and the
        connection stays open.
        """
        conn = Connection(Root())
        conn.send(get("/hello") + get("/hello/"))
        responses = conn.responses()
        self.assertEqual([r.status for r in responses], [301, 200])
        self.assertEqual(responses[1].body, b"hello /hello/")
        self.assertEqual(responses[0].header("location"), "http://example.com/hello/")
        self.assertFalse(conn.closed)

    def test_connectionClose(self):
        conn = Connection(Root())
        conn.send(get("/", b"Connection: close\r\n"))
        [response] = conn.responses()
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(conn.closed)

    def test_http10CloseByDefault(self):
        conn = Connection(Root())
        conn.send(b"GET / HTTP/1.0\r\n\r\n" + get("/"))
        responses = conn.responses()
        self.assertEqual(len(responses), 1)
        self.assertEqual(responses[0].version, "HTTP/1.1")
        self.assertEqual(responses[0].header("connection"), "close")
        self.assertTrue(conn.closed)

    def test_http10KeepAlive(self):
        conn = Connection(Root())
        conn.send(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        [response] = conn.responses()
        self.assertEqual(response.header("connection"), "keep-alive")
        self.assertFalse(conn.closed)

    def test_http10UnknownLengthCloses(self):
        """
        A response of unknown length to an HTTP/1.0 client is delimited by
        closing the connection, even when keep-alive was asked for.
        """
        conn = Connection(Root())
        conn.send(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        out = conn.output()
        self.assertNotIn(b"chunked", out.lower())
        self.assertTrue(out.endswith(b"part one,part two"))
        self.assertTrue(conn.closed)

    def test_chunkedResponse(self):
        conn = Connection(Root())
        conn.send(get("/stream"))
        [response] = conn.responses()
        self.assertEqual(response.header("transfer-encoding"), "chunked")
        self.assertIsNone(response.header("content-length"))
        self.assertEqual(response.body, b"part one,part two")

    def test_headNoBody(self):
        conn = Connection(Root())
        conn.send(b"HEAD /hello/ HTTP/1.1\r\nHost: x\r\n\r\n" + get("/hello/"))
        out = conn.output()
        first, _, rest = out.partition(b"\r\n\r\n")
        self.assertIn(b"Content-Length: 13", first)
        self.assertTrue(rest.startswith(b"HTTP/1.1 200"))

    def test_serverAndDate(self):
        conn = Connection(Root())
        conn.send(get("/"))
        [response] = conn.responses()
        self.assertTrue(response.header("server").startswith("web2/"))
        self.assertTrue(response.header("date").endswith("GMT"))


class PipeliningTests(SynchronousTestCase):
    def test_orderKeptWhenFirstIsSlow(self):
        """
        Pipelined requests are answered in order: the second waits for the
        first's Deferred.
        """
        root = Root()
        conn = Connection(root)
        conn.send(get("/slow") + get("/hello/"))
        self.assertEqual(conn.output(), b"")
        root.child_slow.pending[0].callback(http.Response(200, None, b"slow"))
        responses = conn.responses()
        self.assertEqual([r.body for r in responses], [b"slow", b"hello /hello/"])

    def test_readAheadBounded(self):
        """
        While a response is pending, pipelined bytes beyond
        C{maxBufferedBytes} pause the transport; finishing resumes it.
        """
        root = Root()
        conn = Connection(root, maxBufferedBytes=100)
        conn.send(get("/slow") + get("/hello/") * 10)
        self.assertEqual(conn.transport.producerState, "paused")
        root.child_slow.pending[0].callback(http.Response(200, None, b"slow"))
        self.assertEqual(len(conn.responses()), 11)
        self.assertEqual(conn.transport.producerState, "producing")

    def test_sixteenDeep(self):
        conn = Connection(Root())
        conn.send(b"".join(get(f"/hello/?n={i}") for i in range(16)))
        self.assertEqual(len(conn.responses()), 16)

    def test_errorAfterGoodRequestWaitsItsTurn(self):
        """
        A malformed request pipelined behind a slow good one is answered
        with 400 only after the good response.
        """
        root = Root()
        conn = Connection(root)
        conn.send(get("/slow") + b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        self.assertEqual(conn.output(), b"")
        root.child_slow.pending[0].callback(http.Response(200, None, b"slow"))
        responses = conn.responses()
        self.assertEqual([r.status for r in responses], [200, 400])
        self.assertTrue(conn.closed)


class RequestBodyTests(SynchronousTestCase):
    def test_contentLengthBody(self):
        conn = Connection(Root())
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhel")
        self.assertEqual(conn.output(), b"")
        conn.send(b"lo")
        [response] = conn.responses()
        self.assertEqual(response.body, b"hello")

    def test_chunkedBody(self):
        conn = Connection(Root())
        conn.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n2;ext=1\r\nde\r\n0\r\nX-Trailer: 1\r\n\r\n"
        )
        [response] = conn.responses()
        self.assertEqual(response.body, b"abcde")

    def test_unreadBodyDrained(self):
        """
        A GET answered without reading its body keeps the connection in
        step: the body is discarded and the next request is answered.
        """
        conn = Connection(Root())
        conn.send(
            b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789" + get("/hello/")
        )
        self.assertEqual([r.status for r in conn.responses()], [200, 200])
        self.assertFalse(conn.closed)

    def test_unreadHugeBodyCloses(self):
        """
        A body larger than C{maxDrainBytes} that nobody reads closes the
        connection instead of being drained forever.
        """
        conn = Connection(Root(), maxDrainBytes=100)
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        conn.send(b"x" * 1000)
        self.assertEqual([r.status for r in conn.responses()], [200])
        self.assertTrue(conn.closed)

    def test_bodyBackpressure(self):
        """
        A body nobody reads pauses the transport once the request stream's
        buffer is full.
        """
        root = Root()
        conn = Connection(root)
        conn.send(b"PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\n")
        for _ in range(20):
            conn.send(b"x" * 65536)
        self.assertEqual(conn.transport.producerState, "paused")


class ContinueTests(SynchronousTestCase):
    def test_continueSentOnRead(self):
        conn = Connection(Root())
        conn.send(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        self.assertEqual(conn.output(), b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.send(b"ok")
        responses = conn.responses()
        self.assertEqual([r.status for r in responses], [100, 200])

    def test_noContinueWithoutRead(self):
        """
        A response sent before the body was asked for sends no 100 and
        closes the connection.
        """
        conn = Connection(Root())
        conn.send(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n"
        )
        [response] = conn.responses()
        self.assertEqual(response.status, 405)
        self.assertEqual(response.header("connection"), "close")

    def test_noContinueTo10(self):
        conn = Connection(Root())
        conn.send(b"POST /echo HTTP/1.0\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\nok")
        self.assertEqual([r.status for r in conn.responses()], [200])

    def test_unknownExpectation(self):
        conn = Connection(Root())
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\n\r\n")
        [response] = conn.responses()
        self.assertEqual(response.status, 417)


class ProtocolErrorTests(SynchronousTestCase):
    def assertError(self, data, status, **factoryArgs):
        conn = Connection(Root(), **factoryArgs)
        conn.send(data)
        [response] = conn.responses()
        self.assertEqual(response.status, status)
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(conn.closed)
        return response

    def test_badRequestLine(self):
        self.assertError(b"GARBAGE\r\n\r\n", 400)

    def test_http2(self):
        self.assertError(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505)

    def test_missingHost(self):
        self.assertError(b"GET / HTTP/1.1\r\n\r\n", 400)

    def test_clAndTe(self):
        self.assertError(
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
            400,
        )

    def test_uriTooLong(self):
        self.assertError(b"GET /" + b"a" * 10000 + b" HTTP/1.1\r\n", 414)

    def test_headersTooLarge(self):
        self.assertError(
            b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-A: " + b"a" * 20000 + b"\r\n\r\n", 431
        )

    def test_bodyTooLarge(self):
        from web2._wire import Limits

        self.assertError(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n",
            413,
            limits=Limits(max_body_size=100),
        )

    def test_unsupportedTransferCoding(self):
        self.assertError(
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501
        )

    def test_badChunkMidBody(self):
        """
        A malformed chunk after the request started fails the request's
        body stream and answers 400.
        """
        conn = Connection(Root())
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\nzz\r\n")
        [response] = conn.responses()
        self.assertEqual(response.status, 400)
        self.assertTrue(conn.closed)
        self.flushLoggedErrors()


class TimeoutTests(SynchronousTestCase):
    def test_slowHeaders(self):
        """
        A client trickling its head is answered 408 after headerTimeout.
        """
        conn = Connection(Root(), headerTimeout=10)
        conn.send(b"GET / HTTP/1.1\r\n")
        for _ in range(5):
            conn.clock.advance(3)
            conn.send(b"X-A: b\r\n")
        self.assertTrue(conn.closed)
        [response] = conn.responses()
        self.assertEqual(response.status, 408)

    def test_idleClose(self):
        conn = Connection(Root(), idleTimeout=30)
        conn.send(get("/"))
        conn.clock.advance(29)
        self.assertFalse(conn.closed)
        conn.clock.advance(2)
        self.assertTrue(conn.closed)
        self.assertEqual(len(conn.responses()), 1)

    def test_idleResetByRequest(self):
        conn = Connection(Root(), idleTimeout=30)
        conn.send(get("/"))
        conn.clock.advance(20)
        conn.send(get("/"))
        conn.clock.advance(20)
        self.assertFalse(conn.closed)
        conn.clock.advance(11)
        self.assertTrue(conn.closed)

    def test_bodyStall(self):
        conn = Connection(Root(), bodyTimeout=15)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        conn.clock.advance(16)
        self.assertTrue(conn.closed)
        [response] = conn.responses()
        self.assertEqual(response.status, 408)

    def test_bodyTooSlow(self):
        """
        A body trickled a byte at a time, never silent for bodyTimeout, is
        still cut off with 408 once it falls below minBodyRate: after
        bodyTimeout seconds each minBodyRate bytes buy one more second.
        """
        conn = Connection(Root(), bodyTimeout=10, minBodyRate=100)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        steps = 0
        while not conn.closed and steps < 10:
            conn.clock.advance(9)
            conn.send(b"x")
            steps += 1
        self.assertTrue(conn.closed)
        self.assertEqual(steps, 2)
        [response] = conn.responses()
        self.assertEqual(response.status, 408)
        self.assertIn(b"too slow", response.body)

    def test_steadyBodyWithinRate(self):
        """
        A long upload above minBodyRate is never cut off, however long it
        takes in all; with the rule off, a trickle is bounded only by the
        silence timeout.
        """
        conn = Connection(Root(), bodyTimeout=10, minBodyRate=100)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 24000\r\n\r\n")
        for _ in range(120):
            conn.clock.advance(1)
            conn.send(b"y" * 200)
        self.assertFalse(conn.closed)
        [response] = conn.responses()
        self.assertEqual((response.status, response.body), (200, b"y" * 24000))

        conn = Connection(Root(), bodyTimeout=10, minBodyRate=0)
        conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
        for _ in range(20):
            conn.clock.advance(9)
            conn.send(b"z")
        self.assertFalse(conn.closed)

    def test_bodyPausedByTheApplicationIsNotTimed(self):
        """
        While the application leaves the body unread (the channel has
        paused the socket), neither the silence nor the rate rule runs:
        the client is not the one being slow.  Reading again restarts the
        count.
        """
        held = []

        class Holder(resource.LeafResource):
            def http_POST(self, request):
                d = defer.Deferred()
                held.append((request, d))
                return d

        conn = Connection(Holder(), bodyTimeout=10, minBodyRate=100)
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n")
        conn.send(b"a" * 300000)
        self.assertTrue(conn.channel._bodyPaused)
        conn.clock.advance(1000)
        self.assertFalse(conn.closed)
        request, d = held[0]
        failures = []
        stream.readStream(request.stream, lambda data: None).addErrback(failures.append)
        conn.clock.advance(11)
        self.assertTrue(conn.closed)
        [response] = conn.responses()
        self.assertEqual(response.status, 408)
        # The application's read learns that the body will not come.
        self.assertEqual(len(failures), 1)

    def test_slowHandlerNotTimedOut(self):
        root = Root()
        conn = Connection(root, idleTimeout=5, bodyTimeout=5, headerTimeout=5)
        conn.send(get("/slow"))
        conn.clock.advance(100)
        self.assertFalse(conn.closed)
        root.child_slow.pending[0].callback(b"done")
        self.assertEqual([r.body for r in conn.responses()], [b"done"])

    def test_pipelinedPartialHeadTimedAsAHead(self):
        """
        A head that arrives in part behind a pipelined request answered at
        once must be completed within headerTimeout, not idleTimeout.
        """
        conn = Connection(Root(), headerTimeout=5, idleTimeout=60)
        conn.send(get("/") + b"GET / HTTP/1.1\r\nHost: x\r\n")
        self.assertEqual(conn.channel._phase, "head")
        conn.clock.advance(6)
        self.assertTrue(conn.closed)
        self.assertEqual([r.status for r in conn.responses()], [200, 408])

    def test_pipelinedPartialHeadAfterAsyncResponse(self):
        """
        The same when the request before it is answered later, outside the
        read that brought the bytes.
        """
        root = Root()
        conn = Connection(root, headerTimeout=5, idleTimeout=60)
        conn.send(get("/slow") + b"GET / HTTP/1.1\r\nHost: x\r\n")
        conn.clock.advance(100)
        root.child_slow.pending[0].callback(b"done")
        self.assertEqual(conn.channel._phase, "head")
        conn.clock.advance(6)
        self.assertTrue(conn.closed)
        self.assertEqual([r.status for r in conn.responses()], [200, 408])

    def test_idleAfterPipeline(self):
        """
        After a whole pipeline is answered the connection is idle, and
        idleTimeout (not headerTimeout) bounds the wait for the next
        request.
        """
        conn = Connection(Root(), headerTimeout=5, idleTimeout=30)
        conn.send(get("/") * 4)
        self.assertEqual(len(conn.responses()), 4)
        self.assertEqual(conn.channel._phase, "idle")
        conn.clock.advance(20)
        self.assertFalse(conn.closed)
        conn.clock.advance(11)
        self.assertTrue(conn.closed)

    def test_silentConnection(self):
        conn = Connection(Root(), headerTimeout=5)
        conn.clock.advance(6)
        self.assertTrue(conn.closed)


class CapAndDrainTests(SynchronousTestCase):
    def test_connectionCap(self):
        from twisted.internet import address
        from twisted.internet.testing import StringTransport

        conn = Connection(Root(), maxConnections=1)
        extra = conn.factory.buildProtocol(address.IPv4Address("TCP", "127.0.0.1", 1))
        transport = StringTransport()
        extra.makeConnection(transport)
        self.assertTrue(transport.value().startswith(b"HTTP/1.1 503 "))
        self.assertIn(b"Retry-After: ", transport.value())

    def test_drainIdleAndBusy(self):
        root = Root()
        busy = Connection(root)
        idle = Connection(site=busy.factory.site)
        # share one factory
        idle.channel.factory._channelClosed(idle.channel)
        busy.send(get("/slow"))
        d = busy.factory.drain(10)
        self.assertNoResult(d)
        root.child_slow.pending[0].callback(b"bye")
        [response] = busy.responses()
        self.assertEqual(response.header("connection"), "close")
        self.assertTrue(busy.closed)
        busy.lose()
        self.successResultOf(d)

    def test_drainAbortsAfterTimeout(self):
        root = Root()
        conn = Connection(root)
        conn.send(get("/slow"))
        d = conn.factory.drain(3)
        conn.clock.advance(4)
        self.assertTrue(conn.transport.disconnecting)
        self.assertNoResult(d)
        conn.lose()
        self.successResultOf(d)


class PeerHalfCloseTests(SynchronousTestCase):
    def test_closeWithoutLingerAfterPeerHalfClose(self):
        """
        When the client has already shut its side, the connection closes
        as soon as the response is written, with no linger timer left.
        """
        from twisted.internet.interfaces import IHalfCloseableDescriptor
        from zope.interface import directlyProvides

        root = Root()
        conn = Connection(root)
        directlyProvides(conn.transport, IHalfCloseableDescriptor)
        conn.transport.loseWriteConnection = lambda: None
        conn.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n\r\n")
        conn.channel.readConnectionLost()
        self.assertFalse(conn.transport.disconnecting)
        root.child_slow.pending[0].callback(b"late answer")
        self.assertEqual([r.body for r in conn.responses()], [b"late answer"])
        self.assertTrue(conn.transport.disconnecting)
        self.assertEqual(conn.clock.getDelayedCalls(), [])

    def test_lingerWhenPeerStillOpen(self):
        """
        Without the peer's half-close, the channel half-closes and lingers,
        bounded by lingerTimeout.
        """
        from twisted.internet.interfaces import IHalfCloseableDescriptor
        from zope.interface import directlyProvides

        conn = Connection(Root(), lingerTimeout=5)
        directlyProvides(conn.transport, IHalfCloseableDescriptor)
        halfClosed = []
        conn.transport.loseWriteConnection = lambda: halfClosed.append(True)
        # The server, not the client, decides to close (a protocol error):
        # the client may still be sending, so the channel lingers.
        conn.send(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")
        self.assertEqual(halfClosed, [True])
        self.assertFalse(conn.transport.disconnecting)
        conn.clock.advance(6)
        self.assertTrue(conn.transport.disconnecting)


class ClientCloseTests(SynchronousTestCase):
    def test_clientAskedToCloseNoLinger(self):
        """
        A client that asked to close and sent nothing more gets an
        immediate close: no half-close, no linger timer.
        """
        from twisted.internet.interfaces import IHalfCloseableDescriptor
        from zope.interface import directlyProvides

        conn = Connection(Root())
        directlyProvides(conn.transport, IHalfCloseableDescriptor)
        halfClosed = []
        conn.transport.loseWriteConnection = lambda: halfClosed.append(True)
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(halfClosed, [])
        self.assertTrue(conn.transport.disconnecting)
        self.assertEqual(conn.clock.getDelayedCalls(), [])


class ReasonPhraseTests(SynchronousTestCase):
    def reasonFor(self, reason):
        class Custom(resource.Resource):
            def render(self, request):
                response = http.Response(200, None, b"x")
                response.reason = reason
                return response

        conn = Connection(Custom())
        conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        return conn.output().split(b"\r\n", 1)[0]

    def test_customReason(self):
        self.assertEqual(self.reasonFor("Everything Fine"), b"HTTP/1.1 200 Everything Fine")

    def test_customReasonBytes(self):
        """
        A reason phrase given as C{bytes}, as web2-wsgi passes a WSGI
        application's (it used to be dropped: C{HTTP/1.1 299 }).
        """
        self.assertEqual(self.reasonFor(b"Custom Reason"), b"HTTP/1.1 200 Custom Reason")
        self.assertEqual(self.reasonFor(b"OK\r\nSet-Cookie: x=1"), b"HTTP/1.1 200 OK")

    def test_injectedReasonDropped(self):
        """
        A reason phrase that would split the response is replaced by the
        registered one.
        """
        self.assertEqual(self.reasonFor("OK\r\nSet-Cookie: x=1"), b"HTTP/1.1 200 OK")


class SendfileWaitTests(SynchronousTestCase):
    def fileAndFullPipe(self):
        """
        A 1,000-byte file open for reading and the write end of a pipe that
        is full, so that sendfile meets EAGAIN: C{(fileno, pipe)}.
        """
        import os
        import tempfile

        fd, path = tempfile.mkstemp()
        os.write(fd, b"x" * 1000)
        os.close(fd)
        self.addCleanup(os.unlink, path)
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        os.set_blocking(w, False)
        try:
            while True:
                os.write(w, b"y" * 65536)
        except BlockingIOError:
            pass
        f = open(path, "rb")
        self.addCleanup(f.close)
        return f.fileno(), w

    def test_noCopyWhenSocketFull(self):
        """
        When the socket is full, the sendfile producer asks the transport to
        watch for writability instead of copying bytes through Python.
        """
        from twisted.internet.task import Clock

        from web2.channel.http import _SendfileProducer

        class Transport:
            writes = []
            started = []

            def write(self, data):
                self.writes.append(data)

            def startWriting(self):
                self.started.append(True)

            def unregisterProducer(self):
                pass

        class Channel:
            transport = Transport()
            sendTimeout = 60
            reactor = Clock()

            def _outputMayHaveDrained(self):
                pass

        fileno, pipe = self.fileAndFullPipe()
        producer = _SendfileProducer(Channel(), pipe, fileno, 0, 1000, b"")
        producer.resumeProducing()
        self.assertEqual(Channel.transport.started, [True])
        self.assertEqual(Channel.transport.writes, [])
        producer._cancelTimers()

    def test_sendfileStallTimeout(self):
        """
        A file response whose client stops reading fails with
        ConnectionLost once the socket has not drained for sendTimeout; a
        drain in the meantime starts the count again, with one timer
        throughout rather than one per wait.
        """
        from twisted.internet.error import ConnectionLost
        from twisted.internet.task import Clock

        from web2.channel.http import _SendfileProducer

        clock = Clock()

        class Transport:
            dataBuffer = b""
            _tempDataBuffer = ()

            def write(self, data):
                pass

            def startWriting(self):
                pass

            def unregisterProducer(self):
                pass

        class Channel:
            transport = Transport()
            sendTimeout = 60
            reactor = clock

            def _outputMayHaveDrained(self):
                pass

            def _unregisterProducer(self):
                self.transport.unregisterProducer()

        fileno, pipe = self.fileAndFullPipe()
        producer = _SendfileProducer(Channel(), pipe, fileno, 0, 1000, b"")
        failures = []
        producer.done.addErrback(failures.append)
        producer.resumeProducing()
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(59)
        producer.resumeProducing()  # drained a little, full again
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(2)
        self.assertEqual(failures, [])
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(58)
        self.assertEqual(len(failures), 1)
        self.assertIsInstance(failures[0].value, ConnectionLost)
        self.assertEqual(clock.getDelayedCalls(), [])
