"""
L{web2.epollreactor}: Twisted's epoll reactor without a logging context per
event dispatches events by the same rules, and C{python -m web2} runs on it
unless told otherwise.
"""

import errno
import os
import select
import socket
import struct

import pytest
from _launch_helpers import Server, fetch, pythonWeb2, runToEnd
from _reactor_helpers import DispatchContract, Selectable, loggedError
from twisted.internet import error, protocol, tcp
from twisted.internet.address import IPv4Address
from twisted.python import log

pytestmark = pytest.mark.skipif(not hasattr(select, "epoll"), reason="epoll is Linux only")

LOCAL = "tcp:0:interface=127.0.0.1"


@pytest.fixture
def reactor():
    from web2.epollreactor import LeanEPollReactor

    reactor = LeanEPollReactor()
    yield reactor
    reactor.removeAll()
    reactor.waker.connectionLost(None)
    reactor._poller.close()


def test_pythonMainRunsOnIt():
    """
    C{python -m web2} installs it by default and says so; C{--reactor}
    picks another.
    """
    with Server(pythonWeb2("--listen", LOCAL, "--mount", "/=text:lean")) as server:
        assert fetch(server.port, "/")[::2] == (200, b"lean")
        # Connections closed at the end of the round: each response
        # arrives whole, then a clean end of file.
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
                received = b""
                while chunk := sock.recv(65536):
                    received += chunk
            assert received.startswith(b"HTTP/1.1 200 OK\r\n")
            assert received.endswith(b"\r\n\r\nlean")
        assert fetch(server.port, "/")[::2] == (200, b"lean")
        result = server.stop()
    assert "reactor LeanEPollReactor" in result.output
    with Server(pythonWeb2("--reactor", "select", "--listen", LOCAL,
                           "--mount", "/=text:stock")) as server:
        assert fetch(server.port, "/")[::2] == (200, b"stock")
        result = server.stop()
    assert "reactor SelectReactor" in result.output


def test_pythonMainRefusesAnUnknownReactor():
    result = runToEnd(pythonWeb2("--reactor", "nosuch", "--mount", "/=text:x"))
    assert result.returncode == 2
    assert "no reactor named 'nosuch'" in result.output
    assert "Traceback" not in result.output


# LeanPort: the TCP ports of LeanEPollReactor.listenTCP


class _Echo(protocol.Protocol):
    def connectionMade(self):
        self.factory.made.append(self)

    def dataReceived(self, data):
        self.transport.write(data.upper())


class _EchoFactory(protocol.Factory):
    protocol = _Echo

    def __init__(self, refuse=False):
        self.made = []
        self.addresses = []
        self.refuse = refuse

    def buildProtocol(self, addr):
        self.addresses.append(addr)
        if self.refuse:
            return None
        return protocol.Factory.buildProtocol(self, addr)


def _pollUntil(reactor, condition, rounds=200):
    for _ in range(rounds):
        if condition():
            return
        reactor.doPoll(0.05)
    raise AssertionError("the reactor never got there")


@pytest.fixture
def listening(reactor):
    ports = []

    def listen(factory, interface="127.0.0.1"):
        port = reactor.listenTCP(0, factory, interface=interface)
        ports.append(port)
        return port

    yield listen
    for port in ports:
        port.stopListening()
        reactor.doPoll(0)


def test_leanPortAcceptsAndServes(reactor, listening):
    """
    A connection to a L{LeanPort} gets Twisted's own TCP transport, its
    peer's address, a session number, and is served.
    """
    from web2.epollreactor import LeanPort

    factory = _EchoFactory()
    port = listening(factory)
    assert isinstance(port, LeanPort)
    client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=10)
    try:
        _pollUntil(reactor, lambda: factory.made)
        (proto,) = factory.made
        transport = proto.transport
        assert transport.__class__ is tcp.Server
        assert transport.getPeer() == factory.addresses[0]
        assert factory.addresses[0] == IPv4Address("TCP", *client.getsockname())
        assert transport.socket.getblocking() is False
        client.sendall(b"hello")
        got = []
        _pollUntil(reactor, lambda: got.append(_recvNowait(client)) or b"".join(got))
        assert b"".join(got) == b"HELLO"
    finally:
        client.close()


class _Recording(protocol.Protocol):
    """
    Records what it receives and how its connection ended; raises on the
    data C{boom}.
    """

    def connectionMade(self):
        self.factory.made.append(self)
        self.received = []
        self.lost = []

    def dataReceived(self, data):
        if data == b"boom":
            raise RuntimeError("boom in dataReceived")
        self.received.append(data)

    def connectionLost(self, reason):
        self.lost.append(reason)


