"""
Tests of L{web2.testing}: the strict response parser, the in-memory
channel, the live server and its blocking clients, and the subprocess
launcher.
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile

import pytest
from twisted.internet import defer, reactor
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from web2 import http, resource, stream
from web2.testing import (
    ChannelConnection,
    LiveServer,
    MalformedResponse,
    ParsedResponse,
    ProcessResult,
    ServerProcess,
    assertNoTraceback,
    assertStoppedCleanly,
    fetch,
    fetchUnix,
    freePort,
    inThread,
    makeTree,
    parseResponses,
    pythonWeb2,
    rawExchange,
    requestBytes,
    runNow,
    runToEnd,
    twistdWeb2,
    waitFor,
)

# ---------------------------------------------------------------------------
# parseResponses


def test_contentLengthResponses():
    """
    Pipelined responses framed by Content-Length come out in order, with
    their status line, fields and bodies.
    """
    data = (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: 1\r\nx-a:  2 \r\n\r\nhello"
            b"HTTP/1.0 404 Not Found Here\r\nContent-Length: 0\r\n\r\n")
    first, second = parseResponses(data)
    assert (first.version, first.status, first.reason, first.body) == (
        "HTTP/1.1", 200, "OK", b"hello")
    assert first.headers == [("Content-Length", "5"), ("X-A", "1"), ("x-a", "2")]
    assert first.headerValues("X-a") == ["1", "2"]
    assert first.header("x-A") == "2"
    assert first.header("missing", "default") == "default"
    assert (first.framing, first.complete) == ("length", True)
    assert (second.version, second.status, second.reason, second.body) == (
        "HTTP/1.0", 404, "Not Found Here", b"")


def test_emptyReason():
    """
    The reason phrase may be empty, but the space before it is required.
    """
    [response] = parseResponses(b"HTTP/1.1 299 \r\nContent-Length: 0\r\n\r\n")
    assert (response.status, response.reason) == (299, "")
    with pytest.raises(MalformedResponse):
        parseResponses(b"HTTP/1.1 299\r\nContent-Length: 0\r\n\r\n")


def test_chunked():
    """
    A chunked body is decoded, chunk extensions are ignored, trailers are
    kept, and the next response follows it.
    """
    data = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;name=value\r\nhello\r\nA\r\n, world!!!\r\n0\r\nX-Sum: 7\r\n\r\n"
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip, Chunked\r\n\r\n0\r\n\r\n")
    first, second = parseResponses(data)
    assert (first.body, first.framing, first.complete) == (b"hello, world!!!", "chunked", True)
    assert first.trailers == [("X-Sum", "7")]
    assert (second.body, second.framing, second.trailers) == (b"", "chunked", [])


def test_interimAndBodilessResponses():
    """
    1xx, 204 and 304 responses have no body, and neither has the answer to
    a HEAD request, counted among final responses only.
    """
    data = (b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
            b"HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"
            b"HTTP/1.1 304 Not Modified\r\nContent-Length: 100\r\n\r\n"
            b"HTTP/1.1 204 No Content\r\n\r\n")
    responses = parseResponses(data, headRequests=(1,))
    assert [(r.status, r.body, r.framing) for r in responses] == [
        (100, b"", "none"), (200, b"abc", "length"), (103, b"", "none"),
        (200, b"", "none"), (304, b"", "none"), (204, b"", "none")]


def test_closeDelimited():
    """
    A body with neither Content-Length nor chunked coding runs to the end of
    the data, and is complete only if the connection closed there.
    """
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nraw bytes"
    [closed] = parseResponses(data)
    assert (closed.body, closed.framing, closed.complete) == (b"raw bytes", "close", True)
    [open_] = parseResponses(b"HTTP/1.0 200 OK\r\n\r\nso far", eof=False)
    assert (open_.body, open_.framing, open_.complete) == (b"so far", "close", False)


@pytest.mark.parametrize("data, body", [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", b"abc"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n5\r\nde", b"abcde"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", b"abc"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc", b"abc"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r", b"abc"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab", b"ab"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r", b""),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-Late: 1\r\n", b""),
])
def test_truncatedBodyIsIncomplete(data, body):
    """
    A body cut short is returned with what there is, marked incomplete.
    """
    [response] = parseResponses(data)
    assert (response.body, response.complete) == (body, False)
    assert "INCOMPLETE" in repr(response)


@pytest.mark.parametrize("data", [
    # Status lines.
    b"HTTP/1.1 20 OK\r\n\r\n",
    b"HTTP/1.1 2000 OK\r\n\r\n",
    b"HTTP/1.1 abc OK\r\n\r\n",
    b"HTTP/11 200 OK\r\n\r\n",
    b"http/1.1 200 OK\r\n\r\n",
    b"HTTP/1.1  200 OK\r\n\r\n",
    b"HTTP/1.1 200 O\x00K\r\nContent-Length: 0\r\n\r\n",
    # Heads: incomplete, bare LF, and field lines.
    b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n",
    b"HTTP/1.1 200 OK\nContent-Length: 0\n\n",
    b"HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nNoColon\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 0\r\n\r\n",
    # Content-Length.
    b"HTTP/1.1 200 OK\r\nContent-Length: +3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nContent-Length: 0x3\r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\nabc",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
    b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd",
    b"HTTP/1.1 304 Not Modified\r\nContent-Length: x\r\n\r\n",
    # Transfer-Encoding.
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: ,chunked\r\n\r\n0\r\n\r\n",
    # Framing fields where none may be.
    b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\nTransfer-Encoding: chunked\r\n\r\n",
    # Chunked coding.
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x3\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-3\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\nabc\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"0" * 17 + b"3\r\nabc\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcd\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nab\r\n\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nBad Trailer\r\n\r\n",
    # Garbage after a complete response.
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab",
])
def test_malformedIsRejected(data):
    """
    Bad status lines, field lines, framing and chunked coding raise
    instead of being read some way or other.
    """
    with pytest.raises(MalformedResponse):
        parseResponses(data)


def test_emptyData():
    assert parseResponses(b"") == []


def test_parsedResponseRepr():
    response = ParsedResponse("HTTP/1.1", 200, "OK", [("A", "b")], b"x" * 200)
    text = repr(response)
    assert "200" in text and "('A', 'b')" in text and len(text) < 200
    assert "INCOMPLETE" not in text


# ---------------------------------------------------------------------------
# requestBytes, runNow, makeTree


def test_requestBytes():
    assert requestBytes() == b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"
    assert requestBytes("/x", "POST", [("X-A", "1")], b"abc", close=True) == (
        b"POST /x HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\nContent-Length: 3\r\n"
        b"Connection: close\r\n\r\nabc")
    assert requestBytes("/", "PUT", {"X-B": "\xe9"}, "\xe9", host=None,
                        version="HTTP/1.0") == (
        b"PUT / HTTP/1.0\r\nX-B: \xe9\r\nContent-Length: 2\r\n\r\n\xc3\xa9")
    chunked = requestBytes("/", "POST", [("Transfer-Encoding", "chunked")], b"0\r\n\r\n")
    assert b"Content-Length" not in chunked and chunked.endswith(b"\r\n\r\n0\r\n\r\n")
    assert b"Content-Length: 0" in requestBytes("/", "POST", body=b"")


def test_runNow():
    assert runNow(lambda a, b=0: a + b, 1, b=2).result == 3
    failed = runNow(lambda: 1 / 0)
    assert failed.result.check(ZeroDivisionError)
    failed.addErrback(lambda _: None)


def test_makeTree(tmp_path):
    assert makeTree(tmp_path, {"a.txt": b"A", "d": {"b.txt": "\xe9", "e": {}}}) == tmp_path
    assert (tmp_path / "a.txt").read_bytes() == b"A"
    assert (tmp_path / "d" / "b.txt").read_bytes() == b"\xc3\xa9"
    assert (tmp_path / "d" / "e").is_dir()


# ---------------------------------------------------------------------------
# ChannelConnection


class Where(resource.LeafResource):
    """
    Answers with the client's and the server's address and the body's size.
    """

    def render(self, request):
        host = request.chanRequest.getHostInfo()[0]
        text = f"{request.remoteAddr.host}:{request.remoteAddr.port} {host.host}:{host.port}"
        return http.Response(200, None, text)

    def http_POST(self, request):
        return stream.readAll(request.stream).addCallback(
            lambda body: http.Response(200, None, str(len(body))))


def test_channelConnection():
    """
    Requests go through the real channel and site; the addresses are the
    defaults unless given.
    """
    conn = ChannelConnection(Where())
    response = conn.request("/")
    assert (response.status, response.body) == (200, b"127.0.0.1:54321 127.0.0.1:8080")
    assert conn.request("/", "POST", body=b"12345").body == b"5"
    assert conn.request("/", "HEAD").body == b""
    assert not conn.closed
    other = ChannelConnection(Where(), peer=("::1", 4000), host=("192.0.2.1", 80))
    assert other.request("/").body == b"::1:4000 192.0.2.1:80"


def test_channelConnectionPipelinedAndClosed():
    """
    L{ChannelConnection.send} chains; the responses of pipelined requests
    are all parsed; C{closed} tells when the server closes.
    """
    conn = ChannelConnection(Where())
    assert conn.send(requestBytes("/") + requestBytes("/", "HEAD")) is conn
    conn.sendRequest("/", close=True)
    responses = conn.responses(headRequests=(1,))
    assert [r.status for r in responses] == [200, 200, 200]
    assert [r.body for r in responses] == [b"127.0.0.1:54321 127.0.0.1:8080", b"",
                                           b"127.0.0.1:54321 127.0.0.1:8080"]
    assert conn.output() == conn.transport.value()
    assert conn.closed


def test_channelConnectionFactoryArgsAndClock():
    """
    Factory arguments reach the L{HTTPFactory}, whose reactor is the
    connection's clock: a head that does not arrive in time gets a 408.
    """
    conn = ChannelConnection(Where(), headerTimeout=5)
    conn.send(b"GET / HTTP/1.1\r\n")
    conn.clock.advance(4)
    assert conn.output() == b""
    conn.clock.advance(1)
    [response] = conn.responses()
    assert response.status == 408 and conn.closed


def test_channelConnectionSite():
    """
    A site may be given instead of a root.
    """
    from web2 import server

    site = server.Site(Where())
    assert ChannelConnection(site=site).site is site


def test_requestWantsExactlyOneResponse():
    """
    L{ChannelConnection.request} and C{exchange} fail unless exactly one
    response was written.
    """
    conn = ChannelConnection(Where())
    with pytest.raises(AssertionError):
        conn.exchange(b"GET / HTTP/1.1\r\nHost: a\r\n")
    with pytest.raises(AssertionError):
        ChannelConnection(Where()).exchange(requestBytes("/") + requestBytes("/"))


def test_lose():
    """
    L{ChannelConnection.lose} tells the channel that the client went away,
    with the reason given.
    """
    seen = []

    class Reader(resource.LeafResource):
        def http_POST(self, request):
            return stream.readAll(request.stream).addErrback(seen.append)

    conn = ChannelConnection(Reader())
    conn.send(requestBytes("/", "POST", [("Content-Length", "10")], b"abc"))
    conn.lose(Failure(ConnectionLost()))
    assert conn.factory.connections == set()
    assert seen and seen[0].check(ConnectionLost)


class PullProducer:
    """
    Writes one piece per C{resumeProducing}, unregisters after C{count}.
    """

    def __init__(self, transport, count):
        self.transport = transport
        self.count = count
        self.resumed = 0

    def resumeProducing(self):
        self.resumed += 1
        self.transport.write(b"%d," % self.resumed)
        if self.resumed == self.count:
            self.transport.unregisterProducer()

    def stopProducing(self):
        pass


def test_pumpRunsPullProducer():
    """
    L{ChannelConnection.pump} runs what is due on the clock, then resumes a
    pull producer until it unregisters, at most C{maxPulls} times, and
    never a push producer.
    """
    conn = ChannelConnection(Where())
    due = []
    conn.clock.callLater(0, due.append, "now")
    conn.clock.callLater(1, due.append, "later")
    producer = PullProducer(conn.transport, 3)
    conn.transport.registerProducer(producer, False)
    conn.pump()
    assert due == ["now"]
    assert conn.output() == b"1,2,3," and conn.transport.producer is None

    bounded = PullProducer(conn.transport, 100)
    conn.transport.registerProducer(bounded, False)
    conn.pump(maxPulls=5)
    assert bounded.resumed == 5
    conn.transport.unregisterProducer()

    pushed = PullProducer(conn.transport, 3)
    conn.transport.registerProducer(pushed, True)
    conn.pump()
    assert pushed.resumed == 0


# ---------------------------------------------------------------------------
# LiveServer and the blocking clients


class Big(resource.LeafResource):
    def render(self, request):
        return http.Response(200, None, b"x" * 1000000)


class Root(Where):
    def locateChild(self, request, segments):
        if segments and segments[0] == "big":
            return Big(), ()
        return self, ()


class LiveServerTests(TestCase):
    """
    A real server on 127.0.0.1, and the clients for it.
    """

    # Bounds the tests that would otherwise wait for rawExchange's timeout.
    timeout = 20

    def setUp(self):
        self.server = LiveServer(Root(), idleTimeout=300)
        self.addCleanup(self.server.stop)

    @defer.inlineCallbacks
    def test_fetch(self):
        self.assertEqual(self.server.url("/x"), f"http://127.0.0.1:{self.server.portNumber}/x")
        status, headers, body = yield inThread(fetch, self.server.portNumber, "/",
                                               "POST", {"X-A": "1"}, b"abc")
        self.assertEqual((status, body), (200, b"3"))
        self.assertEqual(headers["content-length"], "1")

    @defer.inlineCallbacks
    def test_rawExchangeUntilClose(self):
        """
        Pipelined requests, the last with C{Connection: close}: everything
        is read up to the server's close.
        """
        data = requestBytes("/") + requestBytes("/", close=True)
        out = yield inThread(rawExchange, self.server.portNumber, data, timeout=60)
        self.assertEqual([r.status for r in parseResponses(out)], [200, 200])

    @defer.inlineCallbacks
    def test_rawExchangeHalfClose(self):
        """
        With C{halfClose} the server sees the end of the input and closes
        after answering; without, this kept-alive connection would stay open
        past the test's timeout.
        """
        out = yield inThread(rawExchange, self.server.portNumber, requestBytes("/"),
                             timeout=60, halfClose=True)
        self.assertEqual([r.status for r in parseResponses(out)], [200])

    @defer.inlineCallbacks
    def test_rawExchangeReadLimit(self):
        out = yield inThread(rawExchange, self.server.portNumber, requestBytes("/big"),
                             timeout=60, readLimit=1000)
        self.assertTrue(1000 <= len(out) < 1000000, len(out))
        [response] = parseResponses(out)
        self.assertFalse(response.complete)

    @defer.inlineCallbacks
    def test_rawExchangeTimeout(self):
        """
        Without a close, the exchange ends after C{timeout} seconds of
        silence with what it has.
        """
        out = yield inThread(rawExchange, self.server.portNumber, requestBytes("/"),
                             timeout=0.5)
        self.assertEqual([r.status for r in parseResponses(out)], [200])

    @defer.inlineCallbacks
    def test_stopAbortsOpenConnections(self):
        """
        L{LiveServer.stop} closes the port and every connection still open,
        and fires once they are gone.
        """
        port = self.server.portNumber

        def openConnection():
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(requestBytes("/"))
            sock.recv(65536)
            return sock

        sock = yield inThread(openConnection)
        self.addCleanup(sock.close)
        self.assertEqual(len(self.server.factory.connections), 1)
        yield self.server.stop()
        self.assertEqual(self.server.factory.connections, set())

        def readRest():
            try:
                return sock.recv(100)
            except ConnectionResetError:
                return b"reset"

        rest = yield inThread(readRest)
        self.assertIn(rest, (b"", b"reset"))
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5).close()

    @defer.inlineCallbacks
    def test_fetchUnix(self):
        path = os.path.join(tempfile.mkdtemp(), "s")
        unixPort = reactor.listenUNIX(path, self.server.factory)
        self.addCleanup(unixPort.stopListening)
        out = yield inThread(fetchUnix, path, "/big")
        [response] = parseResponses(out)
        self.assertEqual((response.status, len(response.body)), (200, 1000000))


# ---------------------------------------------------------------------------
# Subprocesses

FAKE_SERVER = r"""
import signal, socket, sys
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(5)
port = sock.getsockname()[1]
print(f"web2 listening on 127.0.0.1:{port} (tcp:{port}:interface=127.0.0.1)", flush=True)
print("web2 listening on /tmp/x.sock (unix:/tmp/x.sock)", flush=True)

