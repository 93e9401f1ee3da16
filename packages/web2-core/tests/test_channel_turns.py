"""
Tests for the channel's turns (rule 5 of L{web2.channel.http} and
L{web2.channel._turns}): the first request of each batch read is answered
at once, further pipelined ones draw on a round shared by all connections
of a factory and renewed once per reactor iteration, at most
C{maxRequestsPerTurn} in a row; a connection left without a draw waits in
a queue the next rounds serve in order.
"""

from __future__ import annotations

import socket
import threading

from _core_helpers import Connection, LiveServer, inThread
from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase, TestCase

from web2 import http, resource, server
from web2.channel._turns import DRAWS_PER_CLOCK_READING, ROUND_SECONDS, TurnQueue
from web2.channel.http import HTTPFactory


class Numbered(resource.LeafResource):
    """
    Answers with the number in its path (C{/n/7} says C{7}), counting the
    requests it saw.
    """

    def __init__(self):
        self.seen = 0

    def render(self, request):
        self.seen += 1
        return http.Response(200, None, request.postpath[-1])


class Root(resource.Resource):
    def __init__(self):
        self.child_n = Numbered()


def pipeline(count, first=0):
    return b"".join(b"GET /n/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i
                    for i in range(first, first + count))


def roundCalls(clock):
    return [c for c in clock.getDelayedCalls()
            if getattr(c.func, "__name__", "") == "_nextRound"]


def turnCalls(conn):
    return roundCalls(conn.clock)


def runOneRound(clock):
    """
    Run the one round due on C{clock} (L{task.Clock.advance} would also run
    the rounds it schedules, as many as there is work for).
    """
    [call] = roundCalls(clock)
    clock.calls.remove(call)
    call.called = True
    call.func(*call.args, **call.kw)


class TurnTests(SynchronousTestCase):
    def test_oneTurnThenTheRest(self):
        """
        Forty requests in one read: sixteen are answered at once; the rest
        come once the reactor runs its calls (a real reactor runs one round
        per pass; L{task.Clock} runs the rounds scheduled while it advances
        too).  Meanwhile the socket is still read (up to
        C{maxBufferedBytes}).
        """
        root = Root()
        conn = Connection(root)
        conn.send(pipeline(40))
        self.assertEqual(root.child_n.seen, 16)
        self.assertEqual(len(conn.responses()), 16)
        self.assertEqual(conn.transport.producerState, "producing")
        self.assertEqual(len(turnCalls(conn)), 1)
        conn.clock.advance(0)
        self.assertEqual(root.child_n.seen, 40)
        bodies = [r.body for r in conn.responses()]
        self.assertEqual(bodies, [b"%d" % i for i in range(40)])
        self.assertEqual(conn.transport.producerState, "producing")
        self.assertEqual(turnCalls(conn), [])
        self.assertFalse(conn.closed)

    def test_turnSize(self):
        """
        C{maxRequestsPerTurn} sets the size of a turn; exactly a turn's worth
        of requests needs no second turn.
        """
        root = Root()
        conn = Connection(root, maxRequestsPerTurn=5)
        conn.send(pipeline(5))
        self.assertEqual(root.child_n.seen, 5)
        self.assertFalse(conn.channel._waitingTurn)
        self.assertEqual(conn.transport.producerState, "producing")
        conn.send(pipeline(6, first=5))
        self.assertEqual(root.child_n.seen, 10)
        conn.clock.advance(0)
        self.assertEqual(root.child_n.seen, 11)

    def test_halfCloseAfterThePipeline(self):
        """
        A client that sends its whole pipeline and then closes its side
        gets every answer, over several turns, and then the connection
        closes.
        """
        root = Root()
        conn = Connection(root)
        conn.send(pipeline(40))
        conn.channel.readConnectionLost()
        for _ in range(3):
            conn.clock.advance(0)
        self.assertEqual(len(conn.responses()), 40)
        self.assertTrue(conn.transport.disconnecting)

    def test_closeCancelsTheNextTurn(self):
        """
        A connection lost while it waits for its turn answers nothing
        more; the round passes over it and leaves no call behind.
        """
        root = Root()
        conn = Connection(root)
        conn.send(pipeline(40))
        conn.lose()
        conn.clock.advance(0)
        self.assertEqual(root.child_n.seen, 16)
        self.assertEqual(turnCalls(conn), [])

    def test_otherConnectionsGoFirst(self):
        """
        Between two turns of a pipelining connection, a request that
        arrived meanwhile on another connection of the same server is
        answered.
        """
        root = Root()
        attacker = Connection(root)
        other = Connection(root, clock=attacker.clock)
        attacker.send(pipeline(1000))
        other.send(pipeline(1, first=5000))
        self.assertEqual([r.body for r in other.responses()], [b"5000"])
        self.assertEqual(root.child_n.seen, 17)


