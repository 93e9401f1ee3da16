"""
Shared test helpers for web2-compat: a real web2 channel on a
StringTransport with a L{task.Clock} (requests go through the whole Site
and its default filters), and a small parser of the responses written.
"""

from __future__ import annotations

from twisted.internet import address, task
from twisted.internet.testing import StringTransport

from web2 import server
from web2.channel import HTTPFactory
from web2.compat import OldResourceAdapter


class Response:
    """
    One parsed HTTP response.
    """

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        values = self.all(name)
        return values[-1] if values else default

    def all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


def parseResponses(data: bytes, head=False):
    """
    Parse every complete response in C{data}; bodies framed by
    Content-Length or chunked (none for HEAD, 204 and 304).
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
                if not sizeLine:
                    return responses + [Response(status, headers, body + b"<INCOMPLETE>")]
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
    A web2 channel for C{root} (a twisted.web resource is adapted with
    this connection's clock) on a L{StringTransport}.
    """

    def __init__(self, root, sessionStore=None, **adapterOptions):
        self.clock = task.Clock()
        if not hasattr(root, "locateChild"):
            root = OldResourceAdapter(root, sessionStore=sessionStore,
                                      reactor=self.clock, **adapterOptions)
        self.root = root
        self.site = server.Site(root, accessLogging=False)
        self.factory = HTTPFactory(self.site, reactor=self.clock)
        peer = address.IPv4Address("TCP", "127.0.0.1", 54321)
        host = address.IPv4Address("TCP", "127.0.0.1", 8080)
        self.channel = self.factory.buildProtocol(peer)
        self.transport = StringTransport(hostAddress=host, peerAddress=peer)
        self.channel.makeConnection(self.transport)

    def send(self, target, method="GET", headers=(), body=None):
        """
        Send one request (with C{body}, framed by Content-Length) without
        waiting for its response.
        """
        lines = [f"{method} {target} HTTP/1.1", "Host: example.com"]
        lines += [f"{name}: {value}" for name, value in headers]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        self.channel.dataReceived(data)

    def pump(self):
        """
        Let the reactor's next turn run, and a pull producer registered
        with the transport produce until it is done.
        """
        self.clock.advance(0)
        for _ in range(1000):
            producer = self.transport.producer
            if producer is None or self.transport.streaming:
                break
            producer.resumeProducing()

    def responses(self, head=False):
        return parseResponses(self.transport.value(), head=head)

    def request(self, target, method="GET", headers=(), body=None):
        """
        Send one request and return its parsed response.
        """
        self.transport.clear()
        self.send(target, method, headers, body)
        self.pump()
        responses = self.responses(head=method == "HEAD")
        assert len(responses) == 1, (self.transport.value()[:500], responses)
        return responses[0]


def get(root, target, method="GET", headers=(), body=None, **options):
    """
    One request to C{root} on a fresh connection.
    """
    return Connection(root, **options).request(target, method, headers, body)
