# -*- test-case-name: test_compat_request -*-
"""
Where a twisted.web request comes from and goes to: the client's and the
server's addresses, the host the client asked for, and the URLs twisted.web
builds from them (C{prePathURL}, C{URLPath}, C{childLink}...), taken from
the web2 request (so trusted-proxy and path-prefix rewriting apply).
"""

from __future__ import annotations

from urllib.parse import quote

from twisted.internet import address
from twisted.python.urlpath import URLPath


def _text(segment: bytes) -> str:
    return segment.decode("utf-8", "surrogateescape")


class RequestLocation:
    """
    A mixin giving L{web2.compat.request.OldRequest} its address and URL
    methods.  The class using it provides C{webRequest}, C{host},
    C{requestHeaders}, C{prepath} and C{postpath}.
    """

    _forceSSL = False
    _hostOverride = None
    appRootURL = None


    def _localAddress(self):
        chan = self.webRequest.chanRequest
        return chan.getHostInfo()[0] if chan is not None else None

    def getClientAddress(self):
        """
        The client's L{IAddress} (after a trusted proxy, the one it named).
        """
        remote = getattr(self.webRequest, "remoteAddr", None)
        if remote is None and self.webRequest.chanRequest is not None:
            remote = self.webRequest.chanRequest.getRemoteHost()
        return remote

    def getClientIP(self):
        """
        The client's IP address as a C{str}, or C{None} off IP.
        """
        remote = self.getClientAddress()
        if isinstance(remote, (address.IPv4Address, address.IPv6Address)):
            return remote.host
        return None

    def getHost(self):
        """
        The local address the request arrived on (or the one L{setHost} set).
        """
        return self.host

    def setHost(self, host: bytes, port: int, ssl: bool = False) -> None:
        """
        Pretend the request came to C{host}:C{port} (behind a reverse proxy).
        """
        self._forceSSL = bool(ssl)
        self._hostOverride = (host if isinstance(host, bytes) else host.encode("ascii"), port)
        defaultPort = 443 if ssl else 80
        hostHeader = self._hostOverride[0]
        if port != defaultPort:
            hostHeader += b":%d" % port
        self.requestHeaders.setRawHeaders(b"host", [hostHeader])
        self.host = address.IPv4Address("TCP", _text(self._hostOverride[0]), port)

    def isSecure(self) -> bool:
        """
        Whether the client's connection is encrypted (as a trusted proxy
        says, or as L{setHost} declared).
        """
        return self._forceSSL or getattr(self.webRequest, "scheme", "http") == "https"

    def getRequestHostname(self) -> bytes:
        """
        The host the client asked for, without the port.
        """
        if self._hostOverride is not None:
            return self._hostOverride[0]
        host = getattr(self.webRequest, "host", "") or getattr(self.host, "host", "")
        return host.encode("latin-1", "replace")

    def _urlFor(self, segments) -> bytes:
        request = self.webRequest
        if self._hostOverride is not None:
            host, port = _text(self._hostOverride[0]), self._hostOverride[1]
        else:
            host, port = request.host, request.port
        scheme = "https" if self.isSecure() else "http"
        path = "/" + "/".join(quote(s, safe="") for s in segments)
        return request.unparseURL(scheme=scheme, host=host, port=port, path=path,
                                  querystring="").encode("latin-1")

    def prePathURL(self) -> bytes:
        """
        The absolute URL of the resource traversal has reached.
        """
        return self._urlFor(self.prepath)

    def URLPath(self) -> URLPath:
        """
        L{prePathURL} as a L{twisted.python.urlpath.URLPath}.
        """
        return URLPath.fromBytes(self.prePathURL())

    def rememberRootURL(self) -> None:
        """
        Remember L{prePathURL} for L{getRootURL}.
        """
        self.appRootURL = self.prePathURL()

    def getRootURL(self):
        """
        The URL remembered by L{rememberRootURL}, or C{None}.
        """
        return self.appRootURL

    def childLink(self, name: bytes) -> bytes:
        """
        A relative link to the child C{name} of the resource being rendered.
        """
        depth = len(self.postpath)
        if depth > 1:
            return b"../" * (depth - 1) + name
        if depth == 1:
            return name
        if self.prepath and self.prepath[-1]:
            return self.prepath[-1] + b"/" + name
        return name

    def sibLink(self, name: bytes) -> bytes:
        """
        A relative link to the sibling C{name} of the resource being rendered.
        """
        depth = len(self.postpath)
        if depth:
            return b"../" * depth + name
        return name
