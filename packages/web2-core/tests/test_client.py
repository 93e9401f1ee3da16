"""
L{web2.client}'s connection protocol on an in-memory transport and a fake
clock: framing, streaming with backpressure both ways, 100-continue, every
timeout and every way a server can break an exchange.
"""

from twisted.internet import task
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from web2 import stream
from web2._wire import Limits
from web2.client import (
    BadResponse,
    BodyTimeout,
    ConnectionClosed,
    HTTP11ClientProtocol,
    RequestBodyError,
    ResponseTimeout,
)


class _Transport(StringTransport):
    aborted = False

    def abortConnection(self):
        self.aborted = True
        self.loseConnection()


class ProtocolTests(SynchronousTestCase):
    def setUp(self):
        self.clock = task.Clock()
        self.done = []
        self.protocol = self.connect()

    def connect(self, **kwargs):
        kwargs.setdefault("responseTimeout", 30)
        kwargs.setdefault("bodyTimeout", 10)
        kwargs.setdefault("continueTimeout", 1)
        protocol = HTTP11ClientProtocol(self.clock, **kwargs)
        protocol.onDone = lambda p, reusable: self.done.append(reusable)
        self.transport = _Transport()
        protocol.makeConnection(self.transport)
        return protocol

    def request(self, method="GET", headers=((b"Host", b"h"),), body=None, target="/"):
        return self.protocol.request(method, target, list(headers), body)

    def sent(self):
        data = self.transport.value()
        self.transport.clear()
        return data

    def test_simpleExchange(self):
        """
        The request goes out with its framing; the response's head gives a
        L{ClientResponse} whose stream has the body; the connection is
        reusable at the end.
        """
        d = self.request(headers=[(b"Host", b"h"), (b"X-A", b"1"), (b"Content-Length", b"99")])
        self.assertEqual(self.sent(), b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n")
        self.protocol.dataReceived(b"HTTP/1.1 200 Fine\r\nContent-Length: 5\r\nX-B: 2\r\n\r\nhel")
        response = self.successResultOf(d)
        self.assertEqual((response.code, response.reason, response.version), (200, b"Fine", (1, 1)))
        self.assertEqual(response.headers.getRawHeaders("x-b"), ["2"])
        self.assertEqual(response.stream.length, 5)  # the bytes left to read
        self.assertEqual(response.stream.read(), b"hel")
        self.protocol.dataReceived(b"lo")
        self.assertEqual(self.successResultOf(response.content()), b"lo")
        self.assertEqual(self.done, [True])
        self.assertEqual(self.protocol.exchanges, 1)
        self.assertFalse(self.transport.disconnecting)

    def test_postWithoutBodyHasContentLengthZero(self):
        self.request("POST")
        self.assertIn(b"Content-Length: 0\r\n", self.sent())

    def test_sizedBody(self):
        self.request("PUT", body=b"abcdef")
        self.assertEqual(self.sent(), b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 6\r\n\r\nabcdef")

    def test_unknownLengthIsChunked(self):
        self.request("POST", body=stream.IterableStream(iter([b"ab", b"cde"])))
        self.assertEqual(
            self.sent(),
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n",
        )

    def test_uploadBackpressure(self):
        """
        The request body is read only as fast as the transport takes it.
        """
        body = stream.ProducerStream()
        self.request("POST", body=body)
        self.sent()
        body.write(b"a" * 10)
        self.assertEqual(self.sent(), b"a\r\naaaaaaaaaa\r\n")
        producer = self.transport.producer
        producer.pauseProducing()
        body.write(b"b" * 10)
        self.assertEqual(self.sent(), b"")  # held while paused
        producer.resumeProducing()
        self.assertEqual(self.sent(), b"a\r\nbbbbbbbbbb\r\n")

    def test_uploadStallTimesOut(self):
        """
        A server that takes none of the request body for the body timeout
        ends the exchange with L{BodyTimeout}.
        """
        body = stream.ProducerStream()
        d = self.request("POST", body=body)
        self.transport.producer.pauseProducing()
        self.clock.advance(10)
        self.failureResultOf(d, BodyTimeout)
        self.assertTrue(self.transport.aborted)

    def test_longerBodyThanDeclared(self):
        body = stream.ProducerStream(length=3)
        d = self.request("PUT", body=body)
        body.write(b"abcd")
        self.failureResultOf(d, RequestBodyError)
        self.assertTrue(self.transport.aborted)

    def test_shorterBodyThanDeclared(self):
        body = stream.ProducerStream(length=3)
        d = self.request("PUT", body=body)
        body.write(b"ab")
        body.finish()
        self.failureResultOf(d, RequestBodyError)

    def test_responseBackpressure(self):
        """
        A response body nobody reads pauses the transport once the stream's
        buffer is over its limit; reading resumes it.
        """
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        response = self.successResultOf(d)
        for _ in range(5):
            self.protocol.dataReceived(b"x" * 65536)
        self.assertEqual(self.transport.producerState, "paused")
        # Paused by the reader: no body timeout runs.
        self.clock.advance(100)
        self.assertFalse(self.transport.aborted)
        while response.stream.buffered:
            response.stream.read()
        self.assertEqual(self.transport.producerState, "producing")

    def test_responseTimeout(self):
        d = self.request()
        self.clock.advance(29)
        self.assertNoResult(d)
        self.clock.advance(1)
        self.failureResultOf(d, ResponseTimeout)
        self.assertTrue(self.transport.aborted)
        self.assertEqual(self.done, [False])

    def test_bodyTimeout(self):
        """
        A server that stops sending in the middle of the body: the stream
        fails with L{BodyTimeout}, measured from the last byte received.
        """
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nab")
        response = self.successResultOf(d)
        self.clock.advance(9)
        self.protocol.dataReceived(b"c")
        self.clock.advance(9)
        self.assertFalse(self.transport.aborted)
        self.clock.advance(1)
        self.assertTrue(self.transport.aborted)
        self.failureResultOf(response.content(), BodyTimeout)

    def test_garbage(self):
        d = self.request()
        self.protocol.dataReceived(b"SSH-2.0-OpenSSH_9.0\r\n")
        f = self.failureResultOf(d, BadResponse)
        self.assertIn("status line", f.value.reason)
        self.assertTrue(self.transport.aborted)

    def test_endlessHead(self):
        self.protocol = self.connect(limits=Limits(max_header_bytes=4096))
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\n")
        for _ in range(1000):
            if self.transport.aborted:
                break
            self.protocol.dataReceived(b"X-More: yes\r\n")
        self.failureResultOf(d, BadResponse)
        self.assertLess(self.protocol._reader.buffered, 8192)

    def test_closedBeforeResponse(self):
        d = self.request()
        self.protocol.connectionLost(Failure(ConnectionLost()))
        f = self.failureResultOf(d, ConnectionClosed)
        self.assertTrue(f.value.beforeResponse)

    def test_closedInTheMiddleOfTheBody(self):
        """
        A body shorter than its Content-Length (the server closed early):
        the stream fails with L{ConnectionClosed}, after the bytes that came.
        """
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        response = self.successResultOf(d)
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(response.stream.read(), b"abc")
        self.failureResultOf(response.stream.read(), ConnectionClosed)

    def test_closeDelimitedBody(self):
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.0 200 OK\r\n\r\nall of it")
        response = self.successResultOf(d)
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.successResultOf(response.content()), b"all of it")
        self.assertEqual(self.done, [False])

    def test_closingTheBodyEarlyAborts(self):
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        response = self.successResultOf(d)
        response.stream.close()
        self.assertTrue(self.transport.aborted)
        self.assertEqual(self.done, [False])

    def test_cancelAborts(self):
        d = self.request()
        d.cancel()
        self.failureResultOf(d)
        self.assertTrue(self.transport.aborted)

    def test_connectionCloseIsNotReused(self):
        self.request()
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(self.done, [False])
        self.assertTrue(self.transport.disconnecting)

    def test_extraBytesAfterResponse(self):
        """
        A server sending more than its Content-Length: the response ends at
        the length and the connection is not reused.
        """
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokEXTRA")
        self.assertEqual(self.successResultOf(self.successResultOf(d).content()), b"ok")
        self.assertEqual(self.done, [False])

    def test_headResponse(self):
        d = self.request("HEAD")
        self.protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
        response = self.successResultOf(d)
        self.assertEqual(self.successResultOf(response.content()), b"")
        self.assertEqual(self.done, [True])

    def test_expectContinue(self):
        """
        With C{Expect: 100-continue} the body waits for the server's 100.
        """
        d = self.request("PUT", headers=[(b"Host", b"h"), (b"Expect", b"100-continue")], body=b"data")
        self.assertTrue(self.sent().endswith(b"Expect: 100-continue\r\nContent-Length: 4\r\n\r\n"))
        self.protocol.dataReceived(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.assertEqual(self.sent(), b"data")
        self.protocol.dataReceived(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(self.successResultOf(d).code, 201)
        self.assertEqual(self.done, [True])

    def test_expectContinueFinalAnswerFirst(self):
        """
        A final answer instead of a 100: the body is never sent (its stream
        is closed) and the connection is not reused.
        """
        body = stream.ProducerStream(length=4)
        d = self.request("PUT", headers=[(b"Host", b"h"), (b"Expect", b"100-continue")], body=body)
        self.sent()
        self.protocol.dataReceived(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(self.successResultOf(d).code, 413)
        self.assertTrue(body.closed)
        self.assertEqual(self.sent(), b"")
        self.assertEqual(self.done, [False])

    def test_expectContinueTimeout(self):
        self.request("PUT", headers=[(b"Host", b"h"), (b"Expect", b"100-continue")], body=b"data")
        self.sent()
        self.clock.advance(1)
        self.assertEqual(self.sent(), b"data")

    def test_responseBeforeTheUploadEnds(self):
        """
        A server answering before it read the whole request body: the rest
        of the upload is dropped and the connection is not reused.
        """
        body = stream.ProducerStream()
        d = self.request("POST", body=body)
        body.write(b"abc")
        self.protocol.dataReceived(b"HTTP/1.1 413 Too Large\r\nContent-Length: 0\r\n\r\n")
        self.assertEqual(self.successResultOf(d).code, 413)
        self.assertTrue(body.closed)
        self.assertEqual(self.done, [False])

    def test_headerInjectionRefused(self):
        d = self.request(headers=[(b"Host", b"h"), (b"X", b"a\r\nEvil: 1")])
        self.failureResultOf(d, ValueError)
        self.assertEqual(self.sent(), b"")

    def test_busy(self):
        self.request()
        self.failureResultOf(self.request(), RuntimeError)

    def test_interimResponsesSkipped(self):
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n"
                                   b"HTTP/1.1 204 No Content\r\n\r\n")
        self.assertEqual(self.successResultOf(d).code, 204)

    def test_switchingProtocols(self):
        """
        A request asking to upgrade, answered 101: the response carries a
        tunnel, the socket is not read until a receiver is connected, and
        the bytes after the head reach it first.
        """
        d = self.request(headers=[(b"Host", b"h"), (b"Connection", b"Upgrade"), (b"Upgrade", b"x")])
        self.protocol.dataReceived(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\nearly")
        response = self.successResultOf(d)
        self.assertEqual(response.code, 101)
        self.assertEqual(self.transport.producerState, "paused")
        self.assertEqual(self.done, [False])
        got = []

        class Receiver:
            def dataReceived(self, data):
                got.append(data)

            def connectionLost(self, reason):
                got.append("lost")

        response.tunnel.connect(Receiver())
        self.assertEqual(self.transport.producerState, "producing")
        self.protocol.dataReceived(b"later")
        response.tunnel.write(b"up")
        self.assertTrue(self.sent().endswith(b"up"))
        self.protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(got, [b"early", b"later", "lost"])

    def test_unaskedSwitchIsBad(self):
        d = self.request()
        self.protocol.dataReceived(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n")
        self.failureResultOf(d, BadResponse)

    def test_unsolicitedDataOnIdleConnection(self):
        self.protocol.dataReceived(b"HTTP/1.1 408 Request Timeout\r\n\r\n")
        self.assertTrue(self.transport.aborted)

    def test_cancelledRequestNotReported(self):
        """
        Cancelling fails the Deferred with CancelledError, not a second error.
        """
        from twisted.internet.defer import CancelledError

        d = self.request()
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.done, [False])


class _Endpoint:
    """
    An endpoint whose connections the test makes succeed or fail.
    """

    def __init__(self, clock):
        self.clock = clock
        self.attempts = []

    def connect(self, factory):
        from twisted.internet import defer

        d = defer.Deferred()
        self.attempts.append((factory, d))
        return d

    def succeed(self, index=-1):
        factory, d = self.attempts[index]
        protocol = factory.buildProtocol(None)
        protocol.makeConnection(_Transport())
        d.callback(protocol)
        return protocol


class PoolTests(SynchronousTestCase):
    def setUp(self):
        from web2.client import HTTPConnectionPool

        self.clock = task.Clock()
        self.pool = HTTPConnectionPool(
            self.clock, lambda: HTTP11ClientProtocol(self.clock), maxPerHost=2,
            idleTimeout=30, connectTimeout=5)
        self.endpoint = _Endpoint(self.clock)
        self.key = ("http", "h", 80)

    def finish(self, protocol, reusable=True):
        d = protocol.request("GET", "/", [(b"Host", b"h")])
        protocol.dataReceived(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                              + (b"" if reusable else b"Connection: close\r\n") + b"\r\n")
        return self.successResultOf(d)

    def test_boundAndWaiters(self):
        """
        Past C{maxPerHost}, requests wait; a connection coming back goes to
        the first waiter.
        """
        first = self.pool.connection(self.key, self.endpoint)
        second = self.pool.connection(self.key, self.endpoint)
        third = self.pool.connection(self.key, self.endpoint)
        self.assertEqual(len(self.endpoint.attempts), 2)
        self.assertEqual(self.pool.stats(self.key), (2, 0, 1))
        protocol = self.endpoint.succeed(0)
        self.assertIs(self.successResultOf(first), protocol)
        self.assertNoResult(third)
        self.finish(protocol)
        self.assertIs(self.successResultOf(third), protocol)
        self.assertNoResult(second)

    def test_failedConnectServesTheNextWaiter(self):
        from twisted.internet.error import ConnectionRefusedError

        from web2.client import ConnectError

        first = self.pool.connection(self.key, self.endpoint)
        self.pool.connection(self.key, self.endpoint)
        third = self.pool.connection(self.key, self.endpoint)
        self.endpoint.attempts[0][1].errback(ConnectionRefusedError())
        self.failureResultOf(first, ConnectError)
        self.assertEqual(len(self.endpoint.attempts), 3)  # a new attempt for the waiter
        protocol = self.endpoint.succeed(2)
        self.assertIs(self.successResultOf(third), protocol)

    def test_connectTimeout(self):
        from web2.client import ConnectTimeout

        d = self.pool.connection(self.key, self.endpoint)
        self.clock.advance(5)
        self.failureResultOf(d, ConnectTimeout)
        self.assertEqual(self.pool.stats(self.key), (0, 0, 0))

    def test_cancelledWaiterLeavesTheQueue(self):
        self.pool.connection(self.key, self.endpoint)
        self.pool.connection(self.key, self.endpoint)
        waiter = self.pool.connection(self.key, self.endpoint)
        waiter.cancel()
        self.failureResultOf(waiter)
        self.assertEqual(self.pool.stats(self.key), (2, 0, 0))

    def test_idleReuseAndExpiry(self):
        d = self.pool.connection(self.key, self.endpoint)
        protocol = self.endpoint.succeed()
        self.successResultOf(d)
        self.finish(protocol)
        self.assertEqual(self.pool.stats(self.key), (1, 1, 0))
        self.assertIs(self.successResultOf(self.pool.connection(self.key, self.endpoint)), protocol)
        self.finish(protocol)
        self.clock.advance(30)
        self.assertTrue(protocol.transport.disconnecting)
        self.assertEqual(self.pool.stats(self.key)[1], 0)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.pool.stats(self.key), (0, 0, 0))

    def test_serverClosingAnIdleConnection(self):
        d = self.pool.connection(self.key, self.endpoint)
        protocol = self.endpoint.succeed()
        self.successResultOf(d)
        self.finish(protocol)
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.pool.stats(self.key), (0, 0, 0))
        self.pool.connection(self.key, self.endpoint)
        self.assertEqual(len(self.endpoint.attempts), 2)

    def test_notReusableIsForgotten(self):
        d = self.pool.connection(self.key, self.endpoint)
        protocol = self.endpoint.succeed()
        self.successResultOf(d)
        self.finish(protocol, reusable=False)
        self.assertEqual(self.pool.stats(self.key), (0, 0, 0))
        protocol.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.pool.stats(self.key), (0, 0, 0))
