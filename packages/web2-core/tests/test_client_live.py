"""
L{web2.client} against real servers on loopback: web2 itself, twisted.web,
TLS with and without a trusted certificate, and hostile servers written
here (endless heads, stalls, resets, lying Content-Length).
"""

import datetime
import functools
import os

from twisted.internet import defer, protocol, reactor
from twisted.trial.unittest import SkipTest, TestCase
from twisted.web import resource as tw_resource
from twisted.web import server as tw_server

from web2 import http, resource, stream
from web2._wire import Limits
from web2.client import (
    BadResponse,
    BodyTimeout,
    Client,
    ConnectError,
    ConnectionClosed,
    HTTPStatusError,
    ResponseTimeout,
    TooManyRedirects,
)
from web2.testing import LiveServer


def inlineAsync(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        return defer.ensureDeferred(f(*args, **kwargs))

    return wrapper


class Recorder(resource.Resource):
    """
    Answers every request with what it saw, and remembers its channels.
    """

    def __init__(self):
        self.channels = set()
        self.requests = []
        self.gate = None

    def locateChild(self, request, segments):
        return self, ()

    def render(self, request):
        self.channels.add(id(request.chanRequest.channel))
        self.requests.append(request)

        async def answer():
            if self.gate is not None:
                await self.gate
            body = await stream.readAll(request.stream)
            if request.path == "/redirect":
                return http.RedirectResponse("/target", temporary=True)
            if request.path == "/loop":
                return http.RedirectResponse("/loop", temporary=True)
            if request.path == "/json":
                return http.Response(200, None, b'{"got": %d}' % len(body))
            if request.path == "/fail":
                return http.StatusResponse(500, "no")
            return http.Response(200, None, f"{request.method} {request.uri} {len(body)}".encode())

        return defer.ensureDeferred(answer())

    http_POST = http_PUT = http_DELETE = render


class LiveClientTests(TestCase):
    timeout = 60

    def setUp(self):
        self.root = Recorder()
        self.server = LiveServer(self.root)
        self.addCleanup(self.server.stop)
        self.client = Client(reactor, maxConnectionsPerHost=2, responseTimeout=10, bodyTimeout=10)
        self.addCleanup(self.client.close)

    @inlineAsync
    async def test_getAndKeepAlive(self):
        """
        Sequential requests reuse one kept-alive connection.
        """
        for i in range(3):
            response = await self.client.get(self.server.url(f"/a{i}?q=1"))
            self.assertEqual(await response.content(), f"GET /a{i}?q=1 0".encode())
        self.assertEqual(len(self.root.channels), 1)

    @inlineAsync
    async def test_poolBound(self):
        """
        Twenty concurrent requests to one host use at most
        C{maxConnectionsPerHost} connections; the others wait their turn.
        """
        self.root.gate = defer.Deferred()
        calls = [self.client.get(self.server.url(f"/{i}")) for i in range(20)]
        await _until(lambda: len(self.root.requests) == 2)
        self.assertEqual(self.client.pool.stats(("http", "127.0.0.1", self.server.portNumber))[2], 18)
        gate, self.root.gate = self.root.gate, None
        gate.callback(None)
        bodies = []
        for d in calls:
            bodies.append(await (await d).content())
        self.assertEqual(sorted(bodies), sorted(f"GET /{i} 0".encode() for i in range(20)))
        self.assertLessEqual(len(self.root.channels), 2)

    @inlineAsync
    async def test_idleExpiry(self):
        client = Client(reactor, idleTimeout=0.1)
        self.addCleanup(client.close)
        await (await client.get(self.server.url("/"))).content()
        key = ("http", "127.0.0.1", self.server.portNumber)
        self.assertEqual(client.pool.stats(key), (1, 1, 0))
        await _until(lambda: client.pool.stats(key) == (0, 0, 0))

    @inlineAsync
    async def test_postBodies(self):
        response = await self.client.post(self.server.url("/p"), b"x" * 100000)
        self.assertEqual(await response.content(), b"POST /p 100000")
        chunks = stream.IterableStream(iter([b"a" * 1000] * 50))
        response = await self.client.post(self.server.url("/c"), chunks)
        self.assertEqual(await response.content(), b"POST /c 50000")
        self.assertEqual(self.root.requests[-1].headers.getRawHeaders("transfer-encoding"), ["chunked"])

    @inlineAsync
    async def test_redirectsOnlyWhenAsked(self):
        response = await self.client.get(self.server.url("/redirect"))
        self.assertEqual(response.code, 307)
        response.stream.close()
        response = await self.client.get(self.server.url("/redirect"), followRedirects=3)
        self.assertEqual(await response.content(), b"GET /target 0")
        self.assertEqual(response.previous.code, 307)
        with self.assertRaises(TooManyRedirects):
            await self.client.get(self.server.url("/loop"), followRedirects=2)

    @inlineAsync
    async def test_json(self):
        self.assertEqual(await self.client.json("POST", self.server.url("/json"), {"a": [1, 2]}),
                         {"got": 13})
        with self.assertRaises(HTTPStatusError) as info:
            await self.client.json("GET", self.server.url("/fail"))
        self.assertEqual(info.exception.response.code, 500)

    @inlineAsync
    async def test_noProxyFromTheEnvironment(self):
        """
        httpoxy: HTTP_PROXY (and friends) in the environment are ignored.
        """
        dead = reactor.listenTCP(0, protocol.Factory.forProtocol(protocol.Protocol),
                                 interface="127.0.0.1")
        self.addCleanup(dead.stopListening)
        proxy = f"http://127.0.0.1:{dead.getHost().port}/"
        for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "HTTPS_PROXY"):
            self.patch(os, "environ", {**os.environ, name: proxy})
        response = await self.client.get(self.server.url("/direct"))
        self.assertEqual(await response.content(), b"GET /direct 0")

    @inlineAsync
    async def test_twistedWebServer(self):
        class Hello(tw_resource.Resource):
            isLeaf = True

            def render_GET(self, request):
                request.setHeader(b"content-type", b"text/plain")
                return b"hello from twisted.web " + request.uri

        port = reactor.listenTCP(0, tw_server.Site(Hello()), interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        for path in ("/a", "/b"):
            response = await self.client.get(f"http://127.0.0.1:{port.getHost().port}{path}")
            self.assertEqual(await response.content(), b"hello from twisted.web " + path.encode())

    @inlineAsync
    async def test_connectionRefused(self):
        port = reactor.listenTCP(0, protocol.Factory(), interface="127.0.0.1")
        number = port.getHost().port
        await port.stopListening()
        with self.assertRaises(ConnectError):
            await self.client.get(f"http://127.0.0.1:{number}/")


class TLSTests(TestCase):
    """
    HTTPS, with the C{tls} extra's pyOpenSSL and service_identity (in
    web2-core's test requirements).
    """

    timeout = 60

    def setUp(self):
        global ssl
        try:
            import cryptography  # noqa: F401
            import service_identity  # noqa: F401
            from twisted.internet import ssl
        except ImportError as e:
            raise SkipTest(f"TLS support is not installed: {e}") from None
        pem = _certificate()
        cert = ssl.PrivateCertificate.loadPEM(pem)
        self.server = LiveServer(Recorder())
        self.server.port.stopListening()
        self.port = reactor.listenSSL(0, self.server.factory, cert.options(), interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.addCleanup(self.server.stop)
        self.authority = ssl.Certificate.loadPEM(pem)
        self.url = f"https://localhost:{self.port.getHost().port}/secure"

    @inlineAsync
    async def test_verificationOnByDefault(self):
        """
        A certificate nobody vouches for is refused: L{ConnectError}.
        """
        client = Client(reactor)
        self.addCleanup(client.close)
        with self.assertRaises((ConnectError, ConnectionClosed)) as info:
            await client.get(self.url)
        self.assertIsInstance(info.exception, ConnectError)

    @inlineAsync
    async def test_trustedCertificate(self):
        client = Client(reactor, tlsOptionsFor=lambda host: ssl.optionsForClientTLS(
            host, trustRoot=self.authority))
        self.addCleanup(client.close)
        response = await client.get(self.url)
        self.assertEqual(await response.content(), b"GET /secure 0")

    @inlineAsync
    async def test_wrongHostName(self):
        client = Client(reactor, tlsOptionsFor=lambda host: ssl.optionsForClientTLS(
            "other.example", trustRoot=self.authority))
        self.addCleanup(client.close)
        with self.assertRaises(ConnectError):
            await client.get(self.url)


class HostileServer(protocol.Protocol):
    """
    Plays the part its factory names once a request head has arrived.
    """

    def connectionMade(self):
        self.seen = b""

    def dataReceived(self, data):
        self.seen += data
        if b"\r\n\r\n" not in self.seen or getattr(self, "started", False):
            return
        self.started = True
        getattr(self, "play_" + self.factory.part)()

    def play_endlessHead(self):
        self.transport.write(b"HTTP/1.1 200 OK\r\n")
        self.factory.sent = 0

        def more():
            if not self.transport.connected or self.transport.disconnecting:
                return
            self.transport.write(b"X-Endless: " + b"y" * 1000 + b"\r\n")
            self.factory.sent += 1
            if self.factory.sent < 100000:
                reactor.callLater(0, more)

        more()

    def play_stall(self):
        pass

    def play_stallBody(self):
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")

    def play_reset(self):
        self.transport.abortConnection()

    def play_shortBody(self):
        self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        self.transport.loseConnection()

    def play_closeSecond(self):
        # Answer the first request of a connection; close at the second,
        # as a server whose keep-alive timeout ends as the request arrives.
        self.factory.connections = getattr(self.factory, "connections", 0) + (not hasattr(self, "n"))
        self.n = getattr(self, "n", 0) + 1
        if self.n == 1:
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\nanswer %d"
                                 % (len(b"answer %d" % self.factory.connections), self.factory.connections))
            self.seen = b""
            self.started = False
        else:
            self.transport.loseConnection()

    def play_garbage(self):
        self.transport.write(b"<html>not http</html>\r\n\r\n")


class HostileServerTests(TestCase):
    timeout = 60

    def serve(self, part):
        factory = protocol.Factory.forProtocol(HostileServer)
        factory.part = part
        port = reactor.listenTCP(0, factory, interface="127.0.0.1")
        self.addCleanup(port.stopListening)
        self.factory = factory
        client = Client(reactor, responseTimeout=0.5, bodyTimeout=0.5,
                        limits=Limits(max_header_bytes=65536))
        self.addCleanup(client.close)
        return client, f"http://127.0.0.1:{port.getHost().port}/"

    @inlineAsync
    async def test_endlessHead(self):
        client, url = self.serve("endlessHead")
        with self.assertRaises(BadResponse) as info:
            await client.get(url)
        self.assertIn("header section too large", info.exception.reason)
        self.assertLess(self.factory.sent, 200)

    @inlineAsync
    async def test_stall(self):
        client, url = self.serve("stall")
        with self.assertRaises(ResponseTimeout):
            await client.get(url)

    @inlineAsync
    async def test_stallInBody(self):
        client, url = self.serve("stallBody")
        response = await client.get(url)
        with self.assertRaises(BodyTimeout):
            await response.content()

    @inlineAsync
    async def test_reset(self):
        client, url = self.serve("reset")
        with self.assertRaises(ConnectionClosed):
            await client.get(url)

    @inlineAsync
    async def test_shortBody(self):
        client, url = self.serve("shortBody")
        response = await client.get(url)
        with self.assertRaises(ConnectionClosed):
            await response.content()

    @inlineAsync
    async def test_staleConnectionRetried(self):
        """
        A kept-alive connection the server closes as the next request
        arrives: a bodiless request is sent once more on a new connection.
        """
        client, url = self.serve("closeSecond")
        self.assertEqual(await (await client.get(url)).content(), b"answer 1")
        self.assertEqual(await (await client.get(url)).content(), b"answer 2")

    @inlineAsync
    async def test_staleConnectionNotRetriedWithABody(self):
        client, url = self.serve("closeSecond")
        await (await client.get(url)).content()
        with self.assertRaises(ConnectionClosed):
            await client.post(url, b"body")

    @inlineAsync
    async def test_garbage(self):
        client, url = self.serve("garbage")
        with self.assertRaises(BadResponse):
            await client.get(url)


async def _until(predicate, timeout=20.0):
    from twisted.internet import task

    waited = 0.0
    while not predicate():
        if waited > timeout:
            raise AssertionError("condition not reached")
        await task.deferLater(reactor, 0.02, lambda: None)
        waited += 0.02


def _certificate() -> bytes:
    """
    A self-signed certificate and key for C{localhost} (with the
    subjectAltName that name verification needs), as one PEM.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ) + cert.public_bytes(serialization.Encoding.PEM)