class Recorder(resource.LeafResource):
    """
    Notes the path of every request it answers, in order, in C{log}
    (shared by the connections of a test).
    """

    def __init__(self, log):
        self.log = log

    def render(self, request):
        self.log.append(request.path)
        return http.Response(200, None, "x")


class RoundTests(SynchronousTestCase):
    """
    The round: pipelined requests beyond the first of each batch read draw
    on C{maxRequestsPerRound}, shared by a factory's connections.
    """

    def setUp(self):
        self.log = []
        self.factory = HTTPFactory(server.Site(Recorder(self.log)), reactor=task.Clock(),
                                   maxRequestsPerTurn=16, maxRequestsPerRound=40)
        self.clock = self.factory.reactor

    def connect(self):
        return Connection(factory=self.factory)

    def burst(self, name, count):
        return b"".join(b"GET /%s/%d HTTP/1.1\r\nHost: a\r\n\r\n" % (name, i)
                        for i in range(count))

    def test_noHeaderTimeoutWhileWaiting(self):
        """
        Requests read whole and waiting for their turn wait for the server,
        not for the client: however long the queue takes, they are not
        refused with 408 for a head that came long ago.
        """
        conn = self.connect()
        conn.send(self.burst(b"w", 40))
        self.assertEqual(len(conn.responses()), 16)
        # The round does not come (a long queue ahead): take it off the
        # clock, let the header timeout pass, then run it.
        [call] = roundCalls(self.clock)
        self.clock.calls.remove(call)
        self.clock.advance(conn.channel.headerTimeout + 1)
        self.assertEqual([r.status for r in conn.responses()], [200] * 16)
        self.assertFalse(conn.closed)
        call.func(*call.args, **call.kw)
        self.clock.advance(0)
        self.assertEqual([r.status for r in conn.responses()], [200] * 40)

    def test_errorInATurn(self):
        """
        An unexpected error while a queued connection takes its turn is
        logged and drops that connection; the others queued behind it
        still have theirs in the same round.
        """
        broken, other = self.connect(), self.connect()
        broken.send(self.burst(b"b", 20))
        other.send(self.burst(b"o", 20))

        def fail(free=1):
            raise RuntimeError("a bug")

        broken.channel._processEvents = fail
        runOneRound(self.clock)
        self.assertEqual(len(self.flushLoggedErrors(RuntimeError)), 1)
        self.assertTrue(broken.transport.disconnecting or broken.transport.disconnected)
        self.assertEqual(len(other.responses()), 20)

    def test_zeroLimitsRefused(self):
        """
        A turn or a round of no request would leave pipelined requests
        waiting for ever: the factory refuses it.
        """
        site = server.Site(Recorder([]))
        for options in ({"maxRequestsPerTurn": 0}, {"maxRequestsPerRound": 0}):
            with self.assertRaises(ValueError):
                HTTPFactory(site, reactor=task.Clock(), **options)

    def test_oneIterationIsBounded(self):
        """
        Ten connections pipelining a hundred requests each, read in one
        reactor iteration, get their first request answered and forty more
        between them (the round); a quiet connection's request read next
        is answered at once, after those fifty.  Before rounds, each of
        the ten answered a whole turn of sixteen first (160).
        """
        attackers = [self.connect() for _ in range(10)]
        for i, conn in enumerate(attackers):
            conn.send(self.burst(b"a%d" % i, 100))
        self.assertEqual(len(self.log), 10 + 40)
        # Turns of sixteen for the first connections, until the round ran out.
        self.assertEqual([len(c.responses()) for c in attackers],
                         [16, 16, 11, 1, 1, 1, 1, 1, 1, 1])
        quiet = self.connect()
        quiet.send(self.burst(b"quiet", 1))
        self.assertEqual(self.log[-1], "/quiet/0")
        self.assertEqual(len(self.log), 51)

    def test_unusedDrawsGivenBack(self):
        """
        A connection draws for several pipelined requests at once and
        gives back those it does not start: one with three requests draws
        eight and answers two, and the round keeps the other six for the
        connections read after it (38 of its 40 left, not 32).
        """
        short = self.connect()
        short.send(self.burst(b"s", 3))
        self.assertEqual(len(self.log), 3)
        attackers = [self.connect() for _ in range(4)]
        for i, conn in enumerate(attackers):
            conn.send(self.burst(b"a%d" % i, 100))
        self.assertEqual(len(self.log), 3 + 4 + 38)
        self.assertEqual([len(c.responses()) for c in attackers], [16, 16, 9, 1])

    def test_roundsServeTheQueueInOrder(self):
        """
        Each round serves the waiting connections in the order they began
        to wait, a turn each, until its requests are spent; those left wait
        for the next round, ahead of the ones that waited again.
        """
        attackers = [self.connect() for _ in range(4)]
        for i, conn in enumerate(attackers):
            conn.send(self.burst(b"a%d" % i, 100))
        # The first request of each and the round's 40: 1 + 15, 1 + 15,
        # 1 + 10, 1.  They wait in that order: 0 and 1 at the end of their
        # turns, 2 and 3 when the round ran out.
        self.assertEqual([len(c.responses()) for c in attackers], [16, 16, 11, 1])
        del self.log[:]
        runOneRound(self.clock)
        # A turn of 16 to 0, 16 to 1, the 8 left to 2; 3 waits on, first.
        self.assertEqual([p.split("/")[1] for p in self.log],
                         ["a0"] * 16 + ["a1"] * 16 + ["a2"] * 8)
        del self.log[:]
        runOneRound(self.clock)
        self.assertEqual([p.split("/")[1] for p in self.log],
                         ["a3"] * 16 + ["a0"] * 16 + ["a1"] * 8)
        self.clock.advance(0)
        self.assertEqual([len(c.responses()) for c in attackers], [100] * 4)
        self.assertEqual(roundCalls(self.clock), [])

    def test_roundRenewedEachIteration(self):
        """
        A connection pipelining two requests at a time, iteration after
        iteration, is never kept waiting: each iteration renews the round.
        """
        conn = self.connect()
        for i in range(60):
            conn.send(self.burst(b"p%d" % i, 2))
            self.assertEqual(len(self.log), 2 * (i + 1))
            self.clock.advance(0)
        self.assertEqual(roundCalls(self.clock), [])

    def test_waitingConnectionReadsAheadBoundedly(self):
        """
        A connection waiting for its turn still reads, up to
        C{maxBufferedBytes} of requests; then its socket is paused until
        its turn has answered them.
        """
        conn = self.connect()
        conn.send(self.burst(b"w", 100))
        self.assertEqual(len(conn.responses()), 16)
        self.assertEqual(conn.transport.producerState, "producing")
        more = self.burst(b"more", 3000)
        self.assertGreater(len(more), conn.channel.maxBufferedBytes)
        conn.send(more)
        self.assertEqual(len(conn.responses()), 16)
        self.assertEqual(conn.transport.producerState, "paused")
        self.clock.advance(0)
        self.assertEqual(len(conn.responses()), 3100)
        self.assertEqual(conn.transport.producerState, "producing")


    def test_oneFreeRequestPerRoundAcrossCalls(self):
        """
        A transport that hands one read over in many calls (TLS: one call
        per record; a client can put each request in a record of its own)
        gets one request without a draw per round, not one per call: a
        hundred requests in a hundred calls, in one reactor iteration, are
        answered one and the round's forty; the rest in later rounds, in
        order.  Before, every call's request was answered at once, outside
        the rounds.
        """
        conn = self.connect()
        conn.channel._secure = True  # as under TLS (isSecure)
        for i in range(100):
            conn.send(b"GET /r/%d HTTP/1.1\r\nHost: a\r\n\r\n" % i)
        self.assertEqual(len(self.log), 1 + 40)
        self.assertTrue(conn.channel._waitingTurn)
        self.clock.advance(0)
        self.assertEqual(self.log, [f"/r/{i}" for i in range(100)])
        self.assertEqual(roundCalls(self.clock), [])
        # A later read, one request: answered at once.
        conn.send(b"GET /r/last HTTP/1.1\r\nHost: a\r\n\r\n")
        self.assertEqual(self.log[-1], "/r/last")


