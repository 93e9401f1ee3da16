# -*- test-case-name: test_asgi_resource -*-
"""
L{ASGIResource}: an ASGI 3 application as a web2 leaf resource, mountable
at any path.  At a site's root it also makes the site's requests
(L{web2.iweb.ISiteRoot}): L{web2.asgi.request.ASGIRequest}s, which go to
the application without traversal.
"""

from __future__ import annotations

from twisted.logger import Logger
from zope.interface import implementer

from web2 import http, responsecode, server
from web2.asgi._loop import runnerFor
from web2.asgi.cycle import HTTPCycle
from web2.asgi.lifespan import Lifespan
from web2.asgi.request import ASGIRequest
from web2.asgi.scope import httpScope
from web2.filter.range import rangefilter
from web2.iweb import ISiteRoot
from web2.resource import StopTraversal

__all__ = ["ASGIResource"]

log = Logger()

# The default filters of a web2 site that would rewrite what the
# application decided: it answers conditional and range requests itself,
# as under any other ASGI server.
_APPLICATION_DECIDES = (server.preconditionfilter, rangefilter)

#: The extensions every C{http} scope offers.
_EXTENSIONS = {"http.response.pathsend": {}}


def _websocketSupport():
    try:
        from web2.asgi import websocket
    except ImportError:
        return None
    return websocket


