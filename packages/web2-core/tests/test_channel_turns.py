"""
Tests for the channel's turns (rule 5 of L{web2.channel.http}): a connection
answers at most C{maxRequestsPerTurn} pipelined requests in a row, then stops
reading until the reactor has served the other connections, and goes on.
"""

from __future__ import annotations

import socket

from _core_helpers import Connection, LiveServer, inThread
from twisted.internet import defer
from twisted.trial.unittest import SynchronousTestCase, TestCase

from web2 import http, resource


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


def turnCalls(conn):
    return [c for c in conn.clock.getDelayedCalls()
            if getattr(c.func, "__name__", "") == "_nextTurn"]


class TurnTests(SynchronousTestCase):
    def test_oneTurnThenTheRest(self):
        """
        Forty requests in one read: sixteen are answered at once and the
        socket is no longer read; the rest come once the reactor runs its
        calls (a real reactor runs one turn per pass; L{task.Clock} runs
        the turns scheduled while it advances too), then reading resumes.
        """
        root = Root()
        conn = Connection(root)
        conn.send(pipeline(40))
        self.assertEqual(root.child_n.seen, 16)
        self.assertEqual(len(conn.responses()), 16)
        self.assertEqual(conn.transport.producerState, "paused")
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
        self.assertEqual(turnCalls(conn), [])
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
        A connection lost between turns leaves no call behind and answers
        nothing more.
        """
        root = Root()
        conn = Connection(root)
        conn.send(pipeline(40))
        conn.lose()
        self.assertEqual(turnCalls(conn), [])
        conn.clock.advance(0)
        self.assertEqual(root.child_n.seen, 16)

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


class TurnLiveTests(TestCase):
    """
    The turns on a real socket: the reactor comes back to the connection
    and answers the whole pipeline, in order.
    """

    @defer.inlineCallbacks
    def test_longPipelineAnsweredInOrder(self):
        server = LiveServer(Root())
        self.addCleanup(server.stop)
        turns = []
        protocol = server.factory.protocol
        yieldTurn = protocol._yieldTurn

        def recordingYield(channel):
            turns.append(channel)
            yieldTurn(channel)

        protocol._yieldTurn = recordingYield
        count = 1000

        def client(port):
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(pipeline(count))
                sock.shutdown(socket.SHUT_WR)
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            return data

        data = yield inThread(client, server.portNumber)
        self.assertEqual(data.count(b"HTTP/1.1 200 "), count)
        bodies = [part.split(b"\r\n\r\n", 1)[1] for part in data.split(b"HTTP/1.1 ")[1:]]
        self.assertEqual(bodies, [b"%d" % i for i in range(count)])
        self.assertGreaterEqual(len(turns), 1)
