"""
Thousands of locks against a real server (127.0.0.1, the real reactor and
thread pool): 6000 LOCKs of new names, then a Depth 1 PROPFIND of their
collection, while another connection asks for something else.

Nothing here is timed.  The PROPFIND must answer (all 6001 members, each
with its lock), and the other request must be answered while the
PROPFIND is still working: when the PROPFIND has reported its 50th
member, a probe in the server sends an OPTIONS on the second connection
(from the reactor thread, so it is in the server's socket before the
PROPFIND goes on); the server must run that OPTIONS before the PROPFIND
ends (the last of its body is made), which it can only do if the PROPFIND
gives the reactor back.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile

from lxml import etree
from twisted.internet.defer import Deferred
from twisted.trial.unittest import TestCase

from web2 import server
from web2.dav import DAVFile
from web2.testing import (
    LiveServer,
    MalformedResponse,
    inThread,
    parseResponses,
    requestBytes,
)

LOCKS = 6000
BATCH = 500
PROBE_AT = 50

LOCK_BODY = (b'<?xml version="1.0"?><D:lockinfo xmlns:D="DAV:">'
             b"<D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype>"
             b"<D:owner>scale test</D:owner></D:lockinfo>")


def _readResponses(sock, count, headRequests=()):
    """
    Read exactly C{count} complete responses from the blocking C{sock}.
    """
    data = b""
    while True:
        try:
            responses = parseResponses(data, headRequests, eof=False)
        except MalformedResponse:
            responses = None  # a head cut short: read on
        if responses is not None and len(responses) == count and responses[-1].complete:
            return responses
        chunk = sock.recv(1 << 20)
        if not chunk:
            raise AssertionError(f"the server closed after {data[-300:]!r}")
        data += chunk


def _client(port, probe):
    """
    The blocking client: LOCKs (pipelined in batches), then the PROPFIND
    with the probe's connection ready.
    """
    statuses = []
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        for start in range(0, LOCKS, BATCH):
            names = range(start, min(LOCKS, start + BATCH))
            sock.sendall(b"".join(
                requestBytes(f"/d/f{i}", "LOCK", [("Depth", "0"), ("Timeout", "Second-3600")],
                             LOCK_BODY)
                for i in names))
            statuses += [r.status for r in _readResponses(sock, len(names))]
        # The second connection is accepted and in use before the PROPFIND
        # (and opened only now: idle through the LOCKs, it could time out).
        with socket.create_connection(("127.0.0.1", port), timeout=120) as other:
            other.sendall(requestBytes("/", "OPTIONS"))
            first = _readResponses(other, 1)[0]
            probe["socket"] = other
            sock.sendall(requestBytes("/d/", "PROPFIND", [("Depth", "1")], b""))
            propfind = _readResponses(sock, 1)[0]
            options = _readResponses(other, 1)[0]
    return statuses, first, propfind, options


def _whenRead(stream, callback):
    """
    Call C{callback} once C{stream}'s end has been read (its read gave
    C{None}, or, for a stream that knows its length, nothing is left).
    """
    read = stream.read
    called = []

    def reading():
        result = read()
        if isinstance(result, Deferred):
            return result.addCallback(check)
        return check(result)

    def check(result):
        if not called and (result is None or stream.length == 0):
            called.append(True)
            callback()
        return result

    stream.read = reading


class ManyLocksTests(TestCase):
    timeout = 600

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.mkdir(os.path.join(self.tmp, "d"))
        self.events = []
        self.probe = {}
        events, probe = self.events, self.probe

        class Probe(DAVFile):
            reported = 0

            def _propStats(self, *args):
                Probe.reported += 1
                if Probe.reported == PROBE_AT and "socket" in probe:
                    probe["socket"].sendall(requestBytes("/", "OPTIONS"))
                return DAVFile._propStats(self, *args)

            def http_OPTIONS(self, request):
                events.append("OPTIONS")
                return DAVFile.http_OPTIONS(self, request)

            async def http_PROPFIND(self, request):
                Probe.reported = 0
                response = await DAVFile.http_PROPFIND(self, request)
                # The answer is made as it is sent: the PROPFIND ends with
                # the last read of its body.
                _whenRead(response.stream, lambda: events.append("PROPFIND"))
                return response

        self.server = LiveServer(site=server.Site(Probe(self.tmp), accessLogging=False))
        self.addCleanup(self.server.stop)

    async def test_propfindOfManyLockedMembers(self):
        statuses, first, propfind, options = await inThread(
            _client, self.server.portNumber, self.probe)
        self.assertEqual(statuses, [201] * LOCKS)
        self.assertEqual((first.status, options.status), (200, 200))
        self.assertEqual(propfind.status, 207)
        root = etree.fromstring(propfind.body)
        responses = root.findall("{DAV:}response")
        self.assertEqual(len(responses), LOCKS + 1)
        member = {r.findtext("{DAV:}href"): r for r in responses}["/d/f17"]
        self.assertEqual(
            member.findtext(".//{DAV:}lockdiscovery/{DAV:}activelock/{DAV:}lockroot/{DAV:}href"),
            "/d/f17")
        # The probe's OPTIONS was answered while the PROPFIND was working.
        self.assertEqual(self.events, ["OPTIONS", "OPTIONS", "PROPFIND"])


MEMBERS = 3000


def _sendPropfind(port):
    """
    Connect with a small receive window, send a Depth 1 PROPFIND of
    C{/d/} and read until the head of the answer (and perhaps some body)
    has arrived.

    @return: the socket and what was read.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(120)
    sock.connect(("127.0.0.1", port))
    sock.sendall(requestBytes("/d/", "PROPFIND", [("Depth", "1")], b""))
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(1024)
        if not chunk:
            raise AssertionError(f"closed after {data!r}")
        data += chunk
    return sock, data


