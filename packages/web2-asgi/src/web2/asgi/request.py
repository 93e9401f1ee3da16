# -*- test-case-name: test_asgi_request -*-
"""
L{ASGIRequest}: the request of a site whose root is an ASGI application,
answered by it without traversal.

Under any other ASGI server the application is the whole site, and most
web2-asgi deployments are that too (C{--mount /=asgi:MODULE:APP}, perhaps
behind a trusted proxy).  There, the ordinary path of a request (walking
from the root to the resource, rendering into a Deferred, chaining the
response filters on it) only leads back to the application, and costs
about as much as everything else web2 does for a request.  So the
application's L{ASGIResource} makes its site's requests
(L{web2.iweb.ISiteRoot}), and they go to it straight away:

  - the target and host are parsed, and the trusted-proxy rules applied,
    exactly as on the ordinary path (the rewrites of the root's wrappers,
    in order);
  - the application's response goes to the site's response filters (less
    the two the application decides, conditional and range requests, as
    on the ordinary path) and to the access log, without a Deferred in
    between;
  - a request this path does not answer (an C{Upgrade}, the WebSocket
    handshake; a target that is not a path; C{CONNECT}; an application
    still starting up or shutting down) takes the ordinary path from the
    site's root, which answers every case.
"""

from __future__ import annotations

from twisted.logger import Logger
from twisted.python.failure import Failure

from web2 import server

__all__ = ["ASGIRequest"]

log = Logger()


class ASGIRequest(server.Request):
    """
    A request answered directly by the ASGI application at its site's
    root.  L{ASGIResource.requestFactory} makes a subclass per site that
    sets the two class attributes.

    @cvar asgiResource: the application's L{ASGIResource}.
    @cvar rewrites: what the root's wrappers do to each request before it
        is answered (L{web2.iweb.ISiteRoot.requestFactory}).
    """

    asgiResource = None
    rewrites = ()

    def process(self):
        root = self.asgiResource
        if self.uri[0] != "/" or self.method == "CONNECT" or not root.answersDirectly(self):
            server.Request.process(self)
            return
        try:
            self._parseURL()
            self._parseHost()
            for rewrite in self.rewrites:
                rewrite(self)
            self.resources.append(root)
            self._rememberURL(root)
            root.keepFilters(self)
            response = root.start(self, self._answer)
        except Exception:
            self._failed(Failure())
            return
        if response is not None:
            self._answer(response)

    def _answer(self, response):
        """
        The application's response (or the 500 or 504 that replaced it):
        through the filters, to the wire.  Nothing raised here goes back to
        the application's C{send()} (or the timer that answered 504): as on
        the ordinary path, a failure is logged and answered 500 if the
        response has not started.
        """
        try:
            self._finish(response)
        except Exception:
            try:
                self._filterFailed(Failure())
            except Exception:
                log.failure("Answering {method} {uri} failed", method=self.method,
                            uri=self.uri)
