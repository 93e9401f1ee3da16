# -*- test-case-name: test_compat_resource -*-
"""
L{OldResourceAdapter}: a twisted.web resource (C{twisted.web.resource.
IResource}) as a web2 L{IResource}.

Traversal follows twisted.web's C{getChildForRequest}: a resource with
C{isLeaf} set takes the rest of the path (left in C{request.postpath});
otherwise the next segment moves from C{postpath} to C{prepath} and
C{getChildWithDefault(segment, request)} names the child, which may be
another twisted.web resource, a web2 resource, or a Deferred of either.
Rendering calls C{render(request)} and accepts what twisted.web accepts
(C{bytes}, or C{NOT_DONE_YET} with writes and C{finish()} later), plus a
Deferred of either.

Importing this module registers the adapter, so that
C{web2.iweb.IResource(twistedWebResource)} works wherever web2 expects a
resource: as a site's root, a mount, or a child returned by C{locateChild}.
"""

from __future__ import annotations

import inspect
import weakref

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from twisted.web import resource as twresource
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from web2 import http, responsecode
from web2.compat import _klein
from web2.compat.request import OldRequest
from web2.compat.session import SessionStore
from web2.iweb import IResource, IResponse
from web2.resource import StopTraversal

log = Logger()

#: The attribute of a web2 request that holds its L{OldRequest}.
_OLD_REQUEST = "_web2compat_oldRequest"

# The default session store of each web2 site (for adapters given none).
_siteStores: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _defaultReactor():
    from twisted.internet import reactor

    return reactor


def _storeFor(site, reactor) -> SessionStore:
    if site is None:
        return SessionStore(reactor)
    store = _siteStores.get(site)
    if store is None:
        store = _siteStores[site] = SessionStore(reactor)
    return store


def oldRequestFor(request, adapter: OldResourceAdapter | None = None) -> OldRequest:
    """
    The L{OldRequest} of the web2 C{request}, made on first use with the
    limits, session store and reactor of C{adapter} (the outermost
    twisted.web resource the request meets), then kept with the request.
    """
    old = vars(request).get(_OLD_REQUEST)
    if old is not None:
        return old
    if adapter is None:
        adapter = OldResourceAdapter(None)
    reactor = adapter.reactor if adapter.reactor is not None else _defaultReactor()
    store = adapter.sessionStore
    if store is None:
        store = _storeFor(getattr(request, "site", None), reactor)
    if not _klein._done:
        _klein.registerKlein()
    old = OldRequest(
        request, store, reactor,
        maxBodySize=adapter.maxBodySize,
        spoolThreshold=adapter.spoolThreshold,
        maxFormFields=adapter.maxFormFields,
    )
    setattr(request, _OLD_REQUEST, old)
    _watchConnection(request, old)
    return old


def _watchConnection(request, old: OldRequest) -> None:
    """
    Have the web2 request tell C{old} when the client goes away.
    """
    original = getattr(request, "connectionLost", None)
    if original is None:
        return

    def connectionLost(reason):
        try:
            original(reason)
        finally:
            old._connectionLost(reason)

    request.connectionLost = connectionLost


def _isAsync(value) -> bool:
    return isinstance(value, defer.Deferred) or inspect.isawaitable(value)