class Costly(resource.LeafResource):
    """
    A request that takes C{cost} seconds of C{clock}'s time to answer.
    """

    def __init__(self, clock, cost):
        self.clock, self.cost, self.seen = clock, cost, 0

    def render(self, request):
        self.clock.rightNow += self.cost
        self.seen += 1
        return http.Response(200, None, "x")


class RoundTimeTests(SynchronousTestCase):
    def test_roundEndsWithItsTime(self):
        """
        A round also ends L{ROUND_SECONDS} after its first draw, however
        many requests it has left, as the clock is read at each draw of at
        most L{DRAWS_PER_CLOCK_READING}: with requests of 1/256 s, the
        first of the batch and eight drawn are answered (the second draw
        reads the clock 8/256 s > 0.01 s after the first), then each round
        goes on with eight more.
        """
        clock = task.Clock()
        costly = Costly(clock, 2 ** -8)
        conn = Connection(costly, clock=clock, maxRequestsPerRound=1000)
        conn.send(pipeline(30))
        self.assertEqual(costly.seen, 1 + DRAWS_PER_CLOCK_READING)
        self.assertTrue(conn.channel._waitingTurn)
        runOneRound(clock)
        self.assertEqual(costly.seen, 1 + 2 * DRAWS_PER_CLOCK_READING)
        clock.advance(0)
        self.assertEqual(costly.seen, 30)


