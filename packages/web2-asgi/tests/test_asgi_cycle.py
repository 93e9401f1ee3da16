"""
Tests of one ASGI http cycle in memory: a real channel and site over a
StringTransport, the application driven by the Twisted runner with a
Clock, so every step is deterministic.  Request bodies at the
application's pace, responses (whole, streamed, from a file), backpressure
both ways, the client leaving, and every way an application can fail.
"""

from __future__ import annotations

import gc
import os
import types

import _asgi_helpers
from _asgi_helpers import Connection, tempPath
from twisted.internet import defer
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase

from web2.asgi import ASGIProtocolError, ClientDisconnected


def respond(body=b"ok", headers=(), status=200):
    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": status,
                    "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})
    return app



def _madeByARequest(thing) -> bool:
    """
    Whether C{thing} is of the kinds of object answering a request makes
    (web2's, Twisted's, asyncio's, a coroutine or a frame), not, say, a
    class.
    """
    module = getattr(type(thing), "__module__", "") or ""
    return (module.startswith(("web2", "twisted", "asyncio", "_asyncio"))
            or isinstance(thing, (types.CoroutineType, types.FrameType)))


class LogCapture:
    """
    The log events of the web2.asgi namespace while a test runs.
    """

    def __init__(self, case):
        self.events = []
        globalLogPublisher.addObserver(self._observe)
        case.addCleanup(globalLogPublisher.removeObserver, self._observe)

    def _observe(self, event):
        if event.get("log_namespace", "").startswith("web2.asgi"):
            self.events.append(event)

    @property
    def levels(self):
        return [e["log_level"].name for e in self.events]


class ResponseTests(SynchronousTestCase):

    def test_wholeResponse(self):
        """
        One body message: the response goes out with its length, and the
        application's headers (names lower-cased on the way in).
        """
        app = respond(b"hello", [(b"Content-Type", b"text/plain"), (b"x-a", b"1"),
                                 (b"x-a", b"2")])
        response = Connection(app).request("/")
        self.assertEqual((response.status, response.body), (200, b"hello"))
        self.assertEqual(response.headerValues("content-length"), ["5"])
        self.assertEqual(response.headerValues("x-a"), ["1", "2"])
        self.assertEqual(response.headerValues("content-type"), ["text/plain"])

    def test_streamedResponse(self):
        """
        Several body messages without a length: chunked, every piece there.
        """
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 201, "headers": []})
            for piece in (b"a", b"", b"bc", b"d"):
                await send({"type": "http.response.body", "body": piece, "more_body": True})
            await send({"type": "http.response.body", "body": b"e"})

        response = Connection(app).request("/")
        self.assertEqual((response.status, response.body), (201, b"abcde"))
        self.assertEqual(response.headerValues("transfer-encoding"), ["chunked"])

    def test_memoryviewBody(self):
        """
        A body given as a memoryview or bytearray (Starlette allows them)
        is sent as its bytes.
        """
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": memoryview(b"ab"),
                        "more_body": True})
            await send({"type": "http.response.body", "body": bytearray(b"cd")})

        self.assertEqual(Connection(app).request("/").body, b"abcd")

    def test_declaredLengthKept(self):
        """
        A streamed response with a content-length goes out framed by it.
        """
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"4")]})
            await send({"type": "http.response.body", "body": b"ab", "more_body": True})
            await send({"type": "http.response.body", "body": b"cd"})

        response = Connection(app).request("/")
        self.assertEqual(response.body, b"abcd")
        self.assertEqual(response.headerValues("content-length"), ["4"])
        self.assertEqual(response.headerValues("transfer-encoding"), [])

    def test_headResponse(self):
        """
        HEAD: the application's content-length is kept, no body is sent.
        """
        app = respond(b"", [(b"content-length", b"1234")])
        conn = Connection(app)
        response = conn.request("/", method="HEAD")
        self.assertEqual(response.headerValues("content-length"), ["1234"])
        self.assertEqual(response.body, b"")

    def test_shortBodyAborts(self):
        """
        A streamed body shorter than its content-length: the connection is
        aborted (the client cannot take a truncated body for a whole one),
        with one error line.
        """
        logs = LogCapture(self)

        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", b"10")]})
            await send({"type": "http.response.body", "body": b"abc", "more_body": True})
            await send({"type": "http.response.body", "body": b""})

        conn = Connection(app)
        conn.sendRequest("/")
        conn.pump()
        self.assertTrue(conn.transport.disconnecting or conn.transport.disconnected)
        self.assertIn(b"abc", conn.output())
        self.assertEqual(logs.levels, ["error"])

    def test_pathsend(self):
        """
        http.response.pathsend sends the file, with its size as the length.
        """
        path = tempPath(self)
        data = os.urandom(200000)
        with open(path, "wb") as f:
            f.write(data)
        path = os.path.abspath(path)

        async def app(scope, receive, send):
            assert "http.response.pathsend" in scope["extensions"]
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.pathsend", "path": path})

        conn = Connection(app)
        response = conn.request("/")
        self.assertEqual(response.body, data)
        self.assertEqual(response.headerValues("content-length"), ["200000"])

    def test_backpressure(self):
        """
        While the transport holds the response back, send() waits once
        the buffer between them is full, and goes on when it drains.
        """
        sent = []

        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            for i in range(10):
                await send({"type": "http.response.body", "body": b"x" * 30000,
                            "more_body": True})
                sent.append(i)
            await send({"type": "http.response.body", "body": b""})

        conn2 = Connection(app, bufferSize=65536)
        # Hold the transport from the start: register, then pause at once.
        original = conn2.transport.registerProducer

        def registerPaused(producer, streaming):
            original(producer, streaming)
            producer.pauseProducing()

        conn2.transport.registerProducer = registerPaused
        conn2.sendRequest("/")
        self.assertLess(len(sent), 4)
        held = len(sent)
        conn2.transport.producer.resumeProducing()
        self.assertGreater(len(sent), held)
        conn2.pump()
        self.assertEqual(sent, list(range(10)))
        [response] = conn2.responses()
        self.assertEqual(len(response.body), 300000)


