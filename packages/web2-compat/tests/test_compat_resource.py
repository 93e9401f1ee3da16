"""
Tests for L{web2.compat.resource}: twisted.web resources traversed and
rendered by a real web2 channel and site.
"""

from __future__ import annotations

from _compat_helpers import Connection, get
from twisted.internet import defer
from twisted.web import pages, resource, server, util

from web2 import http
from web2 import resource as web2resource
from web2.compat import OldResourceAdapter
from web2.iweb import IResource


class Echo(resource.Resource):
    """
    A leaf that shows what twisted.web's request attributes hold.
    """

    isLeaf = True

    def render_GET(self, request):
        self.seen = request
        return b"|".join([
            request.method, request.path, b"/".join(request.prepath),
            b"/".join(request.postpath), repr(sorted(request.args.items())).encode(),
        ])


class Dynamic(resource.Resource):
    """
    Children made by getChild from the segment name.
    """

    def getChild(self, name, request):
        if name == b"missing":
            return resource.NoResource()
        leaf = Echo()
        leaf.name = name
        return leaf


def test_adaptation():
    echo = Echo()
    adapted = IResource(echo)
    assert isinstance(adapted, OldResourceAdapter)
    assert adapted.original is echo


def test_leafRender():
    r = get(Echo(), "/a/b?x=1&x=2&empty=")
    assert r.status == 200
    assert r.body == (b"GET|/a/b||a/b|[(b'empty', [b'']), (b'x', [b'1', b'2'])]")
    assert r.header("content-type") == "text/html"
    assert r.header("content-length") == str(len(r.body))


def test_putChildAndGetChild():
    root = resource.Resource()
    root.putChild(b"echo", Echo())
    root.putChild(b"dyn", Dynamic())
    r = get(root, "/echo/x/y")
    assert r.body.split(b"|")[2:4] == [b"echo", b"x/y"]
    r = get(root, "/dyn/thing/more")
    assert r.body.split(b"|")[2:4] == [b"dyn/thing", b"more"]
    assert get(root, "/dyn/missing").status == 404
    assert get(root, "/nothing").status == 404


def test_rootWithoutEmptyChildIs404():
    # As in twisted.web: "/" asks the root for its child b"".
    root = resource.Resource()
    root.render_GET = lambda request: b"root"
    assert get(root, "/").status == 404
    root.putChild(b"", Echo())
    assert get(root, "/").status == 200


def test_percentEncodedSegmentsAreBytes():
    root = resource.Resource()
    root.putChild("café".encode(), Echo())
    r = get(root, "/caf%C3%A9/%FF%2F")
    assert r.status == 200
    assert r.body.split(b"|")[1:4] == [b"/caf%C3%A9/%FF%2F", "café".encode(), b"\xff/"]


def test_web2ChildOfTwistedWeb():
    class Web2Leaf(web2resource.LeafResource):
        def render(self, request):
            return http.Response(200, stream=f"web2 {request.postpath}")

    root = resource.Resource()
    root.putChild(b"new", Web2Leaf())
    r = get(root, "/new/rest")
    assert r.body == b"web2 ['rest']"


def test_twistedWebChildOfWeb2():
    class Web2Root(web2resource.Resource):
        child_old = Echo()

    r = get(Web2Root(), "/old/z")
    assert r.body.split(b"|")[2:4] == [b"old", b"z"]


def test_deferredChild():
    class Later(resource.Resource):
        def getChildWithDefault(self, name, request):
            return defer.succeed(Echo())

    r = get(Later(), "/x/y")
    assert r.body.split(b"|")[2:4] == [b"x", b"y"]


def test_notAllowed():
    r = get(Echo(), "/", method="DELETE")
    assert r.status == 405
    assert set(r.header("allow").split(", ")) == {"GET", "HEAD"}


def test_headRendersGet():
    class GetOnly(resource.Resource):
        isLeaf = True
        allowedMethods = (b"GET",)

        def render(self, request):
            if request.method != b"GET":
                raise resource.UnsupportedMethod(self.allowedMethods)
            return b"twelve bytes"

    r = get(GetOnly(), "/", method="HEAD")
    assert (r.status, r.body, r.header("content-length")) == (200, b"", "12")