@pytest.mark.parametrize("ending", ["close", "reset", "raise"])
def test_tcpReadsAsTwistedDoes(reactor, listening, ending):
    """
    A TCP connection's reads, through the reactor's own dispatch of plain
    read events, reach the protocol, and its end is Twisted's:
    the peer's close is a clean C{ConnectionDone}, a reset a
    C{ConnectionLost}, and an exception from C{dataReceived} is logged and
    drops the connection.
    """
    events = []
    log.addObserver(events.append)
    factory = _EchoFactory()
    factory.protocol = _Recording
    port = listening(factory)
    client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=10)
    try:
        _pollUntil(reactor, lambda: factory.made)
        (proto,) = factory.made
        client.sendall(b"hello")
        _pollUntil(reactor, lambda: proto.received)
        assert proto.received == [b"hello"]
        if ending == "close":
            client.close()
        elif ending == "reset":
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.close()
        else:
            client.sendall(b"boom")
        _pollUntil(reactor, lambda: proto.lost)
        expected = {"close": error.ConnectionDone, "reset": error.ConnectionLost,
                    "raise": RuntimeError}[ending]
        assert proto.lost[0].type is expected
        assert loggedError(events, "boom in dataReceived") == (ending == "raise")
    finally:
        log.removeObserver(events.append)
        client.close()


def _recvNowait(sock):
    sock.setblocking(False)
    try:
        return sock.recv(100)
    except BlockingIOError:
        return b""
    finally:
        sock.setblocking(True)


def test_leanPortAcceptsABurst(reactor, listening):
    """
    Many connections waiting at once are all accepted, with distinct
    session numbers, and the number of accepts per round grows as
    Twisted's does when a round takes as many as it may.
    """
    factory = _EchoFactory()
    port = listening(factory)
    port.numberAccepts = 3
    clients = [
        socket.create_connection(("127.0.0.1", port.getHost().port), timeout=10)
        for _ in range(8)
    ]
    try:
        _pollUntil(reactor, lambda: len(factory.made) == 8)
        assert len({p.transport.sessionno for p in factory.made}) == 8
        assert port.numberAccepts > 3
    finally:
        for client in clients:
            client.close()


def test_leanPortRefusedProtocolClosesTheSocket(reactor, listening):
    """
    A factory that returns C{None} has the client's socket closed.
    """
    factory = _EchoFactory(refuse=True)
    port = listening(factory)
    client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=10)
    try:
        _pollUntil(reactor, lambda: factory.addresses)
        reactor.doPoll(0)
        client.settimeout(10)
        assert client.recv(10) == b""
    finally:
        client.close()


class _FailingListener:
    """
    A listening socket whose C{accept} fails with C{errno}, as a real one
    does (ECONNABORTED: the client reset before it was accepted).
    """

    family = socket.AF_INET
    type = socket.SOCK_STREAM
    proto = 0

    def __init__(self, real, errno):
        self.real = real
        self.errno = errno
        self.calls = 0

    def _accept(self):
        self.calls += 1
        raise OSError(self.errno, os.strerror(self.errno))

    def accept(self):
        self._accept()

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_leanPortLeavesAcceptErrorsToTwisted(reactor, listening):
    """
    An C{accept()} error other than "no more clients" is handled by
    Twisted's own code: logged as Twisted logs it, the port still listening,
    nothing raised.
    """
    from twisted.logger import globalLogPublisher

    events = []
    globalLogPublisher.addObserver(events.append)
    factory = _EchoFactory()
    port = listening(factory)
    real = port.socket
    port.socket = _FailingListener(real, errno.ECONNABORTED)
    try:
        port.doRead()
    finally:
        failing, port.socket = port.socket, real
        globalLogPublisher.removeObserver(events.append)
    assert failing.calls >= 2  # ours, then Twisted's
    assert any(
        "Could not accept new connection" in e.get("log_format", "") for e in events
    )
    assert not any(e.get("isError") or e.get("log_failure") for e in events)
    assert factory.made == []
    # Still accepting.
    client = socket.create_connection(("127.0.0.1", port.getHost().port), timeout=10)
    try:
        _pollUntil(reactor, lambda: factory.made)
    finally:
        client.close()


def test_leanPortIPv6TakesTwistedsPath(reactor, listening):
    """
    An IPv6 port accepts through Twisted's own C{doRead} (its addresses
    need the numeric host and scope id), and serves.
    """
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    factory = _EchoFactory()
    try:
        port = listening(factory, interface="::1")
    except error.CannotListenError:
        pytest.skip("no IPv6 loopback")
    client = socket.create_connection(("::1", port.getHost().port), timeout=10)
    try:
        _pollUntil(reactor, lambda: factory.made)
        assert factory.addresses[0].host == "::1"
    finally:
        client.close()


class TestDispatch(DispatchContract):
    """
    The dispatch rules on L{LeanEPollReactor}, and its own.
    """

    def turn(self, reactor):
        reactor.doPoll(1)

    def test_otherEventsTakeTwistedsPath(self, reactor, pair):
        """
        Events other than a plain read (writable, hang-up) get Twisted's own
        dispatch: a writer is written; a writer whose peer vanished is lost.
        """
        left, right = pair
        selectable = Selectable(left)
        reactor.addWriter(selectable)
        self.turn(reactor)
        assert selectable.writes == 1
        right.close()
        self.turn(reactor)
        assert [f.type for f in selectable.lost] in (
            [error.ConnectionLost], [error.ConnectionDone])
        assert selectable not in reactor.getWriters()


