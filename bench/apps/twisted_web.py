"""
The twisted.web peer, run with the same interpreter (and so the same Twisted) as
web2: C{python twisted_web.py PORT ROLE [DIR]} with ROLE one of C{hello},
C{static} (a L{twisted.web.static.File} of DIR) or C{wsgi} (L{WSGIResource}
around L{bench.apps.wsgi_hello.app}). Access logging is off, as for every
server in the benchmark.
"""

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
