"""
L{web2.revproxy}: a real web2 proxy in front of real upstreams (web2,
twisted.web, hostile servers written here), talked to by real clients
(raw sockets, http.client, L{web2.client}).
"""

import functools
import socket
import struct
import time

from twisted.internet import defer, protocol, reactor, task
from twisted.trial.unittest import TestCase
from twisted.web import resource as tw_resource
from twisted.web import server as tw_server

from web2 import http, resource, stream
from web2.client import Client
from web2.config import ConfigError, MountSpec
from web2.mount import MountTree, resolveMounts
from web2.revproxy import ReverseProxyResource, proxyMount
from web2.testing import LiveServer, fetch, inThread, rawExchange


def inlineAsync(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return defer.ensureDeferred(f(*args, **kwargs))

    return wrapper


class Upstream(resource.Resource):
    """
    Answers with what it saw (method, target, the headers named in the
    query's C{show}, body length), or plays a part chosen by the path.
    """

    def __init__(self, name="up"):
        self.name = name
        self.requests = []
        self.lost = []
        self.gate = None

    def locateChild(self, request, segments):
        return self, ()

    def render(self, request):
        self.requests.append(request)
        path = request.path

        async def answer():
            if path.endswith("/redirect"):
                return http.RedirectResponse(f"http://{request.headers._firstRaw('host')}/base/moved")
            if path.endswith("/relative-redirect"):
                response = http.Response(302)
                response.headers.setRawHeaders("location", ["/base/there"])
                return response
            if path.endswith("/cookie"):
                response = http.Response(200, None, b"c")
                response.headers.setRawHeaders("set-cookie", ["a=1; Path=/base/x; HttpOnly", "b=2; path=/other"])
                return response
            if path.endswith("/hop"):
                response = http.Response(200, None, b"h")
                response.headers.setRawHeaders("connection", ["x-private"])
                response.headers.setRawHeaders("x-private", ["secret"])
                response.headers.setRawHeaders("keep-alive", ["timeout=5"])
                response.headers.setRawHeaders("x-kept", ["yes"])
                return response
            if path.endswith("/nocontent"):
                return http.Response(204)
            if path.endswith("/hang"):
                d = defer.Deferred()
                original = request.connectionLost

                def lost(reason):
                    self.lost.append(request.path)
                    original(reason)

                request.connectionLost = lost
                return await d
            if path.endswith("/big"):
                size = int(request.args.get("n", ["1000000"])[0])
                return http.Response(200, None, stream.IterableStream(
                    (b"x" * 65536 for _ in range(size // 65536)), length=size // 65536 * 65536))
            if self.gate is not None:
                await self.gate
            body = await stream.readAll(request.stream)
            shown = {name: request.headers.getRawHeaders(name)
                     for name in request.args.get("show", [])}
            return http.Response(200, None, repr(
                (self.name, request.method, request.uri, shown, len(body))).encode())

        return defer.ensureDeferred(answer())

    http_POST = http_PUT = http_DELETE = http_HEAD = render


def answer(body):
    import ast

    return ast.literal_eval(body.decode())


class ProxyTests(TestCase):
    timeout = 60

    def setUp(self):
        self.upstream = Upstream()
        self.upServer = LiveServer(self.upstream)
        self.addCleanup(self.upServer.stop)
        self.proxy = self.makeProxy(self.upServer.url("/base/"))
        self.client = Client(reactor)
        self.addCleanup(self.client.close)

    def makeProxy(self, upstreams, mount="/api", **kwargs):
        proxy = ReverseProxyResource(upstreams, **kwargs)
        self.addCleanup(proxy.client.close)
        server = LiveServer(MountTree({mount: proxy}))
        self.addCleanup(server.stop)
        self.proxyServer = server
        return proxy

    def url(self, path):
        return self.proxyServer.url(path)

    async def get(self, path, **kwargs):
        response = await self.client.get(self.url(path), **kwargs)
        return response, await response.content()

    @inlineAsync
    async def test_pathMapping(self):
        """
        The mount prefix maps onto the upstream path; the query and the
        percent-encoding are passed as sent.
        """
        for path, target in [
            ("/api/a/b?x=1&y=%20", "/base/a/b?x=1&y=%20"),
            ("/api/", "/base/"),
            ("/api", "/base/"),
            ("/api/sp%2Face", "/base/sp%2Face"),
        ]:
            response, body = await self.get(path)
            self.assertEqual(response.code, 200)
            self.assertEqual(answer(body)[2], target)

    @inlineAsync
    async def test_forwardingHeaders(self):
        response, body = await self.get(
            "/api/?show=x-forwarded-for&show=x-forwarded-proto&show=x-forwarded-host&show=host",
            headers={"X-Forwarded-For": "10.1.1.1", "X-Forwarded-Proto": "https"})
        shown = answer(body)[3]
        self.assertEqual(shown["x-forwarded-for"], ["10.1.1.1, 127.0.0.1"])
        self.assertEqual(shown["x-forwarded-proto"], ["http"])  # the client's claim is replaced
        self.assertEqual(shown["x-forwarded-host"], [f"127.0.0.1:{self.proxyServer.portNumber}"])
        self.assertEqual(shown["host"], [f"127.0.0.1:{self.upServer.portNumber}"])

    @inlineAsync
    async def test_forwardedAndPreserveHost(self):
        self.makeProxy(self.upServer.url("/base/"), forwarded="forwarded", preserveHost=True)
        response, body = await self.get("/api/?show=forwarded&show=host&show=x-forwarded-for",
                                        headers={"Host": "public.example"})
        shown = answer(body)[3]
        self.assertEqual(shown["forwarded"], ['for=127.0.0.1;proto=http;host="public.example"'])
        self.assertEqual(shown["host"], ["public.example"])
        self.assertIsNone(shown["x-forwarded-for"])

    @inlineAsync
    async def test_hopByHopRemoved(self):
        response, body = await self.get(
            "/api/?show=x-secret&show=keep-alive&show=te&show=x-end",
            headers=[("Connection", "x-secret"), ("X-Secret", "1"), ("Keep-Alive", "300"),
                     ("TE", "trailers"), ("X-End", "kept")])
        shown = answer(body)[3]
        self.assertEqual(shown, {"x-secret": None, "keep-alive": None, "te": None, "x-end": ["kept"]})
        # web2 itself never sends such fields: a raw upstream does.
        raw = serveRaw(self, b"HTTP/1.1 200 OK\r\nConnection: x-private\r\nX-Private: secret\r\n"
                             b"Keep-Alive: timeout=5\r\nX-Kept: yes\r\nContent-Length: 1\r\n\r\nh")
        self.makeProxy(raw)
        response, body = await self.get("/api/hop")
        self.assertEqual(body, b"h")
        self.assertIsNone(response.headers.getRawHeaders("x-private"))
        self.assertIsNone(response.headers.getRawHeaders("keep-alive"))
        self.assertEqual(response.headers.getRawHeaders("x-kept"), ["yes"])

    @inlineAsync
    async def test_locationAndCookieRewriting(self):
        response, _ = await self.get("/api/redirect")
        self.assertEqual(response.headers.getRawHeaders("location"),
                         [f"http://127.0.0.1:{self.proxyServer.portNumber}/api/moved"])
        response, _ = await self.get("/api/relative-redirect")
        self.assertEqual(response.headers.getRawHeaders("location"), ["/api/there"])
        response, _ = await self.get("/api/cookie")
        self.assertEqual(response.headers.getRawHeaders("set-cookie"),
                         ["a=1; Path=/api/x; HttpOnly", "b=2; path=/other"])

    @inlineAsync
    async def test_headAnd204(self):
        response = await self.client.head(self.url("/api/big?n=131072"))
        self.assertEqual(response.headers.getRawHeaders("content-length"), ["131072"])
        self.assertEqual(await response.content(), b"")
        response, body = await self.get("/api/nocontent")
        self.assertEqual((response.code, body), (204, b""))

    @inlineAsync
    async def test_dotSegmentsRefused(self):
        """
        No path above the upstream URL's can be reached through the mount,
        whatever the spelling of the dot-segment.
        """
        for path in [b"/api/../x", b"/api/%2e%2e/x", b"/api/a/%2E%2E/%2e%2e/x", b"/api/./x",
                     b"/api/a%2f..%2f..%2fx"]:
            out = await inThread(rawExchange, self.proxyServer.portNumber,
                                 b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            self.assertTrue(out.startswith(b"HTTP/1.1 400 "), (path, out[:100]))
        self.assertEqual(self.upstream.requests, [])
        response, body = await self.get("/api/a..b/.c/x.")
        self.assertEqual(answer(body)[2], "/base/a..b/.c/x.")

    @inlineAsync
    async def test_headOfAChunkedAnswer(self):
        """
        HEAD of an upstream answer without a length passes on no length
        (not a made-up C{Content-Length: 0}).
        """
        raw = serveRaw(self, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-U: 1\r\n\r\n")
        self.makeProxy(raw)
        out = await inThread(rawExchange, self.proxyServer.portNumber,
                             b"HEAD /api/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = out.split(b"\r\n\r\n")[0].lower()
        self.assertIn(b"x-u: 1", head)
        self.assertNotIn(b"content-length", head)

    @inlineAsync
    async def test_expectContinueRefusedUpstream(self):
        """
        An upstream that answers at once (no 100): the answer is passed on
        and the client's body is never asked for.
        """
        raw = serveRaw(self, b"HTTP/1.1 413 Too Large\r\nContent-Length: 4\r\n\r\nbig!")
        self.makeProxy(raw)

        def exchange(port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"PUT /api/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                             b"Expect: 100-continue\r\n\r\n")
                out = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return out
                    out += chunk

        out = await inThread(exchange, self.proxyServer.portNumber)
        self.assertTrue(out.startswith(b"HTTP/1.1 413 Too Large\r\n"), out)
        self.assertNotIn(b"100 Continue", out)
        self.assertTrue(out.endswith(b"big!"))

    @inlineAsync
    async def test_keepAlivePool(self):
        for _ in range(5):
            await self.get("/api/x")
        channels = {id(r.chanRequest.channel) for r in self.upstream.requests}
        self.assertEqual(len(channels), 1)

    @inlineAsync
    async def test_chunkedStaysChunked(self):
        """
        A chunked request body goes upstream chunked, piece by piece, not
        gathered into a Content-Length.
        """
        body = (b"POST /api/?show=transfer-encoding&show=content-length HTTP/1.1\r\n"
                b"Host: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        out = await inThread(rawExchange, self.proxyServer.portNumber, body)
        self.assertIn(b"200 OK", out)
        shown = answer(out.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(shown[3], {"transfer-encoding": ["chunked"], "content-length": None})
        self.assertEqual(shown[4], 11)

    @inlineAsync
    async def test_expectContinuePassedThrough(self):
        """
        The client's C{Expect: 100-continue} reaches the upstream, whose
        100 comes back before the body is sent.
        """
        def exchange(port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"PUT /api/?show=expect HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                             b"Expect: 100-continue\r\nConnection: close\r\n\r\n")
                interim = sock.recv(1000)
                sock.sendall(b"data")
                out = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    out += chunk
                return interim, out

        interim, out = await inThread(exchange, self.proxyServer.portNumber)
        self.assertEqual(interim, b"HTTP/1.1 100 Continue\r\n\r\n")
        shown = answer(out.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(shown[3], {"expect": ["100-continue"]})
        self.assertEqual(shown[4], 4)

    @inlineAsync
    async def test_roundRobinAndPassiveHealth(self):
        """
        Two upstreams share the requests; a dead third one is skipped after
        its first failure (the request that met it went to the next one).
        """
        other = Upstream("other")
        otherServer = LiveServer(other)
        self.addCleanup(otherServer.stop)
        dead = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
        deadURL = f"http://127.0.0.1:{dead.getHost().port}/"
        await dead.stopListening()
        self.makeProxy([self.upServer.url("/base/"), otherServer.url("/"), deadURL])
        names = []
        for _ in range(9):
            response, body = await self.get("/api/")
            self.assertEqual(response.code, 200)
            names.append(answer(body)[0])
        self.assertEqual(set(names), {"up", "other"})
        self.assertGreaterEqual(names.count("other"), 3)
        self.assertGreaterEqual(names.count("up"), 3)

    @inlineAsync
    async def test_resetUpstreamSkipped(self):
        """
        An upstream that resets a bodiless request before answering: the
        request goes to the next upstream, and the client never knows.
        """
        factory = protocol.Factory.forProtocol(_Hostile)
        factory.part = "reset"
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.makeProxy([f"http://127.0.0.1:{port.getHost().port}/", self.upServer.url("/base/")])
        for _ in range(4):
            response, body = await self.get("/api/x")
            self.assertEqual(response.code, 200)
            self.assertEqual(answer(body)[2], "/base/x")

    @inlineAsync
    async def test_unreachable502(self):
        dead = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
        deadURL = f"http://127.0.0.1:{dead.getHost().port}/"
        await dead.stopListening()
        self.makeProxy(deadURL)
        started = time.monotonic()
        response, body = await self.get("/api/x")
        self.assertEqual(response.code, 502)
        self.assertLess(time.monotonic() - started, 10)

    @inlineAsync
    async def test_clientLeavingCancelsUpstream(self):
        """
        A client whose connection ends (reset) while the upstream has not
        answered: the upstream connection is closed (the upstream sees it
        lost).  (A client that only half-closes is still waiting for its
        answer, as far as HTTP can tell.)
        """
        sock = await inThread(socket.create_connection,
                              ("127.0.0.1", self.proxyServer.portNumber), 10)
        try:
            await inThread(sock.sendall, b"GET /api/hang HTTP/1.1\r\nHost: x\r\n\r\n")
            # Leave once the upstream has the request (not after a guessed
            # delay: a client gone before it is a different case).
            await _until(lambda: [r.path for r in self.upstream.requests] == ["/base/hang"])
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        finally:
            sock.close()
        await _until(lambda: self.upstream.lost == ["/base/hang"])

    @inlineAsync
    async def test_clientLeavingMidBodyCancelsUpstream(self):
        """
        A client that goes away in the middle of a streamed answer: the
        upstream's connection is closed too, not drained into the void.
        """
        lost = []

        class Endless(protocol.Protocol):
            def dataReceived(self, data):
                self.transport.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                self.call = task.LoopingCall(self.transport.write, b"4000\r\n" + b"e" * 0x4000 + b"\r\n")
                self.call.start(0.01)

            def connectionLost(self, reason):
                if getattr(self, "call", None) is not None and self.call.running:
                    self.call.stop()
                lost.append(True)

        port = reactor.listenTCP(0, protocol.Factory.forProtocol(Endless), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.makeProxy(f"http://127.0.0.1:{port.getHost().port}/")

        def readSomeThenLeave(proxyPort):
            with socket.create_connection(("127.0.0.1", proxyPort), timeout=10) as sock:
                sock.sendall(b"GET /api/ HTTP/1.1\r\nHost: x\r\n\r\n")
                got = 0
                while got < 100000:
                    got += len(sock.recv(65536))
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

        await inThread(readSomeThenLeave, self.proxyServer.portNumber)
        await _until(lambda: lost == [True])

    @inlineAsync
    async def test_twistedWebUpstream(self):
        class Hello(tw_resource.Resource):
            isLeaf = True

            def render_GET(self, request):
                return b"twisted.web saw " + request.uri + b" " + (request.getHeader(b"x-forwarded-for") or b"-")

            def render_POST(self, request):
                return b"posted %d" % len(request.content.read())

        port = reactor.listenTCP(0, tw_server.Site(Hello()), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.makeProxy(f"http://127.0.0.1:{port.getHost().port}/tw")
        response, body = await self.get("/api/a?b")
        self.assertEqual(body, b"twisted.web saw /tw/a?b 127.0.0.1")
        response = await self.client.post(self.url("/api/p"), b"z" * 300000)
        self.assertEqual(await response.content(), b"posted 300000")

    @inlineAsync
    async def test_httpClientThroughTheProxy(self):
        status, headers, body = await inThread(
            fetch, self.proxyServer.portNumber, "/api/q?show=host", method="POST", body=b"abc")
        self.assertEqual(status, 200)
        self.assertEqual(answer(body)[4], 3)


class ProxyMountTests(TestCase):
    def test_mountKind(self):
        """
        C{proxy:URL} from the command line, and a site-file table's options.
        """
        from web2.coreplugin import web2_mount_kinds

        kinds = web2_mount_kinds()
        specs = [
            MountSpec("/api", "proxy", "http://127.0.0.1:9/v1/", {}, "--mount"),
            MountSpec("/two", "proxy", "http://127.0.0.1:9/", source="site.toml",
                      options={"upstreams": ["http://127.0.0.1:10/"], "forwarded": "forwarded",
                               "preserve-host": True, "response-timeout": 5}),
        ]
        mounts = resolveMounts(specs, kinds, config=None)
        one, two = mounts[0][1], mounts[1][1]
        self.assertIsInstance(one, ReverseProxyResource)
        self.assertEqual([u.path for u in one.upstreams], ["/v1/"])
        self.assertEqual(len(two.upstreams), 2)
        self.assertEqual((two.forwarded, two.preserveHost, two.client.responseTimeout),
                         ("forwarded", True, 5))
        for proxy in (one, two):
            self.addCleanup(proxy.client.close)

    def test_badOptions(self):
        from web2.coreplugin import web2_mount_kinds

        kinds = web2_mount_kinds()
        for argument, options in [("", {}), ("ftp://x/", {}), ("http://x/", {"bogus": 1}),
                                  ("http://x/", {"forwarded": "maybe"})]:
            with self.assertRaises(ConfigError):
                resolveMounts([MountSpec("/p", "proxy", argument, source="t", options=options)],
                              kinds, config=None)

    def test_parseMount(self):
        from web2.config import parseMount

        spec = parseMount("/api=proxy:http://127.0.0.1:9000/")
        self.assertEqual((spec.path, spec.kind, spec.argument), ("/api", "proxy", "http://127.0.0.1:9000/"))
        self.assertIsInstance(proxyMount(spec.argument, None), ReverseProxyResource)


class _Raw(protocol.Protocol):
    def dataReceived(self, data):
        self.seen = getattr(self, "seen", b"") + data
        if b"\r\n\r\n" in self.seen:
            self.seen = b""
            self.transport.write(self.factory.answer)


def serveRaw(test, answer):
    """
    A server answering every request head with the bytes C{answer}.

    @return: its URL.
    """
    factory = protocol.Factory.forProtocol(_Raw)
    factory.answer = answer
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    test.addCleanup(port.stopListening)
    return f"http://127.0.0.1:{port.getHost().port}/"


async def _until(predicate, timeout=20.0):
    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise AssertionError("condition not reached")
        await task.deferLater(reactor, 0.02, lambda: None)
        waited += 0.02


class _Hostile(protocol.Protocol):
    """
    An upstream playing the part its factory names once a head arrived.
    """

    def dataReceived(self, data):
        self.seen = getattr(self, "seen", b"") + data
        if b"\r\n\r\n" in self.seen and not getattr(self, "started", False):
            self.started = True
            getattr(self, "play_" + self.factory.part)()

    def play_endlessHead(self):
        self.transport.write(b"HTTP/1.1 200 OK\r\n")
        factory = self.factory

        def more():
            if self.transport.disconnecting or not self.transport.connected:
                return
            self.transport.write(b"X-Endless: " + b"y" * 1000 + b"\r\n")
            factory.sent += 1
            if factory.sent < 100000:
                reactor.callLater(0, more)

        more()

    def play_wrongLength(self):
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"z" * 1000)
        self.transport.loseConnection()

    def play_stall(self):
        pass

    def play_reset(self):
        self.transport.abortConnection()

    def play_garbage(self):
        self.transport.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n")

    def play_nul(self):
        self.transport.write(b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n")


class HostileUpstreamTests(TestCase):
    """
    Broken upstreams give the client a 502 or 504, fast, with one log line
    and bounded memory, never a hang.
    """

    timeout = 60

    def setUp(self):
        from twisted.logger import globalLogPublisher

        self.events = []
        observer = lambda event: self.events.append(event)  # noqa: E731
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        self.client = Client(reactor)
        self.addCleanup(self.client.close)

    def upstream(self, part):
        factory = protocol.Factory.forProtocol(_Hostile)
        factory.part = part
        factory.sent = 0
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.factory = factory
        proxy = ReverseProxyResource(f"http://127.0.0.1:{port.getHost().port}/",
                                     responseTimeout=0.5, bodyTimeout=0.5)
        self.addCleanup(proxy.client.close)
        server = LiveServer(MountTree({"/": proxy}))
        self.addCleanup(server.stop)
        return server

    async def status(self, part):
        server = self.upstream(part)
        started = time.monotonic()
        response = await self.client.get(server.url("/x"))
        body = await response.content()
        elapsed = time.monotonic() - started
        warnings = [e for e in self.events if e.get("log_namespace") == "web2.revproxy"
                    and e.get("log_level").name == "warn"]
        self.assertEqual(len(warnings), 1, warnings)
        self.assertFalse([e for e in self.events if e.get("log_failure") is not None])
        return response.code, body, elapsed

    @inlineAsync
    async def test_endlessHead(self):
        code, _, _ = await self.status("endlessHead")
        self.assertEqual(code, 502)
        # The proxy stopped reading at its header limit (16 KiB), not
        # after megabytes.
        self.assertLess(self.factory.sent, 500)

    @inlineAsync
    async def test_stall(self):
        code, body, elapsed = await self.status("stall")
        self.assertEqual(code, 504)
        self.assertLess(elapsed, 10)

    @inlineAsync
    async def test_reset(self):
        code, _, _ = await self.status("reset")
        self.assertEqual(code, 502)

    @inlineAsync
    async def test_garbage(self):
        code, _, _ = await self.status("garbage")
        self.assertEqual(code, 502)

    @inlineAsync
    async def test_nulInHeader(self):
        code, _, _ = await self.status("nul")
        self.assertEqual(code, 502)

    @inlineAsync
    async def test_wrongContentLength(self):
        """
        An upstream that promised more than it sent: the head is already
        out, so the client's connection is cut (it cannot be told the body
        is short any other way), after one log line.
        """
        from web2.client import ConnectionClosed

        server = self.upstream("wrongLength")
        with self.assertRaises(ConnectionClosed):
            # The cut may come before the head left the proxy's buffer.
            response = await self.client.get(server.url("/x"))
            self.assertEqual(response.code, 200)
            await response.content()
        await _until(lambda: any(e.get("log_namespace") == "web2.revproxy" for e in self.events))
        warnings = [e for e in self.events if e.get("log_namespace") == "web2.revproxy"]
        self.assertEqual(len(warnings), 1)
        self.assertFalse([e for e in self.events if e.get("log_failure") is not None])


class _EchoAfterUpgrade(protocol.Protocol):
    """
    Switches to an upper-casing echo protocol when asked (C{Upgrade:
    shout}), answers 426 otherwise.
    """

    switched = False

    def dataReceived(self, data):
        if self.switched:
            if data == b"BYE":
                self.transport.loseConnection()
            self.transport.write(data.upper())
            return
        self.seen = getattr(self, "seen", b"") + data
        if b"\r\n\r\n" not in self.seen:
            return
        head, rest = self.seen.split(b"\r\n\r\n", 1)
        self.factory.heads.append(head)
        if b"upgrade: shout" in head.lower():
            self.switched = True
            self.transport.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: shout\r\n"
                                 b"Connection: Upgrade\r\nX-Up: 1\r\n\r\nWELCOME")
            if rest:
                self.transport.write(rest.upper())
        else:
            self.seen = b""
            self.transport.write(b"HTTP/1.1 426 Upgrade Required\r\nContent-Length: 0\r\n\r\n")

    def connectionLost(self, reason):
        self.factory.lost.append(True)


class UpgradeTests(TestCase):
    timeout = 60

    def setUp(self):
        factory = protocol.Factory.forProtocol(_EchoAfterUpgrade)
        factory.heads, factory.lost = [], []
        self.factory = factory
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        proxy = ReverseProxyResource(f"http://127.0.0.1:{port.getHost().port}/up/")
        self.addCleanup(proxy.client.close)
        self.server = LiveServer(MountTree({"/ws": proxy}))
        self.addCleanup(self.server.stop)

    @inlineAsync
    async def test_tunnel(self):
        """
        An upgrade is passed on, the 101 passed back, and then bytes flow
        both ways untouched (the upstream upper-cases them) until the
        upstream closes, which closes the client's connection too.
        """
        def talk(port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /ws/chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                             b"Upgrade: shout\r\n\r\n")
                head = b""
                while b"WELCOME" not in head:
                    head += sock.recv(65536)
                sock.sendall(b"hello")
                echoed = sock.recv(65536)
                sock.sendall(b"BYE")
                rest = b""
                while True:
                    data = sock.recv(65536)
                    if not data:
                        return head, echoed, rest
                    rest += data

        head, echoed, rest = await inThread(talk, self.server.portNumber)
        self.assertTrue(head.startswith(b"HTTP/1.1 101 Switching Protocols\r\n"), head)
        self.assertIn(b"upgrade: shout", head.lower())
        self.assertIn(b"x-up: 1", head.lower())
        self.assertEqual(echoed, b"HELLO")
        upstreamHead = self.factory.heads[0].lower()
        self.assertTrue(upstreamHead.startswith(b"get /up/chat http/1.1"))
        self.assertIn(b"connection: upgrade", upstreamHead)
        self.assertIn(b"upgrade: shout", upstreamHead)

    @inlineAsync
    async def test_clientClosingClosesUpstream(self):
        def talk(port):
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                sock.sendall(b"GET /ws/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n"
                             b"Upgrade: shout\r\n\r\n")
                head = b""
                while b"WELCOME" not in head:
                    head += sock.recv(65536)

        await inThread(talk, self.server.portNumber)
        await _until(lambda: self.factory.lost == [True])

    @inlineAsync
    async def test_refusedUpgrade(self):
        out = await inThread(rawExchange, self.server.portNumber,
                             b"GET /ws/ HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, close\r\n"
                             b"Upgrade: whisper\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 426 "), out)
