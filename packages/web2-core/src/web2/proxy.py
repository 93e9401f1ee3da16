# -*- test-case-name: test_proxy -*-
"""
Trusted reverse proxies: where a request came through a proxy the operator
trusts (nginx or Apache on the same host, a load balancer), take the client
address, scheme, host, port and path prefix from the proxy's C{Forwarded}
(RFC 7239) or C{X-Forwarded-For/Proto/Host/Port/Prefix} headers, so that
logs, redirects and generated URLs are right.

Nothing is trusted by default.  Trust is given to address ranges; forwarding
headers from any other peer are ignored (and left in the request headers
for the application to see, untouched), so a client cannot spoof them.  The
values the proxy replaced stay available as C{request.originalRemoteAddr},
C{originalScheme}, C{originalHost} and C{originalPort}.

Even behind a trusted proxy, a client can send forwarding headers of its
own, and a proxy passes on whatever it does not set itself.  So the operator
names exactly one header family, the one the proxy writes (C{x-forwarded},
the default, or C{forwarded}), and the fields the proxy sets (by default
only C{for} and C{proto}; C{host}, C{port} and C{prefix} must be asked for):
nothing else is believed.
"""

from __future__ import annotations

import ipaddress

from twisted.internet import address
from twisted.logger import Logger
from zope.interface import alsoProvides, implementer

from web2.http_headers import HeaderParseError
from web2.iweb import IResource, ISiteRoot
from web2.server import splitHostPort

log = Logger(namespace=__name__)


def parseNetworks(specs):
    """
    Parse address ranges (C{"127.0.0.1"}, C{"10.0.0.0/8"}, C{"::1"}) and the
    word C{"unix"} (trust connections over UNIX sockets).
    """
    networks = []
    for spec in specs:
        spec = spec.strip()
        if spec == "unix":
            networks.append("unix")
        else:
            networks.append(ipaddress.ip_network(spec, strict=False))
    return networks


#: The header families a proxy may write.
HEADER_FAMILIES = ("x-forwarded", "forwarded")

#: The fields a proxy can report.
FIELDS = ("for", "proto", "host", "port", "prefix")


