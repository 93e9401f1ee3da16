"""
L{web2.channel._deadlines}: connection deadlines sharing one DelayedCall
per slot, met at most one slot late and never early.
"""

from twisted.internet import task

from web2.channel._deadlines import RESOLUTION, Deadlines


class Member:
    def __init__(self, log, name, then=None):
        self.log = log
        self.name = name
        self.then = then

    def deadlineReached(self):
        self.log.append(self.name)
        if self.then is not None:
            self.then()


def test_firesAtTheEndOfItsSlotNeverEarly():
    clock = task.Clock()
    deadlines = Deadlines(clock)
    log = []
    deadlines.add(Member(log, "a"), 1.1, clock.seconds())
    clock.advance(1.1)
    assert log == []
    clock.advance(1.25 - 1.1)
    assert log == ["a"]


def test_deadlineOnASlotBoundaryFiresExactly():
    clock = task.Clock()
    deadlines = Deadlines(clock)
    log = []
    deadlines.add(Member(log, "a"), 10.0, 0.0)
    clock.advance(9.99)
    assert log == []
    clock.advance(0.01)
    assert log == ["a"]


def test_oneDelayedCallPerSlot():
    """
    Deadlines in the same slot share its DelayedCall and fire in the order
    they joined; another slot has its own.
    """
    clock = task.Clock()
    deadlines = Deadlines(clock)
    log = []
    first = deadlines.add(Member(log, "a"), 5.01, 0.0)
    second = deadlines.add(Member(log, "b"), 5.2, 0.0)
    third = deadlines.add(Member(log, "c"), 5.3, 0.0)
    assert first == second != third
    assert len(clock.getDelayedCalls()) == 2
    clock.advance(5.25)
    assert log == ["a", "b"]
    clock.advance(0.25)
    assert log == ["a", "b", "c"]
    assert clock.getDelayedCalls() == []


def test_lastMemberLeavingCancelsTheCall():
    clock = task.Clock()
    deadlines = Deadlines(clock)
    log = []
    a, b = Member(log, "a"), Member(log, "b")
    slot = deadlines.add(a, 3.0, 0.0)
    deadlines.add(b, 3.0, 0.0)
    deadlines.remove(a, slot)
    assert len(clock.getDelayedCalls()) == 1
    deadlines.remove(b, slot)
    assert clock.getDelayedCalls() == []
    deadlines.remove(b, slot)  # again: nothing
    clock.advance(10)
    assert log == []


def test_pastDeadlineFiresAtTheNextSlotEnd():
    clock = task.Clock()
    clock.advance(7.1)
    deadlines = Deadlines(clock)
    log = []
    slot = deadlines.add(Member(log, "late"), 2.0, clock.seconds())
    assert deadlines.fireTime(slot) == 7.25
    clock.advance(0.15)
    assert log == ["late"]


def test_reAddedWhileFiringGoesToALaterSlot():
    """
    A member that asks again from its deadlineReached (its phase is not
    over) joins a later slot, even for a deadline inside the firing one.
    """
    clock = task.Clock()
    deadlines = Deadlines(clock)
    log = []
    member = Member(log, "again")
    slots = []
    member.then = lambda: len(log) < 3 and slots.append(
        deadlines.add(member, clock.seconds(), clock.seconds()))
    slots.append(deadlines.add(member, 1.0, 0.0))
    clock.advance(1.0)
    assert log == ["again"]
    assert slots == [4, 5]
    clock.advance(RESOLUTION)
    clock.advance(RESOLUTION)
    assert log == ["again"] * 3
    assert clock.getDelayedCalls() == []


def test_memberEndedByAnotherIsNotCalled():
    """
    A member whose deadline ends another member of the same slot (which
    leaves it) is the only one called.
    """
    clock = task.Clock()
    deadlines = Deadlines(clock)
    log = []
    victim = Member(log, "victim")
    slot = deadlines.add(Member(log, "first", lambda: deadlines.remove(victim, slot)), 2.0, 0.0)
    deadlines.add(victim, 2.0, 0.0)
    clock.advance(2.0)
    assert log == ["first"]
    assert clock.getDelayedCalls() == []


def test_infiniteDeadlineNeverScheduled():
    """
    An infinite deadline, or a finite one too far off to number its slot
    (a timeout of 1e308 seconds), is never scheduled.
    """
    clock = task.Clock()
    deadlines = Deadlines(clock)
    assert deadlines.add(Member([], "never"), float("inf"), 0.0) is None
    assert deadlines.add(Member([], "hardly"), 1e308, 0.0) is None
    assert clock.getDelayedCalls() == []
    far = deadlines.add(Member([], "far"), 1e300, 0.0)
    assert deadlines.fireTime(far) >= 1e300


