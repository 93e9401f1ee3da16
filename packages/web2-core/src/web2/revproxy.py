# -*- test-case-name: test_revproxy -*-
"""
A reverse proxy: a resource that answers every request below it by
forwarding it to an upstream HTTP server through L{web2.client}, and the
mount kind C{proxy:URL} (C{--mount /api=proxy:http://127.0.0.1:9000/}).

(Not to be confused with L{web2.proxy}, which decides whether to believe
the forwarding headers of a proxy I{in front of} web2.)

Rules, in the order they matter:

 1. Nothing is buffered whole.  The request body streams to the upstream as
    it arrives (a chunked body stays chunked, a sized one keeps its
    length), and the upstream's body streams to the client; in both
    directions a reader that does not keep up pauses the writer's socket.
 2. C{Expect: 100-continue} is passed through: the client gets its C{100}
    when the upstream gives one (or when the upstream client stops
    waiting), and a final answer without it is passed on with the body
    never read.
 3. Hop-by-hop fields (RFC 9110 section 7.6.1: Connection and the fields it
    names, Keep-Alive, Proxy-Connection, TE, Trailer, Transfer-Encoding,
    Upgrade, Proxy-Authorization/-Authenticate) are removed both ways.
    The forwarding fields (C{X-Forwarded-For/-Proto/-Host}, or RFC 7239
    C{Forwarded}) say who asked; C{Host} is the upstream's unless
    C{preserveHost}.
 4. The mount prefix maps onto the upstream URL's path: with
    C{/api=proxy:http://up:9000/v1/}, C{/api/users?x=1} goes to
    C{/v1/users?x=1}; a dot-segment below the mount (C{..}, C{%2e%2e}, or
    one inside an encoded slash) is refused with 400, so that no upstream
    resolves a path above its URL's.  C{Location} (and C{Content-Location}) fields and
    cookie paths pointing into the upstream are rewritten back (as nginx's
    C{proxy_redirect} and C{proxy_cookie_path}).
 5. Failures answer fast and are logged once: 502 when no upstream can be
    reached or one answers garbage, 504 when one does not answer in time.
    An upstream that fails is skipped for C{failTimeout} seconds (passive
    health); a connection failure, or a bodiless request answered by a
    closed connection, is retried on the next upstream.  After
    the head went out, an upstream failure aborts the client's connection
    (its body cannot be finished honestly).
 6. A client that leaves cancels its upstream exchange (the upstream
    connection is closed, not returned to the pool).
 7. A request to switch protocols (C{Upgrade} named in C{Connection}: a
    WebSocket handshake, say) is passed on with its C{Upgrade}; an upstream
    C{101} is passed back and the two connections are joined into a raw
    tunnel, with backpressure both ways, until either side closes.
"""

from __future__ import annotations

import re
import urllib.parse

from twisted.internet import defer, protocol
from twisted.internet.error import ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2 import _wire, http
from web2.http_headers import Headers
from web2.iweb import IResource
from web2.stream import SimpleStream

log = Logger(namespace=__name__)

__all__ = ["ReverseProxyResource", "Upstream", "proxyMount"]

#: Hop-by-hop fields, removed in both directions (besides those that
#: Connection names).
HOP_BY_HOP = frozenset([
    b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer",
    b"transfer-encoding", b"upgrade", b"proxy-authorization", b"proxy-authenticate",
])
# The framing of each side is its own.
_DROP_ALWAYS = HOP_BY_HOP | {b"content-length"}
_FORWARDING = frozenset([b"x-forwarded-proto", b"x-forwarded-host", b"forwarded"])

_COOKIE_PATH = re.compile(r"(;\s*[Pp][Aa][Tt][Hh]=)([^;]*)")


class Upstream:
    """
    One upstream server and its passive health.

    @ivar url: the L{web2.client.URL} requests go to.
    @ivar base: the upstream URL without its path, e.g. C{http://h:9000}.
    @ivar path: its path, e.g. C{/} or C{/v1/}.
    @ivar failedUntil: the time until which it is skipped.
    """

    def __init__(self, url: str):
        from web2.client import URL

        self.url = URL(url)
        parts = urllib.parse.urlsplit(url)
        if parts.query or parts.fragment:
            raise ValueError(f"an upstream URL has no query or fragment: {url!r}")
        self.base = f"{self.url.scheme}://{parts.netloc}"
        self.path = parts.path or "/"
        self.failedUntil = 0.0

    def target(self, rest: list[str], query: str) -> str:
        """
        The upstream request-target for the raw path segments C{rest} below
        the mount, and the raw C{query}.
        """
        if rest:
            target = self.path.rstrip("/") + "/" + "/".join(rest)
        else:
            target = self.path
        return target + ("?" + query if query else "")

    def __repr__(self) -> str:
        return f"<Upstream {self.base}{self.path}>"


