"""
Tests for piped bodies: a response whose body is the request body (an echo,
as a proxy answers) owes the client its C{100 Continue} once it starts
reading, and a framing error in that body aborts the response instead of
ending it as if whole.
"""

from __future__ import annotations

import socket

from _core_helpers import Connection, Ignore, LiveServer, Pipe, inThread
from twisted.internet import defer
from twisted.logger import LogLevel, globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase, TestCase

from web2 import http, resource


class Root(resource.Resource):
    child_pipe = Pipe()
    child_ignore = Ignore()

    def render(self, request):
        return http.Response(200, None, b"root")


def post(path, headers=b"", body=b""):
    return (b"POST " + path + b" HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n" + body)


CHUNKED = b"Transfer-Encoding: chunked\r\n"


def captureLog(testCase):
    events = []
    globalLogPublisher.addObserver(events.append)
    testCase.addCleanup(globalLogPublisher.removeObserver, events.append)
    return events


class ContinueTests(SynchronousTestCase):
    def test_pipedBodyGetsItsContinue(self):
        """
        C{Expect: 100-continue} to a resource answering with the request
        body: the 100 goes when the response starts reading, before the
        final head, and the connection carries on.
        """
        conn = Connection(Root())
        conn.send(post(b"/pipe", b"Content-Length: 5\r\nExpect: 100-continue\r\n"))
        self.assertEqual(conn.output(), b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.send(b"hello")
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        output = conn.output()[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        first, second = Connection.responses(_Bytes(output))
        self.assertEqual((first.status, first.body), (200, b"hello"))
        self.assertIsNone(first.header("connection"))
        self.assertEqual(second.body, b"root")
        self.assertFalse(conn.closed)

    def test_chunkedPipedBodyGetsItsContinue(self):
        conn = Connection(Root())
        conn.send(post(b"/pipe", CHUNKED + b"Expect: 100-continue\r\n"))
        self.assertEqual(conn.output(), b"HTTP/1.1 100 Continue\r\n\r\n")
        conn.send(b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        output = conn.output()[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        [response] = Connection.responses(_Bytes(output))
        self.assertEqual(response.body, b"abcde")
        self.assertFalse(conn.closed)

    def test_unreadBodyStillClosesWithoutContinue(self):
        """
        A response that never reads the body sends no 100 and closes, as
        the client may or may not send the body.
        """
        conn = Connection(Root())
        conn.send(post(b"/ignore", b"Content-Length: 5\r\nExpect: 100-continue\r\n"))
        [response] = conn.responses()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("connection"), "close")
        self.assertNotIn(b"100 Continue", conn.output())


class _Bytes:
    """
    Stands for a connection whose output is C{data}, for
    L{Connection.responses}.
    """

    closed = False

    def __init__(self, data):
        self.transport = type("T", (), {"value": lambda _: data})()


class FramingErrorTests(SynchronousTestCase):
    def test_badChunkSizeBeforeAnyOutput(self):
        """
        A bad chunk size before anything of the piped response left: the
        error's 400, and the connection closes; one log line.
        """
        events = captureLog(self)
        conn = Connection(Root())
        conn.send(post(b"/pipe", CHUNKED, b"zz\r\n"))
        [response] = conn.responses()
        self.assertEqual(response.status, 400)
        self.assertTrue(conn.closed)
        self.assertEqual(
            [e for e in events if e["log_level"] >= LogLevel.info
             and "web2" in e.get("log_namespace", "")],
            [e for e in events if "Bad request" in e.get("log_format", "")])
        self.assertEqual(len([e for e in events if "Bad request" in e.get("log_format", "")]), 1)

    def test_overlongChunkAbortsTheResponse(self):
        """
        A chunk longer than its size after part of the body was echoed:
        the response is cut off (no last chunk) and the connection aborted,
        so the client cannot take the part for the whole; one log line.
        """
        events = captureLog(self)
        conn = Connection(Root())
        conn.send(post(b"/pipe", CHUNKED, b"5\r\nhello\r\n"))
        self.assertIn(b"5\r\nhello\r\n", conn.output())
        conn.send(b"3\r\nabcdef\r\n")
        self.assertTrue(conn.transport.disconnected)
        self.assertFalse(conn.output().endswith(b"0\r\n\r\n"))
        logged = [e for e in events if e["log_level"] >= LogLevel.info
                  and "web2" in e.get("log_namespace", "")]
        self.assertEqual(len(logged), 1, logged)
        self.assertIn("Bad request", logged[0]["log_format"])

    def test_errorInUnusedBodyLetsTheResponseFinish(self):
        """
        A framing error in a body nobody streams: the response already on
        its way is finished, then the connection closes.
        """
        conn = Connection(Root())
        conn.send(post(b"/ignore", CHUNKED, b"zz\r\n"))
        [response] = conn.responses()
        self.assertEqual((response.status, response.body), (200, b"not read"))
        self.assertTrue(conn.closed)


class PipedLiveTests(TestCase):
    """
    The same with a real client on a real socket, as issue #14 found them.
    """

    def setUp(self):
        self.server = LiveServer(Root())
        self.addCleanup(self.server.stop)

    def exchange(self, steps):
        """
        Send each C{(data, expectedPrefix)} step and read until the bytes
        read so far start with the expected prefix, or the server closes
        (timeout 10 s: a hang fails the test instead of blocking it).
        """
        sock = socket.create_connection(("127.0.0.1", self.server.portNumber), timeout=10)
        received = b""
        try:
            for data, expected in steps:
                sock.sendall(data)
                while not received.startswith(expected) and len(received) < len(expected):
                    piece = sock.recv(65536)
                    if not piece:
                        return received, True
                    received += piece
            sock.settimeout(1.0)
            try:
                while True:
                    piece = sock.recv(65536)
                    if not piece:
                        return received, True
                    received += piece
            except TimeoutError:
                return received, False
        except (TimeoutError, ConnectionResetError):
            return received, True
        finally:
            sock.close()

    @defer.inlineCallbacks
    def test_expectContinueEcho(self):
        cont = b"HTTP/1.1 100 Continue\r\n\r\n"
        received, closed = yield inThread(self.exchange, [
            (post(b"/pipe", b"Content-Length: 5\r\nExpect: 100-continue\r\n"), cont),
            (b"hello", cont + b"HTTP/1.1 200"),
        ])
        self.assertTrue(received.startswith(cont + b"HTTP/1.1 200 OK\r\n"), received)
        self.assertTrue(received.endswith(b"\r\n\r\nhello"), received)

    @defer.inlineCallbacks
    def test_badChunkSizeEcho(self):
        received, closed = yield inThread(self.exchange, [
            (post(b"/pipe", CHUNKED, b"zz\r\n"), b"HTTP/1.1 400"),
        ])
        self.assertTrue(received.startswith(b"HTTP/1.1 400"), received)
        self.assertTrue(closed)

    @defer.inlineCallbacks
    def test_overlongChunkEcho(self):
        received, closed = yield inThread(self.exchange, [
            (post(b"/pipe", CHUNKED, b"5\r\nhello\r\n"), b"HTTP/1.1 200"),
            (b"3\r\nabcdef\r\n", b""),
        ])
        self.assertTrue(closed)
        self.assertFalse(received.endswith(b"0\r\n\r\n"), received)