class TurnQueueTests(SynchronousTestCase):
    """
    L{TurnQueue} on its own, with members that draw a set number of
    requests in their turn.
    """

    class Member:
        _closing = False

        def __init__(self, queue, name, log, wants):
            self.queue, self.name, self.log, self.wants = queue, name, log, wants

        def _takeTurn(self):
            while self.wants:
                if not self.queue.draw(1):
                    self.queue.wait(self)
                    return
                self.wants -= 1
                self.log.append(self.name)

    def test_drawsScheduleTheRenewal(self):
        """
        Drawing on a round schedules its renewal for the next iteration; a
        spent round refuses draws until then.
        """
        clock = task.Clock()
        queue = TurnQueue(clock, 3)
        self.assertEqual([queue.draw(1) for _ in range(4)], [1, 1, 1, 0])
        self.assertEqual(len(clock.getDelayedCalls()), 1)
        clock.advance(0)
        self.assertEqual(clock.getDelayedCalls(), [])
        self.assertEqual(queue.draw(1), 1)

    def test_drawGrantsWhatIsLeft(self):
        """
        A draw grants what it asks for, up to what the round has left and
        to C{drawsPerClockReading}; what is given back can be drawn again
        in the same round.
        """
        clock = task.Clock()
        queue = TurnQueue(clock, 10, drawsPerClockReading=4)
        self.assertEqual(queue.draw(16), 4)
        self.assertEqual(queue.draw(3), 3)
        self.assertEqual(queue.draw(16), 3)
        self.assertEqual(queue.draw(16), 0)
        queue.giveBack(2)
        self.assertEqual(queue.draw(16), 2)
        self.assertEqual(queue.draw(1), 0)
        clock.advance(0)
        self.assertEqual(queue.draw(16), 4)

    def test_roundTime(self):
        """
        A round grants draws for L{ROUND_SECONDS} of the reactor's time
        from its first draw; the next round's time starts at its own first
        draw.
        """
        clock = task.Clock()
        queue = TurnQueue(clock, 100, drawsPerClockReading=1)
        self.assertEqual(queue.draw(1), 1)
        clock.rightNow += ROUND_SECONDS / 2
        self.assertEqual(queue.draw(1), 1)
        clock.rightNow += ROUND_SECONDS / 2
        self.assertEqual(queue.draw(1), 0)
        clock.rightNow += 5.0
        clock.advance(0)
        self.assertEqual(queue.draw(1), 1)
        clock.rightNow += ROUND_SECONDS / 2
        self.assertEqual(queue.draw(1), 1)

    def test_clockReadOnceADraw(self):
        """
        The clock is read once a draw: a draw made past the round's time
        grants nothing, whatever it asks for; what an earlier draw granted
        stands.
        """
        clock = task.Clock()
        queue = TurnQueue(clock, 100, drawsPerClockReading=4)
        self.assertEqual(queue.draw(16), 4)
        clock.rightNow += ROUND_SECONDS
        self.assertEqual(queue.draw(16), 0)
        queue.giveBack(3)
        self.assertEqual(queue.draw(1), 0)

    def test_waitWithoutDrawStartsNoStaleRound(self):
        """
        A member that waits before any draw of a round (its turn was over,
        C{maxRequestsPerTurn} of 1) does not make the next draw of that
        iteration measure the round's time from an earlier round's start.
        """
        clock = task.Clock()
        queue = TurnQueue(clock, 100)
        self.assertEqual(queue.draw(1), 1)
        clock.advance(0)
        clock.rightNow += 5.0
        queue.wait(self.Member(queue, "m", [], 1))
        self.assertEqual(queue.draw(1), 1)

    def test_closedMembersPassed(self):
        """
        A member closed while it waits is passed over and costs the round
        nothing.
        """
        clock, log = task.Clock(), []
        queue = TurnQueue(clock, 2)
        gone = self.Member(queue, "gone", log, 5)
        stays = self.Member(queue, "stays", log, 2)
        queue.wait(gone)
        queue.wait(stays)
        gone._closing = True
        clock.advance(0)
        self.assertEqual(log, ["stays", "stays"])
        self.assertEqual(len(queue), 0)


