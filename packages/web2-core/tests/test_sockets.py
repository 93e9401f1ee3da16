"""
Real-socket tests: a web2 server on 127.0.0.1 answering real clients
(raw sockets and C{http.client}) over the real reactor.
"""

from __future__ import annotations

import hashlib
import http.client as httpclient
import os
import socket
import tempfile

from _core_helpers import LiveServer, inThread, parseResponses, rawExchange
from twisted.internet import defer
from twisted.trial.unittest import SkipTest, TestCase

from web2 import http, resource, stream


class Simple(resource.Resource):
    """
    The tutorial's first resource.
    """

    addSlash = True

    def render(self, request):
        return http.Response(200, {"content-type": http.MimeType("text", "html")},
                             b"<html>Hello, web2!</html>")


class Echo(resource.LeafResource):
    def http_POST(self, request):
        return stream.readAll(request.stream).addCallback(
            lambda body: http.Response(200, None, hashlib.sha256(body).hexdigest())
        )


class BigFile(resource.LeafResource):
    def __init__(self, path):
        self.path = path

    def render(self, request):
        f = open(self.path, "rb")
        return http.Response(200, None, stream.FileStream(f))


class Big(resource.LeafResource):
    """
    A large body from memory, different for each request.
    """

    def render(self, request):
        n = int(request.args.get("n", ["0"])[0])
        return http.Response(200, None, bytes([n]) * 300_000)


class Root(Simple):
    child_echo = Echo()
    child_memory = Big()


