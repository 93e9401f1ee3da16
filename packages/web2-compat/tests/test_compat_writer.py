"""
Tests for L{web2.compat._writer}: streamed bodies, producers and flow
control, C{twisted.web.static.File}, and the end of a request
(C{notifyFinish}, client disconnects).
"""

from __future__ import annotations

import os

import pytest
from _compat_helpers import Connection, get
from twisted.internet import error, interfaces
from twisted.python.failure import Failure
from twisted.web import resource, server, static
from zope.interface import implementer


class Held(resource.Resource):
    """
    A leaf that keeps its requests, answering later (C{NOT_DONE_YET}).
    """

    isLeaf = True

    def __init__(self):
        super().__init__()
        self.requests = []
        self.finishes = []

    def render_GET(self, request):
        self.requests.append(request)
        request.notifyFinish().addBoth(self.finishes.append)
        return server.NOT_DONE_YET


@implementer(interfaces.IPushProducer)
class PushProducer:
    def __init__(self):
        self.events = []

    def pauseProducing(self):
        self.events.append("pause")

    def resumeProducing(self):
        self.events.append("resume")

    def stopProducing(self):
        self.events.append("stop")


@implementer(interfaces.IPullProducer)
class PullProducer:
    """
    Writes C{count} chunks, one per C{resumeProducing}, then finishes.
    """

    def __init__(self, request, count):
        self.request = request
        self.left = count
        self.calls = 0
        self.stopped = False

    def resumeProducing(self):
        self.calls += 1
        if self.left:
            self.left -= 1
            self.request.write(b"chunk%d;" % self.left)
        if not self.left:
            self.request.unregisterProducer()
            self.request.finish()

    def stopProducing(self):
        self.stopped = True


def test_notifyFinishSucceeds():
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/")
    request = leaf.requests[0]
    request.write(b"x")
    assert leaf.finishes == []
    request.finish()
    assert leaf.finishes == [None]
    later = []
    request.notifyFinish().addBoth(later.append)
    assert later == [None]


def test_disconnectBeforeWrite():
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/")
    request = leaf.requests[0]
    conn.channel.connectionLost(Failure(error.ConnectionDone()))
    [failure] = leaf.finishes
    assert failure.check(error.ConnectionDone)
    request.write(b"ignored")
    with pytest.raises(RuntimeError):
        request.finish()
    late = []
    request.notifyFinish().addErrback(late.append)
    assert late and late[0].check(error.ConnectionDone)


def test_disconnectMidStreamStopsProducer():
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/")
    request = leaf.requests[0]
    producer = PushProducer()
    request.registerProducer(producer, True)
    request.write(b"some")
    assert b"some" in conn.transport.value()
    conn.channel.connectionLost(Failure(error.ConnectionLost()))
    assert leaf.finishes[0].check(error.ConnectionLost)
    assert "stop" in producer.events


def test_disconnectInTransportOrder():
    # A TCP transport marks itself disconnected, stops its producer (web2's
    # StreamProducer, which closes the body), then tells the protocol.
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/")
    request = leaf.requests[0]
    producer = PushProducer()
    request.registerProducer(producer, True)
    request.write(b"some")
    conn.transport.disconnected = True
    conn.transport.producer.stopProducing()
    assert leaf.finishes and leaf.finishes[0].check(error.ConnectionLost)
    assert "stop" in producer.events
    conn.channel.connectionLost(Failure(error.ConnectionDone()))
    conn.clock.advance(0)
    assert len(leaf.finishes) == 1
    request.write(b"dropped")


def test_streamingProducerFlowControl():
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/")
    request = leaf.requests[0]
    producer = PushProducer()
    request.registerProducer(producer, True)
    with pytest.raises(ValueError):
        request.registerProducer(PushProducer(), True)
    # The client stops reading: web2 stops pulling from the body, whose
    # buffer fills until the application's producer is paused.
    conn.transport.producer.pauseProducing()
    for _ in range(40):
        request.write(b"z" * 16384)
    assert producer.events == ["pause"]
    conn.transport.producer.resumeProducing()
    assert producer.events == ["pause", "resume"]
    request.unregisterProducer()
    request.finish()
    [r] = conn.responses()
    assert r.body == b"z" * 16384 * 40


