"""
Tests for the FastCGI gateway: the protocol over a StringTransport
(requests, multiplexing, keep-alive, management records, aborts, limits
and bad records), and real sockets on 127.0.0.1 with a Python client and
with Debian's C{cgi-fcgi} (package libfcgi-bin).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess

from _cgi_helpers import (
    BIG,
    Echo,
    fcgiRequest,
    parseCGIResponse,
    parseEcho,
    readRecords,
    socketExchange,
    whenClosed,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import address, defer, reactor, task, threads
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase

from web2 import http, server
from web2.cgi import _fcgiwire as wire
from web2.cgi.fastcgi import FastCGIFactory
from web2.resource import Resource

CGI_FCGI = shutil.which("cgi-fcgi")

BASE = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_URI": "/hello?x=1",
        "QUERY_STRING": "x=1", "SERVER_NAME": "example.com", "SERVER_PORT": "80",
        "REMOTE_ADDR": "198.51.100.4", "REMOTE_PORT": "4444", "HTTP_HOST": "example.com",
        "CONTENT_LENGTH": ""}


class Deferring(Resource):
    """
    Answers only when the test fires C{self.pending}.
    """

    def __init__(self):
        self.pending = []

    def locateChild(self, request, segments):
        return self, ()

    def render(self, request):
        d = defer.Deferred()
        self.pending.append(d)
        return d

    http_POST = render


class FastCGIProtocolTests(SynchronousTestCase):
    def connect(self, root=None, **kwargs):
        self.clock = task.Clock()
        self.factory = FastCGIFactory(server.Site(root or Echo()), reactor=self.clock,
                                      **kwargs)
        peer = address.IPv4Address("TCP", "127.0.0.1", 50000)
        self.proto = self.factory.buildProtocol(peer)
        self.transport = StringTransport(peerAddress=peer)
        self.proto.makeConnection(self.transport)
        return self.proto, self.transport

    def drive(self):
        for _ in range(200):
            producer = self.transport.producer
            if producer is None or not self.proto._producers:
                return
            self.proto.resumeProducing()

    def test_request(self):
        proto, transport = self.connect()
        proto.dataReceived(fcgiRequest(1, {**BASE, "HTTPS": "on", "SERVER_PORT": "443",
                                           "HTTP_X_TEST": "t", "HTTP_PROXY": "evil"}))
        records, stdout, ends = readRecords(transport.value())
        self.assertEqual(ends, {1: (0, wire.REQUEST_COMPLETE)})
        status, headers, body = parseCGIResponse(stdout[1])
        self.assertEqual(status, 200)
        echo = parseEcho(body)
        self.assertEqual(echo["url"], "https://example.com/hello?x=1")
        self.assertEqual(echo["remote"], "198.51.100.4")
        self.assertEqual(echo["x-test"], "t")
        self.assertEqual(echo["proxy"], "")
        # Without FCGI_KEEP_CONN the connection closes after the request.
        self.assertTrue(transport.disconnecting)
        # The stream ends with an empty STDOUT before END_REQUEST.
        self.assertEqual([(r.type, r.content) for r in records[-2:]][0], (wire.STDOUT, b""))
        self.assertTrue(all(len(r) for r in [transport.value()]) and
                        len(transport.value()) % 8 == 0)

    def test_keepConnServesSeveralRequests(self):
        proto, transport = self.connect()
        proto.dataReceived(fcgiRequest(1, BASE, keepConn=True))
        proto.dataReceived(fcgiRequest(1, dict(BASE, REQUEST_URI="/again"), keepConn=True))
        _, stdout, ends = readRecords(transport.value())
        self.assertEqual(ends, {1: (0, 0)})
        self.assertIn(b"path=/again", stdout[1])
        self.assertFalse(transport.disconnecting)
        self.clock.advance(self.factory.idleTimeout + 1)
        self.assertTrue(transport.disconnecting)

    def test_multiplexedRequests(self):
        root = Deferring()
        proto, transport = self.connect(root)
        proto.dataReceived(fcgiRequest(1, BASE, keepConn=True)
                           + fcgiRequest(2, BASE, keepConn=True))
        self.assertEqual(len(root.pending), 2)
        root.pending[1].callback(http.Response(200, None, b"second"))
        root.pending[0].callback(http.Response(201, None, b"first"))
        records, stdout, ends = readRecords(transport.value())
        self.assertEqual(set(ends), {1, 2})
        self.assertEqual(parseCGIResponse(stdout[1])[:3:2], (201, b"first"))
        self.assertEqual(parseCGIResponse(stdout[2])[:3:2], (200, b"second"))
        ids = [r.requestId for r in records if r.type == wire.END_REQUEST]
        self.assertEqual(ids, [2, 1])

    def test_overloaded(self):
        root = Deferring()
        proto, transport = self.connect(root, maxRequests=1)
        proto.dataReceived(fcgiRequest(1, BASE, keepConn=True)
                           + fcgiRequest(2, BASE, keepConn=True))
        _, _, ends = readRecords(transport.value())
        self.assertEqual(ends, {2: (0, wire.OVERLOADED)})
        root.pending[0].callback(http.Response(200, None, b"x"))

    def test_getValues(self):
        proto, transport = self.connect(maxRequests=7)
        query = wire.encodeNameValues([(b"FCGI_MPXS_CONNS", b""), (b"FCGI_MAX_REQS", b""),
                                       (b"UNKNOWN", b"")])
        proto.dataReceived(wire.encodeRecord(wire.GET_VALUES, 0, query))
        [record] = wire.RecordReader().feed(transport.value())
        self.assertEqual(record.type, wire.GET_VALUES_RESULT)
        self.assertEqual(dict(wire.decodeNameValues(record.content)),
                         {b"FCGI_MPXS_CONNS": b"1", b"FCGI_MAX_REQS": b"7"})

    def test_unknownTypeAnswered(self):
        proto, transport = self.connect()
        proto.dataReceived(wire.encodeRecord(42, 0, b"whatever"))
        [record] = wire.RecordReader().feed(transport.value())
        self.assertEqual((record.type, record.content[0]), (wire.UNKNOWN_TYPE, 42))
        self.assertFalse(transport.disconnecting)

    def test_unknownRole(self):
        proto, transport = self.connect()
        proto.dataReceived(wire.encodeRecord(
            wire.BEGIN_REQUEST, 1, wire.encodeBeginRequest(wire.AUTHORIZER, wire.KEEP_CONN)))
        _, _, ends = readRecords(transport.value())
        self.assertEqual(ends, {1: (0, wire.UNKNOWN_ROLE)})

    def test_largeResponseSplitIntoRecords(self):
        """
        The original hung on writes over 64 KiB.
        """
        proto, transport = self.connect()
        proto.dataReceived(fcgiRequest(1, dict(BASE, REQUEST_URI="/big")))
        self.drive()
        records, stdout, ends = readRecords(transport.value())
        self.assertEqual(ends, {1: (0, 0)})
        self.assertEqual(parseCGIResponse(stdout[1])[2], BIG)
        self.assertTrue(all(len(r.content) <= wire.MAX_CONTENT for r in records))

    def test_outputBackpressure(self):
        """
        While the transport is paused, no response producer writes.
        """
        proto, transport = self.connect()
        proto.pauseProducing()
        proto.dataReceived(fcgiRequest(1, dict(BASE, REQUEST_URI="/big")))
        before = len(transport.value())
        self.assertLess(before, 300000)
        self.assertEqual(len(proto._producers), 1)
        proto.resumeProducing()
        self.drive()
        _, stdout, _ = readRecords(transport.value())
        self.assertEqual(parseCGIResponse(stdout[1])[2], BIG)

    def test_postBodyAndInputBackpressure(self):
        proto, transport = self.connect()
        body = os.urandom(700000)
        data = fcgiRequest(1, dict(BASE, REQUEST_METHOD="POST", REQUEST_URI="/post",
                                   CONTENT_LENGTH=str(len(body))), body)
        for i in range(0, len(data), 65536):
            proto.dataReceived(data[i:i + 65536])
        _, stdout, _ = readRecords(transport.value())
        answer = parseCGIResponse(stdout[1])[2].split()
        self.assertEqual(answer, [b"700000", hashlib.sha256(body).hexdigest().encode()])
        self.assertEqual(transport.producerState, "producing")

    def test_bodyPausesReading(self):
        root = Deferring()
        proto, transport = self.connect(root)
        data = fcgiRequest(1, dict(BASE, REQUEST_METHOD="POST", CONTENT_LENGTH="1000000"),
                           b"z" * 1000000)
        proto.dataReceived(data)
        # Nobody reads the body: once its buffer is full, reading stops.
        self.assertEqual(transport.producerState, "paused")
        root.pending[0].callback(http.Response(200, None, b"ok"))
        self.assertEqual(transport.producerState, "producing")

    def test_abortRequest(self):
        root = Deferring()
        proto, transport = self.connect(root)
        proto.dataReceived(fcgiRequest(1, BASE, keepConn=True)[:-8])
        proto.dataReceived(wire.encodeRecord(wire.ABORT_REQUEST, 1))
        _, stdout, ends = readRecords(transport.value())
        self.assertEqual(ends, {1: (1, 0)})
        self.assertEqual(proto.requests, {})
        # The application's late answer goes nowhere.
        root.pending[0].callback(http.Response(200, None, b"late"))
        self.assertNotIn(b"late", transport.value())
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_connectionLostMidRequest(self):
        root = Deferring()
        proto, transport = self.connect(root)
        proto.dataReceived(fcgiRequest(1, BASE))
        proto.connectionLost(None)
        root.pending[0].callback(http.Response(200, None, b"late"))
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_bodyShorterThanContentLength(self):
        proto, transport = self.connect()
        proto.dataReceived(fcgiRequest(1, dict(BASE, REQUEST_METHOD="POST", REQUEST_URI="/post",
                                               CONTENT_LENGTH="10"), b"abc"))
        self.assertTrue(transport.disconnected)
        self.assertNotIn(b"Status:", transport.value())

    def test_badVariables400(self):
        proto, transport = self.connect()
        proto.dataReceived(fcgiRequest(1, dict(BASE, REQUEST_URI="no-slash")))
        _, stdout, ends = readRecords(transport.value())
        self.assertEqual(parseCGIResponse(stdout[1])[0], 400)
        self.assertEqual(ends, {1: (0, 0)})

    def assertClosed(self, data, **kwargs):
        proto, transport = self.connect(**kwargs)
        proto.dataReceived(data)
        self.assertTrue(transport.disconnected, data[:40])
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_hostileRecords(self):
        begin = wire.encodeRecord(wire.BEGIN_REQUEST, 1, wire.encodeBeginRequest())
        for data in [
            bytes((9, 1, 0, 1, 0, 8, 0, 0)) + bytes(8),             # wrong version
            wire.encodeRecord(wire.BEGIN_REQUEST, 1, b"\x00\x01"),  # short body
            wire.encodeRecord(wire.BEGIN_REQUEST, 0, wire.encodeBeginRequest()),
            begin + begin,                                          # id in use
            begin + wire.encodeRecord(wire.PARAMS, 1, b"\x05\x05ab")
            + wire.encodeRecord(wire.PARAMS, 1),                    # truncated pair
            begin + wire.encodeRecord(wire.STDIN, 1, b"early"),     # STDIN before PARAMS
            wire.encodeRecord(wire.STDOUT, 1, b"app only"),         # an application's type
            wire.encodeRecord(wire.GET_VALUES, 3, b""),             # management with an id
        ]:
            self.assertClosed(data)

    def test_paramsOverLimit(self):
        begin = wire.encodeRecord(wire.BEGIN_REQUEST, 1, wire.encodeBeginRequest())
        params = b"".join(wire.encodeStream(wire.PARAMS, 1, b"\x01" * 5000))
        self.assertClosed(begin + params, maxParamsBytes=4096)

    def test_paramsTimeout(self):
        proto, transport = self.connect(headerTimeout=5)
        proto.dataReceived(wire.encodeRecord(wire.BEGIN_REQUEST, 1, wire.encodeBeginRequest()))
        self.clock.advance(6)
        self.assertTrue(transport.disconnected)

    def test_recordsOfUnknownRequestsIgnored(self):
        proto, transport = self.connect()
        proto.dataReceived(wire.encodeRecord(wire.STDIN, 9, b"stray")
                           + wire.encodeRecord(wire.PARAMS, 9, b""))
        self.assertEqual(transport.value(), b"")
        self.assertFalse(transport.disconnecting)

    def test_maxConnections(self):
        factory = FastCGIFactory(server.Site(Echo()), reactor=task.Clock(), maxConnections=1)
        first = factory.buildProtocol(None)
        first.makeConnection(StringTransport())
        self.assertIsNone(factory.buildProtocol(None))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(min_value=0, max_value=12),
                          st.integers(min_value=0, max_value=3),
                          st.binary(max_size=40)), max_size=12))
def test_fuzzProtocol(records):
    """
    Random sequences of records never raise out of the protocol.
    """
    factory = FastCGIFactory(server.Site(Echo()), reactor=task.Clock())
    proto = factory.buildProtocol(None)
    transport = StringTransport()
    proto.makeConnection(transport)
    for kind, requestId, content in records:
        if kind == wire.BEGIN_REQUEST and len(content) >= 2:
            content = wire.encodeBeginRequest(wire.RESPONDER, content[0] & 1)
        proto.dataReceived(wire.encodeRecord(kind, requestId, content))
    proto.connectionLost(None)
    wire.RecordReader().feed(transport.value())


# Real sockets


class FastCGISocketTests(TestCase):
    timeout = 30

    def setUp(self):
        self.factory = FastCGIFactory(server.Site(Echo()))
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.addCleanup(whenClosed, self.factory)
        self.portNumber = self.port.getHost().port

    async def test_pythonClient(self):
        body = os.urandom(300000)
        data = (fcgiRequest(1, dict(BASE, REQUEST_URI="/big"), keepConn=True)
                + fcgiRequest(2, dict(BASE, REQUEST_METHOD="POST", REQUEST_URI="/post",
                                      CONTENT_LENGTH=str(len(body))), body))
        out = await threads.deferToThread(socketExchange, self.portNumber, data)
        _, stdout, ends = readRecords(out)
        self.assertEqual(ends, {1: (0, 0), 2: (0, 0)})
        self.assertEqual(parseCGIResponse(stdout[1])[2], BIG)
        self.assertEqual(parseCGIResponse(stdout[2])[2].split()[1],
                         hashlib.sha256(body).hexdigest().encode())

    def cgiFcgi(self, variables, body=b""):
        if CGI_FCGI is None:
            self.skipTest("cgi-fcgi is not installed (apt-get install libfcgi-bin)")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **variables}
        if body:
            env["CONTENT_LENGTH"] = str(len(body))
        return threads.deferToThread(
            subprocess.run, [CGI_FCGI, "-bind", "-connect", f"127.0.0.1:{self.portNumber}"],
            input=body, env=env, capture_output=True, timeout=20)

    async def test_cgiFcgiGet(self):
        result = await self.cgiFcgi(dict(BASE, REQUEST_URI="/from/cgi-fcgi?q=2",
                                         QUERY_STRING="q=2"))
        self.assertEqual(result.returncode, 0, result.stderr)
        status, headers, body = parseCGIResponse(result.stdout)
        self.assertEqual(status, 200)
        echo = parseEcho(body)
        self.assertEqual((echo["path"], echo["query"]), ("/from/cgi-fcgi", "q=2"))
        self.assertEqual(echo["remote"], "198.51.100.4")

    async def test_cgiFcgiLargeResponse(self):
        result = await self.cgiFcgi(dict(BASE, REQUEST_URI="/big"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(parseCGIResponse(result.stdout)[2], BIG)

    async def test_cgiFcgiPost(self):
        body = os.urandom(200000)
        result = await self.cgiFcgi(dict(BASE, REQUEST_METHOD="POST", REQUEST_URI="/post",
                                         CONTENT_TYPE="application/octet-stream"), body)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(parseCGIResponse(result.stdout)[2].split(),
                         [b"200000", hashlib.sha256(body).hexdigest().encode()])