# Output collected during a poll leaves at its end (sendAfterPoll)


@pytest.mark.parametrize("close", [False, True], ids=["keep-alive", "close"])
def test_responsesOfOnePollLeaveTogether(reactor, listening, close):
    """
    Requests read in one poll are all answered before any answer is sent:
    while the second is rendered, the first client has received nothing
    (neither its response nor, with C{Connection: close}, the end of the
    connection); once the poll ends, each has its whole response, and
    the end of the connection when it asked for it.
    """
    from web2 import http, resource, server
    from web2.channel import HTTPFactory

    clients = []
    sentBeforeRender = []

    class Peek(resource.Resource):
        def render(self, request):
            readable, _, _ = select.select(clients, [], [], 0)
            sentBeforeRender.extend(client in readable for client in clients)
            return http.Response(200, {}, b"peeked")

    factory = HTTPFactory(server.Site(Peek()), reactor=reactor)
    port = listening(factory)
    address = ("127.0.0.1", port.getHost().port)
    clients.extend(socket.create_connection(address, timeout=10) for _ in range(2))
    try:
        _pollUntil(reactor, lambda: factory.connectionCount == 2)
        extra = b"Connection: close\r\n" if close else b""
        for client in clients:
            client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n" + extra + b"\r\n")
        # Both requests wait on the server's side before the poll runs.
        serverSockets = [c.transport.socket for c in factory.connections]
        for _ in range(200):
            readable, _, _ = select.select(serverSockets, [], [], 0.05)
            if len(readable) == 2:
                break
        assert len(readable) == 2
        reactor.doPoll(0)
        assert sentBeforeRender == [False, False, False, False]
        for client in clients:
            received = b""
            while not received.endswith(b"peeked"):
                chunk = client.recv(65536)
                assert chunk
                received += chunk
            assert received.startswith(b"HTTP/1.1 200 OK\r\n")
            if close:
                assert client.recv(65536) == b""
    finally:
        for client in clients:
            client.close()
        for channel in list(factory.connections):
            channel.transport.abortConnection()
        reactor.doPoll(0)


def _pendingSite(reactor, listening, count):
    """
    A site whose every response waits for the test to fire it, and
    C{count} clients that have each sent a request to it.
    """
    from twisted.internet import defer

    from web2 import resource, server
    from web2.channel import HTTPFactory

    pending = []

    class Later(resource.Resource):
        def render(self, request):
            d = defer.Deferred()
            pending.append(d)
            return d

    factory = HTTPFactory(server.Site(Later()), reactor=reactor)
    port = listening(factory)
    clients = [socket.create_connection(("127.0.0.1", port.getHost().port), timeout=10)
               for _ in range(count)]
    for client in clients:
        client.sendall(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
    _pollUntil(reactor, lambda: len(pending) == count)
    return factory, clients, pending


def _assertAnswered(client, body):
    readable, _, _ = select.select([client], [], [], 5)
    assert readable == [client]
    received = client.recv(65536)
    assert received.startswith(b"HTTP/1.1 200 OK\r\n")
    assert received.endswith(b"\r\n\r\n" + body)


def _closeAll(reactor, factory, clients):
    for client in clients:
        client.close()
    for channel in list(factory.connections):
        channel.transport.abortConnection()
    reactor.doPoll(0)


def test_responsesOfTimedCallsLeaveTogether(reactor, listening):
    """
    Responses finished by the timed calls (or thread results) of one turn
    leave once all of them have run, as a poll's do; then at once.
    """
    from web2 import http

    factory, clients, pending = _pendingSite(reactor, listening, 2)
    seen = []
    try:
        def answer(index):
            readable, _, _ = select.select(clients, [], [], 0)
            seen.append(bool(readable))
            pending[index].callback(http.Response(200, {}, b"timed"))

        reactor.callLater(0, answer, 0)
        reactor.callLater(0, answer, 1)
        reactor.runUntilCurrent()
        assert seen == [False, False]
        for client in clients:
            _assertAnswered(client, b"timed")
    finally:
        _closeAll(reactor, factory, clients)


def test_responseFinishedOutsideTheReactorLeavesAtOnce(reactor, listening):
    """
    A response finished outside the reactor's turns (code run at start-up,
    say) is sent at once: nothing follows it to wait for.
    """
    from web2 import http

    factory, clients, pending = _pendingSite(reactor, listening, 1)
    try:
        pending[0].callback(http.Response(200, {}, b"now"))
        _assertAnswered(clients[0], b"now")
    finally:
        _closeAll(reactor, factory, clients)
