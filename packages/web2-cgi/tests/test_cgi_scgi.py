"""
Tests for the SCGI gateway: the head reader (with hostile and fuzzed
input), the protocol over a StringTransport, and real sockets on
127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os

import pytest
from _cgi_helpers import (
    BIG,
    Echo,
    parseCGIResponse,
    parseEcho,
    scgiRequest,
    socketExchange,
    whenClosed,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import address, reactor, task, threads
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase

from web2 import http, server
from web2.cgi._scgiwire import SCGIHeadReader, SCGIProtocolError, parseHead
from web2.cgi.scgi import SCGIFactory

BASE = {"REQUEST_METHOD": "GET", "SERVER_PROTOCOL": "HTTP/1.1", "REQUEST_URI": "/hello?x=1",
        "QUERY_STRING": "x=1", "SERVER_NAME": "example.com", "SERVER_PORT": "80",
        "REMOTE_ADDR": "203.0.113.9", "REMOTE_PORT": "4444", "HTTP_HOST": "example.com"}


# The head reader


def test_readsHeadInOneFeed():
    variables, rest = SCGIHeadReader().feed(scgiRequest(BASE, b"body"))
    assert variables["REQUEST_METHOD"] == "GET"
    assert variables["CONTENT_LENGTH"] == "4"
    assert rest == b"body"


def test_lengthPrefixInPieces():
    """
    The original assumed the C{len:} prefix came in the first packet.
    """
    data = scgiRequest(BASE, b"xy")
    reader = SCGIHeadReader()
    results = [reader.feed(data[i:i + 1]) for i in range(len(data))]
    assert all(r is None for r in results[:-3])
    done = [r for r in results if r is not None]
    assert done[0][0]["SCGI"] == "1"


@pytest.mark.parametrize("data", [
    b"x:", b":", b"01:\0,", b"12a:", b"9999999:", b"5:abcde,",
    b"24:CONTENT_LENGTH\x000\x00SCGI\x001\x00;",
])
def test_badFraming(data):
    with pytest.raises(SCGIProtocolError):
        SCGIHeadReader(maxHeadBytes=65536).feed(data)


def test_lengthPrefixTooLongNeverBuffersMuch():
    reader = SCGIHeadReader(maxHeadBytes=1000)
    with pytest.raises(SCGIProtocolError):
        reader.feed(b"12345")


def test_hugeDeclaredLength():
    with pytest.raises(SCGIProtocolError, match="over the limit"):
        SCGIHeadReader(maxHeadBytes=1000).feed(b"1001:")


@pytest.mark.parametrize("block", [
    b"SCGI\x001\x00CONTENT_LENGTH\x000\x00",         # CONTENT_LENGTH not first
    b"CONTENT_LENGTH\x000\x00SCGI\x002\x00",          # SCGI not 1
    b"CONTENT_LENGTH\x00x\x00SCGI\x001\x00",          # bad length
    b"CONTENT_LENGTH\x000\x00SCGI\x001\x00SCGI\x001\x00",  # duplicate
    b"CONTENT_LENGTH\x000\x00SCGI\x001",              # no final NUL
    b"CONTENT_LENGTH\x000\x00SCGI\x00",               # odd count
    b"CONTENT_LENGTH\x000\x00\x00v\x00SCGI\x001\x00",  # empty name
])
def test_badHeads(block):
    with pytest.raises(SCGIProtocolError):
        parseHead(block)


def test_headWithoutSCGI():
    """
    nginx sends only the C{scgi_param}s its configuration names: a site's
    own minimal list has no C{SCGI}, and such a head is read as SCGI 1
    (as flup and other SCGI servers do), not refused.
    """
    assert parseHead(b"CONTENT_LENGTH\x000\x00") == {"CONTENT_LENGTH": "0"}
    variables, rest = SCGIHeadReader().feed(scgiRequest(BASE, b"body", scgi=False))
    assert "SCGI" not in variables
    assert variables["REQUEST_URI"] == "/hello?x=1"
    assert rest == b"body"


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=40))
def test_fuzzReader(data, step):
    reader = SCGIHeadReader(maxHeadBytes=200)
    try:
        for i in range(0, len(data), step):
            result = reader.feed(data[i:i + step])
            if result is not None:
                variables, rest = result
                assert variables.get("SCGI", "1") == "1"
                break
    except SCGIProtocolError:
        pass
    assert len(reader._buffer) <= 200 + 10 + step


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.from_regex(r"[A-Z_]{1,12}", fullmatch=True),
                       st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255),
                               max_size=20), max_size=6),
       st.binary(max_size=30), st.integers(min_value=1, max_value=30))
def test_roundTrip(variables, body, step):
    variables.pop("CONTENT_LENGTH", None)
    variables.pop("SCGI", None)
    data = scgiRequest(variables, body)
    reader = SCGIHeadReader()
    for i in range(0, len(data), step):
        result = reader.feed(data[i:i + step])
        if result is not None:
            got, rest = result
            rest += data[i + step:]
            break
    assert {k: v for k, v in got.items() if k not in ("CONTENT_LENGTH", "SCGI")} == variables
    assert rest == body


# The protocol over a StringTransport


class SCGIProtocolTests(SynchronousTestCase):
    def connect(self, root=None, **kwargs):
        self.clock = task.Clock()
        site = server.Site(root or Echo())
        self.factory = SCGIFactory(site, reactor=self.clock, **kwargs)
        peer = address.IPv4Address("TCP", "127.0.0.1", 50000)
        proto = self.factory.buildProtocol(peer)
        transport = StringTransport(peerAddress=peer)
        proto.makeConnection(transport)
        return proto, transport

    def test_request(self):
        proto, transport = self.connect()
        proto.dataReceived(scgiRequest({**BASE, "HTTP_X_TEST": "yes", "HTTP_PROXY": "evil",
                                        "HTTPS": "on", "SERVER_PORT": "443"}))
        status, headers, body = parseCGIResponse(transport.value())
        self.assertEqual(status, 200)
        self.assertTrue(transport.value().startswith(b"Status: 200 OK\r\n"))
        self.assertEqual(headers["content-type"], "text/plain")
        self.assertEqual(int(headers["content-length"]), len(body))
        echo = parseEcho(body)
        self.assertEqual(echo["uri"], "/hello?x=1")
        self.assertEqual(echo["scheme"], "https")
        self.assertEqual(echo["url"], "https://example.com/hello?x=1")
        self.assertEqual(echo["remote"], "203.0.113.9")
        self.assertEqual(echo["x-test"], "yes")
        self.assertEqual(echo["proxy"], "")
        self.assertTrue(transport.disconnecting)

    def test_applicationReasonPhrase(self):
        """
        The reason phrase a response carries (as web2-wsgi gives a WSGI
        application's) is the C{Status:} line's.
        """

        class Custom(Echo):
            def render(self, request):
                response = http.Response(299, None, b"custom")
                response.reason = b"Custom Reason"
                return response

        proto, transport = self.connect(Custom())
        proto.dataReceived(scgiRequest(BASE))
        self.assertTrue(transport.value().startswith(b"Status: 299 Custom Reason\r\n"),
                        transport.value())
        self.assertEqual(parseCGIResponse(transport.value())[2], b"custom")

    def test_scriptNameAndPathInfo(self):
        proto, transport = self.connect()
        variables = dict(BASE, SCRIPT_NAME="/app", PATH_INFO="/a b/c")
        del variables["REQUEST_URI"]
        proto.dataReceived(scgiRequest(variables))
        echo = parseEcho(parseCGIResponse(transport.value())[2])
        self.assertEqual(echo["path"], "/a%20b/c")
        self.assertEqual(echo["prefix"], "/app")
        self.assertEqual(echo["url"], "http://example.com/app/a%20b/c?x=1")

    def test_configuredPrefix(self):
        proto, transport = self.connect(scriptName="/app")
        proto.dataReceived(scgiRequest(dict(BASE, REQUEST_URI="/app/x/y?x=1",
                                            SCRIPT_NAME="/app/x/y")))
        echo = parseEcho(parseCGIResponse(transport.value())[2])
        self.assertEqual((echo["prefix"], echo["path"]), ("/app", "/x/y"))

    def test_hostFromServerNameWithoutHostHeader(self):
        proto, transport = self.connect()
        variables = dict(BASE, SERVER_NAME="backend.example", SERVER_PORT="8081")
        del variables["HTTP_HOST"]
        proto.dataReceived(scgiRequest(variables))
        echo = parseEcho(parseCGIResponse(transport.value())[2])
        self.assertEqual((echo["host"], echo["port"]), ("backend.example", "8081"))

    def test_postBodyInPieces(self):
        proto, transport = self.connect()
        body = os.urandom(5000)
        data = scgiRequest(dict(BASE, REQUEST_METHOD="POST", REQUEST_URI="/post"), body)
        for i in range(0, len(data), 7):
            proto.dataReceived(data[i:i + 7])
        status, _, answer = parseCGIResponse(transport.value())
        self.assertEqual(status, 200)
        self.assertEqual(answer.split(), [b"5000", hashlib.sha256(body).hexdigest().encode()])

    def test_bodyTruncatedByClose(self):
        proto, transport = self.connect()
        data = scgiRequest(dict(BASE, REQUEST_METHOD="POST", REQUEST_URI="/post"), b"x" * 100)
        proto.dataReceived(data[:-50])
        proto.readConnectionLost()
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnected)

    def test_badVariablesGet400(self):
        proto, transport = self.connect()
        proto.dataReceived(scgiRequest(dict(BASE, REQUEST_METHOD="GE T")))
        status, _, body = parseCGIResponse(transport.value())
        self.assertEqual(status, 400)
        self.assertIn(b"REQUEST_METHOD", body)

    def test_badHeaderValueGets400(self):
        proto, transport = self.connect()
        proto.dataReceived(scgiRequest(dict(BASE, HTTP_X_A="a\r\nInjected: 1")))
        self.assertEqual(parseCGIResponse(transport.value())[0], 400)

    def test_malformedNetstringClosesWithoutResponse(self):
        proto, transport = self.connect()
        proto.dataReceived(b"abc:def")
        self.assertEqual(transport.value(), b"")
        self.assertTrue(transport.disconnected)
        self.assertTrue(self.flushLoggedErrors() == [])

    def test_headTimeout(self):
        proto, transport = self.connect(headerTimeout=5)
        proto.dataReceived(b"100:CONTENT")
        self.clock.advance(6)
        self.assertTrue(transport.disconnected)

    def test_largeResponseWithBackpressure(self):
        proto, transport = self.connect()
        proto.dataReceived(scgiRequest(dict(BASE, REQUEST_URI="/big")))
        # The producer registered with the transport is driven to the end.
        for _ in range(100):
            if transport.producer is None:
                break
            transport.producer.resumeProducing()
        status, headers, body = parseCGIResponse(transport.value())
        self.assertEqual(status, 200)
        self.assertEqual(body, BIG)


# Real sockets


class SCGISocketTests(TestCase):
    timeout = 30

    def setUp(self):
        self.factory = SCGIFactory(server.Site(Echo()))
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.addCleanup(self.port.stopListening)
        self.addCleanup(whenClosed, self.factory)
        self.portNumber = self.port.getHost().port

    def exchange(self, data):
        return threads.deferToThread(socketExchange, self.portNumber, data)

    async def test_get(self):
        out = await self.exchange(scgiRequest(BASE))
        status, _, body = parseCGIResponse(out)
        self.assertEqual(status, 200)
        self.assertEqual(parseEcho(body)["path"], "/hello")

    async def test_bigPostAndBigResponse(self):
        body = os.urandom(2 * 1024 * 1024)
        out = await self.exchange(
            scgiRequest(dict(BASE, REQUEST_METHOD="POST", REQUEST_URI="/post"), body))
        self.assertEqual(parseCGIResponse(out)[2].split()[1],
                         hashlib.sha256(body).hexdigest().encode())
        out = await self.exchange(scgiRequest(dict(BASE, REQUEST_URI="/big")))
        self.assertEqual(parseCGIResponse(out)[2], BIG)

    async def test_withoutSCGIVariable(self):
        """
        A raw-socket client sending what nginx sends with a minimal
        C{scgi_param} list (no C{SCGI}, no C{SERVER_*}): a GET and a POST
        are answered.
        """
        minimal = {"REQUEST_METHOD": "GET", "REQUEST_URI": "/min/page?q=2",
                   "QUERY_STRING": "q=2", "SERVER_PROTOCOL": "HTTP/1.1",
                   "HTTP_HOST": "example.com"}
        out = await self.exchange(scgiRequest(minimal, scgi=False))
        status, _, body = parseCGIResponse(out)
        self.assertEqual(status, 200)
        self.assertEqual(parseEcho(body)["path"], "/min/page")
        data = os.urandom(100000)
        out = await self.exchange(scgiRequest(
            dict(minimal, REQUEST_METHOD="POST", REQUEST_URI="/post"), data, scgi=False))
        status, _, body = parseCGIResponse(out)
        self.assertEqual(status, 200)
        self.assertEqual(body.split()[1], hashlib.sha256(data).hexdigest().encode())

    async def test_scgiOtherThanOneIsClosed(self):
        head = b"CONTENT_LENGTH\x000\x00SCGI\x002\x00REQUEST_METHOD\x00GET\x00"
        try:
            out = await self.exchange(b"%d:%s," % (len(head), head))
        except OSError:  # reset, or not connected any more
            out = b""
        self.assertEqual(out, b"")

    async def test_garbageIsClosed(self):
        try:
            out = await self.exchange(b"\xff" * 100)
        except OSError:  # reset, or not connected any more
            out = b""
        self.assertEqual(out, b"")
