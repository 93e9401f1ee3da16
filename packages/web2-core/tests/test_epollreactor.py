"""
L{web2.epollreactor}: Twisted's epoll reactor without a logging context per
event dispatches events by the same rules, and C{python -m web2} runs on it
unless told otherwise.
"""

import select
import socket

import pytest
from _launch_helpers import Server, fetch, pythonWeb2, runToEnd
from twisted.internet import error
from twisted.internet.interfaces import IReactorFDSet, IReactorTCP, IReactorTime
from twisted.python import context, log
from zope.interface.verify import verifyObject

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


@pytest.fixture
def pair(reactor):
    left, right = socket.socketpair()
    left.setblocking(False)
    yield left, right
    reactor.removeAll()  # before the descriptors close
    left.close()
    right.close()


@pytest.fixture
def otherPair(reactor):
    """
    A second connected pair, for a selectable beside the first.
    """
    left, right = socket.socketpair()
    yield left, right
    reactor.removeAll()
    left.close()
    right.close()


@pytest.fixture
def logged():
    """
    The legacy log events emitted during the test.
    """
    events = []
    log.addObserver(events.append)
    yield events
    log.removeObserver(events.append)


def _loggedError(events, text):
    return any(e.get("isError") and text in str(e.get("failure", "")) for e in events)


class Selectable:
    """
    A readable descriptor whose C{doRead} does what the test says and
    records what the reactor tells it.
    """

    def __init__(self, sock, onRead=lambda self: None):
        self.sock = sock
        self.onRead = onRead
        self.closed = False
        self.lost = []
        self.writes = 0

    def fileno(self):
        return -1 if self.closed else self.sock.fileno()

    def logPrefix(self):
        return "Selectable"

    def doRead(self):
        return self.onRead(self)

    def doWrite(self):
        self.writes += 1

    def connectionLost(self, reason):
        self.lost.append(reason)


def test_interfaces(reactor):
    verifyObject(IReactorFDSet, reactor)
    verifyObject(IReactorTCP, reactor)
    verifyObject(IReactorTime, reactor)


def test_readEventWithoutLoggingContext(reactor, pair):
    """
    A readable descriptor's C{doRead} runs, outside any legacy logging
    context: a C{log.msg} in it is tagged with the system C{-}.
    """
    left, right = pair
    seen = []

    def onRead(selectable):
        seen.append((selectable.sock.recv(100), context.get(log.ILogContext)["system"]))

    selectable = Selectable(left, onRead)
    reactor.addReader(selectable)
    right.send(b"ping")
    reactor.doPoll(1)
    assert seen == [(b"ping", "-")]
    assert selectable.lost == []
    assert selectable in reactor.getReaders()


def test_readReturningAReasonDisconnects(reactor, pair):
    """
    C{doRead} returning C{ConnectionDone} ends the selectable as Twisted's
    reactor does: removed, and told why.
    """
    left, right = pair
    selectable = Selectable(left, lambda s: error.ConnectionDone())
    reactor.addReader(selectable)
    right.send(b"x")
    reactor.doPoll(1)
    assert [f.type for f in selectable.lost] == [error.ConnectionDone]
    assert selectable not in reactor.getReaders()


def test_exceptionInReadIsLoggedAndDisconnects(reactor, pair, otherPair, logged):
    """
    An exception escaping C{doRead} is logged and that selectable alone is
    disconnected; the reactor goes on.
    """
    def boom(selectable):
        raise ZeroDivisionError("boom")

    broken = Selectable(pair[0], boom)
    healthy = Selectable(otherPair[0], lambda s: s.sock.recv(10) and None)
    reactor.addReader(broken)
    reactor.addReader(healthy)
    pair[1].send(b"x")
    otherPair[1].send(b"y")
    reactor.doPoll(1)
    assert broken not in reactor.getReaders()
    assert healthy in reactor.getReaders() and healthy.lost == []
    assert _loggedError(logged, "boom")


def test_closedDescriptorIsDropped(reactor, pair):
    """
    A selectable whose C{fileno()} became -1 is disconnected, not read.
    """
    left, right = pair
    reads = []
    selectable = Selectable(left, lambda s: reads.append(1))
    reactor.addReader(selectable)
    selectable.closed = True
    right.send(b"x")
    reactor.doPoll(1)
    assert reads == []
    assert len(selectable.lost) == 1
    assert selectable not in reactor.getReaders()


def test_otherEventsTakeTwistedsPath(reactor, pair):
    """
    Events other than a plain read (writable, hang-up) get Twisted's own
    dispatch: a writer is written; a writer whose peer vanished is lost.
    """
    left, right = pair
    selectable = Selectable(left)
    reactor.addWriter(selectable)
    reactor.doPoll(1)
    assert selectable.writes == 1
    right.close()
    reactor.doPoll(1)
    assert [f.type for f in selectable.lost] in (
        [error.ConnectionLost], [error.ConnectionDone])
    assert selectable not in reactor.getWriters()


def test_errorInConnectionLostDoesNotStopThePoll(reactor, pair, otherPair, logged):
    """
    A selectable whose C{connectionLost} raises is logged, as Twisted's
    reactor does, and the other events of the same poll are handled.
    """
    class Raising(Selectable):
        def connectionLost(self, reason):
            raise RuntimeError("lost badly")

    order = []

    def lost(s):
        order.append("broken")
        return error.ConnectionDone()

    broken = Raising(pair[0], lost)
    healthy = Selectable(otherPair[0], lambda s: order.append(s.sock.recv(10)))
    reactor.addReader(broken)
    reactor.addReader(healthy)
    # Ready in this order: epoll reports descriptors in the order they
    # became ready, so the healthy one comes after the failure.
    pair[1].send(b"x")
    otherPair[1].send(b"y")
    reactor.doPoll(1)  # one poll only: both events are in it
    assert order == ["broken", b"y"]
    assert _loggedError(logged, "lost badly")


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
