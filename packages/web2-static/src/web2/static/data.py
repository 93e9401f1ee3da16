# -*- test-case-name: test_static_file -*-
"""
Static resources in general, and L{Data}, the static resource held in
memory.

A static resource knows its own metadata (L{MetaDataMixin}): validators,
type, length.  Its responses carry them as headers, which is all the
site's default filters need to answer conditional GETs (304, 412) and
ranges (206, 416); L{StaticRenderMixin} applies the same validators to the
preconditions of other methods (C{PUT} with C{If-Match}, say), for
subclasses that accept them.
"""

from __future__ import annotations

import hashlib
import time

from web2 import http, responsecode, stream
from web2.http_headers import Headers, generateDateTime
from web2.resource import RenderMixin


def parseETag(raw: str | None):
    """
    The parsed form of a raw C{ETag} value (as C{checkPreconditions}
    compares them), or C{None}.
    """
    if raw is None:
        return None
    headers = Headers()
    headers.setRawHeaders("etag", [raw])
    return headers.getHeader("etag")


class MetaDataMixin:
    """
    The metadata of a static resource; everything is unknown (C{None}) by
    default and the resource exists.
    """

    def etag(self):
        """
        @return: the parsed entity tag, or C{None}.
        """
        return None

    def lastModified(self):
        """
        @return: the modification time in whole seconds since the epoch, or
            C{None}.
        """
        return None

    def contentType(self):
        """
        @return: the Content-Type as a C{str}, or C{None}.
        """
        return None

    def contentEncoding(self):
        """
        @return: the Content-Encoding as a C{str}, or C{None}.
        """
        return None

    def contentLength(self):
        """
        @return: the length in bytes, or C{None}.
        """
        return None

    def displayName(self):
        """
        @return: a name to show for this resource, or C{None}.
        """
        return None

    def exists(self) -> bool:
        """
        @return: whether the resource exists (a missing file may still be a
            resource, so that a subclass can create it with C{PUT}).
        """
        return True


class StaticRenderMixin(RenderMixin, MetaDataMixin):
    """
    Method dispatch for static resources: the preconditions of methods other
    than GET and HEAD are evaluated against this resource's own metadata.
    (GET and HEAD are checked by the site against the response headers.)
    """

    def checkPreconditions(self, request):
        if request.method not in ("GET", "HEAD"):
            http.checkPreconditions(
                request,
                entityExists=self.exists(),
                etag=self.etag(),
                lastModified=self.lastModified(),
            )
        hook = getattr(self, "preconditions_" + request.method, None)
        if hook is not None:
            return hook(request)
        return None


class Data(StaticRenderMixin):
    """
    A resource whose representation is a fixed C{bytes} in memory, such as
    a favicon or a generated stylesheet.

    The ETag is strong and derived from the content and type, so it stays
    the same across restarts and processes serving the same data;
    Last-Modified is the creation time of this object unless given.

    @ivar data: the bytes served.
    @ivar type: the Content-Type.
    """

    def __init__(self, data: bytes, type: str, lastModified: float | None = None):
        """
        @param data: the representation.
        @param type: its Content-Type, for example C{"text/css; charset=utf-8"}.
        @param lastModified: seconds since the epoch; now by default.
        """
        if not isinstance(data, bytes):
            raise TypeError(f"Data needs bytes, not {data.__class__.__name__}")
        self.data = data
        self.type = str(type)
        self.created = int(time.time() if lastModified is None else lastModified)
        digest = hashlib.sha256(self.type.encode("utf-8") + b"\0" + data)
        self._etag = f'"{digest.hexdigest()[:32]}"'
        self._rawHeaders = (
            ("content-type", self.type),
            ("etag", self._etag),
            ("last-modified", generateDateTime(self.created)),
        )

    def etag(self):
        return parseETag(self._etag)

    def lastModified(self):
        return self.created

    def contentType(self):
        return self.type

    def contentLength(self):
        return len(self.data)

    def locateChild(self, request, segments):
        # At the root of a site, "/" names this resource; elsewhere it has
        # no children, not even "data/".
        if segments == ("",) and not getattr(request, "prepath", None):
            return self, ()
        return None, ()

    def render(self, request):
        headers = Headers()
        for name, value in self._rawHeaders:
            headers.setRawHeaders(name, [value])
        return http.Response(responsecode.OK, headers, stream.MemoryStream(self.data))

    def __repr__(self) -> str:
        return f"<Data {self.type} {len(self.data)} bytes>"