class _HeadBody(SimpleStream):
    """
    The body of a proxied HEAD answer: its length is the upstream's
    Content-Length, and it has no bytes (nothing is read from it).
    """

    def __init__(self, length):
        self.length = length

    def read(self):
        return None


class _UpstreamBody(SimpleStream):
    """
    The upstream's response body, passed on; an upstream failure mid-body
    is logged once here and reaches the channel as a lost connection (which
    aborts the client's connection without another log line).
    """

    def __init__(self, stream, describe):
        self._stream = stream
        self._describe = describe

    @property
    def length(self):
        return 0 if self.closed else self._stream.length

    def read(self):
        if self.closed:
            return None
        data = self._stream.read()
        if isinstance(data, defer.Deferred):
            return data.addErrback(self._failed)
        return data

    def _failed(self, failure):
        log.warn("Proxy: {what} failed in the middle of the body: {error}",
                 what=self._describe(), error=failure.getErrorMessage())
        return Failure(ConnectionLost(failure.getErrorMessage()))

    def close(self):
        # (Not SimpleStream.close: the length is the upstream stream's.)
        self.closed = True
        self._stream.close()


class _ClientSide(protocol.Protocol):
    """
    The client's connection after a passed-on C{101}: its bytes go to the
    upstream's tunnel, and each transport pauses the other's reading while
    its own output backs up.
    """

    def __init__(self, tunnel):
        self.tunnel = tunnel

    def connectionMade(self):
        self.transport.registerProducer(self.tunnel.transport, True)
        self.tunnel.transport.registerProducer(self.transport, True)
        self.tunnel.connect(_UpstreamSide(self.transport))

    def dataReceived(self, data):
        self.tunnel.write(data)

    def readConnectionLost(self):
        self._closeUpstream()

    def connectionLost(self, reason):
        self._closeUpstream()

    def _closeUpstream(self):
        # (A transport with a producer registered does not close.)
        self.tunnel.transport.unregisterProducer()
        self.tunnel.loseConnection()


class _UpstreamSide:
    """
    The upstream's end of a tunnel: its bytes go to the client.
    """

    def __init__(self, transport):
        self.transport = transport

    def dataReceived(self, data):
        self.transport.write(data)

    def connectionLost(self, reason):
        self.transport.unregisterProducer()
        self.transport.loseConnection()


def _upgradeRequested(request) -> bytes | None:
    """
    The C{Upgrade} value of a request that asks to switch protocols
    (C{Upgrade} named in C{Connection}), else C{None}.
    """
    upgrade = request.headers._firstRaw("upgrade")
    connection = ",".join(request.headers.getRawHeaders("connection", []))
    if upgrade and "upgrade" in {t.strip().lower() for t in connection.split(",")}:
        return upgrade.encode("latin-1")
    return None


def _connectionTokens(pairs):
    tokens = set()
    for name, value in pairs:
        if name.lower() == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    return tokens


def _endToEnd(pairs, drop=_DROP_ALWAYS):
    """
    The fields of C{pairs} that are not hop-by-hop.
    """
    named = _connectionTokens(pairs)
    return [(n, v) for n, v in pairs if (low := n.lower()) not in drop and low not in named]