def test_pullProducer():
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/")
    request = leaf.requests[0]
    producer = PullProducer(request, 5)
    request.registerProducer(producer, False)
    conn.pump()
    [r] = conn.responses()
    assert r.body == b"chunk4;chunk3;chunk2;chunk1;chunk0;"
    assert leaf.finishes == [None]


def test_registerProducerAfterDisconnectStopsIt():
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/")
    conn.channel.connectionLost(Failure(error.ConnectionDone()))
    producer = PushProducer()
    leaf.requests[0].registerProducer(producer, True)
    assert producer.events == ["stop"]


def test_headOfStreamedResponse():
    leaf = Held()
    conn = Connection(leaf)
    conn.sendRequest("/", method="HEAD")
    request = leaf.requests[0]
    request.setHeader(b"content-length", b"10")
    request.write(b"0123")
    [r] = conn.responses(headRequests=(0,))
    assert (r.status, r.header("content-length")) == (200, "10")
    conn.clock.advance(0)
    assert leaf.finishes == [None]
    request.write(b"456789")
    request.finish()
    assert conn.transport.value().endswith(b"\r\n\r\n")


def test_failureAfterRelease():
    from twisted.internet import defer

    d = defer.Deferred()

    class Late(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            self.request = request
            return d

    leaf = Late()
    conn = Connection(leaf)
    conn.sendRequest("/")
    leaf.request.write(b"begun")
    d.errback(RuntimeError("boom"))
    assert conn.transport.disconnecting or conn.transport.disconnected


# twisted.web.static.File


@pytest.fixture
def tree(tmp_path):
    data = bytes(range(256)) * 400
    (tmp_path / "data.bin").write_bytes(data)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "index.html").write_bytes(b"<p>index</p>")
    past = 1_600_000_000
    os.utime(tmp_path / "data.bin", (past, past))
    return tmp_path, data


def test_staticWhole(tree):
    path, data = tree
    r = get(static.File(str(path)), "/data.bin")
    assert (r.status, r.body) == (200, data)
    assert r.header("content-length") == str(len(data))
    assert r.header("accept-ranges") == "bytes"


def test_staticRange(tree):
    path, data = tree
    r = get(static.File(str(path)), "/data.bin", headers=[("Range", "bytes=100-199")])
    assert (r.status, r.body) == (206, data[100:200])
    assert r.header("content-range") == f"bytes 100-199/{len(data)}"
    r = get(static.File(str(path)), "/data.bin", headers=[("Range", "bytes=-10")])
    assert (r.status, r.body) == (206, data[-10:])
    r = get(static.File(str(path)), "/data.bin",
            headers=[("Range", f"bytes={len(data) + 5}-")])
    assert r.status == 416


def test_staticMultipleRanges(tree):
    path, data = tree
    r = get(static.File(str(path)), "/data.bin", headers=[("Range", "bytes=0-1,500-501")])
    assert r.status == 206
    assert r.header("content-type").startswith("multipart/byteranges")
    assert data[500:502] in r.body


def test_staticNotModified(tree):
    path, data = tree
    conn = Connection(static.File(str(path)))
    first = conn.request("/data.bin")
    r = conn.request("/data.bin", headers=[("If-Modified-Since", first.header("last-modified"))])
    assert (r.status, r.body) == (304, b"")
    r = conn.request("/data.bin", headers=[("If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT")])
    assert r.status == 200


def test_staticHeadAndDirectory(tree):
    path, data = tree
    r = get(static.File(str(path)), "/data.bin", method="HEAD")
    assert (r.status, r.header("content-length"), r.body) == (200, str(len(data)), b"")
    r = get(static.File(str(path)), "/sub")
    assert r.status in (301, 302) and r.header("location").endswith("sub/")
    assert get(static.File(str(path)), "/sub/").body == b"<p>index</p>"
    assert get(static.File(str(path)), "/missing").status == 404


def test_staticTraversalIsContained(tree):
    path, _ = tree
    r = get(static.File(str(path / "sub")), "/..%2Fdata.bin")
    assert r.status in (400, 403, 404)
    r = get(static.File(str(path / "sub")), "/../data.bin")
    assert r.status in (400, 403, 404)
