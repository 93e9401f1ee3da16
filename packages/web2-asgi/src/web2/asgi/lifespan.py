# -*- test-case-name: test_asgi_lifespan -*-
"""
The ASGI C{lifespan} scope of one application, as a Twisted service.

Startup runs once, when the service starts, and the application sees no
request before it has ended (requests that arrive meanwhile wait).  When
the service starts before the reactor runs (C{python -m web2}) the asyncio
loop is run until the application has answered, so a failed startup stops
the server from starting at all, with the application's message (a
C{SystemExit}: status 1, no traceback).  Started in a running reactor
(C{twistd}, which starts services once it runs, after dropping
privileges), a failed startup is one critical log line and stops the
reactor.

Shutdown runs when the service stops (the server's graceful stop, inside
its C{--shutdown-timeout}): after the ASGI requests still running have
ended (or half the timeout has passed), the application gets
C{lifespan.shutdown}; requests arriving after that get 503.

Modes, as uvicorn's: C{auto} (an application that raises before answering
the startup message does not support lifespan: logged once, and the server
goes on without), C{on} (that is a failure too) and C{off} (the
application never sees a lifespan scope).
"""

from __future__ import annotations

from twisted.application import service
from twisted.internet.defer import Deferred, succeed
from twisted.logger import Logger

from web2.asgi.scope import ASGI_VERSION

__all__ = ["Lifespan", "MODES"]

log = Logger()

#: The lifespan modes.
MODES = ("auto", "on", "off")


