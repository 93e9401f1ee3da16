# -*- test-case-name: test_resource -*-
"""
Resources: the nodes of the URL tree.  A resource finds its children with
L{Resource.locateChild} (by default through C{child_<name>} attributes) and
answers a request with an C{http_<METHOD>} method, by default C{render} for
GET and HEAD.
"""

from __future__ import annotations

import urllib.parse

from zope.interface import implementer

from web2 import http, responsecode
from web2.iweb import IResource


class _StopTraversal:
    """
    Returned by C{locateChild} in place of the remaining segments: traversal
    stops at the returned resource and the rest stays in C{request.postpath}.
    """

    def __repr__(self) -> str:
        return "StopTraversal"


StopTraversal = _StopTraversal()


def _allowedMethods(cls) -> tuple[str, ...]:
    methods = []
    for klass in cls.__mro__:
        for name in vars(klass):
            if name.startswith("http_") and name[5:] not in methods:
                methods.append(name[5:])
    allowed = []
    for method in methods:
        if getattr(cls, "http_" + method, None) is None:
            continue
        if method in ("GET", "HEAD") and not _canRender(cls):
            continue
        allowed.append(method)
    return tuple(sorted(allowed))


_renderable: dict[type, bool] = {}


def _canRender(cls) -> bool:
    """
    Whether C{cls} answers GET: it overrides C{render} or C{http_GET}.
    """
    answer = _renderable.get(cls)
    if answer is None:
        answer = _renderable[cls] = (
            cls.render is not RenderMixin.render or cls.http_GET is not RenderMixin.http_GET
        )
    return answer


# method -> ("http_<method>", "preconditions_<method>"), so that dispatch
# does not build two strings per request.  Bounded: methods are whatever
# tokens clients send.
_names: dict[str, tuple[str, str]] = {}


def _methodNames(method: str) -> tuple[str, str]:
    names = ("http_" + method, "preconditions_" + method)
    if len(_names) < 64:
        _names[method] = names
    return names


@implementer(IResource)
class RenderMixin:
    """
    Method dispatch: C{renderHTTP} calls C{http_<METHOD>}, answers 405 with
    a correct C{Allow} for a method the class does not have, and gives
    OPTIONS and HEAD for free.  Setting C{http_X = None} removes a method.
    """

    addSlash = False
    _allowedCache: dict = {}

    def allowedMethods(self) -> tuple[str, ...]:
        """
        The methods this resource answers, computed once per class.
        """
        cls = self.__class__
        try:
            return RenderMixin._allowedCache[cls]
        except KeyError:
            allowed = RenderMixin._allowedCache[cls] = _allowedMethods(cls)
            return allowed

    def checkPreconditions(self, request):
        """
        Run the preconditions of a state-changing request before its handler
        (GET and HEAD are checked later, against the response), then
        C{preconditions_<METHOD>} if the class defines it.
        """
        method = request.method
        if method not in ("GET", "HEAD"):
            http.checkPreconditions(request)
        names = _names.get(method) or _methodNames(method)
        hook = getattr(self, names[1], None)
        if hook is not None:
            return hook(request)
        return None

    def renderHTTP(self, request):
        method = request.method
        names = _names.get(method) or _methodNames(method)
        handler = getattr(self, names[0], None)
        if handler is None or (method in ("GET", "HEAD") and not _canRender(type(self))):
            return self._notAllowed(request)
        if self.addSlash and method in ("GET", "HEAD"):
            path = request.path
            if not path.endswith("/"):
                return _slashRedirect(request)
        result = self.checkPreconditions(request)
        if result is not None:
            return _chain(result, lambda _: handler(request))
        return handler(request)

    def _notAllowed(self, request):
        response = http.StatusResponse(
            responsecode.NOT_ALLOWED,
            f"The method {request.method} is not allowed here.",
        )
        response.headers.setRawHeaders("allow", [", ".join(self.allowedMethods())])
        return response

    def http_OPTIONS(self, request):
        response = http.Response(responsecode.OK)
        response.headers.setRawHeaders("allow", [", ".join(self.allowedMethods())])
        return response

    def http_HEAD(self, request):
        return self.http_GET(request)

    def http_GET(self, request):
        return self.render(request)

    def render(self, request):
        """
        Answer GET and HEAD.  Subclasses override it; a resource that does
        not answers 405 and leaves GET out of its C{Allow}.
        """
        raise http.HTTPError(responsecode.NOT_ALLOWED)


