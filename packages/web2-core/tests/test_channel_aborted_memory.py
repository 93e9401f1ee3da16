"""
What an aborted or refused request leaves behind once its connection is
closed (issue #14): nothing.  The channel, the channel's request and the
request must be freed by reference counting alone, without waiting for the
cyclic garbage collector.

The request and the channel's side of it refer to each other; the channel
parts them when a response ends normally.  A request that ended otherwise
(a framing error in a body streamed into its response, the client leaving
mid-body, a send timeout, an error answered by the channel itself) kept
the pair, and with it the channel, the transport and about fifty objects
in a reference cycle until the collector ran.
"""

from __future__ import annotations

import gc
import weakref

import pytest
from _core_helpers import Connection, Ignore, LiveServer, Pipe, inThread, rawExchange
from twisted.internet import defer, reactor, task
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase

from web2 import _wire, resource


class Root(resource.Resource):
    child_pipe = Pipe()
    child_ignore = Ignore()


CHUNKED = b"Transfer-Encoding: chunked\r\n"


def post(path, headers=b"", body=b""):
    return b"POST " + path + b" HTTP/1.1\r\nHost: a\r\n" + headers + b"\r\n" + body


def badChunkSize(conn):
    conn.send(post(b"/pipe", CHUNKED, b"zz\r\n"))
    assert conn.output().startswith(b"HTTP/1.1 400")


def overlongChunk(conn):
    conn.send(post(b"/pipe", CHUNKED, b"5\r\nhello\r\n"))
    conn.send(b"3\r\nabcdef\r\n")
    assert conn.transport.disconnected


def clientLeavesMidBody(conn):
    conn.send(post(b"/pipe", b"Content-Length: 10\r\n", b"hello"))
    assert b"hello" in conn.output()
    conn.lose(Failure(ConnectionLost()))


def sendTimeout(conn):
    conn.send(post(b"/pipe", b"Content-Length: 10\r\n", b"hello"))
    # The client reads nothing: the transport pauses the response's
    # producer, as a full socket buffer does.
    conn.transport.producer.pauseProducing()
    conn.clock.advance(conn.channel.sendTimeout + 1)
    assert conn.transport.disconnected


def bodyStalled(conn):
    conn.send(post(b"/pipe", b"Content-Length: 10\r\n", b"hello"))
    conn.clock.advance(conn.channel.bodyTimeout + 1)
    assert conn.transport.disconnected


def headerTooLarge(conn):
    conn.send(post(b"/pipe", b"X-Big: " + b"v" * 70000 + b"\r\n"))
    assert conn.output().startswith(b"HTTP/1.1 431")


def declaredTooLarge(conn):
    conn.send(post(b"/pipe", b"Content-Length: 100000\r\n", b"x" * 20))
    assert conn.output().startswith(b"HTTP/1.1 413")


def chunkedTooLarge(conn):
    conn.send(post(b"/pipe", CHUNKED, b"5\r\nhello\r\n"))
    conn.send(b"fa0\r\n" + b"x" * 4000 + b"\r\n")
    assert conn.transport.disconnected


def errorInDrainedBody(conn):
    conn.send(post(b"/ignore", CHUNKED, b"5\r\nhello\r\n"))
    conn.send(b"zz\r\n")
    assert conn.closed


def drainedBodyTooLong(conn):
    conn.send(post(b"/ignore", b"Content-Length: 2500\r\n", b"x" * 1500))
    assert conn.closed


def drainedMidBody(conn):
    conn.send(post(b"/pipe", b"Content-Length: 10\r\n", b"hello"))
    conn.channel.drain()
    conn.send(b"world")
    assert conn.closed


ENDINGS = {
    f.__name__: f for f in [
        badChunkSize, overlongChunk, clientLeavesMidBody, sendTimeout,
        bodyStalled, headerTooLarge, declaredTooLarge, chunkedTooLarge,
        errorInDrainedBody, drainedBodyTooLong, drainedMidBody,
    ]
}


def closeAsTheReactorDoes(conn):
    """
    The transport is gone: its producer is stopped and the channel hears
    of the loss (unless the ending made the client leave already), as a
    reactor's transport tells them; then the transport forgets the channel.
    """
    transport = conn.transport
    if transport.producer is not None:
        transport.producer.stopProducing()
        transport.producer = None
    if conn.channel in conn.factory.connections:
        conn.channel.connectionLost(Failure(ConnectionDone()))
    transport.protocol = None


def endConnection(name):
    """
    One connection to the site, ended as C{ENDINGS[name]} does, then
    closed.

    @return: weak references to its channel and to each request it made.
    """
    conn = Connection(
        Root(), limits=_wire.Limits(max_body_size=3000), maxDrainBytes=1000,
        sendTimeout=10.0, bodyTimeout=10.0)
    requests = []
    site = conn.channel.site

    def recordingSite(*args):
        request = site(*args)
        requests.append(weakref.ref(request))
        return request

    conn.channel.site = recordingSite
    ENDINGS[name](conn)
    closeAsTheReactorDoes(conn)
    return weakref.ref(conn.channel), requests


@pytest.mark.parametrize("name", sorted(ENDINGS))
def test_endedConnectionIsFreed(noCollector, name):
    """
    However the request ended, once its connection is closed the channel
    and the request are freed by reference counting alone.
    """
    channel, requests = endConnection(name)
    assert requests or name in ("headerTooLarge", "declaredTooLarge")
    assert [r() for r in requests if r() is not None] == []
    assert channel() is None


class LiveEndingsTests(TestCase):
    """
    The same with the reactor's own transports and a real client: a
    malformed body streamed into an echo, 400 before anything left or the
    response cut off after part of it.
    """

    timeout = 60

    def setUp(self):
        enabled = gc.isenabled()
        gc.collect()
        gc.disable()
        if enabled:
            self.addCleanup(gc.enable)
        self.server = LiveServer(Root(), lingerTimeout=0.2)
        self.addCleanup(self.server.stop)
        self.channels = []
        build = self.server.factory.buildProtocol

        def buildProtocol(addr):
            channel = build(addr)
            self.channels.append(weakref.ref(channel))
            return channel

        self.server.factory.buildProtocol = buildProtocol

    @defer.inlineCallbacks
    def test_malformedEchoesFreed(self):
        port = self.server.portNumber
        head = post(b"/pipe", CHUNKED)
        for body in [b"zz\r\n", b"5\r\nhello\r\n3\r\nabcdef\r\n"] * 5:
            yield inThread(rawExchange, port, head + body)
        deadline = 30
        while self.server.factory.connections and deadline > 0:
            yield task.deferLater(reactor, 0.05, lambda: None)
            deadline -= 0.05
        self.assertEqual(self.server.factory.connections, set())
        self.assertEqual(len(self.channels), 10)
        self.assertEqual([c() for c in self.channels if c() is not None], [])
