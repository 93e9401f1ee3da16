"""
Tests of the http scope an application gets: paths under a mount, raw
path and query, headers as bytes pairs, client and server, and what a
trusted proxy changes (client, scheme, host, prefix).
"""

from __future__ import annotations

import _asgi_helpers
from _asgi_helpers import Connection
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from web2.iweb import IResource
from web2.proxy import TrustedProxies, TrustedProxyResource


def capture(scopes):
    async def app(scope, receive, send):
        scopes.append(scope)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})
    return app


@implementer(IResource)
class Meddling:
    """
    A resource in front of the application that changes the request's
    headers on the way (as an authentication wrapper may) and keeps the
    requests it saw.
    """

    def __init__(self, child):
        self.child = child
        self.requests = []

    def locateChild(self, request, segments):
        self.requests.append(request)
        request.headers.setRawHeaders("x-added", ["yes"])
        request.headers.removeHeader("x-thing")
        return self.child, segments

    def renderHTTP(self, request):
        raise AssertionError("not rendered")


class ScopeTests(SynchronousTestCase):

    def scope(self, target="/", mount="/", headers=(), wrap=None, **kwargs):
        scopes = []
        conn = Connection(capture(scopes), mount=mount, wrap=wrap, **kwargs)
        conn.request(target, headers=headers)
        [scope] = scopes
        return scope

    def test_atTheRoot(self):
        scope = self.scope("/a/b%20c?x=1&y=%2F", headers=[("X-Thing", "1"), ("x-thing", "2")])
        self.assertEqual(scope["type"], "http")
        self.assertEqual(scope["asgi"], {"version": "3.0", "spec_version": "2.4"})
        self.assertEqual(scope["http_version"], "1.1")
        self.assertEqual(scope["method"], "GET")
        self.assertEqual(scope["scheme"], "http")
        self.assertEqual(scope["root_path"], "")
        self.assertEqual(scope["path"], "/a/b c")
        self.assertEqual(scope["raw_path"], b"/a/b%20c")
        self.assertEqual(scope["query_string"], b"x=1&y=%2F")
        self.assertEqual(scope["client"], ("127.0.0.1", 54321))
        self.assertEqual(scope["server"], ("127.0.0.1", 8080))
        self.assertEqual(scope["headers"], [(b"host", b"example.com"), (b"x-thing", b"1"),
                                            (b"x-thing", b"2")])
        self.assertNotIn("state", scope)

    def test_headersChangedOnTheWay(self):
        """
        The headers are the request's as they are when the application is
        called, after a resource in front of it changed them.
        """
        scope = self.scope("/", headers=[("X-Thing", "1"), ("Accept", "*/*")],
                           wrap=Meddling)
        self.assertEqual(sorted(scope["headers"]), [
            (b"accept", b"*/*"), (b"host", b"example.com"), (b"x-added", b"yes")])

    def test_applicationChangingItsHeaders(self):
        """
        An application (a middleware) changing the list of its scope's
        headers in place changes nothing of the request web2 holds.
        """
        wrappers = []

        async def app(scope, receive, send):
            scope["headers"].append((b"x-injected", b"1"))
            scope["headers"][0] = (b"host", b"evil.example")
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})

        class Untouched(Meddling):
            def locateChild(self, request, segments):
                self.requests.append(request)
                return self.child, segments

        conn = Connection(app, wrap=lambda root: wrappers.append(Untouched(root)) or wrappers[0])
        self.assertEqual(conn.request("/").status, 200)
        [request] = wrappers[0].requests
        self.assertEqual(request.headers.fieldLines(), [("host", "example.com")])

    def test_underAMount(self):
        """
        root_path is the mount; path is the whole path, starting with it;
        an encoded slash stays one segment in raw_path.
        """
        scope = self.scope("/api/v1/items%2Fx", mount="/api")
        self.assertEqual(scope["root_path"], "/api")
        self.assertEqual(scope["path"], "/api/v1/items/x")
        self.assertEqual(scope["raw_path"], b"/api/v1/items%2Fx")
        scope = self.scope("/api", mount="/api")
        self.assertEqual((scope["root_path"], scope["path"]), ("/api", "/api"))

    def test_utf8Path(self):
        scope = self.scope("/caf%C3%A9/%FF")
        self.assertEqual(scope["path"], "/café/\ufffd")
        self.assertEqual(scope["raw_path"], b"/caf%C3%A9/%FF")

    def test_http10(self):
        scopes = []
        conn = Connection(capture(scopes))
        conn.request("/", version="HTTP/1.0")
        self.assertEqual(scopes[0]["http_version"], "1.0")

    def test_trustedProxy(self):
        """
        Behind a trusted proxy: the client, scheme, host and prefix it
        reports; the host header says the same host.
        """
        proxies = TrustedProxies(["127.0.0.1"], fields=("for", "proto", "host", "prefix"))
        scope = self.scope(
            "/app/x", mount="/app",
            headers=[("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-Proto", "https"),
                     ("X-Forwarded-Host", "www.example.org"),
                     ("X-Forwarded-Prefix", "/outer")],
            wrap=lambda root: TrustedProxyResource(root, proxies))
        self.assertEqual(scope["client"], ("203.0.113.9", 0))
        self.assertEqual(scope["scheme"], "https")
        self.assertEqual(scope["server"], ("www.example.org", 443))
        self.assertEqual(scope["root_path"], "/outer/app")
        self.assertEqual(scope["path"], "/outer/app/x")
        self.assertIn((b"host", b"www.example.org"), scope["headers"])
        self.assertNotIn((b"host", b"example.com"), scope["headers"])

    def test_untrustedProxyHeadersIgnored(self):
        proxies = TrustedProxies(["10.0.0.1"])
        scope = self.scope("/", headers=[("X-Forwarded-For", "203.0.113.9"),
                                         ("X-Forwarded-Proto", "https")],
                           wrap=lambda root: TrustedProxyResource(root, proxies))
        self.assertEqual(scope["client"], ("127.0.0.1", 54321))
        self.assertEqual(scope["scheme"], "http")

    def test_stateIsACopy(self):
        """
        Each request gets a shallow copy of the lifespan state.
        """
        from web2.asgi import Lifespan

        scopes = []
        app = capture(scopes)
        conn = Connection(app)
        lifespan = Lifespan(app, conn.resource.runner, reactor=conn.clock, mode="off")
        lifespan.state = {"db": "x"}
        conn.resource.lifespan = lifespan
        conn.request("/")
        conn.request("/")
        self.assertEqual(scopes[0]["state"], {"db": "x"})
        scopes[0]["state"]["db"] = "changed"
        self.assertEqual(scopes[1]["state"], {"db": "x"})


class ScopeOrdinaryPathTests(ScopeTests):
    """
    The scope tests on the ordinary path (the application reached by
    traversal), where they run at the root.
    """

    def setUp(self):
        self.patch(_asgi_helpers.Connection, "direct", False)