class Lifespan(service.Service):
    """
    The lifespan of one ASGI application.

    @ivar state: the application's lifespan state, copied into the scope of
        every request (C{None} when the application has no lifespan).
    @ivar ready: whether requests may reach the application now.
    @ivar stopping: whether shutdown has begun (requests get 503).
    @ivar inFlight: the application's requests still running.
    """

    def __init__(self, application, runner, *, reactor, mode="auto", startupTimeout=60.0,
                 shutdownTimeout=10.0, appName="the ASGI application"):
        if mode not in MODES:
            raise ValueError(f"lifespan must be one of {', '.join(MODES)}, not {mode!r}")
        self.application = application
        self.runner = runner
        self.reactor = reactor
        self.mode = mode
        self.startupTimeout = startupTimeout
        self.shutdownTimeout = shutdownTimeout
        self.appName = appName
        self.state = {} if mode != "off" else None
        self.ready = mode == "off"
        self.stopping = False
        self.inFlight = 0
        self._started = False
        self._startup = Deferred()
        self._shutdownAsked = None
        self._shutdown = None
        self._task = None
        self._phase = "startup"
        self._idle = None
        if self.ready:
            self._startup.callback(None)

    # -- requests -------------------------------------------------------------

    def whenReady(self) -> Deferred:
        """
        A Deferred firing once startup has ended (it never fails: see
        L{failure}, and a failed startup stops the server).
        """
        if self._startup.called:
            return succeed(None)
        d = Deferred()
        self._startup.addCallback(lambda result: (d.callback(None), result)[1])
        return d

    def requestStarted(self) -> None:
        self.inFlight += 1

    def requestEnded(self) -> None:
        self.inFlight -= 1
        if self.inFlight == 0 and self._idle is not None:
            idle, self._idle = self._idle, None
            idle.callback(None)

    # -- the service ----------------------------------------------------------

    def startService(self):
        service.Service.startService(self)
        self._beforeRun = not getattr(self.reactor, "running", False)
        try:
            self._begin()
            if not self._startup.called and self._beforeRun and self.runner.name == "asyncio":
                # Before the reactor runs (python -m web2): run the loop
                # until the application has answered, so that a failed
                # startup stops the server starting.
                waiting = self.runner.future()
                self._startup.addCallback(
                    lambda result: (waiting.done() or waiting.set_result(None), result)[1])
                self.runner.runUntilComplete(waiting)
        finally:
            self._beforeRun = False
        if self.failure is not None and not self._reported:
            self._reported = True
            raise SystemExit(f"web2: error: {self.appName} failed to start: {self.failure}")

    _beforeRun = False

    #: Why startup failed, or C{None}.
    failure = None
    _reported = False

    def _failedLater(self):
        if self._reported:
            return
        self._reported = True
        log.critical("{app} failed to start: {message}; stopping the server",
                     app=self.appName, message=self.failure)
        if self.reactor.running:
            self.reactor.stop()

    def _begin(self):
        if self._started or self.mode == "off":
            return
        self._started = True
        scope = {"type": "lifespan", "asgi": ASGI_VERSION, "state": self.state}
        try:
            coroutine = self.application(scope, self._receive, self._send)
        except Exception as e:
            self._ended(e)
            return
        self._task = self.runner.start(coroutine, self._ended)
        if self.startupTimeout:
            self._timer = self.reactor.callLater(
                self.startupTimeout, self._startupTimedOut)

    _timer = None

    def _startupTimedOut(self):
        self._timer = None
        if not self._startup.called:
            self._startupFailed(f"no answer to lifespan.startup within "
                                f"{self.startupTimeout} s")

    async def _receive(self):
        if self._phase == "startup":
            self._phase = "running"
            return {"type": "lifespan.startup"}
        if self._shutdownAsked is None:
            self._shutdownAsked = self.runner.future()
        await self._shutdownAsked
        return {"type": "lifespan.shutdown"}

    async def _send(self, message):
        kind = message.get("type")
        if kind == "lifespan.startup.complete":
            self._startupDone()
        elif kind == "lifespan.startup.failed":
            self._startupFailed(message.get("message") or "lifespan.startup.failed")
        elif kind == "lifespan.shutdown.complete":
            self._shutdownDone(None)
        elif kind == "lifespan.shutdown.failed":
            self._shutdownDone(message.get("message") or "lifespan.shutdown.failed")
        else:
            raise ValueError(f"unexpected message {kind!r} in a lifespan scope")

    def _cancelTimer(self):
        timer, self._timer = self._timer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _startupDone(self):
        if self._startup.called:
            return
        self._cancelTimer()
        self.ready = True
        log.info("{app}: lifespan startup complete", app=self.appName)
        self._startup.callback(None)

    def _startupFailed(self, message):
        if self._startup.called:
            return
        self._cancelTimer()
        self.failure = message
        self._startup.callback(None)
        if not self._beforeRun:
            # In a running reactor: nothing else can stop it.
            self._failedLater()

    def _unsupported(self, why):
        self._cancelTimer()
        self.state = None
        self.ready = True
        log.info("{app} does not support the ASGI lifespan protocol ({why}); going on "
                 "without it", app=self.appName, why=why)
        self._startup.callback(None)

    _finished = False

    def _ended(self, exception):
        self._finished = True
        if not self._startup.called:
            what = f"{type(exception).__name__}: {exception}" if exception else \
                "it returned without answering lifespan.startup"
            if self.mode == "auto":
                self._unsupported(what)
            else:
                self._startupFailed(what)
            return
        if self._shutdown is not None and not self._shutdown.called:
            self._shutdownDone(None if exception is None else
                               f"{type(exception).__name__}: {exception}")
        elif exception is not None and not self.stopping:
            log.error("{app}'s lifespan ended early: {e!r}", app=self.appName, e=exception)

    def _shutdownDone(self, message):
        shutdown = self._shutdown
        if shutdown is None or shutdown.called:
            return
        if message is None:
            log.info("{app}: lifespan shutdown complete", app=self.appName)
        else:
            log.error("{app}: lifespan shutdown failed: {message}", app=self.appName,
                      message=message)
        shutdown.callback(None)

    def stopService(self):
        service.Service.stopService(self)
        self.stopping = True
        if (self.state is None or not self._startup.called or self.failure is not None
                or self._finished):
            # No lifespan, none started, or the application's lifespan
            # call is over already: nobody would answer a shutdown.
            return succeed(None)
        d = self._shutdown = Deferred()
        idle = succeed(None)
        if self.inFlight:
            idle = self._idle = Deferred()
            idle.addTimeout(self.shutdownTimeout / 2, self.reactor)
            idle.addErrback(lambda _: log.warn(
                "{count} request(s) of {app} still running; shutting it down anyway",
                count=self.inFlight, app=self.appName))

        def ask(_):
            asked = self._shutdownAsked
            if asked is None:
                asked = self._shutdownAsked = self.runner.future()
            if not asked.done():
                asked.set_result(None)
            d.addTimeout(self.shutdownTimeout / 2, self.reactor)
            d.addErrback(lambda _: log.warn(
                "{app} did not complete its lifespan shutdown within {seconds} s",
                app=self.appName, seconds=self.shutdownTimeout / 2))
            return d

        return idle.addCallback(ask)
