"""
Shared test helpers for web2-static: a real web2 channel on a
StringTransport (requests go through the whole Site, with its default
filters), a small response parser, a synchronous stand-in for
C{deferToThread}, and a builder of directory trees.
"""

from __future__ import annotations

import os

from twisted.internet import address, defer, task
from twisted.internet.testing import StringTransport

from web2 import server
from web2.channel import HTTPFactory


def runNow(f, *args):
    """
    A synchronous C{runInThread}: call C{f} now; a fired Deferred.
    """
    return defer.maybeDeferred(f, *args)


class Response:
    """
    One parsed HTTP response.
    """

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return values[-1] if values else default

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


def parseResponses(data: bytes, head=False):
    """
    Parse every complete response in C{data} (bodies framed by
    Content-Length or chunked; none when C{head}).
    """
    responses = []
    while data:
        top, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = top.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = [tuple(p.strip() for p in line.split(":", 1)) for line in lines[1:]]
        names = {n.lower(): v for n, v in headers}
        if head or status in (204, 304) or status < 200:
            body = b""
        elif names.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                sizeLine, _, rest = rest.partition(b"\r\n")
                size = int(sizeLine, 16)
                if size == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body += rest[:size]
                rest = rest[size + 2:]
        else:
            length = int(names.get("content-length", len(rest)))
            body, rest = rest[:length], rest[length:]
        responses.append(Response(status, headers, body))
        data = rest
    return responses


class Connection:
    """
    A web2 channel for C{root} on a L{StringTransport} with a L{task.Clock}.
    """

    def __init__(self, root):
        self.site = server.Site(root, accessLogging=False)
        self.clock = task.Clock()
        self.factory = HTTPFactory(self.site, reactor=self.clock)
        peer = address.IPv4Address("TCP", "127.0.0.1", 54321)
        host = address.IPv4Address("TCP", "127.0.0.1", 8080)
        self.channel = self.factory.buildProtocol(peer)
        self.transport = StringTransport(hostAddress=host, peerAddress=peer)
        self.channel.makeConnection(self.transport)

    def request(self, target: str, method="GET", headers=()):
        """
        Send one request and return its parsed response.
        """
        self.transport.clear()
        lines = [f"{method} {target} HTTP/1.1", "Host: example.com"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.channel.dataReceived(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        for _ in range(50):
            # Let a streamed body (pull producer) run to its end.
            producer = self.transport.producer
            if producer is None:
                break
            producer.resumeProducing()
        responses = parseResponses(self.transport.value(), head=method == "HEAD")
        assert len(responses) == 1, (self.transport.value()[:500], responses)
        return responses[0]


def get(root, target, method="GET", **headers):
    """
    One request to C{root} on a fresh connection; header names given as
    keyword arguments use underscores for dashes.
    """
    pairs = [(k.replace("_", "-"), v) for k, v in headers.items()]
    return Connection(root).request(target, method, pairs)


def makeTree(base, spec: dict):
    """
    Create files and directories under C{base} from a nested dict: a
    C{bytes} value is a file, a C{dict} a directory.
    """
    for name, value in spec.items():
        path = os.path.join(base, name)
        if isinstance(value, dict):
            os.mkdir(path)
            makeTree(path, value)
        else:
            with open(path, "wb") as f:
                f.write(value)
    return base


def static(path, **kwargs):
    """
    A L{web2.static.File} whose thread work runs synchronously.
    """
    from web2.static import File

    kwargs.setdefault("runInThread", runNow)
    return File(path, **kwargs)