@implementer(ISiteRoot)
class ASGIResource:
    """
    Runs an ASGI 3 application (C{async def app(scope, receive, send)})
    for every request below its mount point: C{http} requests, and
    C{websocket} ones when web2's WebSocket support (C{wsproto}) is
    installed.

    @ivar application: the ASGI application.
    @ivar lifespan: its L{Lifespan} (a service to start and stop with the
        site), or C{None}.
    @ivar runner: how its coroutines run (see L{web2.asgi._loop}).
    """

    def __init__(
        self,
        application,
        *,
        reactor=None,
        loop: str | None = None,
        lifespan: Lifespan | None = None,
        responseTimeout: float | None = 60.0,
        maxChunk: int = 65536,
        bufferSize: int = 65536,
        name: str | None = None,
        websocketOptions=None,
    ):
        """
        @param application: the ASGI 3 application.
        @param reactor: the reactor (the global one by default).
        @param loop: C{"asyncio"} (the default: the reactor must be
            Twisted's asyncio reactor) or C{"twisted"} (coroutines driven
            by Deferreds on any reactor, for applications that use nothing
            of asyncio).
        @param lifespan: the application's L{Lifespan}; requests wait for
            its startup.  C{None}: no lifespan.
        @param responseTimeout: seconds the application has to start its
            response (C{http.response.start} and the first body message);
            past them it is cancelled and the client gets 504.  C{None} or
            C{0}: no limit.
        @param maxChunk: the most request-body bytes one C{http.request}
            message carries.
        @param bufferSize: how many bytes of a streamed response may wait
            between the application and the client before C{send()} waits.
        @param name: how log lines name the application.
        @param websocketOptions: a L{web2.websocket.WebSocketOptions} for
            the application's WebSocket connections.
        @raise ValueError: C{loop} cannot run on this reactor.
        """
        if reactor is None:
            from twisted.internet import reactor
        self.application = application
        self.reactor = reactor
        self.runner = runnerFor(reactor, loop)
        self.lifespan = lifespan
        self.responseTimeout = responseTimeout
        self.maxChunk = maxChunk
        self.bufferSize = bufferSize
        self.name = name or getattr(application, "__qualname__", None) or repr(application)
        self.websocketOptions = websocketOptions
        self._websocket = _websocketSupport()
        self._waiting: dict = {}

    def locateChild(self, request, segments):
        return self, StopTraversal

    def requestFactory(self, site, rewrites=()):
        """
        At the root of C{site}: make its requests L{ASGIRequest}s, answered
        by this application without traversal (see L{ISiteRoot}).
        """
        # A class per site, so that each request finds this resource and
        # the rewrites without carrying them.
        requestClass = type("ASGIRequest", (ASGIRequest,),
                            {"asgiResource": self, "rewrites": tuple(rewrites)})

        def makeRequest(chanRequest, method, uri, version, contentLength, headers):
            return requestClass(chanRequest, method, uri, version, contentLength,
                                headers, site)

        return makeRequest

    def answersDirectly(self, request) -> bool:
        """
        Whether L{start} may answer C{request} now: not an upgrade (the
        WebSocket handshake), and the application started and not
        stopping.  (L{renderHTTP} answers every case.)
        """
        lifespan = self.lifespan
        if lifespan is not None and (not lifespan.ready or lifespan.stopping):
            return False
        return self._websocket is None or not request.headers.hasHeader("upgrade")

    def keepFilters(self, request):
        """
        Leave out of C{request}'s response filters the two the application
        decides (conditional and range requests), as every answer of this
        resource needs.
        """
        chain = request.responseFilters
        if chain is not self._chainSeen:
            # Most requests carry their site's own chain, unchanged: the
            # filtered copy is made once for it.
            self._chainSeen = chain
            self._chainKept = [f for f in chain if f not in _APPLICATION_DECIDES]
        # Shared, as the site's own chain is: a request adding a filter
        # copies it first (Request.addResponseFilter).
        request.responseFilters = self._chainKept
        if request._ownFilters:
            request._ownFilters = False

    def renderHTTP(self, request):
        self.keepFilters(request)
        lifespan = self.lifespan
        if lifespan is not None and not lifespan.ready:
            if lifespan.failure is None and not lifespan.stopping:
                return lifespan.whenReady().addCallback(lambda _: self.renderHTTP(request))
            return self._unavailable("The application failed to start.")
        if lifespan is not None and lifespan.stopping:
            return self._unavailable("The application is shutting down.")
        websocket = self._websocket
        if (websocket is not None and request.headers.hasHeader("upgrade")
                and websocket.isUpgrade(request)):
            return websocket.serve(self, request)
        return self.start(request)

    def start(self, request, respond=None):
        """
        Call the application for the C{http} request C{request}, whose
        application is started and which is no upgrade, its filters kept
        (L{keepFilters}).

        @param respond: given the response once the application starts it;
            by default the response, or a Deferred of it, is returned.
        @return: the response, a Deferred of it, or C{None} when it goes
            to C{respond}.
        """
        lifespan = self.lifespan
        state = lifespan.state if lifespan is not None else None
        scope = httpScope(request, state, _EXTENSIONS)
        cycle = HTTPCycle(request, self.runner, maxChunk=self.maxChunk,
                          bufferSize=self.bufferSize, appName=self.name, respond=respond)
        if self.responseTimeout:
            self._watch(cycle)
        if lifespan is not None:
            lifespan.requestStarted()
            cycle.whenEnded = lifespan.requestEnded
        return cycle.run(self.application, scope)

    _chainSeen = None
    _chainKept = None
    _timer = None

    def _watch(self, cycle):
        """
        Bound the time C{cycle}'s application takes to start its response.

        One timer serves every request: the deadlines come in the order
        the requests do (the timeout is the same for all), so they wait in
        an insertion-ordered dict (a cycle leaves it when it responds) and
        the timer is set for the oldest one only.
        """
        waiting = self._waiting
        waiting[cycle] = self.reactor.seconds() + self.responseTimeout
        cycle.watched = self
        if self._timer is None:
            self._timer = self.reactor.callLater(self.responseTimeout, self._expire)

    def unwatch(self, cycle):
        """
        C{cycle} has responded: forget its deadline (and the timer, when
        no other request waits).
        """
        waiting = self._waiting
        waiting.pop(cycle, None)
        if not waiting and self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self):
        self._timer = None
        waiting = self._waiting
        now = self.reactor.seconds()
        while waiting:
            cycle = next(iter(waiting))
            deadline = waiting[cycle]
            if deadline > now:
                self._timer = self.reactor.callLater(deadline - now, self._expire)
                return
            del waiting[cycle]
            cycle.watched = None
            try:
                cycle.timedOut(self.responseTimeout)
            except Exception:
                # One request's failing answer must not leave the others
                # unexpired.
                log.failure("Answering {cycle!r} with 504 failed", cycle=cycle)

    def _unavailable(self, why):
        response = http.StatusResponse(responsecode.SERVICE_UNAVAILABLE, why)
        response.headers.setRawHeaders("retry-after", ["5"])
        return response

    def __repr__(self) -> str:
        return f"<ASGIResource {self.name}>"