ERRORS = [
    (b"NOT A REQUEST\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nBad : x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", 400),
    (b"GET / HTTP/1.1\nHost: a\n\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n", 400),
    (b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501),
    (b"GET /" + b"x" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"y" * 17000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: y\r\n" * 200 + b"\r\n", 431),
    (b"GET / HTTP/1.1\r\nHost: a\r\nExpect: something\r\n\r\n", 417),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    (b"PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405),
    (b"GET /missing HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 404),
    (b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
]


class SocketTests(TestCase):
    timeout = 30

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.bigPath = os.path.join(self.tmp, "big.bin")
        with open(self.bigPath, "wb") as f:
            f.write(os.urandom(3 * 1024 * 1024 + 17))
        root = Root()
        root.putChild("big", BigFile(self.bigPath))
        self.server = LiveServer(root)
        self.addCleanup(self.server.stop)

    @defer.inlineCallbacks
    def test_errorStatuses(self):
        """
        Each kind of bad request gets its precise status over a real socket,
        and the connection is closed for protocol errors.
        """
        for data, status in ERRORS:
            out = yield inThread(rawExchange, self.server.portNumber, data)
            responses = parseResponses(out)
            self.assertTrue(responses, f"no response to {data[:40]!r}")
            self.assertEqual(responses[0].status, status, data[:60])

    @defer.inlineCallbacks
    def test_limitsAndTimeouts(self):
        """
        413 for a body over the configured limit, 408 for a head that does
        not arrive in time, 503 with Retry-After past the connection cap: each
        over a real socket.
        """
        import socket

        from web2._wire import Limits

        limited = LiveServer(Root(), limits=Limits(max_body_size=1000), headerTimeout=0.5,
                             maxConnections=1)
        self.addCleanup(limited.stop)
        out = yield inThread(
            rawExchange, limited.portNumber,
            b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 5000\r\n\r\n",
        )
        self.assertEqual(parseResponses(out)[0].status, 413)

        out = yield inThread(rawExchange, limited.portNumber, b"GET / HTTP/1.1\r\nHost: a\r\n")
        self.assertEqual(parseResponses(out)[0].status, 408)

        def overCap(port):
            first = socket.create_connection(("127.0.0.1", port), timeout=5)
            try:
                first.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                first.recv(65536)
                return rawExchange(port, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            finally:
                first.close()

        out = yield inThread(overCap, limited.portNumber)
        [response] = parseResponses(out)
        self.assertEqual(response.status, 503)
        self.assertIsNotNone(response.header("retry-after"))

    @defer.inlineCallbacks
    def test_noDelay(self):
        """
        Accepted connections have Nagle's algorithm off, so that a response
        written in pieces is not held back waiting for the client's delayed
        acknowledgement; every connection, also those that waited in the
        accept queue.
        """
        def client(port):
            # Several connected at once: some wait in the accept queue.
            socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(6)]
            for sock in socks:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                sock.recv(65536)
            return socks

        socks = yield inThread(client, self.server.portNumber)
        try:
            channels = list(self.server.factory.connections)
            self.assertEqual(len(channels), 6)
            for channel in channels:
                handle = channel.transport.getHandle()
                self.assertEqual(
                    handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1
                )
        finally:
            for sock in socks:
                sock.close()

    @defer.inlineCallbacks
    def test_noDelayInherited(self):
        """
        On Linux, once the connections that could have been queued before
        the listening socket got TCP_NODELAY are accepted (here: none may
        be), later ones inherit it without a system call of their own.
        """
        import sys

        from twisted.internet import tcp

        from web2.channel import http as channelModule

        if not sys.platform.startswith("linux"):
            raise SkipTest("inheritance of TCP_NODELAY is Linux's behaviour")
        self.patch(channelModule, "_ACCEPT_QUEUE_BOUND", 0)
        calls = []
        original = tcp.Server.setTcpNoDelay

        def counting(transport, enabled):
            calls.append(enabled)
            return original(transport, enabled)

        self.patch(tcp.Server, "setTcpNoDelay", counting)
        server = LiveServer(Root())
        self.addCleanup(server.stop)

        def client(port):
            # One after the other: each handshake after the option was set.
            socks = []
            for _ in range(4):
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
                sock.recv(65536)
                socks.append(sock)
            return socks

        socks = yield inThread(client, server.portNumber)
        try:
            channels = list(server.factory.connections)
            self.assertEqual(len(channels), 4)
            for channel in channels:
                handle = channel.transport.getHandle()
                self.assertEqual(
                    handle.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY), 1
                )
            self.assertEqual(calls, [True])
        finally:
            for sock in socks:
                sock.close()

    @defer.inlineCallbacks
    def test_closeWhileAForkedChildHoldsTheSocket(self):
        """
        A process forked without exec (multiprocessing does) shares the
        connection's socket: closing after a C{Connection: close} response
        still ends the connection for the client at once (shutdown(), not
        just close()), not when the child exits.

        The child lives until the test kills it: the client's end of file
        must come while the child is still there (no wall-clock bound).
        """
        import signal
        import time

        children = []

        class Forking(resource.LeafResource):
            def render(self, request):
                pid = os.fork()
                if pid == 0:  # pragma: no cover - the child
                    time.sleep(600)
                    os._exit(0)
                children.append(pid)
                return http.Response(200, None, b"forked")

        def reap():
            for pid in children:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:  # pragma: no cover
                    pass
                os.waitpid(pid, 0)

        root = Root()
        root.putChild("fork", Forking())
        server = LiveServer(root)
        self.addCleanup(server.stop)
        self.addCleanup(reap)

        def exchange(port):
            # A read that waits 20 s (a bound on a hang, within the test's
            # 30) raises TimeoutError: without shutdown() the end would
            # only come with the child's exit, in 600 s.
            with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
                sock.sendall(b"GET /fork HTTP/1.1\r\nHost: a\r\n"
                             b"Connection: close\r\n\r\n")
                out = b""
                while chunk := sock.recv(65536):
                    out += chunk
            return out

        out = yield inThread(exchange, server.portNumber)
        [response] = parseResponses(out)
        self.assertEqual((response.status, response.body), (200, b"forked"))
        [child] = children
        self.assertEqual(os.waitpid(child, os.WNOHANG), (0, 0),
                         "the child exited before the client saw the end")

    @defer.inlineCallbacks
    def test_closeAfterResponse(self):
        """
        With C{Connection: close}, the response arrives whole and then the
        server closes, whether the response was finished while the request
        was being read or later; the channel is forgotten either way.
        """
        def client(port, path):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
            sock.close()
            return out

        out = yield inThread(client, self.server.portNumber, b"/")
        [response] = parseResponses(out)
        self.assertEqual(response.body, b"<html>Hello, web2!</html>")
        self.assertEqual(response.header("connection"), "close")

        out = yield inThread(client, self.server.portNumber, b"/big")
        [response] = parseResponses(out)
        self.assertEqual(len(response.body), 3 * 1024 * 1024 + 17)
        self.assertEqual(self.server.factory.connections, set())

    @defer.inlineCallbacks
    def test_largeMemoryBodiesToASlowReader(self):
        """
        Large bodies from memory leave with their heads gathered by the
        socket; a client that reads only after all its pipelined requests
        are answered still gets every byte, in order.
        """
        import time

        def client(port):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"".join(
                b"GET /memory?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % n for n in (1, 2, 3)
            ) + b"GET /memory?n=4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
            time.sleep(0.5)
            out = b""
            while chunk := sock.recv(65536):
                out += chunk
            sock.close()
            return out

        out = yield inThread(client, self.server.portNumber)
        responses = parseResponses(out)
        self.assertEqual([r.status for r in responses], [200] * 4)
        for n, response in zip((1, 2, 3, 4), responses, strict=True):
            self.assertEqual(response.body, bytes([n]) * 300_000)

    @defer.inlineCallbacks
    def test_closeNeverRunsUnderApplicationCode(self):
        """
        A response finished from a Deferred lets a pipelined
        C{Connection: close} request behind it be answered at once; the
        connection still closes only after the application's call returns,
        never inside it (code after C{callback} still has its transport).
        """
        from twisted.internet import reactor

        seen = []

        class Later(resource.LeafResource):
            def render(self, request):
                d = defer.Deferred()

                def answer():
                    d.callback(http.Response(200, None, b"one"))
                    transport = request.chanRequest.channel.transport
                    seen.append(transport.connected)
                    seen.append(request.chanRequest.getHostInfo()[0].port)

                reactor.callLater(0.05, answer)
                return d

        root = Root()
        root.putChild("later", Later())
        server = LiveServer(root)
        self.addCleanup(server.stop)
        out = yield inThread(
            rawExchange, server.portNumber,
            b"GET /later HTTP/1.1\r\nHost: a\r\n\r\n"
            b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        )
        self.assertEqual([r.status for r in parseResponses(out)], [200, 200])
        self.assertEqual(seen, [1, server.portNumber])

    @defer.inlineCallbacks
    def test_keepAliveHttpClient(self):
        def client(port):
            conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=5)
            bodies = []
            for _ in range(5):
                conn.request("GET", "/")
                response = conn.getresponse()
                bodies.append(response.read())
            conn.close()
            return bodies

        bodies = yield inThread(client, self.server.portNumber)
        self.assertEqual(bodies, [b"<html>Hello, web2!</html>"] * 5)

    @defer.inlineCallbacks
    def test_pipelined(self):
        requests = b"".join(
            b"GET /?n=%d HTTP/1.1\r\nHost: a\r\n\r\n" % i for i in range(16)
        ) + b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
        out = yield inThread(rawExchange, self.server.portNumber, requests)
        responses = parseResponses(out)
        self.assertEqual(len(responses), 17)
        self.assertEqual({r.status for r in responses}, {200})

    @defer.inlineCallbacks
    def test_chunkedUpload(self):
        payload = os.urandom(200_000)
        chunks = b"".join(
            b"%x\r\n" % len(payload[i:i + 7000]) + payload[i:i + 7000] + b"\r\n"
            for i in range(0, len(payload), 7000)
        )
        data = (
            b"POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n" + chunks + b"0\r\n\r\n"
        )
        out = yield inThread(rawExchange, self.server.portNumber, data)
        [response] = parseResponses(out)
        self.assertEqual(response.body.decode(), hashlib.sha256(payload).hexdigest())

    @defer.inlineCallbacks
    def test_expectContinue(self):
        def client(port):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(
                b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
                b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
            )
            interim = sock.recv(100)
            sock.sendall(b"abc")
            rest = b""
            while chunk := sock.recv(65536):
                rest += chunk
            sock.close()
            return interim, rest

        interim, rest = yield inThread(client, self.server.portNumber)
        self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
        [response] = parseResponses(rest)
        self.assertEqual(response.body.decode(), hashlib.sha256(b"abc").hexdigest())

    @defer.inlineCallbacks
    def test_bigFile(self):
        """
        A file body arrives whole and intact (sent with sendfile on Linux).
        """
        def client(port):
            conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/big")
            response = conn.getresponse()
            body = response.read()
            conn.request("GET", "/")
            second = conn.getresponse().read()
            conn.close()
            return response.status, body, second

        status, body, second = yield inThread(client, self.server.portNumber)
        self.assertEqual(status, 200)
        with open(self.bigPath, "rb") as f:
            self.assertEqual(hashlib.sha256(body).digest(), hashlib.sha256(f.read()).digest())
        self.assertEqual(second, b"<html>Hello, web2!</html>")

    @defer.inlineCallbacks
    def test_bigFileRange(self):
        def client(port):
            conn = httpclient.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/big", headers={"Range": "bytes=1000000-1000099"})
            response = conn.getresponse()
            return response.status, response.read()

        status, body = yield inThread(client, self.server.portNumber)
        self.assertEqual(status, 206)
        with open(self.bigPath, "rb") as f:
            f.seek(1000000)
            self.assertEqual(body, f.read(100))

    @defer.inlineCallbacks
    def test_halfCloseAfterRequest(self):
        """
        A client that sends its request and shuts its write side still
        gets the whole response.
        """
        out = yield inThread(
            rawExchange, self.server.portNumber,
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", halfClose=True,
        )
        [response] = parseResponses(out)
        self.assertEqual(response.status, 200)
