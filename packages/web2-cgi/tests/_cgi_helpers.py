"""
Shared test helpers for web2-cgi: scripts written to a temporary
directory, a real web2 HTTP listener on 127.0.0.1 and a blocking client for
it (run in a thread), and small SCGI and FastCGI clients speaking to real
sockets.
"""

from __future__ import annotations

import os
import socket
import struct
import sys

from twisted.internet import reactor, threads

from web2 import http as web2http
from web2 import server, testing
from web2.cgi import _fcgiwire as wire
from web2.channel import HTTPFactory
from web2.resource import Resource

PYTHON = sys.executable


def writeScript(directory, name: str, text: str, mode: int = 0o755) -> str:
    """
    Write an executable script; C{@PYTHON@} in C{text} becomes this
    interpreter.
    """
    path = os.path.join(str(directory), name)
    with open(path, "w") as f:
        f.write(text.replace("@PYTHON@", PYTHON))
    os.chmod(path, mode)
    return path


def listen(testCase, root, **siteArgs):
    """
    Serve C{root} over HTTP on 127.0.0.1; the port number.
    """
    site = server.Site(root, **siteArgs)
    factory = HTTPFactory(site)
    port = reactor.listenTCP(0, factory, interface="127.0.0.1")
    testCase.addCleanup(port.stopListening)
    return port.getHost().port


def fetch(port, path, method="GET", body=None, headers=None):
    """
    A Deferred of C{(status, headers, body)}, headers keyed in lower case.
    """
    return threads.deferToThread(
        testing.fetch, port, path, method=method, body=body, headers=headers, timeout=20
    )


def scgiRequest(variables, body=b"", scgi=True) -> bytes:
    """
    The bytes of an SCGI request: CONTENT_LENGTH and SCGI first (SCGI only
    when C{scgi} is true), then C{variables} (C{str} pairs), then C{body}.
    """
    pairs = [("CONTENT_LENGTH", str(len(body)))] + ([("SCGI", "1")] if scgi else [])
    pairs += list(variables.items())
    head = b"".join(n.encode("latin-1") + b"\0" + v.encode("latin-1") + b"\0"
                    for n, v in pairs)
    return str(len(head)).encode() + b":" + head + b"," + body


def socketExchange(port: int, data: bytes, timeout: float = 20) -> bytes:
    """
    Send C{data}, half-close, and read until the server closes.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)


def fcgiRequest(requestId, variables, body=b"", keepConn=False) -> bytes:
    """
    The records of one FastCGI RESPONDER request.
    """
    params = wire.encodeNameValues(
        (n.encode("latin-1"), v.encode("latin-1")) for n, v in variables.items())
    out = [wire.encodeRecord(wire.BEGIN_REQUEST, requestId,
                             wire.encodeBeginRequest(wire.RESPONDER,
                                                     wire.KEEP_CONN if keepConn else 0))]
    out += wire.encodeStream(wire.PARAMS, requestId, params) if params else []
    out.append(wire.encodeRecord(wire.PARAMS, requestId))
    if body:
        out += wire.encodeStream(wire.STDIN, requestId, body)
    out.append(wire.encodeRecord(wire.STDIN, requestId))
    return b"".join(out)


def readRecords(data: bytes):
    """
    Every record in C{data}, and the stdout of each request id, and its
    END_REQUEST C{(appStatus, protocolStatus)}.
    """
    records = wire.RecordReader().feed(data)
    stdout, ends = {}, {}
    for record in records:
        if record.type == wire.STDOUT:
            stdout[record.requestId] = stdout.get(record.requestId, b"") + record.content
        elif record.type == wire.END_REQUEST:
            ends[record.requestId] = struct.unpack("!IB3x", record.content)
    return records, stdout, ends


def parseCGIResponse(data: bytes):
    """
    C{(status, headers, body)} of a CGI response (C{Status:} line first).
    """
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), value.strip())
    status = int(headers.pop("status").split()[0])
    return status, headers, body


class Echo(Resource):
    """
    Answers with what the request looked like, as lines of C{key=value}.
    """

    def locateChild(self, request, segments):
        if segments and segments[0] == "big":
            return BigBody(), ()
        if segments and segments[0] == "post":
            return Poster(), ()
        return self, ()

    def render(self, request):
        fields = {
            "method": request.method,
            "uri": request.uri,
            "path": request.path,
            "prefix": request.pathPrefix,
            "scheme": request.scheme,
            "host": request.host,
            "port": request.port,
            "remote": getattr(request.remoteAddr, "host", None),
            "query": request.querystring,
            "url": request.unparseURL(),
            "x-test": (request.headers.getRawHeaders("x-test") or [""])[0],
            "proxy": (request.headers.getRawHeaders("proxy") or [""])[0],
        }
        text = "".join(f"{k}={v}\n" for k, v in fields.items())
        return web2http.Response(200, {"content-type": web2http.MimeType("text", "plain")},
                                 text)


def parseEcho(body: bytes) -> dict:
    return dict(line.split("=", 1) for line in body.decode().splitlines())


BIG = bytes(range(256)) * 1024 * 3  # 768 KiB


class BigBody(Resource):
    def render(self, request):
        from web2.stream import IterableStream

        chunks = [BIG[i:i + 100000] for i in range(0, len(BIG), 100000)]
        return web2http.Response(200, None, IterableStream(iter(chunks)))


class Poster(Resource):
    """
    Answers a POST with the length and a digest of its body.
    """

    def http_POST(self, request):
        import hashlib

        from web2.stream import readAll

        def answer(data):
            return web2http.Response(
                200, None, f"{len(data)} {hashlib.sha256(data).hexdigest()}\n")

        return readAll(request.stream).addCallback(answer)


class MemoryConnection:
    """
    A web2 HTTP channel for C{root} on a StringTransport: the request goes
    through the whole Site, synchronously.
    """

    def __init__(self, root):
        from twisted.internet import address, task
        from twisted.internet.testing import StringTransport

        self.site = server.Site(root)
        self.clock = task.Clock()
        factory = HTTPFactory(self.site, reactor=self.clock)
        peer = address.IPv4Address("TCP", "192.0.2.7", 54321)
        host = address.IPv4Address("TCP", "127.0.0.1", 8080)
        self.channel = factory.buildProtocol(peer)
        self.transport = StringTransport(hostAddress=host, peerAddress=peer)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes) -> bytes:
        self.channel.dataReceived(data)
        return self.transport.value()


def whenClosed(factory, timeout: float = 10.0):
    """
    A Deferred that fires once C{factory} has no open connection (bounded
    by C{timeout}), so that no lingering connection outlives a test.
    """
    from twisted.internet import defer, task

    d = defer.Deferred()
    deadline = reactor.seconds() + timeout

    def check():
        if not factory.connections or reactor.seconds() > deadline:
            loop.stop()

    loop = task.LoopingCall(check)
    loop.start(0.01).chainDeferred(d)
    return d
