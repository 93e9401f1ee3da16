"""
What a refused request leaves behind (issue #14, header floods): once the
error is answered, nothing may keep the bytes received, nor the
connection's objects once it is closed.

The channel's C{ProtocolError} used to keep its traceback: the wire reader
holds on to the error it raised (to raise it again), and the traceback held
the frames it passed through, among them C{dataReceived}'s, whose local is
the chunk just read (up to 64 KiB).  Each refused connection so kept its
last chunk while it lingered, and, the frames referring to the channel and
the channel to the reader, the whole connection became a reference cycle
that only the garbage collector frees: a client flooding heads on 10
connections grew the server by 45 MiB in 3 s, on one connection by 27 MiB
in a minute.
"""

from __future__ import annotations

import weakref

import pytest
from _core_helpers import Connection
from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure

from web2 import http, resource


class Root(resource.Resource):
    def render(self, request):
        return http.Response(200, None, b"root")


class Chunk(bytearray):
    """
    Received bytes that can be watched with a weak reference.
    """


FLOODS = {
    "huge-field": (b"431", b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"v" * 65000),
    "huge-request-line": (b"414", b"GET /" + b"a" * 65000),
    "many-fields": (b"431", b"GET / HTTP/1.1\r\nHost: a\r\n"
                    + b"".join(b"X-%d: v\r\n" % i for i in range(500)) + b"\r\n"),
    "bad-field": (b"400", b"GET / HTTP/1.1\r\nHost: a\r\nNo Colon\r\n\r\n"),
}


@pytest.mark.parametrize("name", sorted(FLOODS))
def test_refusedBytesAreLetGo(noCollector, name):
    """
    As soon as the error is answered, the chunk that caused it is free,
    although the connection still lingers.
    """
    status, data = FLOODS[name]
    conn = Connection(Root())
    chunk = Chunk(data)
    watched = weakref.ref(chunk)
    conn.send(chunk)
    del chunk
    assert conn.transport.value().startswith(b"HTTP/1.1 " + status)
    assert conn.channel._closing
    assert watched() is None


@pytest.mark.parametrize("name", sorted(FLOODS))
def test_refusedConnectionIsFreed(noCollector, name):
    """
    Once the refused connection is closed, its channel is freed by
    reference counting alone.
    """
    status, data = FLOODS[name]
    conn = Connection(Root())
    conn.send(data)
    assert conn.transport.value().startswith(b"HTTP/1.1 " + status)
    channel = weakref.ref(conn.channel)
    conn.channel.connectionLost(Failure(ConnectionDone()))
    conn.transport.protocol = None
    del conn
    assert channel() is None
