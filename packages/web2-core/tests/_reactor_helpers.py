"""
What the tests of web2's lean reactors (C{test_epollreactor.py},
C{test_asyncioreactor.py}) share: a selectable that records what the
reactor tells it, a look for an error in the log, and the dispatch rules
both keep from Twisted's reactors (L{DispatchContract}).
"""

import socket

import pytest
from twisted.internet import error
from twisted.internet.interfaces import IReactorFDSet, IReactorTCP, IReactorTime
from twisted.python import context, log
from zope.interface.verify import verifyObject


class Selectable:
    """
    A descriptor whose C{doRead} does what the test says and records what
    the reactor tells it.
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


def loggedError(events, text) -> bool:
    """
    Whether C{events} (legacy log events) hold an error whose failure
    mentions C{text}.
    """
    return any(e.get("isError") and text in str(e.get("failure", "")) for e in events)


class DispatchContract:
    """
    The dispatch rules every lean reactor keeps from Twisted's: a test
    module subclasses this as C{TestDispatch}, gives a C{reactor} fixture
    and says in C{turn} how one turn of its loop runs.
    """

    def turn(self, reactor):
        """
        Run one turn of C{reactor}'s loop: the descriptors ready now are
        handled.
        """
        raise NotImplementedError

    def finishTurn(self, reactor):
        """
        Run what C{reactor} leaves for after the callbacks of a turn (its
        sends after the poll), when L{turn} does not.
        """

    @pytest.fixture
    def pair(self, reactor):
        left, right = socket.socketpair()
        left.setblocking(False)
        yield left, right
        reactor.removeAll()  # before the descriptors close
        left.close()
        right.close()

    @pytest.fixture
    def otherPair(self, reactor):
        """
        A second connected pair, for a selectable beside the first.
        """
        left, right = socket.socketpair()
        left.setblocking(False)
        yield left, right
        reactor.removeAll()
        left.close()
        right.close()

    @pytest.fixture
    def logged(self):
        """
        The log events emitted during the test (legacy and new ones).
        """
        events = []
        log.addObserver(events.append)
        yield events
        log.removeObserver(events.append)

    def test_interfaces(self, reactor):
        verifyObject(IReactorFDSet, reactor)
        verifyObject(IReactorTCP, reactor)
        verifyObject(IReactorTime, reactor)

    def test_readEventWithoutLoggingContext(self, reactor, pair):
        """
        A readable descriptor's C{doRead} runs outside any legacy logging
        context: a C{log.msg} in it is tagged with the system C{-}, not the
        selectable's C{logPrefix()} (Twisted's reactors push one).  A
        second add changes nothing; once removed it is read no more.
        """
        left, right = pair
        seen = []

        def onRead(selectable):
            seen.append((selectable.sock.recv(100), context.get(log.ILogContext)["system"]))

        selectable = Selectable(left, onRead)
        reactor.addReader(selectable)
        reactor.addReader(selectable)
        right.send(b"ping")
        self.turn(reactor)
        assert seen == [(b"ping", "-")]
        assert selectable.lost == []
        assert selectable in reactor.getReaders()
        reactor.removeReader(selectable)
        right.send(b"pong")
        self.turn(reactor)
        assert seen == [(b"ping", "-")]

    def test_readReturningAReasonDisconnects(self, reactor, pair):
        """
        C{doRead} returning C{ConnectionDone} ends the selectable as
        Twisted's reactor does: removed, and told why.
        """
        left, right = pair
        selectable = Selectable(left, lambda s: error.ConnectionDone())
        reactor.addReader(selectable)
        right.send(b"x")
        self.turn(reactor)
        assert [f.type for f in selectable.lost] == [error.ConnectionDone]
        assert selectable not in reactor.getReaders()

    def test_exceptionInReadIsLoggedAndDisconnects(self, reactor, pair, otherPair, logged):
        """
        An exception escaping C{doRead} is logged and that selectable alone
        is disconnected; the loop goes on.
        """
        def boom(selectable):
            raise ZeroDivisionError("boom")

        broken = Selectable(pair[0], boom)
        healthy = Selectable(otherPair[0], lambda s: s.sock.recv(10) and None)
        reactor.addReader(broken)
        reactor.addReader(healthy)
        pair[1].send(b"x")
        otherPair[1].send(b"y")
        self.turn(reactor)
        assert broken not in reactor.getReaders()
        assert healthy in reactor.getReaders() and healthy.lost == []
        assert loggedError(logged, "boom")

    def test_errorInConnectionLostDoesNotStopTheTurn(self, reactor, pair, otherPair, logged):
        """
        A selectable whose C{connectionLost} raises is logged, as Twisted's
        reactor does, and the other events of the same turn are handled.
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
        pair[1].send(b"x")
        otherPair[1].send(b"y")
        self.turn(reactor)  # one turn only: both events are in it
        assert sorted(order, key=str) == sorted(["broken", b"y"], key=str)
        assert loggedError(logged, "lost badly")

    def test_closedDescriptorIsDropped(self, reactor, pair):
        """
        A selectable whose C{fileno()} became -1 is disconnected, not read.
        """
        left, right = pair
        reads = []
        selectable = Selectable(left, lambda s: reads.append(1))
        reactor.addReader(selectable)
        selectable.closed = True
        right.send(b"x")
        self.turn(reactor)
        assert reads == []
        assert len(selectable.lost) == 1
        assert selectable not in reactor.getReaders()

    def _readAndAsk(self, reactor, count, events, failing=()):
        """
        Make C{count} readable selectables each of which, when read, asks
        C{reactor} to send after the poll; run a turn and what follows it.
        """
        pairs = [socket.socketpair() for _ in range(count)]
        try:
            for index, (left, right) in enumerate(pairs):
                left.setblocking(False)
                collector = _Collector(index, events, fail=(index in failing))

                def onRead(selectable, collector=collector):
                    selectable.sock.recv(100)
                    events.append(("read", collector.name))
                    assert reactor.sendAfterPoll(collector) is True

                reactor.addReader(Selectable(left, onRead))
                right.send(b"x")
            self.turn(reactor)
            self.finishTurn(reactor)
        finally:
            reactor.removeAll()
            for left, right in pairs:
                left.close()
                right.close()

    def test_sendAfterPollComesAfterEveryReadOfTheTurn(self, reactor, logged):
        """
        A connection handed to C{sendAfterPoll} while one descriptor is
        read is called after every other ready descriptor of that turn has
        been read, once, in the order they asked; one failing is logged
        and the others are still called.
        """
        events = []
        self._readAndAsk(reactor, 3, events, failing={0})
        reads = [e for e in events if e[0] == "read"]
        assert len(reads) == 3
        assert events == reads + [("send", name) for _, name in reads]
        assert loggedError(logged, "send failed")

    def test_sendAfterPollWaitsForSoManyAtMost(self, reactor):
        """
        Once C{maxSendsWaiting} connections wait, the next to ask has them
        send first: the first response of a busy turn waits for that many
        others' work, not for the whole turn's.
        """
        reactor.maxSendsWaiting = 2
        events = []
        self._readAndAsk(reactor, 4, events)
        names = [name for kind, name in events if kind == "read"]
        assert events == [
            ("read", names[0]), ("read", names[1]), ("read", names[2]),
            ("send", names[0]), ("send", names[1]),
            ("read", names[3]), ("send", names[2]), ("send", names[3]),
        ]


class _Collector:
    """
    A connection that asks for the end of the poll and records when it
    comes.
    """

    def __init__(self, name, events, fail=False):
        self.name = name
        self.events = events
        self.fail = fail

    def sendCollected(self):
        self.events.append(("send", self.name))
        if self.fail:
            raise RuntimeError("send failed")
