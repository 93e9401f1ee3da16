"""
The twisted.web peer, run with the same interpreter (and so the same Twisted) as
web2: C{python twisted_web.py PORT ROLE [DIR]} with ROLE one of C{hello},
C{static} (a L{twisted.web.static.File} of DIR), C{wsgi} (L{WSGIResource}
around L{bench.apps.wsgi_hello.app}) or C{site} (the same hello at C{/} with
static files at C{/static}, the WSGI app at C{/wsgi}, a dynamic page, a JSON
answer and a health check as children: twisted.web's spelling of
C{bench/apps/web2_site.py}). Access logging is off, as for every server in
the benchmark.
"""

import json
import os
import sys

from twisted.internet import endpoints, reactor
from twisted.web import resource, server, static

_BODY = b"Hello, world!\n"


class Hello(resource.Resource):
    """
    Hello, world for C{GET}; for C{POST} the size of the (already spooled)
    request body.
    """

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"text/plain")
        return _BODY

    def render_POST(self, request):
        request.setHeader(b"content-type", b"text/plain")
        request.content.seek(0, os.SEEK_END)
        return b"%d\n" % (request.content.tell(),)


class SiteRoot(Hello):
    """
    L{Hello} at C{/} that also has children, as a site root does.
    """

    isLeaf = False

    def getChild(self, name, request):
        if name == b"":
            return self
        return resource.Resource.getChild(self, name, request)


class Dynamic(resource.Resource):
    """
    Greet the C{name} query argument and set it as a cookie.
    """

    isLeaf = True

    def render_GET(self, request):
        name = request.args.get(b"name", [b"world"])[0].decode("utf-8")
        request.setHeader(b"content-type", b"text/plain; charset=utf-8")
        request.addCookie(b"name", name.encode("utf-8"), path=b"/")
        return f"Hello, {name}!\n".encode()


class Json(resource.Resource):
    """
    A small JSON document, serialised per request.
    """

    isLeaf = True

    def render_GET(self, request):
        request.setHeader(b"content-type", b"application/json")
        body = {"message": "Hello, world!", "path": request.path.decode("latin-1")}
        return json.dumps(body).encode("utf-8")


def _site(staticDir):
    root = SiteRoot()
    root.putChild(b"static", static.File(staticDir))
    root.putChild(b"wsgi", _wsgi())
    root.putChild(b"dynamic", Dynamic())
    root.putChild(b"json", Json())
    root.putChild(b"health", static.Data(b"ok", "text/plain"))
    return root


def _wsgi():
    from twisted.web.wsgi import WSGIResource

    from bench.apps.wsgi_hello import app

    return WSGIResource(reactor, reactor.getThreadPool(), app)


def main(argv):
    """
    Build the resource named by the role and serve it on loopback.
    """
    port, role = int(argv[0]), argv[1]
    if role == "static":
        root = static.File(argv[2])
    elif role == "site":
        root = _site(argv[2])
    elif role == "wsgi":
        root = _wsgi()
    else:
        root = Hello()
    site = server.Site(root)
    site.log = lambda request: None
    endpoints.serverFromString(
        reactor, f"tcp:{port}:interface=127.0.0.1:backlog=1024"
    ).listen(site)
    reactor.run()


if __name__ == "__main__":
    main(sys.argv[1:])
