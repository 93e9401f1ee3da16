"""
Tests of the direct path: an application at a site's root makes the site's
requests (L{web2.asgi.request.ASGIRequest}) and answers them without
traversal, with what the ordinary path gives kept (trusted-proxy rewrites,
the site's filters, the access log, error pages), and the requests it does
not answer that way sent down the ordinary path.  The other test modules
run with the direct path wherever the application is at C{/}; the cycle
and scope tests run on both paths.
"""

from __future__ import annotations

import _asgi_helpers
from _asgi_helpers import Connection, resource
from twisted.internet import defer, task
from twisted.logger import globalLogPublisher
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from web2 import server, testing
from web2.asgi.request import ASGIRequest
from web2.http_headers import Headers
from web2.iweb import ISiteRoot
from web2.mount import MountTree
from web2.proxy import TrustedProxies, TrustedProxyResource


def answering(scopes, body=b"ok", status=200, headers=()):
    async def app(scope, receive, send):
        scopes.append(scope)
        await send({"type": "http.response.start", "status": status,
                    "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})
    return app


class Counting:
    """
    Counts the ordinary path's calls of an L{ASGIResource}: traversal
    (C{locateChild}) and rendering (C{renderHTTP}).
    """

    def __init__(self, testCase, asgiResource):
        self.located = self.rendered = 0
        locate, render = asgiResource.locateChild, asgiResource.renderHTTP

        def locateChild(request, segments):
            self.located += 1
            return locate(request, segments)

        def renderHTTP(request):
            self.rendered += 1
            return render(request)

        testCase.patch(asgiResource, "locateChild", locateChild)
        testCase.patch(asgiResource, "renderHTTP", renderHTTP)


class FactoryTests(SynchronousTestCase):

    def test_rootApplicationMakesTheRequests(self):
        app = resource(answering([]))
        verifyObject(ISiteRoot, app)
        site = server.Site(app)
        request = site(None, "GET", "/", (1, 1), 0, Headers())
        self.assertIsInstance(request, ASGIRequest)
        self.assertIs(request.asgiResource, app)
        self.assertEqual(request.rewrites, ())

    def test_mountedApplicationIsReachedByTraversal(self):
        site = server.Site(MountTree({"/api": resource(answering([]))}))
        request = site(None, "GET", "/api", (1, 1), 0, Headers())
        self.assertIs(type(request), server.Request)

    def test_eachSiteItsOwnRequestClass(self):
        """
        Two sites of one application keep their requests apart (the class
        carries the site's rewrites).
        """
        app = resource(answering([]))
        proxies = TrustedProxies(["127.0.0.1"])
        plain = server.Site(app)(None, "GET", "/", (1, 1), 0, Headers())
        proxied = server.Site(TrustedProxyResource(app, proxies))(
            None, "GET", "/", (1, 1), 0, Headers())
        self.assertEqual(plain.rewrites, ())
        self.assertEqual(proxied.rewrites, (proxies.rewrite,))
        self.assertIsNot(type(plain), type(proxied))


class DirectPathTests(SynchronousTestCase):

    def test_answeredWithoutTraversal(self):
        scopes = []
        conn = Connection(answering(scopes, b"hello"))
        calls = Counting(self, conn.resource)
        for _ in range(3):
            response = conn.request("/a/b%20c?x=1")
            self.assertEqual((response.status, response.body), (200, b"hello"))
            self.assertIsNotNone(response.header("server"))
            self.assertIsNotNone(response.header("date"))
        self.assertEqual((calls.located, calls.rendered), (0, 0))
        self.assertEqual(scopes[0]["path"], "/a/b c")
        self.assertEqual(scopes[0]["root_path"], "")
        self.assertEqual(scopes[0]["query_string"], b"x=1")

    def test_headAnswered(self):
        conn = Connection(answering([], b"hello", headers=[(b"content-length", b"5")]))
        response = conn.request("/", method="HEAD")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-length"), "5")
        self.assertEqual(response.body, b"")

    def test_trustedProxyAtTheRoot(self):
        """
        Behind a trusted proxy, at the root: still the direct path, and the
        scope has what the proxy reported.
        """
        scopes = []
        proxies = TrustedProxies(["127.0.0.1"], fields=("for", "proto", "host", "prefix"))
        conn = Connection(answering(scopes),
                          wrap=lambda root: TrustedProxyResource(root, proxies))
        calls = Counting(self, conn.resource)
        conn.request("/x", headers=[("X-Forwarded-For", "203.0.113.9"),
                                    ("X-Forwarded-Proto", "https"),
                                    ("X-Forwarded-Host", "www.example.org"),
                                    ("X-Forwarded-Prefix", "/outer")])
        self.assertEqual((calls.located, calls.rendered), (0, 0))
        [scope] = scopes
        self.assertEqual(scope["client"], ("203.0.113.9", 0))
        self.assertEqual(scope["scheme"], "https")
        self.assertEqual(scope["server"], ("www.example.org", 443))
        self.assertEqual((scope["root_path"], scope["path"]), ("/outer", "/outer/x"))

    def test_siteFiltersAndAccessLog(self):
        """
        The site's own response filters apply, and the access log gets the
        request.
        """
        events = []

        def stamp(request, response):
            response.headers.setRawHeaders("x-stamped", ["yes"])
            return response

        app = resource(answering([], b"hello"))
        site = server.Site(app, responseFilters=[stamp], accessLogObserver=events.append)
        conn = Connection.__new__(Connection)
        conn.resource = app
        super(Connection, conn).__init__(site=site, clock=app.reactor)
        response = conn.request("/logged")
        self.assertEqual(response.header("x-stamped"), "yes")
        [event] = events
        self.assertEqual((event["uri"], event["status"]), ("/logged", 200))

    def test_accessLogOfTheDefaultChain(self):
        """
        A 2xx through the site's default chain (the shortest way to the
        wire) is in the access log too, and is the site's own request.
        """
        events = []
        app = resource(answering([], b"hello"))
        site = server.Site(app, accessLogObserver=events.append)
        conn = testing.ChannelConnection(site=site, clock=app.reactor)
        self.assertEqual(conn.request("/a?b=1").status, 200)
        [event] = events
        self.assertEqual((event["uri"], event["status"]), ("/a?b=1", 200))

    def test_urlOfTheRoot(self):
        """
        The request knows where traversal would have found the root (the
        ordinary path's C{urlForResource}).
        """
        conn = Connection(answering([]))
        seen = []
        start = conn.resource.start

        def recording(request, respond=None):
            seen.append(request)
            return start(request, respond)

        self.patch(conn.resource, "start", recording)
        conn.request("/a/b")
        self.assertEqual(seen[0].urlForResource(conn.resource), "/")

    def test_errorHandlerReplacedLater(self):
        """
        A site's error page renderer set after its first requests is called
        for every response again, as the ordinary path's filters do.
        """
        conn = Connection(answering([]))

        def handler(request, response):
            response.headers.setRawHeaders("x-handled", ["yes"])
            return response

        self.assertIsNone(conn.request("/").header("x-handled"))
        conn.site.errorHandler = handler
        self.assertEqual(conn.request("/").header("x-handled"), "yes")

    def test_failingAccessLogStopsNothing(self):
        """
        An access-log observer that raises (a full disk) is logged; the
        client has its response and the next request is answered.
        """
        def full(event):
            raise OSError(28, "No space left on device")

        app = resource(answering([], b"hello"))
        site = server.Site(app, accessLogObserver=full)
        conn = testing.ChannelConnection(site=site, clock=app.reactor)
        for _ in range(2):
            response = conn.request("/")
            self.assertEqual((response.status, response.body), (200, b"hello"))
        self.assertEqual(len(self.flushLoggedErrors(OSError)), 2)

    def test_everyTimeoutAnsweredWhenOneAnswerFails(self):
        """
        Two applications past their response timeout get their 504s even
        when answering the first one raises (its access-log line cannot be
        written).
        """
        async def never(scope, receive, send):
            await defer.Deferred()

        def full(event):
            raise OSError(28, "No space left on device")

        clock = task.Clock()
        app = resource(never, clock, responseTimeout=5)
        site = server.Site(app, accessLogObserver=full)
        first = testing.ChannelConnection(site=site, clock=clock)
        second = testing.ChannelConnection(factory=first.factory)
        for conn in (first, second):
            conn.sendRequest("/").pump()
        clock.advance(6)
        statuses = []
        for conn in (first, second):
            conn.pump()
            statuses.append([r.status for r in conn.responses()])
        self.assertEqual(statuses, [[504], [504]])
        self.assertEqual(app._waiting, {})
        self.flushLoggedErrors(OSError)

    def test_failureBeforeTheApplicationAnswers500(self):
        """
        A failure of the direct path itself (here, the scope) is answered
        500 and logged, as on the ordinary path.
        """
        conn = Connection(answering([]))
        failures = []

        def observe(event):
            if event.get("log_failure") is not None:
                failures.append(event)

        globalLogPublisher.addObserver(observe)
        self.addCleanup(globalLogPublisher.removeObserver, observe)

        def broken(request, respond=None):
            raise RuntimeError("no scope")

        self.patch(conn.resource, "start", broken)
        self.assertEqual(conn.request("/").status, 500)
        self.assertEqual(len(failures), 1)
        self.flushLoggedErrors(RuntimeError)


class OrdinaryPathTakenTests(SynchronousTestCase):
    """
    The requests the direct path leaves to the ordinary one.
    """

    def test_optionsAsterisk(self):
        conn = Connection(answering([]))
        response = conn.exchange(b"OPTIONS * HTTP/1.1\r\nHost: example.com\r\n\r\n")
        self.assertEqual(response.status, 200)
        self.assertIsNotNone(response.header("allow"))

    def test_absoluteFormTarget(self):
        scopes = []
        conn = Connection(answering(scopes))
        calls = Counting(self, conn.resource)
        response = conn.exchange(b"GET http://example.com/x?y=1 HTTP/1.1\r\n"
                                 b"Host: example.com\r\n\r\n")
        self.assertEqual(response.status, 200)
        self.assertEqual(calls.rendered, 1)
        self.assertEqual((scopes[0]["path"], scopes[0]["query_string"]), ("/x", b"y=1"))

    def test_upgradeGoesToTheOrdinaryPath(self):
        """
        A request with an C{Upgrade} field is rendered the ordinary way
        (where the WebSocket handshake is answered), when WebSocket support
        is installed.
        """
        conn = Connection(answering([]))
        if conn.resource._websocket is None:
            raise self.skipTest("wsproto is not installed")
        calls = Counting(self, conn.resource)
        conn.request("/", headers=[("Upgrade", "h2c"), ("Connection", "upgrade")])
        self.assertEqual(calls.rendered, 1)

    def test_everyAnswerLeavesTheApplicationsFilters(self):
        """
        Every answer of the resource (here the 503 of an application
        shutting down) leaves conditional and range requests to the
        application, as before the direct path split its work.
        """
        from web2.asgi import Lifespan
        from web2.filter.range import rangefilter

        app = resource(answering([]))
        lifespan = Lifespan(answering([]), app.runner, reactor=app.reactor, mode="off")
        lifespan.stopping = True
        app.lifespan = lifespan
        request = server.Site(MountTree({"/app": app}))(None, "GET", "/app", (1, 1), 0,
                                                         Headers())
        response = app.renderHTTP(request)
        self.assertEqual(response.code, 503)
        self.assertNotIn(rangefilter, request.responseFilters)
        self.assertNotIn(server.preconditionfilter, request.responseFilters)

    def test_applicationNotStartedGoesToTheOrdinaryPath(self):
        """
        A request that comes before the application's lifespan startup is
        complete waits on the ordinary path, and is answered once it is;
        the next goes the direct way.
        """
        from web2.asgi import Lifespan

        scopes = []
        answer = answering(scopes)

        async def app(scope, receive, send):
            if scope["type"] != "lifespan":
                return await answer(scope, receive, send)
            while (await receive())["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})

        conn = Connection(answer)
        lifespan = Lifespan(app, conn.resource.runner, reactor=conn.clock, mode="on")
        conn.resource.lifespan = lifespan
        calls = Counting(self, conn.resource)
        conn.sendRequest("/early").pump()
        self.assertEqual((calls.rendered, conn.responses()), (1, []))
        lifespan.startService()
        conn.pump()
        [response] = conn.responses()
        self.assertEqual(response.status, 200)
        rendered = calls.rendered
        self.assertEqual(conn.request("/later").status, 200)
        self.assertEqual(calls.rendered, rendered)
        self.assertEqual([s["path"] for s in scopes], ["/early", "/later"])


class NestedProxyTests(SynchronousTestCase):
    """
    Two trusted-proxy wrappers around the root rewrite in the order
    traversal takes them: the outer one first.
    """

    def client(self):
        scopes = []
        outer = TrustedProxies(["127.0.0.1"])
        inner = TrustedProxies(["10.0.0.0/8"])
        conn = Connection(answering(scopes), wrap=lambda root: TrustedProxyResource(
            TrustedProxyResource(root, inner), outer))
        conn.request("/", headers=[("X-Forwarded-For", "203.0.113.9, 10.1.1.1")])
        return scopes[0]["client"]

    def test_direct(self):
        self.assertEqual(self.client(), ("203.0.113.9", 0))

    def test_ordinary(self):
        self.patch(_asgi_helpers.Connection, "direct", False)
        self.assertEqual(self.client(), ("203.0.113.9", 0))
