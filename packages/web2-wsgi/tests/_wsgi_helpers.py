"""
Test helpers of web2-wsgi.  The in-memory channel, the response parser, the
live server and the blocking clients come from the public L{web2.testing};
what is left here runs WSGI applications: an inline pool (the application
runs at once, in the calling thread) for the in-memory channel, and a live
server with a real L{WSGIThreadPool}.
"""

from __future__ import annotations

from twisted.internet import defer, task

from web2 import server, testing
from web2.mount import MountTree
from web2.testing import ParsedResponse as Response
from web2.testing import fetch, inThread, parseResponses, rawExchange
from web2.wsgi import WSGIResource, WSGIThreadPool

__all__ = [
    "Connection",
    "InlinePool",
    "LiveServer",
    "Response",
    "exchange",
    "fetch",
    "get",
    "inThread",
    "parseResponses",
    "rawExchange",
    "site",
]


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


class Connection(testing.ChannelConnection):
    """
    A channel for C{site} whose inline pool runs each application as soon
    as the channel has handed it over.
    """

    def __init__(self, site, **kwargs):
        super().__init__(site=site, **kwargs)

    def send(self, data: bytes):
        self.channel.dataReceived(data)
        pool = getattr(self.factory.site, "wsgiPool", None)
        while pool is not None and getattr(pool, "pending", None):
            pool.runPending()
            # Pipelined requests are processed once the response before
            # them is done: run theirs too.
            self.channel.dataReceived(b"")
        return self


def exchange(app, data: bytes, **kwargs):
    """
    Send C{data} to C{app} served inline; the parsed responses.
    """
    return Connection(site(app, **kwargs)).send(data).responses()


class LiveServer(testing.LiveServer):
    """
    A real server on 127.0.0.1 with a real L{WSGIThreadPool} (by default);
    the test runs the reactor (through trial's TestCase).
    """

    def __init__(self, app, mount="/", pool=None, **kwargs):
        self.pool = pool if pool is not None else WSGIThreadPool(maxThreads=4, queueSize=8)
        super().__init__(site=site(app, mount, self.pool, **kwargs))

    @defer.inlineCallbacks
    def stop(self):
        yield super().stop()
        yield self.pool.stopService() if self.pool.running else self.pool._stopNow()


def get(path="/", headers=(), method="GET", body=b"", version="HTTP/1.1", close=True):
    """
    The bytes of one request (see L{testing.requestBytes}); C{Connection:
    close} by default.
    """
    return testing.requestBytes(path, method, headers, body or None, version=version,
                                close=close)