class RequestBodyTests(SynchronousTestCase):

    def test_wholeBodyInOneMessage(self):
        """
        A body that has arrived whole comes in one http.request message
        with more_body False.
        """
        messages = []

        async def app(scope, receive, send):
            messages.append(await receive())
            await respond()(scope, receive, send)

        Connection(app).request("/", method="POST", body=b"x" * 1000)
        self.assertEqual(messages, [{"type": "http.request", "body": b"x" * 1000,
                                     "more_body": False}])

    def test_emptyBody(self):
        messages = []

        async def app(scope, receive, send):
            messages.append(await receive())
            await respond()(scope, receive, send)

        Connection(app).request("/")
        self.assertEqual(messages, [{"type": "http.request", "body": b"",
                                     "more_body": False}])

    def test_bodyAtTheApplicationsPace(self):
        """
        A chunked body arriving in pieces reaches the application as it
        comes; while the application does not read, the channel stops
        reading the socket once its buffer is full.
        """
        messages = []
        gate = defer.Deferred()

        async def app(scope, receive, send):
            await gate
            while True:
                message = await receive()
                messages.append(message)
                if not message["more_body"]:
                    break
            await respond(b"%d" % sum(len(m["body"]) for m in messages))(scope, receive, send)

        conn = Connection(app)
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(40):
            conn.send(b"4000\r\n" + b"y" * 0x4000 + b"\r\n")
        self.assertEqual(conn.transport.producerState, "paused")
        gate.callback(None)
        self.assertEqual(conn.transport.producerState, "producing")
        conn.send(b"0\r\n\r\n")
        conn.pump()
        [response] = conn.responses()
        self.assertEqual(response.body, b"%d" % (40 * 0x4000))
        self.assertFalse(messages[-1]["more_body"])
        self.assertTrue(all(len(m["body"]) <= 65536 for m in messages))

    def test_continueOnlyWhenRead(self):
        """
        Expect: 100-continue is answered only when the application reads.
        """
        async def ignores(scope, receive, send):
            await respond()(scope, receive, send)

        conn = Connection(ignores)
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        self.assertNotIn(b"100 Continue", conn.output())

        async def reads(scope, receive, send):
            await receive()
            await respond()(scope, receive, send)

        conn = Connection(reads)
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        self.assertIn(b"100 Continue", conn.output())

    def test_clientLeavesMidUpload(self):
        """
        The client leaving mid-body: the pending receive() answers
        http.disconnect, and a send() after it raises ClientDisconnected.
        """
        seen = []

        async def app(scope, receive, send):
            while True:
                message = await receive()
                seen.append(message["type"])
                if message["type"] == "http.disconnect":
                    break
            try:
                await send({"type": "http.response.start", "status": 200, "headers": []})
            except ClientDisconnected:
                seen.append("send raised")

        conn = Connection(app)
        conn.send(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"z" * 10)
        conn.lose()
        self.assertEqual(seen, ["http.request", "http.disconnect", "send raised"])

    def test_longPollSeesTheClientLeave(self):
        """
        An application that has read the whole body and waits in receive()
        (a long poll) is woken with http.disconnect when the client leaves
        before any response.
        """
        seen = []

        async def app(scope, receive, send):
            seen.append((await receive())["type"])
            seen.append((await receive())["type"])

        conn = Connection(app, responseTimeout=None)
        conn.sendRequest("/")
        self.assertEqual(seen, ["http.request"])
        conn.lose()
        self.assertEqual(seen, ["http.request", "http.disconnect"])

    def test_disconnectAfterTheResponse(self):
        """
        receive() after the response is complete answers http.disconnect.
        """
        seen = []

        async def app(scope, receive, send):
            await receive()
            await respond()(scope, receive, send)
            seen.append(await receive())

        Connection(app).request("/")
        self.assertEqual(seen, [{"type": "http.disconnect"}])


