"""
Shared test helpers for web2-wsgi: an inline pool (the application runs at
once, in the calling thread) for the in-memory channel, a real loopback
server for the threaded tests, a small HTTP/1.1 response parser and a
blocking raw client to run in a thread.
"""

from __future__ import annotations

import socket

from twisted.internet import address, defer, task, threads
from twisted.internet.testing import StringTransport

from web2 import server
from web2.channel import HTTPFactory
from web2.mount import MountTree
from web2.wsgi import WSGIResource, WSGIThreadPool


class InlinePool:
    """
    A stand-in for L{WSGIThreadPool} that runs the jobs in the calling
    (reactor) thread when L{runPending} is called (as the channel would see
    a worker: after the resource returned), and every hand-off to the
    reactor at once.  Only for applications whose input is whole and whose
    output is never held back by a client.
    """

    name = "inline"
    inFlight = 0
    saturated = False

    def __init__(self, reactor=None):
        self.reactor = reactor or task.Clock()
        self.jobs = []
        self.pending = []

    def submit(self, job):
        self.jobs.append(job)
        self.pending.append(job)
        return True

    def runPending(self):
        while self.pending:
            self.pending.pop(0).run()

    def post(self, call, *args):
        call(*args)


def site(app, mount="/", pool=None, wrap=None, **kwargs):
    """
    A L{server.Site} serving C{app} at C{mount}.
    """
    pool = pool if pool is not None else InlinePool()
    resource = WSGIResource(app, pool, **kwargs)
    root = resource if mount == "/" else MountTree({mount: resource})
    if wrap is not None:
        root = wrap(root)
    result = server.Site(root)
    result.wsgiPool = pool
    return result


class Connection:
    """
    A channel on a L{StringTransport}, with a L{task.Clock}.
    """

    def __init__(self, site, peer=("127.0.0.1", 54321), host=("127.0.0.1", 8080)):
        self.clock = task.Clock()
        self.factory = HTTPFactory(site, reactor=self.clock)
        peerAddress = address.IPv4Address("TCP", *peer)
        self.channel = self.factory.buildProtocol(peerAddress)
        self.transport = StringTransport(
            hostAddress=address.IPv4Address("TCP", *host), peerAddress=peerAddress)
        self.channel.makeConnection(self.transport)

    def send(self, data: bytes):
        self.channel.dataReceived(data)
        pool = getattr(self.factory.site, "wsgiPool", None)
        while pool is not None and getattr(pool, "pending", None):
            pool.runPending()
            # Pipelined requests are processed once the response before
            # them is done: run theirs too.
            self.channel.dataReceived(b"")
        return self

    def responses(self, headRequests=()):
        return parseResponses(self.transport.value(), headRequests)


def exchange(app, data: bytes, **kwargs):
    """
    Send C{data} to C{app} served inline; the parsed responses.
    """
    return Connection(site(app, **kwargs)).send(data).responses()


class Response:
    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body

    def header(self, name, default=None):
        values = [v for n, v in self.headers if n.lower() == name.lower()]
        return values[-1] if values else default

    def __repr__(self):
        return f"<Response {self.status} {self.headers} {self.body[:80]!r}>"


def parseResponses(data: bytes, headRequests=()):
    """
    Parse every complete response in C{data}.  A response whose body is not
    complete is returned with what there is, and C{complete=False}.
    """
    responses = []
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        if not sep:
            break
        lines = head.split(b"\r\n")
        _, status, reason = (lines[0].decode("latin-1") + " ").split(" ", 2)
        headers = []
        for line in lines[1:]:
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        status = int(status)
        names = {n.lower(): v for n, v in headers}
        complete = True
        if status < 200 or status in (204, 304) or len(responses) in headRequests:
            body = b""
        elif names.get("transfer-encoding") == "chunked":
            body = b""
            complete = False
            while True:
                sizeLine, found, after = rest.partition(b"\r\n")
                if not found:
                    break
                size = int(sizeLine, 16)
                if size == 0:
                    rest = after.partition(b"\r\n")[2]
                    complete = True
                    break
                if len(after) < size + 2:
                    break
                body += after[:size]
                rest = after[size + 2:]
        elif "content-length" in names:
            length = int(names["content-length"])
            body, rest = rest[:length], rest[length:]
            complete = len(body) == length
        else:
            body, rest = rest, b""
        response = Response(status, reason.strip(), headers, body)
        response.complete = complete
        responses.append(response)
        data = rest
    return responses


class LiveServer:
    """
    A real server on 127.0.0.1 with a real L{WSGIThreadPool}; the test runs
    the reactor (through trial's TestCase).
    """

    def __init__(self, app, mount="/", pool=None, **kwargs):
        from twisted.internet import reactor

        self.pool = pool if pool is not None else WSGIThreadPool(maxThreads=4, queueSize=8)
        self.site = site(app, mount, self.pool, **kwargs)
        self.factory = HTTPFactory(self.site)
        self.port = reactor.listenTCP(0, self.factory, interface="127.0.0.1")
        self.portNumber = self.port.getHost().port

    @defer.inlineCallbacks
    def stop(self):
        yield self.port.stopListening()
        for channel in list(self.factory.connections):
            channel.transport.abortConnection()
        yield self.pool.stopService() if self.pool.running else self.pool._stopNow()


def rawExchange(port: int, data: bytes, timeout=10.0, readLimit=None) -> bytes:
    """
    Send C{data} on a new blocking socket and read until the server closes
    (or C{readLimit} bytes, or C{timeout}); meant to run in a thread.
    """
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            sock.sendall(data)
        except ConnectionResetError:
            pass
        chunks = []
        total = 0
        while readLimit is None or total < readLimit:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        return b"".join(chunks)
    finally:
        sock.close()


def inThread(fn, *args, **kwargs):
    """
    Run a blocking client in a thread; a Deferred of its result.
    """
    return threads.deferToThread(fn, *args, **kwargs)


def get(path="/", headers=(), method="GET", body=b"", version="HTTP/1.1", close=True):
    """
    The bytes of one request.
    """
    lines = [f"{method} {path} {version}", "Host: example.com"]
    lines += [f"{n}: {v}" for n, v in headers]
    if body and not any(n.lower() in ("content-length", "transfer-encoding")
                        for n, _ in headers):
        lines.append(f"Content-Length: {len(body)}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def fetch(port, path="/", method="GET", headers=None, body=None, timeout=10.0):
    """
    One request with http.client, on a kept-alive connection closed by the
    client once the response is read (so that no server-side close can cut
    it short); meant to run in a thread.

    @return: C{(status, headers dict with lower-case names, body)}.
    """
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    finally:
        conn.close()
