# -*- test-case-name: test_testing -*-
"""
Helpers for testing web2, its extensions and their plugins.

Each distribution's tests must run with that distribution's own
dependencies only, so the pieces every test suite needs live here, in
web2-core, rather than in any package's C{tests/}:

  - in memory: L{ChannelConnection} runs a real L{web2.channel.HTTPChannel}
    (and so the whole L{web2.server.Site}) over a
    L{twisted.internet.testing.StringTransport} with a L{task.Clock};
    L{requestBytes} writes a request; L{runNow} stands in for
    C{deferToThread}; L{makeTree} lays out files;
  - L{parseResponses} reads what a server wrote into L{ParsedResponse}s,
    strictly: bad framing raises L{MalformedResponse} instead of being
    guessed around, so that a framing bug cannot pass a test;
  - on a real socket: L{LiveServer} listens on 127.0.0.1 port 0 in the
    running reactor (trial's C{TestCase} runs it); L{rawExchange} and
    L{fetch} are blocking clients to run with L{inThread};
  - in a subprocess: L{ServerProcess} runs C{twistd -n web2} or C{python -m
    web2} (see L{twistdWeb2}, L{pythonWeb2}), waits for its "web2 listening
    on" lines or its port and stops it with SIGTERM; L{runToEnd} runs a
    command that ends by itself.

The parser lives in C{web2._testing_responses} and the subprocess launcher
in C{web2._testing_process}; import them from here.  Only the standard
library, Twisted and web2-core are imported.  Every wait is bounded by a
timeout that the caller may change.
"""

from __future__ import annotations

import http.client
import os
import socket
import ssl

from twisted.internet import address, defer, task, threads
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure

from web2 import server
from web2._testing_process import (
    ProcessResult,
    ServerProcess,
    assertNoTraceback,
    assertStoppedCleanly,
    freePort,
    pythonWeb2,
    runToEnd,
    twistdCommand,
    twistdWeb2,
)
from web2._testing_responses import MalformedResponse, ParsedResponse, parseResponses
from web2.channel import HTTPFactory

__all__ = [
    "ChannelConnection",
    "LiveServer",
    "MalformedResponse",
    "ParsedResponse",
    "ProcessResult",
    "ServerProcess",
    "assertNoTraceback",
    "assertStoppedCleanly",
    "fetch",
    "fetchUnix",
    "freePort",
    "inThread",
    "makeTree",
    "parseResponses",
    "pythonWeb2",
    "rawExchange",
    "requestBytes",
    "runNow",
    "runToEnd",
    "twistdCommand",
    "twistdWeb2",
    "waitFor",
]


# ---------------------------------------------------------------------------
# Requests, in memory