@implementer(IResource)
class ReverseProxyResource:
    """
    Forward every request at and below this resource to upstream servers
    (see the module docstring for the rules).
    """

    def __init__(
        self,
        upstreams,
        *,
        client=None,
        reactor=None,
        forwarded="x-forwarded",
        preserveHost=False,
        rewriteRedirects=True,
        rewriteCookiePaths=True,
        connectTimeout=5.0,
        responseTimeout=60.0,
        bodyTimeout=60.0,
        maxConnectionsPerHost=64,
        idleTimeout=30.0,
        failTimeout=10.0,
        limits=None,
        tlsOptionsFor=None,
    ):
        """
        @param upstreams: one upstream URL (C{str}) or several (tried in
            round robin).
        @param client: a L{web2.client.Client} to use; by default one is
            made from the timeouts and limits below (and shared by the
            upstreams: its pool keeps connections alive per upstream).
        @param reactor: the reactor; the global one by default.
        @param forwarded: C{"x-forwarded"} (X-Forwarded-For, -Proto, -Host:
            the default), C{"forwarded"} (RFC 7239) or C{"none"}.
        @param preserveHost: send the client's C{Host} to the upstream
            instead of the upstream's own.
        @param rewriteRedirects: rewrite C{Location} and
            C{Content-Location} values under the upstream URL back to the
            mount's URL.
        @param rewriteCookiePaths: rewrite C{Set-Cookie} paths under the
            upstream path to the mount's path.
        @param connectTimeout: seconds to connect to an upstream; default 5.
        @param responseTimeout: seconds from the end of the request to the
            upstream's response head; default 60 (then 504).
        @param bodyTimeout: seconds without progress while a body moves;
            default 60.
        @param maxConnectionsPerHost: connections per upstream; default 64.
        @param idleTimeout: seconds an idle upstream connection is kept
            alive; default 30.
        @param failTimeout: seconds a failed upstream is skipped; default 10.
        @param limits: L{web2._wire.Limits} for the upstream's responses.
        @param tlsOptionsFor: see L{web2.client.Client}.
        """
        from web2.client import Client

        if isinstance(upstreams, str):
            upstreams = [upstreams]
        self.upstreams = [Upstream(u) for u in upstreams]
        if not self.upstreams:
            raise ValueError("a reverse proxy needs at least one upstream URL")
        if forwarded not in ("x-forwarded", "forwarded", "none"):
            raise ValueError(f"forwarded must be x-forwarded, forwarded or none, not {forwarded!r}")
        self.forwarded = forwarded
        self.preserveHost = preserveHost
        self.rewriteRedirects = rewriteRedirects
        self.rewriteCookiePaths = rewriteCookiePaths
        self.failTimeout = failTimeout
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        if client is None:
            client = Client(
                reactor, maxConnectionsPerHost=maxConnectionsPerHost, idleTimeout=idleTimeout,
                connectTimeout=connectTimeout, responseTimeout=responseTimeout,
                bodyTimeout=bodyTimeout, limits=limits, tlsOptionsFor=tlsOptionsFor,
                userAgent=None,
            )
        self.client = client
        self._next = 0

    # Traversal: everything below is ours.

    def locateChild(self, request, segments):
        for segment in segments:
            # A dot-segment (also percent-encoded, or inside an encoded
            # slash) would let the upstream resolve the path above the
            # upstream URL's own: /api/../admin must not reach /admin.
            if any(part in (".", "..") for part in segment.split("/")):
                raise http.HTTPError(http.StatusResponse(
                    400, "Dot-segments are not forwarded."))
        request._proxyRest = len(segments)
        return self, ()

    def renderHTTP(self, request):
        return defer.ensureDeferred(self._forward(request))

    # Choosing an upstream

    def _choose(self, exclude=()):
        """
        The next upstream in turn that is not skipped, else (all failed
        recently) the one whose skip ends first.
        """
        now = self._reactor.seconds()
        count = len(self.upstreams)
        for i in range(count):
            upstream = self.upstreams[(self._next + i) % count]
            if upstream.failedUntil <= now and upstream not in exclude:
                self._next = (self._next + i + 1) % count
                return upstream
        candidates = [u for u in self.upstreams if u not in exclude]
        if not candidates:
            return None
        return min(candidates, key=lambda u: u.failedUntil)

    def _failed(self, upstream):
        upstream.failedUntil = self._reactor.seconds() + self.failTimeout

    # Forwarding

    def _paths(self, request):
        """
        The raw path segments below the mount, and the mount's own path.
        """
        raw = request.path[1:].split("/") if request.path.startswith("/") else []
        restCount = getattr(request, "_proxyRest", 0)
        rest = raw[len(raw) - restCount :] if restCount else []
        mount = "/" + "/".join(raw[: len(raw) - restCount])
        return rest, mount

    def _requestHeaders(self, request, upstream):
        pairs = _endToEnd(request.headers.toWire())
        if self.forwarded != "none":
            pairs = [(n, v) for n, v in pairs if n.lower() not in _FORWARDING]
        peer = getattr(getattr(request, "remoteAddr", None), "host", None) or "unknown"
        hostValue = request.headers._firstRaw("host") or request.host
        if not self.preserveHost:
            pairs = [(n, v) for n, v in pairs if n.lower() != b"host"]
            pairs.insert(0, (b"Host", upstream.url.hostHeader))
        if self.forwarded == "x-forwarded":
            previous = [v for n, v in pairs if n.lower() == b"x-forwarded-for"]
            pairs = [(n, v) for n, v in pairs if n.lower() != b"x-forwarded-for"]
            chain = b", ".join(previous + [peer.encode("latin-1")])
            pairs += [
                (b"X-Forwarded-For", chain),
                (b"X-Forwarded-Proto", request.scheme.encode("ascii")),
                (b"X-Forwarded-Host", hostValue.encode("latin-1")),
            ]
        elif self.forwarded == "forwarded":
            node = f'"[{peer}]"' if ":" in peer else peer
            pairs.append((b"Forwarded", f'for={node};proto={request.scheme};host="{hostValue}"'.encode("latin-1")))
        return pairs

    async def _forward(self, request):
        rest, mount = self._paths(request)
        body = request.stream
        if body is not None and body.length == 0 and not request.headers.hasHeader("transfer-encoding"):
            body = None
        tried = []
        # The client leaving cancels the exchange in flight.
        pending = []
        original = request.connectionLost

        def lost(reason):
            for d in pending:
                d.cancel()
            original(reason)

        request.connectionLost = lost
        while True:
            upstream = self._choose(tried)
            if upstream is None:
                return self._error(request, tried[-1], 502, "no upstream could be reached")
            tried.append(upstream)
            pairs = self._requestHeaders(request, upstream)
            upgrade = _upgradeRequested(request)
            if upgrade is not None:
                pairs += [(b"Connection", b"Upgrade"), (b"Upgrade", upgrade)]
            target = upstream.target(rest, request.querystring)
            d = self.client.request(request.method, upstream.base + target, pairs, body)
            pending[:] = [d]
            try:
                response = await d
            except defer.CancelledError:
                log.debug("Proxy: the client left; cancelled {method} {uri}",
                          method=request.method, uri=request.uri)
                # Nobody would see an answer, and writing one into the
                # channel from inside its connectionLost would start an
                # idle phase on a dead connection: none is ever given.
                return await defer.Deferred()
            except Exception as e:
                from web2.client import ConnectError, ConnectionClosed

                # Another upstream is tried when nothing was sent to this
                # one (it could not be reached), or when a request without
                # a body got no byte of answer (it reset or closed).
                retry = isinstance(e, ConnectError) or (
                    isinstance(e, ConnectionClosed) and e.beforeResponse and body is None)
                if retry:
                    self._failed(upstream)
                    if len(tried) < len(self.upstreams) and self._choose(tried) is not None:
                        log.info("Proxy: {upstream} unreachable ({error}); trying the next",
                                 upstream=upstream, error=e)
                        continue
                return self._failure(request, upstream, e)
            finally:
                pending[:] = []
            if response.tunnel is not None:
                return await self._switch(request, upstream, response, mount)
            return self._response(request, upstream, response, mount)

    async def _switch(self, request, upstream, upstreamResponse, mount):
        """
        Pass an upstream's C{101} on and join the two connections.
        """
        tunnel = upstreamResponse.tunnel
        switch = getattr(request.chanRequest, "switchProtocols", None)
        if switch is None:
            tunnel.loseConnection()
            return self._error(request, upstream, 502, "cannot switch protocols on this connection")
        pairs = _endToEnd(upstreamResponse.headers.toWire())
        if self.rewriteRedirects or self.rewriteCookiePaths:
            pairs = [self._rewrite(request, upstream, mount, n, v) for n, v in pairs]
        upgrade = upstreamResponse.headers._firstRaw("upgrade")
        pairs += [(b"Connection", b"Upgrade")]
        if upgrade:
            pairs.append((b"Upgrade", upgrade.encode("latin-1")))
        try:
            head = _wire.serialize_response_head(101, pairs)
        except ValueError as e:
            tunnel.loseConnection()
            return self._error(request, upstream, 502, f"unusable 101 head: {e}")
        try:
            switch(head, _ClientSide(tunnel))
        except (ConnectionLost, RuntimeError) as e:
            tunnel.loseConnection()
            log.debug("Proxy: no switch for {uri}: {e}", uri=request.uri, e=e)
            return await defer.Deferred()  # the client is gone
        return http.Response(101)

    def _failure(self, request, upstream, error):
        from web2.client import BodyTimeout, RequestBodyError, ResponseTimeout

        if isinstance(error, RequestBodyError):
            # The client's own body broke (it left or sent garbage): the
            # channel has answered or closed already.
            log.debug("Proxy: request body failed: {error}", error=error)
            return http.StatusResponse(400, "The request body could not be read.")
        self._failed(upstream)
        status = 504 if isinstance(error, (ResponseTimeout, BodyTimeout)) else 502
        return self._error(request, upstream, status, str(error) or type(error).__name__)

    def _error(self, request, upstream, status, reason):
        log.warn("Proxy: {method} {uri} -> {upstream}: {reason}; answering {status}",
                 method=request.method, uri=request.uri, upstream=upstream,
                 reason=reason, status=status)
        if status == 504:
            return http.StatusResponse(status, "The upstream server did not answer in time.")
        return http.StatusResponse(status, "The upstream server could not be reached or answered badly.")

    def _response(self, request, upstream, upstreamResponse, mount):
        pairs = _endToEnd(upstreamResponse.headers.toWire())
        if self.rewriteRedirects or self.rewriteCookiePaths:
            pairs = [self._rewrite(request, upstream, mount, n, v) for n, v in pairs]
        headers = Headers.fromWire([(n.lower(), v) for n, v in pairs])
        response = http.Response(upstreamResponse.code, headers)
        response.reason = upstreamResponse.reason or None
        stream = upstreamResponse.stream
        if request.method == "HEAD":
            stream.close()
            length = upstreamResponse.headers._firstRaw("content-length")
            # No body either way; the length is the upstream's, or none.
            response.stream = _HeadBody(int(length) if length and length.isdigit() else None)
        elif upstreamResponse.code in http.NO_BODY_CODES:
            stream.close()
        else:
            response.stream = _UpstreamBody(
                stream, lambda: f"{request.method} {request.uri} -> {upstream!r}")
        return response

    def _rewrite(self, request, upstream, mount, name, value):
        lower = name.lower()
        if self.rewriteRedirects and lower in (b"location", b"content-location"):
            text = value.decode("latin-1")
            prefix = upstream.base + upstream.path
            public = f"{request.scheme}://{request.headers._firstRaw('host') or request.host}"
            mountPath = mount.rstrip("/") + "/"
            if text.startswith(prefix):
                text = public + mountPath + text[len(prefix):]
            elif text == prefix.rstrip("/"):
                text = public + mount
            elif upstream.path != "/" and text.startswith(upstream.path):
                text = mountPath + text[len(upstream.path):]
            return name, text.encode("latin-1")
        if self.rewriteCookiePaths and lower == b"set-cookie":
            text = value.decode("latin-1")
            base = upstream.path.rstrip("/")
            mountBase = mount.rstrip("/")

            def path(match):
                p = match.group(2).strip()
                if p == base or p.startswith(base + "/") or (not base and p.startswith("/")):
                    p = (mountBase + p[len(base):]) or "/"
                return match.group(1) + p

            return name, _COOKIE_PATH.sub(path, text).encode("latin-1")
        return name, value

    def __repr__(self) -> str:
        return f"<ReverseProxyResource {self.upstreams!r}>"


