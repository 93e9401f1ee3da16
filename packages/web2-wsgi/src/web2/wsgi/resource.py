# -*- test-case-name: test_wsgi_resource -*-
"""
L{WSGIResource}: a WSGI application as a web2 leaf resource, mountable at
any path.
"""

from __future__ import annotations

from twisted.internet.defer import Deferred
from twisted.logger import Logger
from zope.interface import implementer

from web2 import http, responsecode, server
from web2.filter.range import rangefilter
from web2.iweb import IResource
from web2.resource import StopTraversal
from web2.wsgi.environ import makeEnviron
from web2.wsgi.errorstream import ErrorStream
from web2.wsgi.input import InputStream
from web2.wsgi.job import WSGIJob
from web2.wsgi.pool import WSGIThreadPool

__all__ = ["WSGIResource"]

log = Logger()

# The default filters of a web2 site that would rewrite what the
# application decided: it answers conditional and range requests itself,
# as under any other WSGI server.
_APPLICATION_DECIDES = (server.preconditionfilter, rangefilter)


@implementer(IResource)
class WSGIResource:
    """
    Runs a PEP 3333 application for every request below its mount point,
    in the threads of a L{WSGIThreadPool}.

    @ivar application: the WSGI callable.
    @ivar pool: the L{WSGIThreadPool} it runs in.
    """

    def __init__(
        self,
        application,
        pool: WSGIThreadPool | None = None,
        *,
        reactor=None,
        smallBodyLimit: int = 65536,
        outputBufferSize: int = 65536,
        inputBufferSize: int = 65536,
        retryAfter: int = 5,
    ):
        """
        @param application: the WSGI application.
        @param pool: the threads to run it in; by default a new
            L{WSGIThreadPool} of 10 threads and a queue of 64, started on
            the first request and stopped when the reactor shuts down.
        @param reactor: the reactor (the pool's by default).
        @param smallBodyLimit: a body of at most this many bytes whose
            length is known in advance (a list, or a C{Content-Length}) is
            collected in the worker and sent in one hand-off.
        @param outputBufferSize: how many bytes of a streamed response may
            wait between the application and the client before the
            application's thread waits.
        @param inputBufferSize: how many bytes of the request body are read
            ahead of the application.
        @param retryAfter: the C{Retry-After} seconds of the 503 answered
            when the pool and its queue are full.
        """
        if pool is None:
            pool = WSGIThreadPool(reactor=reactor)
        self.application = application
        self.pool = pool
        self.reactor = reactor if reactor is not None else pool.reactor
        self.smallBodyLimit = smallBodyLimit
        self.outputBufferSize = outputBufferSize
        self.inputBufferSize = inputBufferSize
        self.retryAfter = retryAfter

    def locateChild(self, request, segments):
        return self, StopTraversal

    def renderHTTP(self, request):
        chain = request.responseFilters
        if chain is not self._chainSeen:
            # Most requests carry their site's own chain, unchanged: the
            # filtered copy is made once for it.
            self._chainSeen = chain
            self._chainKept = [f for f in chain if f not in _APPLICATION_DECIDES]
        request.responseFilters = list(self._chainKept)
        pool = self.pool
        if pool.saturated:
            return self._busy(request)
        # The environ first: the input takes what of the body is already
        # here, which changes the stream's remaining length.
        environ = makeEnviron(request, None, ErrorStream(request.uri))
        inputStream = environ["wsgi.input"] = InputStream(
            request.stream, pool.post, self.inputBufferSize)
        deferred = Deferred()
        job = WSGIJob(self.application, environ, inputStream, pool.post, deferred,
                      smallBodyLimit=self.smallBodyLimit, bufferSize=self.outputBufferSize)
        if not pool.submit(job):
            return self._busy(request)
        return deferred

    _lastBusyLog = float("-inf")
    _chainSeen = None
    _chainKept = None

    def _busy(self, request):
        now = self.reactor.seconds()
        if now - self._lastBusyLog >= 1.0:
            # At most one line a second: an overload must not flood the log.
            self._lastBusyLog = now
            log.warn("WSGI pool {name} is full ({count} requests in flight); "
                     "answering 503 to {method} {uri}", name=self.pool.name,
                     count=self.pool.inFlight, method=request.method, uri=request.uri)
        response = http.StatusResponse(
            responsecode.SERVICE_UNAVAILABLE,
            "The server is too busy to answer now; please retry shortly.")
        response.headers.setRawHeaders("retry-after", [str(self.retryAfter)])
        return response

    def __repr__(self) -> str:
        return f"<WSGIResource {self.application!r}>"