def _chain(result, then):
    from twisted.internet import defer

    d = defer.ensureDeferred(result) if not isinstance(result, defer.Deferred) else result
    return d.addCallback(then)


def _slashRedirect(request):
    location = request.unparseURL(path=request.path + "/")
    return http.RedirectResponse(location)


class Resource(RenderMixin):
    """
    A resource whose children are its C{child_<name>} attributes: a
    resource, or a method called with the request that returns one.  Then
    L{childFactory} is asked; failing both, the answer is 404.
    """

    def locateChild(self, request, segments):
        name = segments[0]
        child = getattr(self, "child_" + name, None)
        if child is not None:
            resource = IResource(child, None)
            if resource is None and callable(child):
                resource = child(request)
            return resource, segments[1:]
        child = self.childFactory(request, name)
        if child is not None:
            return child, segments[1:]
        if name == "" and len(segments) == 1:
            # A trailing slash names this resource itself.
            return self, ()
        return None, ()

    def childFactory(self, request, name):
        """
        Make the child called C{name} when no C{child_<name>} exists.
        @return: a resource, or C{None} for 404.
        """
        return None

    def putChild(self, name: str, child):
        """
        Register C{child} under C{name} (C{""} is the child for a trailing
        slash).
        """
        setattr(self, "child_" + name, child)


class PostableResource(Resource):
    """
    A resource that accepts form posts: C{http_POST} parses the body into
    C{request.args} and C{request.files} within the class's limits, then
    renders.
    """

    maxMem = 100 * 1024
    maxFields = 1024
    maxSize = 10 * 1024 * 1024
    maxFiles = 100
    spoolThreshold = 256 * 1024
    tempDir = None

    def http_POST(self, request):
        from web2.server import parsePOSTData

        d = parsePOSTData(
            request, self.maxMem, self.maxFields, self.maxSize,
            maxFiles=self.maxFiles, spoolThreshold=self.spoolThreshold,
            tempDir=self.tempDir,
        )
        return d.addCallback(lambda _: self.render(request))


class LeafResource(RenderMixin):
    """
    A resource with no children: it takes the whole remaining path, which it
    finds in C{request.postpath}.
    """

    def locateChild(self, request, segments):
        return self, StopTraversal


class RedirectResource(LeafResource):
    """
    Redirects to another URL on this server, built from the request's own
    with the given parts replaced (see L{web2.server.Request.unparseURL}).
    """

    def __init__(self, *args, **kwargs):
        self.args = args
        self.kwargs = kwargs

    def renderHTTP(self, request):
        return http.RedirectResponse(request.unparseURL(*self.args, **self.kwargs))


@implementer(IResource)
class WrapperResource:
    """
    Runs C{hook(request)} before handing traversal and rendering to the
    wrapped resource; the hook may return a Deferred, or raise
    L{http.HTTPError} to answer instead.
    """

    def __init__(self, resource):
        self.resource = resource

    def hook(self, request):
        """
        Override to inspect or modify C{request}.
        """

    def locateChild(self, request, segments):
        result = self.hook(request)
        if result is not None:
            return _chain(result, lambda _: (self.resource, segments))
        return self.resource, segments

    def renderHTTP(self, request):
        result = self.hook(request)
        if result is not None:
            return _chain(result, lambda _: self.resource)
        return self.resource


def quoteSegment(segment: str) -> str:
    """
    Percent-encode one path segment for use in a URL.
    """
    return urllib.parse.quote(segment, safe="!$&'()*+,;=:@~", errors="surrogateescape")