_OPTION_NAMES = {
    "upstreams": "upstreams", "forwarded": "forwarded", "preserve-host": "preserveHost",
    "rewrite-redirects": "rewriteRedirects", "rewrite-cookie-paths": "rewriteCookiePaths",
    "connect-timeout": "connectTimeout", "response-timeout": "responseTimeout",
    "body-timeout": "bodyTimeout", "max-connections-per-host": "maxConnectionsPerHost",
    "idle-timeout": "idleTimeout", "fail-timeout": "failTimeout",
}


def proxyMount(argument: str, config, **options):
    """
    The C{proxy:URL} mount kind: a L{ReverseProxyResource} to C{URL}, with
    the site-file table's options (hyphenated names of the constructor's
    parameters; C{upstreams} adds more URLs for round robin).
    """
    if not argument:
        raise ValueError("proxy: needs an upstream URL, e.g. proxy:http://127.0.0.1:9000/")
    kwargs = {}
    for key, value in options.items():
        name = _OPTION_NAMES.get(key) or _OPTION_NAMES.get(key.replace("_", "-"))
        if name is None:
            raise ValueError(
                f"unknown proxy option {key!r} (known: {', '.join(sorted(_OPTION_NAMES))})")
        kwargs[name] = value
    upstreams = [argument] + list(kwargs.pop("upstreams", []))
    return ReverseProxyResource(upstreams, **kwargs)