def requestBytes(target="/", method="GET", headers=(), body=None, *, version="HTTP/1.1",
                 host="example.com", close=False) -> bytes:
    """
    The bytes of one request.

    @param headers: C{(name, value)} pairs or a mapping, sent in order after
        C{Host}.
    @param body: C{bytes} (or C{str}, sent as UTF-8) framed by a
        C{Content-Length} unless C{headers} frame it already; C{None} for no
        body and no C{Content-Length}.
    @param host: the C{Host} header's value; C{None} to send none.
    @param close: add C{Connection: close}.
    @return: the request; its head is encoded as latin-1, one octet per
        character, so that a test can send any octet it means to.
    """
    pairs = list(headers.items() if hasattr(headers, "items") else headers)
    lines = [f"{method} {target} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in pairs]
    if isinstance(body, str):
        body = body.encode("utf-8")
    framed = any(n.lower() in ("content-length", "transfer-encoding") for n, _ in pairs)
    if body is not None and not framed:
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def _address(value):
    """
    An L{address.IPv4Address} or L{address.IPv6Address} for a C{(host,
    port)} pair; anything else (already an address) as it is.
    """
    if isinstance(value, tuple):
        kind = address.IPv6Address if ":" in value[0] else address.IPv4Address
        return kind("TCP", *value)
    return value


class ChannelConnection:
    """
    One connection to a real web2 channel over a L{StringTransport}, with a
    L{task.Clock} as the channel's reactor: every byte goes through the wire
    parser, the channel and the site, and time moves only when the test
    says so (C{connection.clock.advance(seconds)}).

    @ivar clock: the L{task.Clock} the factory and its channels use.
    @ivar factory: the L{HTTPFactory}.
    @ivar channel: the channel of this connection.
    @ivar transport: the L{StringTransport}; C{transport.value()} is all
        that was written.
    """

    def __init__(self, root=None, site=None, *, peer=("127.0.0.1", 54321),
                 host=("127.0.0.1", 8080), clock=None, factory=None, **factoryArgs):
        """
        @param root: the root resource of a new L{server.Site}, unless
            C{site} is given.
        @param site: a request factory (normally a L{server.Site}).
        @param peer: the client's address: C{(host, port)} (IPv6 when the
            host has a colon) or an C{IAddress}.
        @param host: the server's address, likewise.
        @param clock: the reactor for the factory; a new L{task.Clock} if
            C{None}.
        @param factory: an L{HTTPFactory} whose connection this is, for
            several connections of one server (which share its turns, its
            connection count and its reactor, which becomes L{clock});
            C{root}, C{site}, C{clock} and C{factoryArgs} are then unused.
        @param factoryArgs: given to L{HTTPFactory} (limits, timeouts...).
        """
        if factory is None:
            if site is None:
                site = server.Site(root)
            clock = clock if clock is not None else task.Clock()
            factory = HTTPFactory(site, reactor=clock, **factoryArgs)
        self.factory = factory
        self.site = factory.site
        self.clock = factory.reactor
        peerAddress, hostAddress = _address(peer), _address(host)
        self.channel = self.factory.buildProtocol(peerAddress)
        self.transport = StringTransport(hostAddress=hostAddress, peerAddress=peerAddress)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes):
        """
        Deliver C{data} from the client.

        Connections take turns (rule 5 of L{web2.channel.http}): of more
        pipelined requests in one C{send} than C{maxRequestsPerTurn} (16
        by default), or than the factory's round has left, the rest are
        answered once the clock runs its due calls
        (C{self.clock.advance(0)}).

        @return: this connection, for chaining.
        """
        self.channel.dataReceived(data)
        return self

    def output(self) -> bytes:
        """
        Everything the server wrote so far.
        """
        return self.transport.value()

    def responses(self, headRequests=()):
        """
        The responses written so far: see L{parseResponses}.
        """
        return parseResponses(self.transport.value(), headRequests, eof=self.closed)

    @property
    def closed(self) -> bool:
        """
        Whether the server closed (or is closing) the connection.
        """
        return self.transport.disconnecting

    def lose(self, reason=None):
        """
        The client goes away: the channel sees C{connectionLost}.

        @param reason: a L{Failure}; a clean L{ConnectionDone} by default.
        """
        self.channel.connectionLost(reason or Failure(ConnectionDone()))

    def pump(self, maxPulls=1000):
        """
        Let the clock's current turn run, then resume a pull producer that
        the response registered with the transport until it unregisters (a
        L{StringTransport} never pauses a push producer, which needs none).

        @param maxPulls: how many times to resume it at the most.
        """
        self.clock.advance(0)
        for _ in range(maxPulls):
            producer = self.transport.producer
            if producer is None or self.transport.streaming:
                break
            producer.resumeProducing()

    def sendRequest(self, target="/", method="GET", headers=(), body=None, **requestArgs):
        """
        Send one request built by L{requestBytes} (which takes
        C{requestArgs}), without waiting for its response.

        @return: this connection, for chaining.
        """
        return self.send(requestBytes(target, method, headers, body, **requestArgs))

    def request(self, target="/", method="GET", headers=(), body=None, **requestArgs):
        """
        Send one request built by L{requestBytes} (which takes
        C{requestArgs}) and return its response: see L{exchange}.
        """
        return self.exchange(requestBytes(target, method, headers, body, **requestArgs),
                             head=method == "HEAD")

    def exchange(self, data: bytes, head=False):
        """
        Forget the output so far, send C{data} (one request), L{pump}, and
        return the one response written since.

        @param head: whether C{data} is a C{HEAD} request.
        @raise AssertionError: if there is not exactly one response.
        """
        self.transport.clear()
        self.send(data)
        self.pump()
        responses = self.responses(headRequests=(0,) if head else ())
        if len(responses) != 1:
            raise AssertionError(
                f"expected one response, got {responses!r} from "
                f"{self.transport.value()[:500]!r}")
        return responses[0]


def runNow(f, *args, **kwargs):
    """
    A synchronous stand-in for C{deferToThread}, to give resources that
    take a C{runInThread}: call C{f} now.

    @return: a fired Deferred of its result (or failure).
    """
    return defer.maybeDeferred(f, *args, **kwargs)


def makeTree(base, spec):
    """
    Create files and directories under C{base} from a nested C{dict}: a
    C{bytes} value is a file's content (a C{str} is written as UTF-8), a
    C{dict} is a directory.

    @return: C{base}.
    """
    for name, value in spec.items():
        path = os.path.join(base, name)
        if isinstance(value, dict):
            os.mkdir(path)
            makeTree(path, value)
        else:
            with open(path, "wb") as f:
                f.write(value.encode("utf-8") if isinstance(value, str) else value)
    return base