@implementer(IResource)
class OldResourceAdapter:
    """
    A twisted.web resource, traversed and rendered by web2.

    @ivar original: the twisted.web resource.
    @ivar sessionStore: the L{SessionStore} of C{request.getSession()}; by
        default one per web2 site.
    @ivar maxBodySize: the largest request body read before rendering;
        more is answered with 413.  Default 10 MiB.
    @ivar spoolThreshold: bodies larger than this go to a temporary file
        rather than memory.  Default 100 KiB.
    @ivar maxFormFields: the most fields parsed from a form body (more is
        a 400).  Default 10000.
    @ivar reactor: the reactor for deferred notifications (the global one
        by default).

    These settings apply to requests that meet this adapter first; the
    adapters of its children (made by adaptation) share that request's
    state.
    """

    def __init__(
        self, original, sessionStore: SessionStore | None = None,
        maxBodySize: int = 10 * 1024 * 1024, spoolThreshold: int = 100 * 1024,
        maxFormFields: int = 10000, reactor=None,
    ):
        self.original = original
        self.sessionStore = sessionStore
        self.maxBodySize = maxBodySize
        self.spoolThreshold = spoolThreshold
        self.maxFormFields = maxFormFields
        self.reactor = reactor

    def __repr__(self) -> str:
        return f"<OldResourceAdapter {self.original!r}>"

    def _prepared(self, request, then, *args):
        """
        Call C{then(old, *args)} once the request's body has been read.
        """
        old = oldRequestFor(request, self)
        pending = old._readContent()
        if pending is None:
            return then(old, *args)
        return pending.addCallback(lambda _: then(old, *args))

    # web2 IResource

    def locateChild(self, request, segments):
        return self._prepared(request, self._locate, request, segments)

    def renderHTTP(self, request):
        return self._prepared(request, self._render, request)

    # traversal

    def _locate(self, old: OldRequest, request, segments):
        if getattr(self.original, "isLeaf", False):
            return self, StopTraversal
        old._syncPath(request, segments)
        name = old.postpath.pop(0)
        old.prepath.append(name)
        child = self.original.getChildWithDefault(name, old)
        remaining = old._remaining()
        if _isAsync(child):
            return defer.ensureDeferred(child).addCallback(lambda c: (c, remaining))
        return child, remaining

    # rendering

    def _render(self, old: OldRequest, request):
        old._syncPath(request, request.postpath)
        old._inRender = True
        try:
            try:
                body = self.original.render(old)
            except twresource.UnsupportedMethod as e:
                body = self._unsupported(old, e)
            return self._result(old, body)
        except BaseException:
            if old._response is not None:
                # Nothing reached web2 yet: drop the partial response and
                # let web2 answer 500.
                old._abortResponse(Failure())
            raise
        finally:
            old._inRender = False

    def _result(self, old: OldRequest, body):
        """
        Turn what C{render()} returned into a web2 response or a Deferred of
        one; called with C{old._inRender} set.
        """
        if IResponse.providedBy(body):
            return body
        if body is NOT_DONE_YET:
            if old._response is not None:
                return old._collected()
            return old._waitForResponse()
        if isinstance(body, (bytes, bytearray, memoryview)):
            if not old.finished and not old._discarding:
                old.write(bytes(body))
                old.finish()
            return old._collected()
        if _isAsync(body):
            waiting = old._waitForResponse()
            defer.ensureDeferred(body).addCallbacks(
                self._lateResult, self._lateFailure, callbackArgs=(old,),
                errbackArgs=(old,))
            return waiting
        raise TypeError(f"{self.original!r}.render returned {body!r}, "
                        f"neither bytes nor NOT_DONE_YET")

    def _lateResult(self, body, old: OldRequest):
        if old._response is not None or old._waiting is None:
            # The resource already answered by writing.
            if isinstance(body, bytes) and not old.finished and not old._discarding:
                old.write(body)
                old.finish()
            return
        waiting, old._waiting = old._waiting, None
        old._inRender = True
        try:
            response = self._result(old, body)
        except BaseException:
            waiting.errback(Failure())
            return
        finally:
            old._inRender = False
        if _isAsync(response):
            response.chainDeferred(waiting)
        else:
            waiting.callback(response)

    def _lateFailure(self, failure, old: OldRequest):
        waiting, old._waiting = old._waiting, None
        if waiting is not None and old._response is None:
            waiting.errback(failure)
        else:
            log.failure("{resource!r} failed after answering", failure,
                        resource=self.original)
            old._abortResponse(failure)

    def _unsupported(self, old: OldRequest, error):
        """
        Answer a method the resource does not render: a HEAD is rendered
        as a GET (web2 sends no body), anything else is a 405 with Allow.
        """
        allowed = [m.decode("latin-1") if isinstance(m, bytes) else str(m)
                   for m in (error.allowedMethods or ())]
        if old.method == b"HEAD" and "GET" in allowed:
            old.method = b"GET"
            try:
                return self.original.render(old)
            finally:
                old.method = b"HEAD"
        response = http.StatusResponse(
            responsecode.NOT_ALLOWED,
            f"The method {old.method.decode('latin-1')} is not allowed here.")
        response.headers.setRawHeaders("allow", [", ".join(allowed)])
        return response


components.registerAdapter(OldResourceAdapter, twresource.IResource, IResource)
