"""
Tests for the channel's send hold (rule 2 of L{web2.channel.http}): output
that a client does not take is bounded, whatever way a response reaches the
transport, and a client that takes none of it is cut off after
C{sendTimeout}.

The in-memory tests use L{SlowReaderTransport}, a transport that keeps what
the channel writes in a buffer, as a TCP transport does, until the test
says the client read it; the real-socket tests use a client that never
reads.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import time

from _core_helpers import Connection, LiveServer, inThread
from twisted.internet import defer, reactor
from twisted.internet.testing import StringTransport
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SkipTest, SynchronousTestCase, TestCase

from web2 import http, resource, stream
from web2.channel.http import _bufferingDescriptor


class SlowReaderTransport(StringTransport):
    """
    A L{StringTransport} whose writes wait in a buffer, counted the way a
    Twisted file descriptor counts its own, until L{take} hands them to the
    client; it pauses a streaming producer beyond C{bufferSize} and resumes
    the registered producer when its buffer empties, as the reactor's
    transports do.
    """

    bufferSize = 65536

    def __init__(self, *args, **kwargs):
        StringTransport.__init__(self, *args, **kwargs)
        self.dataBuffer = b""
        self.offset = 0
        self._tempDataBuffer = []
        self._tempDataLen = 0
        self.producerPaused = False

    def write(self, data):
        if self.disconnecting:
            return
        self._tempDataBuffer.append(data)
        self._tempDataLen += len(data)
        if (self.producer is not None and self.streaming
                and self._tempDataLen > self.bufferSize and not self.producerPaused):
            self.producerPaused = True
            self.producer.pauseProducing()

    def writeSequence(self, data):
        self.write(b"".join(data))

    def registerProducer(self, producer, streaming):
        StringTransport.registerProducer(self, producer, streaming)
        self.producerPaused = False
        if not streaming:
            producer.resumeProducing()

    def take(self, count=None):
        """
        The client reads C{count} bytes (all that wait, if C{None}).
        """
        data = b"".join(self._tempDataBuffer)
        count = len(data) if count is None else count
        self.io.write(data[:count])
        rest = data[count:]
        self._tempDataBuffer = [rest] if rest else []
        self._tempDataLen = len(rest)
        producer = self.producer
        if not rest and producer is not None and (not self.streaming or self.producerPaused):
            self.producerPaused = False
            producer.resumeProducing()


class Sized(resource.LeafResource):
    """
    Answers C{?n=BYTES} bytes from memory, counting the requests it saw.
    """

    def __init__(self):
        self.seen = 0

    def render(self, request):
        self.seen += 1
        size = int(request.args.get("n", ["0"])[0])
        return http.Response(200, None, b"x" * size)


class Pushed(resource.LeafResource):
    """
    A response of unknown length written through a producer.
    """

    def render(self, request):
        body = stream.ProducerStream()
        body.write(b"y" * 200_000)
        body.finish()
        return http.Response(200, None, body)


class File(resource.LeafResource):
    """
    A file from disk, sent with sendfile.
    """

    def __init__(self, path):
        self.path = path

    def render(self, request):
        return http.Response(200, None, stream.FileStream(open(self.path, "rb")))


class Root(resource.Resource):
    def __init__(self, filePath=None):
        self.child_sized = Sized()
        self.child_pushed = Pushed()
        if filePath is not None:
            self.child_file = File(filePath)


def get(path):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: a\r\n\r\n"


def slowConnection(**factoryArgs):
    root = Root()
    conn = Connection(root, **factoryArgs)
    transport = SlowReaderTransport(
        hostAddress=conn.transport.getHost(), peerAddress=conn.transport.getPeer())
    conn.channel = conn.factory.buildProtocol(transport.getPeer())
    conn.transport = transport
    conn.channel.makeConnection(transport)
    return conn, root


def captureLog(testCase):
    events = []
    globalLogPublisher.addObserver(events.append)
    testCase.addCleanup(globalLogPublisher.removeObserver, events.append)
    return events


class SendHoldTests(SynchronousTestCase):
    def test_bufferingDescriptorFound(self):
        """
        The buffer is looked for under wrapping transports; an in-memory
        transport without one has none.
        """
        inner = SlowReaderTransport()

        class Wrapper:
            transport = inner

        self.assertIs(_bufferingDescriptor(inner), inner)
        self.assertIs(_bufferingDescriptor(Wrapper()), inner)
        self.assertIsNone(_bufferingDescriptor(StringTransport()))

    def test_pipelineHeldWhileClientDoesNotRead(self):
        """
        A client pipelining requests whose answers it does not read gets no
        further answer once C{maxUnsentBytes} wait unread, and the socket
        is not read meanwhile; reading the answers lets the rest through.
        """
        conn, root = slowConnection(maxUnsentBytes=30_000)
        conn.send(get("/sized?n=10000") * 50)
        sized = root.child_sized
        self.assertLess(sized.seen, 6)
        self.assertLessEqual(conn.channel._unsentBytes(), 30_000 + 10_200 + 16_384)
        self.assertEqual(conn.transport.producerState, "paused")
        while conn.transport._tempDataLen:
            conn.transport.take()
        self.assertEqual(sized.seen, 50)
        self.assertEqual(len(conn.responses()), 50)
        self.assertEqual(conn.transport.producerState, "producing")
        self.assertIsNone(conn.transport.producer)
        self.assertFalse(conn.closed)

    def test_heldClientTakingNothingIsCutOff(self):
        """
        A held client that takes none of its answers for C{sendTimeout} is
        aborted, with one log line.
        """
        events = captureLog(self)
        conn, _ = slowConnection(maxUnsentBytes=30_000, sendTimeout=10.0)
        conn.send(get("/sized?n=10000") * 50)
        conn.clock.advance(9)
        self.assertFalse(conn.transport.disconnecting)
        conn.clock.advance(1.5)
        self.assertTrue(conn.transport.disconnected)
        [line] = [e for e in events if "unread" in e.get("log_format", "")]
        self.assertEqual(line["timeout"], 10.0)

    def test_sendTimeoutRenewedWhileClientTakesSome(self):
        """
        Each time the client takes some of what waits, it has another
        C{sendTimeout}.
        """
        conn, _ = slowConnection(maxUnsentBytes=30_000, sendTimeout=10.0)
        conn.send(get("/sized?n=10000") * 50)
        for _ in range(3):
            conn.clock.advance(8)
            conn.transport.take(1000)
            conn.clock.advance(3)
            self.assertFalse(conn.transport.disconnecting)
        conn.clock.advance(11)
        self.assertTrue(conn.transport.disconnected)

    def test_noHeadTimerDuringTheHold(self):
        """
        The part of a request that waits behind the hold is not timed as a
        slow request head: the hold is the server's choice.
        """
        conn, _ = slowConnection(maxUnsentBytes=30_000, headerTimeout=2.0,
                                 sendTimeout=30.0)
        conn.send(get("/sized?n=10000") * 10 + b"GET /sized HTTP/1.1\r\n")
        conn.clock.advance(5)
        self.assertFalse(conn.transport.disconnecting)
        while conn.transport._tempDataLen:
            conn.transport.take()
        self.assertEqual(len(conn.responses()), 10)
        conn.clock.advance(2.5)
        # Now the partial head is the client's: 408.
        conn.transport.take()
        self.assertEqual(conn.responses()[-1].status, 408)

    def test_largeDirectWriteHolds(self):
        """
        A response written at once, larger than the bound, holds the next
        request until the client takes it.
        """
        conn, root = slowConnection(maxUnsentBytes=30_000)
        conn.send(get("/sized?n=300000") + get("/sized?n=1"))
        self.assertEqual(root.child_sized.seen, 1)
        conn.transport.take()
        self.assertEqual(root.child_sized.seen, 2)
        conn.transport.take()
        self.assertEqual([len(r.body) for r in conn.responses()], [300_000, 1])

    def test_producerResponseThenPipeline(self):
        """
        A response streamed through a producer is paused by the transport;
        the request behind it waits until the client read it all, and then
        nothing is left registered with the transport.
        """
        conn, root = slowConnection(maxUnsentBytes=30_000)
        conn.send(get("/pushed") + get("/sized?n=5"))
        self.assertEqual(root.child_sized.seen, 0)
        for _ in range(10):
            conn.transport.take()
            conn.clock.advance(0)
        self.assertEqual(root.child_sized.seen, 1)
        self.assertEqual([len(r.body) for r in conn.responses()], [200_000, 5])
        self.assertIsNone(conn.transport.producer)

    def test_closeDuringHoldFreesTheTransport(self):
        """
        A graceful drain during a hold gives the transport's producer slot
        back, so that the transport can close once its output is out.
        """
        conn, _ = slowConnection(maxUnsentBytes=30_000)
        conn.send(get("/sized?n=10000") * 20)
        self.assertIsNotNone(conn.transport.producer)
        conn.channel.drain()
        self.assertIsNone(conn.transport.producer)
        self.assertTrue(conn.transport.disconnecting)

    def test_idleWithUnsentOutputIsCutOff(self):
        """
        A connection that goes idle with output its client never takes is
        closed at C{idleTimeout} and aborted C{sendTimeout} later.
        """
        conn, _ = slowConnection(idleTimeout=5.0, sendTimeout=10.0)
        conn.send(get("/sized?n=20000"))
        conn.clock.advance(5.5)
        self.assertTrue(conn.transport.disconnecting)
        self.assertFalse(conn.transport.disconnected)
        conn.clock.advance(10)
        self.assertTrue(conn.transport.disconnected)


class PipelinedUnreadLiveTests(TestCase):
    """
    The attack of issue #14 on a real socket: a client pipelines requests
    for a 404 page that repeats its 7 KB path and never reads.
    """

    def setUp(self):
        self.server = LiveServer(Root(), sendTimeout=2.0)
        self.addCleanup(self.server.stop)
        # Every hold, with what waited unread when it began.
        self.holds = []
        protocol = self.server.factory.protocol
        hold = protocol._holdForOutput

        def recordingHold(channel):
            self.holds.append(channel._unsentBytes())
            hold(channel)

        protocol._holdForOutput = recordingHold

    @defer.inlineCallbacks
    def test_unreadPipelineIsBoundedAndDropped(self):
        request = b"GET /" + b"a/" * 3500 + b" HTTP/1.1\r\nHost: a\r\n\r\n"

        def attack(port):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.settimeout(0.5)
            sent = 0
            try:
                for _ in range(2000):
                    sock.sendall(request * 10)
                    sent += 10
            except (TimeoutError, OSError):
                pass
            return sock, sent

        sock, sent = yield inThread(attack, self.server.portNumber)
        self.addCleanup(sock.close)
        # The server stopped reading long before the client's 140 MB were
        # all sent, and held little of its answers when it did.
        self.assertLess(sent, 2000 * 10)
        self.assertTrue(self.holds)
        self.assertLess(max(self.holds), 256 * 1024)
        # And the connection is dropped by the send timeout.
        deadline = time.monotonic() + 30
        while self.server.factory.connections and time.monotonic() < deadline:
            d = defer.Deferred()
            reactor.callLater(0.1, d.callback, None)
            yield d
        self.assertEqual(self.server.factory.connections, set())


class KernelUnsentLiveTests(TestCase):
    """
    The kernel's share of what a client leaves unread is bounded too
    (C{TCP_NOTSENT_LOWAT}), so a client that reads nothing is held after a
    few hundred small answers rather than the tens of thousands that fill a
    send buffer grown to megabytes.
    """

    def setUp(self):
        if sys.platform != "linux":
            raise SkipTest("TCP_NOTSENT_LOWAT is Linux's")
        self.root = Root()
        self.server = LiveServer(self.root, sendTimeout=2.0)
        self.addCleanup(self.server.stop)

    @defer.inlineCallbacks
    def test_optionSetOnConnectionsAndListener(self):
        def client(port):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(get("/sized?n=1"))
            sock.recv(65536)
            return sock

        sock = yield inThread(client, self.server.portNumber)
        self.addCleanup(sock.close)
        [channel] = self.server.factory.connections
        lowat = getattr(socket, "TCP_NOTSENT_LOWAT", 25)
        handle = channel.transport.getHandle()
        self.assertEqual(handle.getsockopt(socket.IPPROTO_TCP, lowat), 131072)
        listener = self.server.port.socket
        self.assertEqual(listener.getsockopt(socket.IPPROTO_TCP, lowat), 131072)

    @defer.inlineCallbacks
    def test_fewSmallAnswersBeforeTheHold(self):
        request = get("/sized?n=100")

        def attack(port):
            sock = socket.socket()
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.connect(("127.0.0.1", port))
            sock.settimeout(0.5)
            try:
                for _ in range(2000):
                    sock.sendall(request * 100)
            except (TimeoutError, OSError):
                pass
            return sock

        sock = yield inThread(attack, self.server.portNumber)
        self.addCleanup(sock.close)
        # About 230 bytes an answer: 128 KiB in the kernel and 64 KiB (plus
        # one batch) in the transport are some 1,000 answers; without the
        # kernel's cap, over 10,000.
        self.assertLess(self.root.child_sized.seen, 3000)


SIZE = 24 * 1024 * 1024


class LargeFileCapTests(TestCase):
    """
    A large file is sent without the kernel's cap on unsent bytes (with it,
    every few hundred KiB of the file cost a wake-up), and the cap is back
    once the file is out.
    """

    def setUp(self):
        if sys.platform != "linux":
            raise SkipTest("TCP_NOTSENT_LOWAT is Linux's")
        directory = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, directory)
        path = os.path.join(directory, "large")
        with open(path, "wb") as f:
            # Larger than the send and receive buffers can grow to
            # (net.ipv4.tcp_wmem's and tcp_rmem's 4 and 6 MiB by default),
            # so it cannot all leave while the client waits.
            f.truncate(SIZE)
        self.server = LiveServer(Root(path))
        self.addCleanup(self.server.stop)
        self.lowat = getattr(socket, "TCP_NOTSENT_LOWAT", 25)

    def capNow(self):
        [channel] = self.server.factory.connections
        return channel.transport.getHandle().getsockopt(socket.IPPROTO_TCP, self.lowat)

    @defer.inlineCallbacks
    def test_capLiftedForALargeFile(self):
        sock = yield inThread(socket.create_connection,
                              ("127.0.0.1", self.server.portNumber), 10)
        self.addCleanup(sock.close)
        yield inThread(sock.sendall, get("/file"))
        yield inThread(sock.recv, 100)
        # The client reads no more: the file waits for the socket.
        while not self.server.factory.connections:
            yield deferLater(0.01)
        self.assertEqual(self.capNow(), 0)

        def readAll():
            sock.settimeout(10)
            got = 100
            while got < SIZE:
                piece = sock.recv(1 << 20)
                if not piece:
                    break
                got += len(piece)
            return got

        got = yield inThread(readAll)
        self.assertGreater(got, SIZE)
        for _ in range(500):
            if self.capNow() == 131072:
                break
            yield deferLater(0.01)
        self.assertEqual(self.capNow(), 131072)


def deferLater(seconds):
    d = defer.Deferred()
    reactor.callLater(seconds, d.callback, None)
    return d
