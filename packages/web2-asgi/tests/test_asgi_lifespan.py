"""
Tests of the lifespan scope: startup before any request, a failed startup
stopping the server from starting (SystemExit with the application's
message) or, started late, stopping the reactor; applications without
lifespan support; the startup timeout; shutdown after the requests in
flight, and 503 from then on.
"""

from __future__ import annotations

import asyncio

from _asgi_helpers import Connection
from twisted.internet import defer, task
from twisted.trial.unittest import SynchronousTestCase

from web2.asgi import Lifespan
from web2.asgi._loop import AsyncioRunner, TwistedRunner


def lifespanApp(log, fail=None, shutdownFail=None, gate=None):
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            message = await receive()
            assert message == {"type": "lifespan.startup"}
            if gate is not None:
                await gate
            if fail:
                await send({"type": "lifespan.startup.failed", "message": fail})
                return
            scope["state"]["db"] = "connected"
            log.append("startup")
            await send({"type": "lifespan.startup.complete"})
            message = await receive()
            assert message == {"type": "lifespan.shutdown"}
            log.append("shutdown")
            if shutdownFail:
                await send({"type": "lifespan.shutdown.failed", "message": shutdownFail})
            else:
                await send({"type": "lifespan.shutdown.complete"})
            return
        log.append(("request", scope["state"].get("db")))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})
    return app


class FakeReactor(task.Clock):
    running = True
    stopped = False

    def stop(self):
        self.stopped = True


class LifespanTests(SynchronousTestCase):

    def lifespan(self, app, mode="auto", clock=None, **kwargs):
        clock = clock if clock is not None else FakeReactor()
        return Lifespan(app, TwistedRunner(), reactor=clock, mode=mode, **kwargs), clock

    def test_startupAndShutdown(self):
        log = []
        lifespan, clock = self.lifespan(lifespanApp(log))
        lifespan.startService()
        self.assertTrue(lifespan.ready)
        self.assertEqual(lifespan.state, {"db": "connected"})
        d = lifespan.stopService()
        self.successResultOf(d)
        self.assertEqual(log, ["startup", "shutdown"])

    def test_failedStartupStopsTheStart(self):
        """
        A startup the application reports failed, before the reactor runs:
        SystemExit carrying its message.
        """
        clock = FakeReactor()
        clock.running = False
        lifespan, _ = self.lifespan(lifespanApp([], fail="no database"), clock=clock,
                                    appName="app:app")
        with self.assertRaises(SystemExit) as caught:
            lifespan.startService()
        self.assertFalse(clock.stopped)
        self.assertEqual(str(caught.exception),
                         "web2: error: app:app failed to start: no database")

    def test_failedStartupOnTheAsyncioLoop(self):
        """
        On the asyncio runner the loop is run until the application has
        answered, so an answer that takes a few turns of the loop still
        stops the start.
        """
        loop = asyncio.new_event_loop()
        self.addCleanup(loop.close)

        async def app(scope, receive, send):
            await receive()
            await asyncio.sleep(0.01)
            await send({"type": "lifespan.startup.failed", "message": "late failure"})

        clock = FakeReactor()
        clock.running = False
        lifespan = Lifespan(app, AsyncioRunner(loop), reactor=clock)
        with self.assertRaises(SystemExit) as caught:
            lifespan.startService()
        self.assertIn("late failure", str(caught.exception))

    def test_failedStartupLaterStopsTheReactor(self):
        """
        Started in a running reactor, a failed startup logs one critical
        line and stops the reactor; requests meanwhile get 503.
        """
        gate = defer.Deferred()
        log = []
        app = lifespanApp(log, fail="broken", gate=gate)
        conn = Connection(app)
        lifespan = Lifespan(app, conn.resource.runner, reactor=FakeReactor())
        conn.resource.lifespan = lifespan
        lifespan.startService()
        conn.sendRequest("/")
        self.assertEqual(conn.output(), b"")
        gate.callback(None)
        self.assertTrue(lifespan.reactor.stopped)
        [response] = conn.responses()
        self.assertEqual(response.status, 503)
        self.assertEqual(log, [])

    def test_requestsWaitForStartup(self):
        gate = defer.Deferred()
        log = []
        app = lifespanApp(log, gate=gate)
        conn = Connection(app)
        lifespan = Lifespan(app, conn.resource.runner, reactor=FakeReactor())
        conn.resource.lifespan = lifespan
        lifespan.startService()
        conn.sendRequest("/")
        self.assertEqual(log, [])
        gate.callback(None)
        self.assertEqual(log, ["startup", ("request", "connected")])
        [response] = conn.responses()
        self.assertEqual(response.body, b"ok")

    def test_unsupportedInAutoMode(self):
        """
        Django's way: raise on a lifespan scope.  In auto mode the server
        goes on without lifespan (no state in the scopes).
        """
        async def app(scope, receive, send):
            if scope["type"] != "http":
                raise ValueError("Django can only handle ASGI/HTTP connections")

        lifespan, _ = self.lifespan(app)
        lifespan.startService()
        self.assertTrue(lifespan.ready)
        self.assertIsNone(lifespan.state)
        self.successResultOf(lifespan.stopService())
        clock = FakeReactor()
        clock.running = False
        lifespan, _ = self.lifespan(app, mode="on", clock=clock)
        self.assertRaises(SystemExit, lifespan.startService)

    def test_off(self):
        calls = []

        async def app(scope, receive, send):
            calls.append(scope["type"])

        lifespan, _ = self.lifespan(app, mode="off")
        lifespan.startService()
        self.assertTrue(lifespan.ready)
        self.assertEqual(calls, [])
        self.assertRaises(ValueError, Lifespan, app, TwistedRunner(), reactor=None,
                          mode="maybe")

    def test_startupTimeout(self):
        lifespan, clock = self.lifespan(lifespanApp([], gate=defer.Deferred()),
                                        startupTimeout=5)
        lifespan.startService()
        self.assertFalse(lifespan.ready)
        clock.advance(5)
        self.assertIn("within 5", lifespan.failure)
        self.assertTrue(clock.stopped)

    def test_shutdownWaitsForRequests(self):
        """
        Shutdown waits for the requests in flight (up to half the timeout),
        and requests after it began get 503.
        """
        log = []
        release = defer.Deferred()
        base = lifespanApp(log)

        async def app(scope, receive, send):
            if scope["type"] == "http" and scope["path"] == "/slow":
                await release
            await base(scope, receive, send)

        conn = Connection(app)
        lifespan = Lifespan(app, conn.resource.runner, reactor=FakeReactor(),
                            shutdownTimeout=10)
        conn.resource.lifespan = lifespan
        lifespan.startService()
        conn.sendRequest("/slow")
        d = lifespan.stopService()
        self.assertNoResult(d)
        self.assertEqual(log, ["startup"])
        release.callback(None)
        self.successResultOf(d)
        self.assertEqual(log, ["startup", ("request", "connected"), "shutdown"])
        other = Connection(app)
        other.resource.lifespan = lifespan
        self.assertEqual(other.request("/").status, 503)

    def test_lifespanThatReturnsAfterStartup(self):
        """
        An application whose lifespan call returns once started up: the
        stop does not wait for a shutdown nobody will answer.
        """
        async def app(scope, receive, send):
            await receive()
            await send({"type": "lifespan.startup.complete"})

        lifespan, _ = self.lifespan(app)
        lifespan.startService()
        self.assertTrue(lifespan.ready)
        self.successResultOf(lifespan.stopService())