class TurnLiveTests(TestCase):
    """
    The turns on a real socket: the reactor comes back to the connection
    and answers the whole pipeline, in order.
    """

    @defer.inlineCallbacks
    def test_longPipelineAnsweredInOrder(self):
        live = LiveServer(Root())
        self.addCleanup(live.stop)
        turns = []
        protocol = live.factory.protocol
        waitForTurn = protocol._waitForTurn

        def recordingWait(channel):
            turns.append(channel)
            waitForTurn(channel)

        protocol._waitForTurn = recordingWait
        count = 1000

        def client(port):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(pipeline(count))
                sock.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            return data

        data = yield inThread(client, live.portNumber)
        self.assertEqual(data.count(b"HTTP/1.1 200 "), count)
        bodies = [part.split(b"\r\n\r\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]
        self.assertEqual(bodies, [b"%d" % i for i in range(count)])
        self.assertGreaterEqual(len(turns), 1)

    @defer.inlineCallbacks
    def test_quietConnectionWaitsAboutOneRound(self):
        """
        Forty connections pipeline four hundred requests each while a
        quiet kept-alive connection sends one request at a time.  Between
        the moment a quiet request is sent and its answer, the server
        answers at most two iterations' work of the others: each iteration
        answers at most one request per connection read plus one round.
        Before rounds, every waiting connection had a turn of sixteen per
        iteration (640 here).
        """
        attackers, perAttacker, round = 40, 400, 32
        log = []
        live = LiveServer(site=server.Site(Recorder(log)), maxRequestsPerRound=round)
        self.addCleanup(live.stop)
        port = live.portNumber
        sent = threading.Event()
        finished = threading.Event()

        def attack():
            socks = [socket.create_connection(("127.0.0.1", port), timeout=60)
                     for _ in range(attackers)]
            try:
                for i, sock in enumerate(socks):
                    sock.sendall(b"".join(
                        b"GET /a%d/%d HTTP/1.1\r\nHost: a\r\n\r\n" % (i, k)
                        for k in range(perAttacker)))
                sent.set()
                answers = 0
                for sock in socks:
                    data = b""
                    while data.count(b"HTTP/1.1 200 ") < perAttacker:
                        chunk = sock.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    answers += data.count(b"HTTP/1.1 200 ")
                return answers
            finally:
                finished.set()
                for sock in socks:
                    sock.close()

        def probe():
            probes = 0
            with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                sent.wait(60)
                while not finished.is_set() or probes == 0:
                    sock.sendall(b"GET /quiet/%d HTTP/1.1\r\nHost: q\r\n\r\n" % probes)
                    # Noted once sent (before, this thread could lose the
                    # interpreter to the reactor between the note and the
                    # send): the server may even have answered already.
                    log.append(("sent", probes))
                    data = b""
                    while b"\r\n\r\nx" not in data:
                        chunk = sock.recv(65536)
                        if not chunk:
                            raise AssertionError("the quiet connection was closed")
                        data += chunk
                    probes += 1
            return probes

        answers, probes = yield defer.gatherResults([inThread(attack), inThread(probe)])
        self.assertEqual(answers, attackers * perAttacker)
        between = {}
        for i in range(probes):
            start = log.index(("sent", i))
            end = log.index(f"/quiet/{i}")
            between[i] = sum(1 for entry in log[start:end] if isinstance(entry, str))
        worst = max(between.values())
        self.assertLessEqual(worst, 2 * (round + attackers),
                             f"{probes} probes; answers to others between a quiet "
                             f"request and its answer: {sorted(between.values())[-10:]}")