def _readAll(sock, data):
    """
    Read the rest of the one response on C{sock}.
    """
    with sock:
        return _readResponses(_Prefilled(sock, data), 1)[0]


class _Prefilled:
    """
    A socket whose first C{recv} gives back what was already read.
    """

    def __init__(self, sock, data):
        self.sock, self.data = sock, data

    def recv(self, size):
        if self.data:
            data, self.data = self.data, b""
            return data
        return self.sock.recv(size)


class StreamedAnswerTests(TestCase):
    """
    The answer of a Depth 1 PROPFIND is made as the client takes it: a
    client that reads nothing holds the walk after a few batches of
    members (its memory is not the whole answer), and one that leaves
    stops it.  Before, every member was computed, and the whole body held
    in memory, before the first byte was sent.
    """

    timeout = 300

    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp, True)
        os.mkdir(os.path.join(self.tmp, "d"))
        for i in range(MEMBERS):
            os.close(os.open(os.path.join(self.tmp, "d", f"member-{i:05}.txt"),
                             os.O_CREAT | os.O_WRONLY))
        reported = self.reported = [0]

        class Counting(DAVFile):
            def _propStats(self, *args):
                reported[0] += 1
                return DAVFile._propStats(self, *args)

        self.server = LiveServer(site=server.Site(Counting(self.tmp), accessLogging=False))
        self.addCleanup(self.server.stop)

    async def settled(self):
        """
        The count of members reported once it has not moved for a second
        (at most a minute: only a bound on a hang).
        """
        from twisted.internet import reactor, task

        last, still = -1, 0
        for _ in range(600):
            await task.deferLater(reactor, 0.1, lambda: None)
            now = self.reported[0]
            still = still + 1 if now == last else 0
            if still >= 10:
                break
            last = now
        return self.reported[0]

    async def test_heldWhileTheClientReadsNothing(self):
        sock, data = await inThread(_sendPropfind, self.server.portNumber)
        held = await self.settled()
        self.assertLess(held, MEMBERS // 2)
        response = await inThread(_readAll, sock, data)
        self.assertEqual(response.status, 207)
        root = etree.fromstring(response.body)
        self.assertEqual(len(root.findall("{DAV:}response")), MEMBERS + 1)
        self.assertEqual(self.reported[0], MEMBERS + 1)

    async def test_stoppedWhenTheClientLeaves(self):
        sock, _ = await inThread(_sendPropfind, self.server.portNumber)
        sock.close()
        self.assertLess(await self.settled(), MEMBERS // 2)