class TrustedProxies:
    """
    The set of proxies to trust, and the rewriting of a request that came
    through them.

    @ivar header: the one header family believed: C{"x-forwarded"}
        (X-Forwarded-For and friends) or C{"forwarded"} (RFC 7239).
    @ivar fields: the fields believed, a subset of L{FIELDS}.
    """

    def __init__(self, networks=("127.0.0.1", "::1"), header="x-forwarded",
                 fields=("for", "proto")):
        if header not in HEADER_FAMILIES:
            raise ValueError(f"header must be one of {', '.join(HEADER_FAMILIES)}, not {header!r}")
        unknown = set(fields) - set(FIELDS)
        if unknown:
            raise ValueError(f"unknown forwarded fields {sorted(unknown)} (known: {', '.join(FIELDS)})")
        self.networks = parseNetworks(networks)
        self.header = header
        self.fields = frozenset(fields)

    def isTrusted(self, host) -> bool:
        if host is None:
            return "unix" in self.networks
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            return False
        return any(n != "unix" and ip in n for n in self.networks)

    def rewrite(self, request):
        """
        Apply the forwarding headers of C{request} if its peer is trusted.
        """
        peer = request.remoteAddr
        peerHost = getattr(peer, "host", None) if not isinstance(peer, address.UNIXAddress) else None
        if not self.isTrusted(peerHost):
            return
        if self.header == "forwarded":
            hops = self._fromForwarded(request)
        else:
            hops = self._fromXForwarded(request)
        if not hops:
            return
        fields = self.fields
        nearest = {k: v for k, v in hops[-1].items() if k == "for" or k in fields}
        hops[-1] = nearest
        # Walk from the nearest proxy towards the client while the hop that
        # reported it is trusted: the first untrusted address is the client.
        chosen = hops[-1]
        for hop in reversed(hops):
            chosen = hop
            if not self.isTrusted(hop.get("for")):
                break
        request.originalRemoteAddr = request.remoteAddr
        request.originalScheme = request.scheme
        request.originalHost = request.host
        request.originalPort = request.port
        client = chosen.get("for") if "for" in fields else None
        if client:
            request.remoteAddr = address.IPv4Address("TCP", client, 0) if ":" not in client else address.IPv6Address("TCP", client, 0)
        nearest = hops[-1]
        proto = nearest.get("proto")
        if proto in ("http", "https"):
            request.scheme = proto
        host = nearest.get("host")
        defaultPort = 443 if request.scheme == "https" else 80
        if host:
            request.host, request.port = splitHostPort(host, defaultPort)
        elif proto:
            request.port = defaultPort
        port = nearest.get("port")
        if port and port.isdigit():
            request.port = int(port)
        prefix = nearest.get("prefix")
        if prefix and prefix.startswith("/") and "//" not in prefix:
            request.pathPrefix = prefix.rstrip("/")

    def _fromForwarded(self, request):
        try:
            elements = request.headers.getHeader("forwarded")
        except HeaderParseError as e:
            log.info("Ignoring a malformed Forwarded header: {e}", e=e)
            return None
        if not elements:
            return None
        hops = []
        for element in elements:
            hop = {}
            value = element.get("for")
            if value:
                hop["for"] = _nodeAddress(value)
            for name in ("proto", "host"):
                if element.get(name):
                    hop[name] = element[name].lower() if name == "proto" else element[name]
            hops.append(hop)
        return hops

    def _fromXForwarded(self, request):
        headers = request.headers
        raw = headers.getRawHeaders("x-forwarded-for") or ()
        addresses = [a.strip() for line in raw for a in line.split(",") if a.strip()]
        hops = [{"for": _nodeAddress(a)} for a in addresses]
        # A proxy may set the other fields without X-Forwarded-For (nginx's
        # "proxy_set_header X-Forwarded-Proto $scheme" alone): they are its
        # word on the one hop it knows, and the client stays the peer.
        nearest = hops[-1] if hops else {"for": None}
        for name in ("proto", "host", "port", "prefix"):
            values = headers.getRawHeaders("x-forwarded-" + name)
            if values:
                # The last value is the one our trusted proxy appended.
                nearest[name] = values[-1].split(",")[-1].strip()
                if name == "proto":
                    nearest[name] = nearest[name].lower()
        if not hops and len(nearest) > 1:
            hops = [nearest]
        return hops or None


def _nodeAddress(node: str) -> str | None:
    """
    The IP address of an RFC 7239 node (C{192.0.2.1:80}, C{[2001:db8::1]},
    C{unknown}, C{_hidden}), or C{None} when it names none.
    """
    node = node.strip().strip('"')
    if node.startswith("["):
        node = node[1:].partition("]")[0]
    elif node.count(":") == 1:
        node = node.partition(":")[0]
    try:
        return str(ipaddress.ip_address(node))
    except ValueError:
        return None


@implementer(IResource)
class TrustedProxyResource:
    """
    Wraps a site's root so that every request is rewritten by
    L{TrustedProxies} before traversal.
    """

    def __init__(self, resource, proxies: TrustedProxies):
        self.resource = IResource(resource)
        self.proxies = proxies
        if ISiteRoot.providedBy(self.resource):
            # An application that makes its site's requests (web2-asgi's)
            # still gets them rewritten, before it answers them.
            alsoProvides(self, ISiteRoot)

    def requestFactory(self, site, rewrites=()):
        """
        The wrapped root's request factory (L{ISiteRoot}), with this
        wrapper's rewriting after those of the wrappers around it, as
        traversal would apply them.
        """
        if not ISiteRoot.providedBy(self.resource):
            return None
        return self.resource.requestFactory(site, (*rewrites, self.proxies.rewrite))

    def locateChild(self, request, segments):
        self.proxies.rewrite(request)
        return self.resource, segments

    def renderHTTP(self, request):
        self.proxies.rewrite(request)
        return self.resource