# ---------------------------------------------------------------------------
# A real server and blocking clients


class LiveServer:
    """
    A real web2 server on 127.0.0.1, on a port the system picks, in the
    running reactor (trial's C{TestCase} runs it; talk to it from a thread,
    see L{inThread}).  Stop it in the test's cleanup::

        server = LiveServer(root)
        self.addCleanup(server.stop)

    @ivar site: the site.
    @ivar factory: its L{HTTPFactory}.
    @ivar port: the C{IListeningPort}.
    @ivar portNumber: the port number.
    """

    def __init__(self, root=None, site=None, *, reactor=None, interface="127.0.0.1",
                 **factoryArgs):
        """
        @param root: the root resource of a new L{server.Site}, unless
            C{site} is given.
        @param site: a request factory (normally a L{server.Site}).
        @param reactor: the reactor; the global one if C{None}.
        @param factoryArgs: given to L{HTTPFactory} (limits, timeouts...).
        """
        if reactor is None:
            from twisted.internet import reactor
        self.site = site if site is not None else server.Site(root)
        self.factory = HTTPFactory(self.site, reactor=reactor, **factoryArgs)
        self.port = reactor.listenTCP(0, self.factory, interface=interface)
        self.portNumber = self.port.getHost().port

    def url(self, path="/") -> str:
        """
        The C{http://} URL of C{path} on this server.
        """
        return f"http://{self.port.getHost().host}:{self.portNumber}{path}"

    def stop(self):
        """
        Stop listening and abort every connection still open, so that the
        test leaves no socket or timer behind.

        @return: a Deferred that fires once the port is closed and every
            connection is gone.
        """
        for channel in list(self.factory.connections):
            channel.abortConnection()
        return defer.gatherResults(
            [defer.maybeDeferred(self.port.stopListening), self.factory.drain(timeout=0)],
            consumeErrors=True)


def rawExchange(port: int, data: bytes, timeout=10.0, halfClose=False, readLimit=None,
                host="127.0.0.1") -> bytes:
    """
    Send C{data} on a new blocking socket and read until the server closes,
    C{readLimit} bytes have come, or nothing came for C{timeout} seconds.
    Blocks: run it in a thread (L{inThread}) beside a reactor.

    A server that resets the connection (having answered before the whole
    of C{data} was sent, say) ends the exchange; what was received counts.

    @param halfClose: shut down the sending side after C{data}.
    @return: the bytes received.
    """
    with socket.create_connection((host, port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
            if halfClose:
                sock.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        chunks = []
        total = 0
        while readLimit is None or total < readLimit:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)


def inThread(f, *args, **kwargs):
    """
    Run a blocking client in a thread of the reactor's pool.

    @return: a Deferred of its result.
    """
    return threads.deferToThread(f, *args, **kwargs)


def fetch(port, path="/", method="GET", headers=None, body=None, *, host="127.0.0.1",
          tls=False, timeout=10.0):
    """
    One request with C{http.client} on a new connection, closed by the
    client once the response is read.  Blocks (see L{inThread}).

    @param tls: speak TLS, without checking the server's certificate.
    @return: C{(status, headers as a dict with lower-case names, body)}.
    """
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()


def fetchUnix(socketPath, path="/", timeout=10.0) -> bytes:
    """
    One HTTP/1.0 C{GET} over a unix socket.  Blocks.

    @return: the whole raw response.
    """
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(socketPath)
        sock.sendall(requestBytes(path, version="HTTP/1.0", host="localhost"))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


def waitFor(predicate, timeout=10.0, step=0.01):
    """
    Poll C{predicate()} from the running reactor (trial's C{TestCase} runs
    it) until it is true: for what a live server does on its own (a thread
    of a pool finishing, a log line, a close).

    The reactor is imported when called, not when this module is, so that
    a test suite may install another one first (web2-asgi's runs asyncio's).

    @param timeout: seconds after which the wait fails.
    @param step: seconds between two polls.
    @return: a Deferred that fires once C{predicate()} is true, or fails
        with C{AssertionError} after C{timeout} seconds.
    """
    from twisted.internet import reactor

    deadline = reactor.seconds() + timeout

    @defer.inlineCallbacks
    def poll():
        while not predicate():
            if reactor.seconds() > deadline:
                raise AssertionError(f"{predicate} never became true")
            yield task.deferLater(reactor, step, lambda: None)

    return poll()
