# -*- test-case-name: test_client -*-
"""
L{Client}: URLs in, L{ClientResponse}s out, over a pool of connections, with
the convenience calls (C{get}, C{post}, C{json}) on top of the streaming
core.

Deliberate choices:
  - redirects are followed only when asked (C{followRedirects=N});
  - no proxy is ever taken from the environment (C{HTTP_PROXY} and friends
    are not read: httpoxy);
  - TLS verifies the server's certificate and name by default
    (L{twisted.internet.ssl.optionsForClientTLS}).
"""

from __future__ import annotations

import json as _json
import urllib.parse

from twisted.internet import defer
from twisted.internet.endpoints import HostnameEndpoint, wrapClientTLS
from twisted.logger import Logger

from web2 import _wire
from web2.stream import MemoryStream

from ._errors import ClientError, ConnectionClosed, TooManyRedirects
from ._pool import HTTPConnectionPool
from ._protocol import HTTP11ClientProtocol, _wireHeaders

log = Logger(namespace=__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset([301, 302, 303, 307, 308])
_IDEMPOTENT = frozenset(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"])
# Characters left as they are when a URL's path and query are sent.
_SAFE = "/%:@!$&'()*+,;=-._~?"


class URL:
    """
    The parts of an C{http} or C{https} URL the client needs.

    @ivar scheme: C{"http"} or C{"https"}.
    @ivar host: the host name or address (IPv6 without brackets).
    @ivar port: the port.
    @ivar target: the request-target (path and query), percent-encoded.
    """

    def __init__(self, url):
        if isinstance(url, bytes):
            url = url.decode("ascii")
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            raise ValueError(f"unsupported URL scheme in {url!r}: use http or https")
        if not parts.hostname:
            raise ValueError(f"no host in URL {url!r}")
        self.scheme = scheme
        self.host = parts.hostname
        try:
            self.port = parts.port or _DEFAULT_PORTS[scheme]
        except ValueError:
            raise ValueError(f"invalid port in URL {url!r}") from None
        target = urllib.parse.quote(parts.path or "/", safe=_SAFE)
        if parts.query:
            target += "?" + urllib.parse.quote(parts.query, safe=_SAFE)
        self.target = target
        self.url = url

    @property
    def key(self):
        return (self.scheme, self.host, self.port)

    @property
    def hostHeader(self) -> bytes:
        host = f"[{self.host}]" if ":" in self.host else self.host
        host = host.encode("idna") if not host.isascii() else host.encode("ascii")
        if self.port != _DEFAULT_PORTS[self.scheme]:
            host += b":%d" % self.port
        return host


def _defaultTLS(host: str):
    from twisted.internet.ssl import optionsForClientTLS

    return optionsForClientTLS(host)


class Client:
    """
    An HTTP/1.1 client (see the module docstring for its choices).
    """

    def __init__(
        self,
        reactor=None,
        *,
        maxConnectionsPerHost=10,
        idleTimeout=60.0,
        connectTimeout=10.0,
        responseTimeout=60.0,
        bodyTimeout=60.0,
        continueTimeout=1.0,
        limits=None,
        tlsOptionsFor=None,
        userAgent=b"web2-client",
    ):
        """
        @param reactor: the reactor; the global one by default.
        @param maxConnectionsPerHost: the most connections per
            C{(scheme, host, port)}; default 10.
        @param idleTimeout: seconds an idle kept-alive connection is kept;
            default 60.
        @param connectTimeout: seconds to connect; default 10.
        @param responseTimeout: seconds from the end of the request to the
            response head; default 60.
        @param bodyTimeout: seconds without progress while a body moves;
            default 60.
        @param continueTimeout: seconds to wait for C{100 Continue} when
            the request says C{Expect: 100-continue}; default 1.
        @param limits: a L{web2._wire.Limits} for responses (status line,
            header bytes: 16 KiB, header count: 100, body size).
        @param tlsOptionsFor: a callable taking the host name and returning
            the L{twisted.internet.interfaces.IOpenSSLClientConnectionCreator}
            for an C{https} URL; default
            L{twisted.internet.ssl.optionsForClientTLS} (verification on,
            against the platform's trust roots).
        @param userAgent: the C{User-Agent} sent unless a request has its
            own; C{None} for none.
        """
        if reactor is None:
            from twisted.internet import reactor
        self._reactor = reactor
        self.responseTimeout = responseTimeout
        self.bodyTimeout = bodyTimeout
        self.continueTimeout = continueTimeout
        self.limits = limits
        self.userAgent = userAgent
        self._tlsOptionsFor = tlsOptionsFor or _defaultTLS
        self.pool = HTTPConnectionPool(
            reactor, self._makeProtocol, maxPerHost=maxConnectionsPerHost,
            idleTimeout=idleTimeout, connectTimeout=connectTimeout,
        )

    def _makeProtocol(self):
        return HTTP11ClientProtocol(
            self._reactor, self.limits, self.responseTimeout, self.bodyTimeout,
            self.continueTimeout,
        )

    def _endpoint(self, url: URL):
        endpoint = HostnameEndpoint(self._reactor, url.host, url.port,
                                    timeout=self.pool.connectTimeout)
        if url.scheme == "https":
            endpoint = wrapClientTLS(self._tlsOptionsFor(url.host), endpoint)
        return endpoint

    def request(self, method, url, headers=None, body=None, *, followRedirects=0):
        """
        Send a request.

        @param method: the method, e.g. C{"GET"}.
        @param url: an C{http} or C{https} URL (C{str}), or a L{URL}.
        @param headers: request fields (a L{web2.http_headers.Headers}, a
            C{dict}, or C{(name, value)} pairs); C{Host} is added unless
            given.
        @param body: an L{web2.iweb.IByteStream}, C{bytes}, or C{None}.  A
            stream of unknown length is sent chunked.
        @param followRedirects: how many redirects to follow (0: none; the
            3xx response is returned as it is).
        @return: a Deferred firing with a L{ClientResponse} once its head
            arrived (its C{stream} still streaming), or failing with a
            L{web2.client.ClientError}.
        """
        return defer.ensureDeferred(self._request(method, url, headers, body, followRedirects))

    async def _request(self, method, url, headers, body, followRedirects):
        previous = None
        method = method.upper()
        if body is not None and not hasattr(body, "read"):
            body = MemoryStream(bytes(body))
        for _ in range(followRedirects + 1):
            target = url if isinstance(url, URL) else URL(url)
            replay = None
            if isinstance(body, MemoryStream) and body.length is not None:
                replay = body.mem[body.start : body.start + body.length]
            response = await self._send(method, target, headers, body)
            response.url = target.url
            response.previous = previous
            location = response.headers.getRawHeaders("location")
            if (
                response.code not in _REDIRECTS
                or not location
                or followRedirects == 0
            ):
                return response
            response.stream.close()
            previous = response
            nextURL = urllib.parse.urljoin(target.url, location[0])
            if response.code == 303 or (response.code in (301, 302) and method == "POST"):
                method, body = ("HEAD" if method == "HEAD" else "GET"), None
            elif body is not None:
                if replay is None:
                    return response  # a streamed body cannot be sent twice
                body = MemoryStream(replay)
            if URL(nextURL).key[1:] != target.key[1:]:
                headers = [
                    (n, v) for n, v in _wireHeaders(headers)
                    if n.lower() not in (b"authorization", b"cookie", b"proxy-authorization")
                ]
            url = nextURL
        raise TooManyRedirects(f"more than {followRedirects} redirects from {url}")

    async def _send(self, method, url: URL, headers, body):
        pairs = _wireHeaders(headers)
        names = {n.lower() for n, _ in pairs}
        if b"host" not in names:
            pairs.insert(0, (b"Host", url.hostHeader))
        if self.userAgent and b"user-agent" not in names:
            pairs.append((b"User-Agent", self.userAgent))
        endpoint = self._endpoint(url)
        # A kept-alive connection the server closed as the request went out
        # fails before any byte of response: such a request is sent once
        # more on a new connection if it carried no body.
        for attempt in range(2):
            protocol = await self.pool.connection(url.key, endpoint)
            reused = protocol.exchanges > 0
            try:
                return await protocol.request(method, url.target, pairs, body)
            except ConnectionClosed as e:
                if not (reused and e.beforeResponse and body is None and attempt == 0):
                    raise
                log.debug("Retrying {method} {url} on a new connection", method=method, url=url.url)
        raise AssertionError("unreachable")  # pragma: no cover

    # Convenience

    def get(self, url, headers=None, **kwargs):
        """
        C{GET url}; see L{request}.
        """
        return self.request("GET", url, headers, **kwargs)

    def head(self, url, headers=None, **kwargs):
        """
        C{HEAD url}; see L{request}.
        """
        return self.request("HEAD", url, headers, **kwargs)

    def post(self, url, body=b"", headers=None, **kwargs):
        """
        C{POST url} with C{body}; see L{request}.
        """
        return self.request("POST", url, headers, body, **kwargs)

    def put(self, url, body=b"", headers=None, **kwargs):
        """
        C{PUT url} with C{body}; see L{request}.
        """
        return self.request("PUT", url, headers, body, **kwargs)

    def delete(self, url, headers=None, **kwargs):
        """
        C{DELETE url}; see L{request}.
        """
        return self.request("DELETE", url, headers, **kwargs)

    def json(self, method, url, data=None, headers=None, *, maxLength=16 * 1024 * 1024, **kwargs):
        """
        Send C{data} as JSON (unless C{None}) and parse the JSON answer.

        @return: a Deferred firing with the decoded value, or failing with
            L{HTTPStatusError} for a status outside 2xx, with the body's
            first bytes.
        """
        pairs = _wireHeaders(headers)
        pairs.append((b"Accept", b"application/json"))
        body = None
        if data is not None:
            body = _json.dumps(data).encode("utf-8")
            pairs.append((b"Content-Type", b"application/json"))

        async def call():
            response = await self.request(method, url, pairs, body, **kwargs)
            content = await response.content(maxLength)
            if not 200 <= response.code < 300:
                raise HTTPStatusError(response, content[:1024])
            return _json.loads(content) if content else None

        return defer.ensureDeferred(call())

    def close(self):
        """
        Close the idle connections (busy ones finish their exchange).

        @return: a Deferred firing when they are closed.
        """
        return self.pool.closeCachedConnections()


class HTTPStatusError(ClientError):
    """
    L{Client.json} got a status outside 2xx.

    @ivar response: the L{ClientResponse}.
    @ivar body: the first bytes of its body.
    """

    def __init__(self, response, body):
        super().__init__(f"HTTP {response.code} from {response.url}")
        self.response = response
        self.body = body


_shared = None


def _client():
    global _shared
    if _shared is None:
        _shared = Client()
    return _shared


def get(url, headers=None, **kwargs):
    """
    C{GET url} with a client shared by the module's functions (on the
    global reactor); see L{Client.request}.
    """
    return _client().get(url, headers, **kwargs)


def post(url, body=b"", headers=None, **kwargs):
    """
    C{POST url}; see L{get}.
    """
    return _client().post(url, body, headers, **kwargs)


def json(method, url, data=None, headers=None, **kwargs):
    """
    L{Client.json} on the shared client; see L{get}.
    """
    return _client().json(method, url, data, headers, **kwargs)


# Re-exported for the reverse proxy: the reader's limits.
Limits = _wire.Limits
