# -*- test-case-name: test_cgi_script -*-
"""
Local redirects (RFC 3875 section 6.2.2): a script that answers with only
C{Location: /path} asks the server to answer the request as if it had been
a GET of that path.  The request is rewritten in place and traversed again
from the site's root; the resource found is returned for the site to
render.
"""

from __future__ import annotations

import urllib.parse

from twisted.internet import defer

from web2 import http, responsecode
from web2.iweb import IResource
from web2.resource import StopTraversal
from web2.stream import MemoryStream

#: How many local redirects one request may follow.
MAX_LOCAL_REDIRECTS = 10

_BODY_HEADERS = ("content-length", "content-type", "content-encoding", "transfer-encoding")


def _rewrite(request, location: str) -> None:
    path, _, query = location.partition("?")
    path = path.partition("#")[0]
    request.method = "GET"
    request.uri = path + ("?" + query if query else "")
    request.path = path
    request.querystring = query
    request.args = None
    old = request.stream
    request.stream = MemoryStream(b"")
    if old is not None:
        old.close()
    for name in _BODY_HEADERS:
        request.headers.removeHeader(name)
    request.prepath = []
    request.postpath = [
        urllib.parse.unquote(segment, errors="surrogateescape")
        for segment in path[1:].split("/")
    ]


@defer.inlineCallbacks
def _walk(request, resource):
    for _ in range(256):
        if not request.postpath:
            return resource
        segments = tuple(request.postpath)
        child, rest = yield defer.maybeDeferred(resource.locateChild, request, segments)
        if isinstance(child, defer.Deferred):
            child = yield child
        if child is None:
            raise http.HTTPError(responsecode.NOT_FOUND)
        child = IResource(child)
        if rest is StopTraversal:
            return child
        consumed = len(segments) - len(rest)
        if consumed <= 0 and child is resource:
            raise RuntimeError(f"{resource!r} returned itself without consuming a segment")
        request.prepath.extend(segments[:consumed])
        request.postpath = list(rest)
        resource = child
    raise RuntimeError("traversal of a local redirect did not converge")


def localRedirect(request, location: str) -> defer.Deferred:
    """
    Answer C{request} with whatever the site answers to C{GET location}.

    @param location: an absolute path, possibly with a query.
    @return: a Deferred firing with the resource to render.
    @raise HTTPError: (through the Deferred) 500 after
        L{MAX_LOCAL_REDIRECTS} redirects, a loop most likely.
    """
    count = getattr(request, "_cgiLocalRedirects", 0) + 1
    request._cgiLocalRedirects = count
    if count > MAX_LOCAL_REDIRECTS:
        return defer.fail(http.HTTPError(
            responsecode.INTERNAL_SERVER_ERROR,
            "Too many local redirects from CGI scripts."))
    _rewrite(request, location)
    return _walk(request, request.site.resource)
