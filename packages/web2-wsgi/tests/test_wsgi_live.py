"""
Tests of web2-wsgi with real threads and real loopback sockets: request
bodies streamed to C{wsgi.input} (chunked too) with bounded buffering,
responses streamed with flow control, and C{close()} when the client goes
away.
"""

from __future__ import annotations

import socket
import threading

from _wsgi_helpers import LiveServer, fetch, get, inThread, parseResponses, rawExchange
from twisted.internet import defer
from twisted.logger import formatEvent, globalLogPublisher
from twisted.trial.unittest import TestCase

from web2.testing import waitFor
from web2.wsgi import ClientDisconnected

WAIT = 10.0


def eventSet(event, timeout=WAIT):
    """
    A Deferred firing with whether C{event} was set within C{timeout}.
    """
    return inThread(event.wait, timeout)


def counting(environ, start_response):
    """
    Read the body in blocks, report the byte count and the most the input
    ever held buffered.
    """
    stream = environ["wsgi.input"]
    total = most = 0
    while True:
        data = stream.read(65536)
        most = max(most, stream._buffered + len(stream._local))
        if not data:
            break
        total += len(data)
    body = b"%d %d" % (total, most)
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]


class InputTests(TestCase):
    """
    wsgi.input in a worker thread, fed by the reactor.
    """

    def serve(self, app, **kwargs):
        server = LiveServer(app, **kwargs)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_largeBodyIsStreamedWithBoundedBuffer(self):
        """
        An 8 MiB body reaches the application whole, while the input never
        holds more than about twice its buffer.
        """
        server = self.serve(counting, inputBufferSize=65536)
        size = 8 * 1024 * 1024
        status, _, body = yield inThread(fetch, server.portNumber, method="POST",
                                         body=b"x" * size)
        total, most = map(int, body.split())
        self.assertEqual(total, size)
        # The shared buffer and the application's side each hold at most
        # the buffer size plus one socket read (64 KiB): far from 8 MiB.
        self.assertLessEqual(most, 65536 * 5)

    @defer.inlineCallbacks
    def test_chunkedBody(self):
        """
        A chunked body can be read to its end (there is no CONTENT_LENGTH).
        """
        server = self.serve(counting)
        pieces = [b"y" * n for n in (1, 1000, 70000, 5)]
        status, _, body = yield inThread(fetch, server.portNumber, method="POST",
                                         body=iter(pieces))
        self.assertEqual(int(body.split()[0]), 71006)

    @defer.inlineCallbacks
    def test_readMethods(self):
        """
        readline(size), readline(), readlines(), iteration and read() past
        the end, on a body arriving in pieces.
        """
        got = {}

        def app(environ, start_response):
            stream = environ["wsgi.input"]
            got["limited"] = stream.readline(3)
            got["line"] = stream.readline()
            got["two"] = stream.readlines(2)
            got["rest"] = list(stream)
            got["after"] = (stream.read(10), stream.read(), stream.readline())
            start_response("200 OK", [])
            return []

        server = self.serve(app)
        body = b"abcdef\nline2\nline3\nline4\nlast"
        head = get("/", method="POST", body=body)
        headBytes, bodyBytes = head[:-len(body)], head[-len(body):]

        def client():
            sock = socket.create_connection(("127.0.0.1", server.portNumber), timeout=WAIT)
            with sock:
                sock.sendall(headBytes)
                for i in range(0, len(bodyBytes), 4):
                    sock.sendall(bodyBytes[i:i + 4])
                return sock.makefile("rb").read()

        raw = yield inThread(client)
        self.assertEqual(parseResponses(raw)[0].status, 200)
        self.assertEqual(got["limited"], b"abc")
        self.assertEqual(got["line"], b"def\n")
        self.assertEqual(got["two"], [b"line2\n"])
        self.assertEqual(got["rest"], [b"line3\n", b"line4\n", b"last"])
        self.assertEqual(got["after"], (b"", b"", b""))

    @defer.inlineCallbacks
    def test_clientGoesAwayMidBody(self):
        """
        When the client disconnects in the middle of its body, the
        application's read raises ClientDisconnected, and close() is called.
        """
        errors = []
        closed = threading.Event()

        class Result:
            def __iter__(self):
                return iter(())

            def close(self):
                closed.set()

        def app(environ, start_response):
            try:
                while environ["wsgi.input"].read(1000):
                    pass
            except ClientDisconnected as e:
                errors.append(e)
            start_response("200 OK", [])
            return Result()

        server = self.serve(app)

        def client():
            sock = socket.create_connection(("127.0.0.1", server.portNumber), timeout=WAIT)
            sock.sendall(get("/", method="POST", headers=[("Content-Length", "100000")])
                         + b"z" * 5000)
            sock.close()

        yield inThread(client)
        self.assertTrue((yield eventSet(closed)))
        self.assertEqual(len(errors), 1)

    @defer.inlineCallbacks
    def test_clientGoneWhileTheApplicationReadsIsOneLogLine(self):
        """
        An application that lets ClientDisconnected out of its read (most
        do) gets one informational log line for the request, without a
        traceback: the client went away, the application did not fail.
        It used to be logged as the application's failure (critical, with
        the traceback, "answering 500" to nobody).
        """
        events = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)

        def app(environ, start_response):
            while environ["wsgi.input"].read(1000):
                pass
            start_response("200 OK", [])
            return [b"never"]

        server = self.serve(app)

        def client():
            sock = socket.create_connection(("127.0.0.1", server.portNumber), timeout=WAIT)
            sock.sendall(get("/up", method="POST", headers=[("Content-Length", "100000")])
                         + b"z" * 5000)
            sock.close()

        yield inThread(client)
        yield waitFor(lambda: any("ended early" in (formatEvent(e) or "") for e in events))
        lines = [formatEvent(e) for e in events if e.get("log_namespace", "").startswith(
            "web2.wsgi") and "POST /up" in (formatEvent(e) or "")]
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("The client went away during POST /up", lines[0])
        self.assertEqual([e for e in events if "log_failure" in e], [])

    @defer.inlineCallbacks
    def test_expectContinueOnlyWhenRead(self):
        """
        A client that waits for 100 Continue gets it when the application
        reads, and not when it answers without reading.
        """
        def app(environ, start_response):
            body = environ["wsgi.input"].read() if environ["PATH_INFO"] == "/read" else b"no"
            start_response("200 OK", [("Content-Length", str(len(body)))])
            return [body]

        server = self.serve(app)

        def client(path, sendBody):
            sock = socket.create_connection(("127.0.0.1", server.portNumber), timeout=WAIT)
            with sock:
                sock.sendall(get(path, method="POST", headers=[
                    ("Content-Length", "4"), ("Expect", "100-continue")]))
                first = sock.recv(65536)
                if sendBody:
                    sock.sendall(b"data")
                    first += sock.makefile("rb").read()
                return first

        read = yield inThread(client, "/read", True)
        self.assertTrue(read.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"))
        self.assertTrue(read.endswith(b"\r\n\r\ndata"))
        unread = yield inThread(client, "/skip", False)
        self.assertTrue(unread.startswith(b"HTTP/1.1 200 "))


class OutputTests(TestCase):
    """
    Responses from a worker thread to a real client.
    """

    def serve(self, app, **kwargs):
        server = LiveServer(app, **kwargs)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_flowControl(self):
        """
        While the client reads nothing, the application is held back after a
        bounded amount; once the client reads, the whole body arrives and
        close() is called.
        """
        chunk = b"s" * 65536
        count = 2048  # 128 MiB: far more than every buffer on the way
        produced = []
        closed = threading.Event()
        resume = threading.Event()

        class Body:
            def __iter__(self):
                for n in range(count):
                    produced.append(n)
                    yield chunk

            def close(self):
                closed.set()

        def app(environ, start_response):
            start_response("200 OK", [("Content-Length", str(len(chunk) * count))])
            return Body()

        server = self.serve(app)

        def client():
            sock = socket.create_connection(("127.0.0.1", server.portNumber), timeout=WAIT)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            with sock:
                sock.sendall(get("/", close=False))
                data = sock.recv(1024)
                resume.wait(WAIT)
                while b"\r\n\r\n" not in data:
                    data += sock.recv(65536)
                head, _, body = data.partition(b"\r\n\r\n")
                received = len(body)
                while received < len(chunk) * count:
                    more = sock.recv(1 << 20)
                    if not more:
                        break
                    received += len(more)
                return received

        done = inThread(client)
        yield waitFor(lambda: any(
            job.outbox is not None and job.outbox._paused for job in server.pool._jobs))
        stalledAt = len(produced)
        self.assertLess(stalledAt, count // 4)
        resume.set()
        received = yield done
        self.assertEqual(received, len(chunk) * count)
        self.assertEqual(len(produced), count)
        self.assertTrue((yield eventSet(closed)))

    @defer.inlineCallbacks
    def test_closeWhenClientGoesAway(self):
        """
        An endless streamed response stops, and close() is called, when the
        client disconnects.
        """
        closed = threading.Event()

        class Endless:
            def __iter__(self):
                while True:
                    yield b"e" * 4096

            def close(self):
                closed.set()

        def app(environ, start_response):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return Endless()

        server = self.serve(app)
        yield inThread(rawExchange, server.portNumber, get("/"), readLimit=100000)
        self.assertTrue((yield eventSet(closed)))

    @defer.inlineCallbacks
    def test_closeWhenClientLeftBeforeTheResponse(self):
        """
        A client that leaves while the application is still working does not
        keep an endless response from stopping and close() from being
        called once the application answers.
        """
        closed = threading.Event()
        release = threading.Event()
        started = threading.Event()

        class Endless:
            def __iter__(self):
                while True:
                    yield b"late" * 1024

            def close(self):
                closed.set()

        def app(environ, start_response):
            started.set()
            release.wait(WAIT)
            start_response("200 OK", [])
            return Endless()

        server = self.serve(app)

        def client():
            sock = socket.create_connection(("127.0.0.1", server.portNumber), timeout=WAIT)
            sock.sendall(get("/"))
            started.wait(WAIT)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            sock.close()

        yield inThread(client)
        release.set()
        self.assertTrue((yield eventSet(closed)))

    @defer.inlineCallbacks
    def test_fileWrapperSendsTheFile(self):
        """
        A FileWrapper around a regular file is sent from the file's position
        (by sendfile where the connection allows), then closed.
        """
        import os
        import shutil
        import tempfile

        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "data.bin")
        data = bytes(range(256)) * 4096
        with open(path, "wb") as f:
            f.write(data)
        opened = []

        def app(environ, start_response):
            f = open(path, "rb")
            f.seek(10)
            opened.append(f)
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return environ["wsgi.file_wrapper"](f)

        server = self.serve(app)
        status, headers, body = yield inThread(fetch, server.portNumber)
        self.assertEqual(headers["content-length"], str(len(data) - 10))
        self.assertEqual(body, data[10:])
        yield waitFor(lambda: opened[0].closed)

    @defer.inlineCallbacks
    def test_fileWrapperOfNonFileIsIterated(self):
        """
        A FileWrapper around something that is not a regular file is read in
        blocks by the worker.
        """
        import io

        def app(environ, start_response):
            start_response("200 OK", [])
            return environ["wsgi.file_wrapper"](io.BytesIO(b"m" * 200000), 8192)

        server = self.serve(app)
        status, headers, body = yield inThread(fetch, server.portNumber)
        self.assertEqual(body, b"m" * 200000)
        self.assertEqual(headers["transfer-encoding"], "chunked")


class StatusLineTests(TestCase):
    """
    The status line a WSGI application gives reaches the client whole.
    """

    def serve(self, app):
        server = LiveServer(app)
        self.addCleanup(server.stop)
        return server

    @defer.inlineCallbacks
    def test_reasonPhraseKept(self):
        """
        C{start_response("299 Custom Reason", ...)} is sent as C{HTTP/1.1
        299 Custom Reason}, and a standard code keeps the application's
        own phrase too, as gunicorn and waitress do (web2 used to send
        C{299 } and C{200 OK}).
        """
        statuses = {"/custom": "299 Custom Reason", "/own": "200 Fine, Thanks",
                    "/latin": "404 Nicht gefunden \xe4"}

        def app(environ, start_response):
            start_response(statuses[environ["PATH_INFO"]], [("Content-Type", "text/plain")])
            return [b"body"]

        server = self.serve(app)
        for path, status in statuses.items():
            raw = yield inThread(rawExchange, server.portNumber, get(path))
            self.assertEqual(raw.split(b"\r\n", 1)[0],
                             b"HTTP/1.1 " + status.encode("latin-1"))
            [response] = parseResponses(raw, eof=True)
            self.assertEqual(response.body, b"body")

    @defer.inlineCallbacks
    def test_reasonPhraseWithWriteAndOnHead(self):
        """
        A response written with C{write()}, and the answer to a HEAD, keep
        the phrase.
        """

        def app(environ, start_response):
            write = start_response("299 Custom Reason", [])
            write(b"a")
            return [b"b"]

        server = self.serve(app)
        raw = yield inThread(rawExchange, server.portNumber, get("/"))
        self.assertTrue(raw.startswith(b"HTTP/1.1 299 Custom Reason\r\n"), raw)
        [response] = parseResponses(raw, eof=True)
        self.assertEqual(response.body, b"ab")
        raw = yield inThread(rawExchange, server.portNumber, get("/", method="HEAD"))
        self.assertTrue(raw.startswith(b"HTTP/1.1 299 Custom Reason\r\n"), raw)
