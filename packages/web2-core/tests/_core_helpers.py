"""
Shared test helpers for web2-core: a channel on a StringTransport with a
Clock, a strict little HTTP/1.1 response parser, and a real loopback server.
"""

from __future__ import annotations

import socket
import threading

from twisted.internet import address, task
from twisted.internet.testing import StringTransport

from web2 import server
from web2.channel import HTTPFactory


class Connection:
    """
    A channel wired to a L{StringTransport} and a L{task.Clock}.
    """

    def __init__(self, root=None, site=None, **factoryArgs):
        if site is None:
            site = server.Site(root)
        self.clock = task.Clock()
        self.factory = HTTPFactory(site, reactor=self.clock, **factoryArgs)
        peer = address.IPv4Address("TCP", "127.0.0.1", 54321)
        host = address.IPv4Address("TCP", "127.0.0.1", 8080)
        self.channel = self.factory.buildProtocol(peer)
        self.transport = StringTransport(hostAddress=host, peerAddress=peer)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes):
        self.channel.dataReceived(data)

    def output(self) -> bytes:
        return self.transport.value()

    def responses(self):
        return parseResponses(self.transport.value())

    @property
    def closed(self) -> bool:
        return self.transport.disconnecting

    def lose(self):
        from twisted.internet.error import ConnectionDone
        from twisted.python.failure import Failure

        self.channel.connectionLost(Failure(ConnectionDone()))


class Response:
    def __init__(self, version, status, reason, headers, body):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return values[-1] if values else default

    def headerValues(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:60]!r}>"


def parseResponses(data: bytes, headRequests=()):
    """
    Parse every complete response in C{data}; 1xx responses are included.
    Bodies of responses at the indexes in C{headRequests} are empty.
    """
    responses = []
    index = 0
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        version, status, reason = lines[0].decode("latin-1").split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            assert name == name.strip(), line
            headers.append((name, value.strip()))
        status = int(status)
        names = {n.lower(): v for n, v in headers}
        if status < 200 or status in (204, 304) or len(responses) in headRequests:
            body = b""
        elif "transfer-encoding" in names:
            body = b""
            while True:
                sizeLine, _, rest = rest.partition(b"\r\n")
                size = int(sizeLine, 16)
                if size == 0:
                    _, _, rest = rest.partition(b"\r\n")
                    break
                body += rest[:size]
                assert rest[size:size + 2] == b"\r\n"
                rest = rest[size + 2:]
        elif "content-length" in names:
            length = int(names["content-length"])
            body, rest = rest[:length], rest[length:]
        else:
            body, rest = rest, b""
        responses.append(Response(version, status, reason, headers, body))
        data = rest
        if status >= 200:
            index += 1
    return responses


class LiveServer:
    """
    A real web2 server on 127.0.0.1 in a thread-free way: the test runs the
    reactor through trial's TestCase; this only records the port.
    """

    def __init__(self, root, **factoryArgs):
        from twisted.internet import reactor

        self.site = server.Site(root)
        self.factory = HTTPFactory(self.site, **factoryArgs)
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.portNumber = self.port.getHost().port

    def stop(self):
        return self.port.stopListening()


def rawExchange(port: int, data: bytes, timeout=5.0, halfClose=False) -> bytes:
    """
    Send C{data} on a fresh blocking socket and read until the server
    closes (or C{timeout}); meant to run in a thread beside the reactor.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(data)
        if halfClose:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def inThread(fn, *args, **kwargs):
    """
    Run a blocking client in a thread; a Deferred of its result.
    """
    from twisted.internet import threads

    return threads.deferToThread(fn, *args, **kwargs)


__all__ = [
    "Connection",
    "parseResponses",
    "LiveServer",
    "rawExchange",
    "inThread",
    "threading",
]
