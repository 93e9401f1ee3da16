# -*- test-case-name: test_vhost -*-
"""
Virtual hosting: one site answering for several host names
(L{NameVirtualHost}), and resources that know the public URL they are
served under behind a rewriting front end (L{VHostURIRewrite}).
"""

from __future__ import annotations

import urllib.parse

from zope.interface import implementer

from web2 import http, responsecode
from web2.iweb import IResource
from web2.server import splitHostPort


@implementer(IResource)
class NameVirtualHost:
    """
    Chooses a resource by the host the client asked for.

    @ivar supportNested: when true, C{a.b.example.com} falls back to the
        resource of C{b.example.com}, then C{example.com}.
    """

    def __init__(self, default=None, supportNested=True):
        self.hosts: dict[str, object] = {}
        self.default = default
        self.supportNested = supportNested

    def addHost(self, name: str, resource):
        self.hosts[name.lower().rstrip(".")] = IResource(resource)

    def removeHost(self, name: str):
        del self.hosts[name.lower().rstrip(".")]

    def _resourceFor(self, request):
        host = (request.host or "").lower().rstrip(".")
        resource = self.hosts.get(host)
        if resource is None and self.supportNested:
            labels = host.split(".")
            for i in range(1, len(labels)):
                resource = self.hosts.get(".".join(labels[i:]))
                if resource is not None:
                    break
        if resource is None:
            resource = self.default
        if resource is None:
            raise http.HTTPError(http.StatusResponse(
                responsecode.NOT_FOUND, f"No site is configured for the host {host!r}."
            ))
        return resource

    def locateChild(self, request, segments):
        return self._resourceFor(request), segments

    def renderHTTP(self, request):
        return self._resourceFor(request)


@implementer(IResource)
class VHostURIRewrite:
    """
    Serves C{resource} as if under the fixed public URL C{uri}: scheme, host,
    port and path prefix of every URL the request builds come from C{uri}.
    Put it where a front end (nginx C{proxy_pass http://web2/}, say) mounts
    the application under another name.
    """

    def __init__(self, uri: str, resource):
        parts = urllib.parse.urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{uri!r} is not an absolute http(s) URL")
        self.scheme = parts.scheme
        default = 443 if self.scheme == "https" else 80
        self.host, self.port = splitHostPort(parts.netloc, default)
        self.prefix = parts.path.rstrip("/")
        self.resource = IResource(resource)

    def _rewrite(self, request):
        request.scheme = self.scheme
        request.host = self.host
        request.port = self.port
        # The path below this point is what the public URL has after the
        # prefix: drop the raw segments traversal consumed to get here.
        rawSegments = request.path.split("/")
        request.path = "/".join([""] + rawSegments[1 + len(request.prepath):]) or "/"
        request.pathPrefix = self.prefix
        request.prepath = []

    def locateChild(self, request, segments):
        self._rewrite(request)
        return self.resource, segments

    def renderHTTP(self, request):
        raise http.HTTPError(responsecode.NOT_FOUND)