class FailureTests(SynchronousTestCase):

    def assertFails(self, app, code=500, level="critical"):
        logs = LogCapture(self)
        response = Connection(app).request("/")
        self.assertEqual(response.status, code)
        self.assertNotIn(b"Traceback", response.body)
        self.assertEqual(len(logs.events), 1, logs.events)
        return logs.events[0]

    def test_raisesBeforeStart(self):
        async def app(scope, receive, send):
            raise ZeroDivisionError("boom")

        self.assertFails(app)
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_raisesWhenCalled(self):
        """
        An application that is not even a coroutine function fails the
        same way.
        """
        def app(scope, receive, send):
            raise KeyError("sync")

        self.assertFails(app)
        self.assertEqual(len(self.flushLoggedErrors(KeyError)), 1)

    def test_returnsWithoutResponse(self):
        async def app(scope, receive, send):
            pass

        event = self.assertFails(app)
        self.assertEqual(event["log_level"].name, "error")

    def test_startWithoutBody(self):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})

        self.assertFails(app)

    def test_protocolErrors(self):
        """
        Each broken message: a 500 and one logged ASGIProtocolError.
        """
        cases = [
            [{"type": "http.response.body", "body": b"x"}],
            [{"type": "http.response.start", "status": 99}],
            [{"type": "http.response.start", "status": 103}],
            [{"type": "http.response.start", "status": "200"}],
            [{"type": "http.response.start", "status": 200, "trailers": True}],
            [{"type": "http.response.start", "status": 200,
              "headers": [(b"x-bad", b"a\r\nInjected: 1")]}],
            [{"type": "http.response.start", "status": 200, "headers": [(b"bad name", b"1")]}],
            [{"type": "http.response.start", "status": 200, "headers": [("str", "str")]}],
            [{"type": "http.response.start", "status": 200,
              "headers": [(b"x-list", [b"unhashable"])]}],
            [{"type": "http.response.start", "status": 200,
              "headers": [(memoryview(b"x-a"), b"1")]}],
            [{"type": "http.response.start", "status": 200,
              "headers": [(b"x-ok", b"fine"), (b"x-ok", b"fine\r\nx-smuggled: 1")]}],
            [{"type": "http.response.start", "status": 200,
              "headers": [(b"content-length", b"-1")]}],
            [{"type": "http.response.start", "status": 200},
             {"type": "http.response.trailers", "headers": []}],
            [{"type": "http.response.start", "status": 200},
             {"type": "http.response.pathsend", "path": "relative/file"}],
            [{"type": "websocket.accept"}],
            [{"type": "http.response.start", "status": 200},
             {"type": "http.response.body", "body": "text, not bytes"}],
        ]
        for messages in cases:
            async def app(scope, receive, send, messages=messages):
                for message in messages:
                    await send(message)

            self.assertFails(app)
            self.assertEqual(len(self.flushLoggedErrors(ASGIProtocolError)), 1, messages)

    def test_raisesDuringStreaming(self):
        """
        A failure after the response began: the connection is aborted,
        one log line.
        """
        logs = LogCapture(self)

        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            raise ValueError("late")

        conn = Connection(app)
        conn.sendRequest("/")
        conn.pump()
        self.assertTrue(conn.transport.disconnecting or conn.transport.disconnected)
        self.assertEqual(len(self.flushLoggedErrors(ValueError)), 1)
        self.assertEqual(len(logs.events), 1)

    def test_neverResponds(self):
        """
        No response within the timeout: 504, the application cancelled,
        one warning.
        """
        logs = LogCapture(self)
        cancelled = []

        async def app(scope, receive, send):
            try:
                await defer.Deferred()
            except defer.CancelledError:
                cancelled.append(True)
                raise

        conn = Connection(app, responseTimeout=30)
        conn.sendRequest("/")
        conn.clock.advance(29)
        self.assertEqual(conn.output(), b"")
        conn.clock.advance(2)
        [response] = conn.responses()
        self.assertEqual(response.status, 504)
        self.assertEqual(cancelled, [True])
        self.assertEqual(logs.levels, ["warn"])
        self.assertEqual(conn.resource._waiting, {})

    def test_answeredRequestsLeaveNoCyclicGarbage(self):
        """
        An answered request's objects (request, cycle, response, body
        streams, coroutine) are freed by reference counting as soon as it
        is over: none is left for the cyclic garbage collector, whose runs
        cost a busy server more the larger its heap.  Whole and streamed
        responses, with and without a request body.
        """

        async def app(scope, receive, send):
            more = True
            while more:
                message = await receive()
                more = message.get("more_body", False)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            if scope["path"] == "/streamed":
                await send({"type": "http.response.body", "body": b"a", "more_body": True})
            await send({"type": "http.response.body", "body": b"b"})

        conn = Connection(app)

        def requests():
            for target in ("/", "/streamed"):
                for body in (None, b"x" * 100):
                    response = conn.request(target, method="POST" if body else "GET",
                                            body=body)
                    self.assertEqual(response.status, 200)

        requests()
        gc.collect()
        gc.disable()
        self.addCleanup(gc.enable)
        requests()
        gc.set_debug(gc.DEBUG_SAVEALL)
        self.addCleanup(gc.set_debug, 0)
        gc.collect()
        # Only what the requests made counts: an earlier test's class that
        # an interface cache let go of meanwhile is garbage too.
        left = [type(o).__qualname__ for o in gc.garbage if _madeByARequest(o)]
        gc.garbage.clear()
        self.assertEqual(left, [])

    def test_answeredRequestsLeaveNoTimer(self):
        """
        Answered requests do not keep the timeout's timer or its entries.
        """
        conn = Connection(respond(), responseTimeout=30)
        for _ in range(5):
            conn.request("/")
        self.assertEqual(conn.resource._waiting, {})
        self.assertEqual([c for c in conn.clock.getDelayedCalls()
                          if c.func == conn.resource._expire], [])