def test_errorPages():
    root = resource.Resource()
    root.putChild(b"legacy", resource.ErrorPage(410, "Gone", "It is <b>gone</b>."))
    root.putChild(b"forbidden", resource.ForbiddenResource())
    root.putChild(b"page", pages.errorPage(418, "Teapot", "It is <hot>."))
    r = get(root, "/legacy")
    assert (r.status, r.header("content-type")) == (410, "text/html; charset=utf-8")
    assert b"<p>It is <b>gone</b>.</p>" in r.body
    assert get(root, "/forbidden").status == 403
    r = get(root, "/page")
    assert r.status == 418
    assert b"It is &lt;hot&gt;." in r.body


def test_renderRaises():
    class Broken(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.write(b"partial")
            raise ZeroDivisionError()

    r = get(Broken(), "/")
    assert r.status == 500
    assert b"partial" not in r.body


def test_renderReturnsWrongType():
    class Wrong(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            return "text, not bytes"

    assert get(Wrong(), "/").status == 500


def test_redirects():
    root = resource.Resource()
    root.putChild(b"util", util.Redirect(b"/elsewhere"))

    class Manual(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.redirect(b"http://example.org/")
            request.finish()
            return server.NOT_DONE_YET

    root.putChild(b"manual", Manual())
    r = get(root, "/util")
    assert (r.status, r.header("location")) == (302, "/elsewhere")
    r = get(root, "/manual")
    assert (r.status, r.header("location")) == (302, "http://example.org/")


def test_deferredRendering():
    d = defer.Deferred()

    class Slow(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"x-slow", b"yes")
            return d

    conn = Connection(Slow())
    conn.sendRequest("/")
    assert conn.transport.value() == b""
    d.callback(b"at last")
    [r] = conn.responses()
    assert (r.status, r.body, r.header("x-slow")) == (200, b"at last", "yes")
    assert r.header("content-length") == "7"


def test_deferredRenderingFailure():
    class Failing(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            return defer.fail(KeyError("nope"))

    assert get(Failing(), "/").status == 500


def test_notDoneYetWithLaterWrites():
    pending = []

    class Streaming(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-type", b"text/plain")
            pending.append(request)
            return server.NOT_DONE_YET

    conn = Connection(Streaming())
    conn.sendRequest("/")
    assert conn.transport.value() == b""
    [request] = pending
    request.write(b"first ")
    assert b"first " in conn.transport.value()
    assert b"chunked" in conn.transport.value()
    request.setHeader(b"x-late", b"ignored")  # after release: not sent
    request.write(b"second")
    request.finish()
    [r] = conn.responses()
    assert (r.status, r.body, r.header("x-late")) == (200, b"first second", None)
    assert r.header("content-type") == "text/plain"


def test_notDoneYetFinishedInRender():
    class Quick(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.write(b"all ")
            request.write(b"at once")
            request.finish()
            return server.NOT_DONE_YET

    r = get(Quick(), "/")
    assert (r.body, r.header("content-length")) == (b"all at once", "11")


def test_finishWithoutWrites():
    pending = []

    class Empty(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setResponseCode(204)
            pending.append(request)
            return server.NOT_DONE_YET

    conn = Connection(Empty())
    conn.sendRequest("/")
    pending[0].finish()
    [r] = conn.responses()
    assert (r.status, r.body, r.header("content-type")) == (204, b"", None)


def test_declaredLengthHeldTo():
    pending = []

    class Liar(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"content-length", b"5")
            pending.append(request)
            return server.NOT_DONE_YET

    conn = Connection(Liar())
    conn.sendRequest("/")
    request = pending.pop()
    request.write(b"12345678")
    request.finish()
    [r] = conn.responses()
    assert (r.body, r.header("content-length")) == (b"12345", "5")
    assert not conn.transport.disconnecting

    conn = Connection(Liar())
    conn.sendRequest("/")
    request = pending.pop()
    request.write(b"12")
    request.finish()
    assert conn.transport.disconnecting or conn.transport.disconnected


def test_headerInjectionIsNeutralised():
    class Injector(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.setHeader(b"x-evil", b"a\r\nSet-Cookie: owned=1")
            return b"ok"

    r = get(Injector(), "/")
    assert r.status == 200
    assert r.headerValues("set-cookie") == []


def test_writeAfterFinishRaises():
    errors = []

    class Twice(resource.Resource):
        isLeaf = True

        def render_GET(self, request):
            request.finish()
            try:
                request.write(b"late")
            except RuntimeError as e:
                errors.append(e)
            return server.NOT_DONE_YET

    assert get(Twice(), "/").body == b""
    assert len(errors) == 1


def test_adapterIsReused():
    echo = Echo()
    conn = Connection(echo)
    assert conn.request("/one").body.split(b"|")[3] == b"one"
    assert conn.request("/two").body.split(b"|")[3] == b"two"