def stop(*args):
    print("stopping", flush=True)
    sys.exit(int(sys.argv[1]))

signal.signal(signal.SIGTERM, stop)
while True:
    conn, _ = sock.accept()
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
    conn.close()
"""


def test_serverProcess():
    """
    L{ServerProcess} reads the listening lines, can be fetched from, and
    stops on SIGTERM with its output.
    """
    with ServerProcess([sys.executable, "-c", FAKE_SERVER, "0"], startTimeout=30) as process:
        addresses = process.waitForListeners(2)
        port = process.port
        assert addresses[0] == ("127.0.0.1", port, f"tcp:{port}:interface=127.0.0.1")
        assert addresses[1] == ("/tmp/x.sock", None, "unix:/tmp/x.sock")
        process.waitForPort(port)
        assert fetch(port, "/")[::2] == (200, b"ok")
        result = process.stop()
    assert isinstance(result, ProcessResult)
    assert result.returncode == 0 and "stopping" in result.output
    assert process.waitForOutput("stopping", timeout=1)
    assert not process.waitForOutput("never printed", timeout=0.1)
    assertStoppedCleanly(result)


def test_serverProcessFailsWithItsOutput():
    """
    A wait for a listener that will never come fails at once when the
    process ends, naming its command and output.
    """
    process = ServerProcess([sys.executable, "-c", "print('no luck'); raise SystemExit(2)"])
    with pytest.raises(AssertionError, match="(?s)did not report 1 listener.*no luck"):
        process.waitForListeners()
    assert process.process.returncode == 2
    process = ServerProcess([sys.executable, "-c", "print('no port')"])
    with pytest.raises(AssertionError, match="(?s)nothing listened.*no port"):
        process.waitForPort(freePort())


def test_assertStoppedCleanly():
    assertStoppedCleanly(ProcessResult(-15, "fine"))
    for bad in (ProcessResult(1, "exit 1"), ProcessResult(0, "Traceback (most recent")):
        with pytest.raises(AssertionError):
            assertStoppedCleanly(bad)
    with pytest.raises(AssertionError):
        assertNoTraceback("x\nTraceback (most recent call last):\n")


def test_runToEndEnvironment(monkeypatch):
    """
    L{runToEnd} collects both streams and the status; the child's
    environment has the extra variables and not the plugin choice.
    """
    monkeypatch.setenv("WEB2_PLUGINS", "leaky")
    code = ("import os, sys; print(os.environ.get('WEB2_PLUGINS'), os.environ['EXTRA']);"
            "print('err', file=sys.stderr); sys.exit(3)")
    result = runToEnd([sys.executable, "-c", code], env={"EXTRA": "yes"})
    assert (result.returncode, result.stdout, result.stderr) == (3, "None yes\n", "err\n")
    assert result.output == "None yes\nerr\n"


def test_commands():
    assert pythonWeb2("--help") == [sys.executable, "-m", "web2", "--help"]
    command = twistdWeb2("--listen", "tcp:0")
    assert command[-5:] == ["-n", "--pidfile=", "web2", "--listen", "tcp:0"]


def test_freePort():
    port = freePort()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_hungServerShowsItsStacks():
    """
    A server that does not stop on SIGTERM fails L{ServerProcess.stop} with
    its threads' stacks in the message (faulthandler, asked with SIGABRT),
    so that a hang seen once in CI says where it was.
    """
    hanging = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "def stuckSomewhere():\n"
        "    print('ready', flush=True)\n"
        "    while True:\n"
        "        time.sleep(0.05)\n"
        "stuckSomewhere()\n"
    )
    with ServerProcess([sys.executable, "-c", hanging], startTimeout=30) as process:
        assert process.waitForOutput("ready")
        with pytest.raises(AssertionError) as failure:
            process.stop(timeout=1)
    message = str(failure.value)
    assert "did not stop within 1 s" in message
    # faulthandler's frame line (the command, quoted too, has no "line N in").
    assert re.search(r"line \d+ in stuckSomewhere", message), message


class WaitForTests(TestCase):
    timeout = 20

    @defer.inlineCallbacks
    def test_firesOnceTrue(self):
        """
        The wait ends once the reactor has made the predicate true.
        """
        seen = []
        reactor.callLater(0.05, seen.append, 1)
        yield waitFor(lambda: seen, timeout=10)
        self.assertEqual(seen, [1])

    @defer.inlineCallbacks
    def test_failsAfterTheTimeout(self):
        with self.assertRaises(AssertionError):
            yield waitFor(lambda: False, timeout=0.1)