def test_failingMemberDoesNotStrandTheOthers():
    """
    A member whose deadline raises is logged; the rest of its slot still
    fire and the slot is gone.
    """
    from twisted.logger import globalLogPublisher

    clock = task.Clock()
    deadlines = Deadlines(clock)
    log = []
    events = []

    def boom():
        raise ZeroDivisionError("boom")

    globalLogPublisher.addObserver(events.append)
    try:
        slot = deadlines.add(Member(log, "a", boom), 1.0, 0.0)
        deadlines.add(Member(log, "b"), 1.0, 0.0)
        clock.advance(1.0)
    finally:
        globalLogPublisher.removeObserver(events.append)
    assert log == ["a", "b"]
    assert slot not in deadlines._slots
    assert any("log_failure" in e and e["log_failure"].check(ZeroDivisionError) for e in events)


def test_channelWithAnInfiniteTimeout():
    """
    An infinite idle timeout (``--idle-timeout inf``) keeps an idle
    connection open, and other connections' deadlines still work.
    """
    from _core_helpers import Connection

    from web2 import resource

    clock = task.Clock()
    root = resource.Resource()
    root.render = lambda request: b"ok"
    idle = Connection(root, headerTimeout=1, idleTimeout=float("inf"), clock=clock)
    idle.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    silent = Connection(root, headerTimeout=1, idleTimeout=float("inf"), clock=clock)
    clock.advance(1.0)
    assert silent.closed and silent.responses()[0].status == 408
    clock.advance(10_000)
    assert not idle.closed


def test_channelWithAHugeTimeout():
    """
    A finite timeout too large for a slot number (C{--header-timeout
    1e308}, which the configuration accepts) means never, as an infinite
    one does, rather than failing every connection.
    """
    from _core_helpers import Connection

    from web2 import resource

    class Root(resource.Resource):
        def render(self, request):
            return b"ok"

    clock = task.Clock()
    conn = Connection(Root(), headerTimeout=1e308, idleTimeout=1e308, clock=clock)
    clock.advance(10_000)
    assert not conn.closed
    conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert conn.responses()[0].status == 200
    clock.advance(10_000)
    assert not conn.closed


def test_factoryConnectionsShareSlots():
    """
    The channels of one factory share its slots; a factory of its own has
    its own.
    """
    from _core_helpers import Connection

    from web2 import resource

    clock = task.Clock()
    first = Connection(resource.Resource(), clock=clock)
    second = Connection(site=first.site, clock=clock)
    assert first.channel._deadlines is first.factory.protocol._deadlines
    assert second.channel._deadlines is not first.channel._deadlines


def test_channelTimeoutsShareSlots():
    """
    Many connections of one factory waiting for their heads hold one
    DelayedCall, and are answered 408 at the end of the slot of their
    headerTimeout.
    """
    from twisted.internet import address
    from twisted.internet.testing import StringTransport

    from web2 import resource, server
    from web2.channel import HTTPFactory

    clock = task.Clock()
    factory = HTTPFactory(server.Site(resource.Resource()), reactor=clock, headerTimeout=1.1)
    transports = []
    for n in range(20):
        peer = address.IPv4Address("TCP", "127.0.0.1", 40000 + n)
        channel = factory.buildProtocol(peer)
        transport = StringTransport(peerAddress=peer)
        channel.makeConnection(transport)
        channel.dataReceived(b"GET / HTTP/1.1\r\n")
        transports.append(transport)
    assert len(clock.getDelayedCalls()) == 1
    clock.advance(1.1)
    assert not any(t.disconnecting for t in transports)
    clock.advance(0.15)
    assert all(t.disconnecting for t in transports)
    assert all(t.value().startswith(b"HTTP/1.1 408 ") for t in transports)


def test_answerAfterTheClientLeftLeavesNoDeadline():
    """
    A response finished while the connection is being lost (an application
    that answers from its request's C{connectionLost}, as a proxy cancelling
    its upstream does) does not move the dead channel on to the idle phase:
    no deadline is left behind to fire on it.
    """
    from _core_helpers import Connection
    from twisted.internet import defer

    from web2 import http, resource

    clock = task.Clock()
    pending = defer.Deferred()

    class AnswersWhenLost(resource.LeafResource):
        def render(self, request):
            lost = request.connectionLost

            def connectionLost(reason):
                lost(reason)
                pending.callback(http.Response(200, None, b"late"))

            request.connectionLost = connectionLost
            return pending

    conn = Connection(AnswersWhenLost(), clock=clock)
    conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    channel = conn.channel
    conn.lose()
    assert pending.called
    assert channel._slot is None
    assert channel._phase != "idle"
    assert clock.getDelayedCalls() == []