class FilterChainTests(SynchronousTestCase):
    """
    The site's response filters around an ASGI application: its
    conditional and range filters are left out (the application decides),
    the others apply, and a filter one request adds stays with it.
    """

    def test_conditionalAndRangeLeftToTheApplication(self):
        """
        A matching C{If-None-Match} and a C{Range} get the application's
        200 and whole body, with the site's C{Server} and C{Date}.
        """
        conn = Connection(respond(b"0123456789", [(b"etag", b'"v1"')]))
        for _ in range(2):
            response = conn.request("/", headers=[("If-None-Match", '"v1"'),
                                                  ("Range", "bytes=0-1")])
            self.assertEqual(response.status, 200)
            self.assertEqual(response.body, b"0123456789")
            self.assertIsNotNone(response.header("server"))
            self.assertIsNotNone(response.header("date"))

    def test_filterAddedByOneRequestStaysWithIt(self):
        """
        A filter a parent resource adds to one request applies to that
        request's response only, not to the requests after it.
        """
        def marked(request, response):
            response.headers.setRawHeaders("x-marked", ["yes"])
            return response

        class Parent:
            def __init__(self, child):
                self.child = child

            def locateChild(self, request, segments):
                if segments[0] == "mark":
                    request.addResponseFilter(marked, atEnd=True)
                return self.child, segments[1:]

        def wrap(root):
            from zope.interface import directlyProvides

            from web2.iweb import IResource

            parent = Parent(root)
            directlyProvides(parent, IResource)
            return parent

        conn = Connection(respond(), wrap=wrap)
        self.assertIsNone(conn.request("/plain").header("x-marked"))
        self.assertEqual(conn.request("/mark").header("x-marked"), "yes")
        self.assertIsNone(conn.request("/plain").header("x-marked"))
        self.assertEqual(conn.request("/mark").header("x-marked"), "yes")
        self.assertIsNone(conn.request("/plain").header("x-marked"))


class OrdinaryPath:
    """
    The tests of the class this is mixed into, on the ordinary path: the
    application reached by traversal and rendering, as when it is mounted
    below other resources, rather than answering its site directly.
    """

    def setUp(self):
        self.patch(_asgi_helpers.Connection, "direct", False)


class ResponseOrdinaryPathTests(OrdinaryPath, ResponseTests):
    pass


class RequestBodyOrdinaryPathTests(OrdinaryPath, RequestBodyTests):
    pass


class FailureOrdinaryPathTests(OrdinaryPath, FailureTests):
    pass


class FilterChainOrdinaryPathTests(OrdinaryPath, FilterChainTests):
    pass
