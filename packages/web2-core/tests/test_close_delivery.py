"""
Large responses on connections that close after them arrive whole: the
channel half-closes and lingers, never resets a connection with a response
still in flight (regression: it once aborted on its own write-side close).
"""

from __future__ import annotations

import os
import socket
import tempfile

from _core_helpers import LiveServer, inThread
from twisted.internet import defer
from twisted.trial.unittest import TestCase

from web2 import http, resource, stream

SIZE = 1024 * 1024


class Root(resource.Resource):
    def __init__(self, path):
        self.path = path

    def child_file(self, request):
        return File(self.path)

    def child_mem(self, request):
        return Memory(self.path)


class File(resource.LeafResource):
    def __init__(self, path):
        self.path = path

    def render(self, request):
        return http.Response(200, None, stream.FileStream(open(self.path, "rb"), closeFile=True))


class Memory(File):
    def render(self, request):
        with open(self.path, "rb") as f:
            return http.Response(200, None, f.read())


def fetchClosing(port, path, times):
    """
    C{times} requests with C{Connection: close}, each read until EOF;
    the list of body lengths (or the error met).
    """
    lengths = []
    for _ in range(times):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except OSError as e:
            lengths.append(repr(e))
            continue
        finally:
            sock.close()
        lengths.append(len(data.partition(b"\r\n\r\n")[2]))
    return lengths


class CloseDeliveryTests(TestCase):
    timeout = 60

    def setUp(self):
        fd, self.path = tempfile.mkstemp()
        os.write(fd, os.urandom(SIZE))
        os.close(fd)
        self.addCleanup(os.unlink, self.path)
        self.server = LiveServer(Root(self.path))
        self.addCleanup(self.server.stop)

    @defer.inlineCallbacks
    def test_fileBodies(self):
        lengths = yield inThread(fetchClosing, self.server.portNumber, b"/file", 15)
        self.assertEqual(lengths, [SIZE] * 15)

    @defer.inlineCallbacks
    def test_memoryBodies(self):
        lengths = yield inThread(fetchClosing, self.server.portNumber, b"/mem", 15)
        self.assertEqual(lengths, [SIZE] * 15)


class PeerClosedFirstTests(TestCase):
    """
    A client that half-closes after its request gets its response and the
    connection closes at once: there is nothing to linger for.
    """

    timeout = 30

    def setUp(self):
        fd, self.path = tempfile.mkstemp()
        os.write(fd, b"x" * 1000)
        os.close(fd)
        self.addCleanup(os.unlink, self.path)
        self.server = LiveServer(Root(self.path))
        self.addCleanup(self.server.stop)

    @defer.inlineCallbacks
    def test_noLingerAfterPeerClose(self):
        from _core_helpers import rawExchange

        out = yield inThread(
            rawExchange, self.server.portNumber,
            b"GET /mem HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", halfClose=True,
        )
        self.assertTrue(out.endswith(b"x" * 1000))
        # No linger timer may be left behind: trial's dirty-reactor check
        # fails this test if one is.
        yield deferLater(0.05)


def deferLater(seconds):
    from twisted.internet import reactor, task

    return task.deferLater(reactor, seconds, lambda: None)
