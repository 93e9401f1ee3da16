# -*- test-case-name: test_server -*-
"""
The site and the framework's request: URL parsing, traversal from the root
resource, rendering, the response filters every resource gets for free
(preconditions, ranges, error pages, Server and Date), and error handling.

Traversal and rendering run synchronously as long as every resource answers
synchronously; the first Deferred or coroutine switches the rest of that
request to Deferred callbacks.
"""

from __future__ import annotations

import time
import urllib.parse

from twisted.internet import defer
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.logger import Logger, LogLevel, globalLogPublisher
from twisted.python.failure import Failure
from zope.interface import implementer

from web2 import http, responsecode
from web2._version import __version__
from web2.error import defaultErrorHandler
from web2.filter.range import rangefilter
from web2.http import Request as _MessageRequest
from web2.http_headers import _checkRawValue, generateDateTime
from web2.iweb import IResource, IResponse, ISite, ISiteRoot
from web2.resource import StopTraversal

log = Logger(namespace=__name__)
_ACCESS_FORMAT = "{client} {method} {uri} {status}"
_PROTOCOLS = {(1, 1): "HTTP/1.1", (1, 0): "HTTP/1.0"}

#: The default C{Server} header.
VERSION = f"web2/{__version__}"

_MAX_TRAVERSAL_STEPS = 256
_MAX_RERENDERS = 32

# Parsed request targets and Host values, remembered since a server sees
# the same few again and again; bounded (emptied when full), so that a
# client sending endless new ones costs a re-parse, never memory.
_URL_CACHE_SIZE = 1024
_urlCache: dict[str, tuple] = {}
_HOST_CACHE_SIZE = 256
_hostCache: dict[tuple, tuple] = {}


_resourceClasses: dict[type, bool] = {}


def _providesResource(obj) -> bool:
    """
    Whether C{obj} already provides L{IResource}, remembered per class for
    classes that implement it (an instance may also provide it directly).
    """
    cls = obj.__class__
    known = _resourceClasses.get(cls)
    if known:
        return True
    if known is None and len(_resourceClasses) < 4096:
        _resourceClasses[cls] = IResource.implementedBy(cls)
        if _resourceClasses[cls]:
            return True
    return IResource.providedBy(obj)


class _Lazy:
    """
    An attribute computed on first use and then stored on the instance
    (where it can also be assigned), so that a request that never uses it
    does not pay for it.
    """

    def __init__(self, compute):
        self.compute = compute

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


class NoURLForResourceError(RuntimeError):
    """
    L{Request.urlForResource} was asked about a resource it did not visit.
    """


_asyncClasses: dict[type, bool] = {
    cls: False for cls in (tuple, list, bytes, str, int, type(None))
}


def _isAsync(value) -> bool:
    """
    Whether C{value} is a Deferred or an awaitable (a coroutine).  This runs
    several times per request, so the answer is remembered per class.
    """
    cls = value.__class__
    answer = _asyncClasses.get(cls)
    if answer is None:
        answer = issubclass(cls, defer.Deferred) or hasattr(cls, "__await__")
        if len(_asyncClasses) < 1024:
            _asyncClasses[cls] = answer
    return answer


# _asyncClasses.get, for the hot path: C{False} for a class known to be
# neither a Deferred nor awaitable, so that most checks call no function.
_knownSync = _asyncClasses.get


def _asDeferred(value) -> defer.Deferred:
    if isinstance(value, defer.Deferred):
        return value
    return defer.ensureDeferred(value)


# ---------------------------------------------------------------------------
# Default response filters


def preconditionfilter(request, response):
    """
    Answer 304/412 for GET and HEAD from the response's validators.
    """
    if request.method in ("GET", "HEAD") and request.headers.hasAnyHeader(
        http.CONDITIONAL_HEADERS
    ):
        http.checkPreconditions(request, response)
    return response


def defaultHeadersFilter(request, response):
    """
    Add C{Server} and C{Date} unless the response already has them.
    """
    raw = response.headers._rawDict()
    # A name absent from the raw dict has no parsed value either, so the
    # trusted lines can be stored directly (as Headers._setTrusted would).
    if "server" not in raw:
        raw["server"] = [request.site.serverName]
    if "date" not in raw:
        now = int(_time())
        if _dateCache[0] != now:
            _dateCache[0] = now
            _dateCache[1] = generateDateTime(now)
        raw["date"] = [_dateCache[1]]
    return response


defaultHeadersFilter.handleErrors = True

_PRECONDITION_OR_RANGE = http.CONDITIONAL_HEADERS | {"range"}


def _plainFilters(request, response):
    """
    What the default chain does to a 200 answering a GET or HEAD that has
    no precondition or Range field, in one step: preconditionfilter has
    nothing to check, rangefilter only advertises C{Accept-Ranges} (for a
    body of known length), the default error handler leaves a 200 alone,
    and defaultHeadersFilter adds C{Server} and C{Date}.  The general loop
    would give the same response; this is the path most responses take.
    """
    body = response.stream
    if body is not None and body.length is not None:
        response.headers._setTrusted("accept-ranges", "bytes")
    return defaultHeadersFilter(request, response)


def _errorFilter(request, response):
    """
    The site's error page renderer, as a filter.
    """
    return request.site.errorHandler(request, response)


_errorFilter.handleErrors = True

_dateCache = [0, ""]
_time = time.time


def _httpDate() -> str:
    now = int(time.time())
    if _dateCache[0] != now:
        _dateCache[0] = now
        _dateCache[1] = generateDateTime(now)
    return _dateCache[1]


# ---------------------------------------------------------------------------


@implementer(ISite)
class Site:
    """
    The root of a web2 site, and the request factory its channels call.

    @ivar resource: the root L{IResource}.
    @ivar responseFilters: filters applied, after the defaults, to every
        response of this site.
    @ivar serverName: the C{Server} header value.
    @ivar errorHandler: renders a body for an error response that has none
        (see L{web2.error.defaultErrorHandler}).
    """

    def __init__(
        self,
        resource,
        responseFilters=(),
        serverName: str = VERSION,
        errorHandler=defaultErrorHandler,
        accessLogObserver=None,
        accessLogging: bool = False,
    ):
        """
        @param accessLogObserver: a C{twisted.logger} observer given one
            C{web2.access} event per finished request (see
            L{web2.log} for CLF, Combined and JSON writers).  Only it sees
            these events: the process's global log stays free of one line
            per request.
        @param accessLogging: also publish the access events to the
            global log publisher (off by default: it is costly).
        """
        self.resource = IResource(resource)
        self.responseFilters = list(responseFilters)
        self._filterChain = None
        self._filterSource = None
        self._plainChain = None
        self.serverName = serverName
        self.errorHandler = errorHandler
        self.accessLogging = accessLogging
        self.accessLogObserver = accessLogObserver
        if accessLogObserver is not None:
            self._accessLog = accessLogObserver
        elif accessLogging:
            self._accessLog = globalLogPublisher
        else:
            self._accessLog = None

    def filterChain(self) -> list:
        """
        The response filters every request of this site starts with: the
        defaults, then the site's own, then Server and Date.  Computed
        once; a request copies it only if it adds a filter of its own.
        """
        chain = self._filterChain
        if chain is None or self._filterSource != self.responseFilters:
            self._filterSource = list(self.responseFilters)
            chain = self._filterChain = [
                preconditionfilter,
                rangefilter,
                _errorFilter,
                *self.responseFilters,
                defaultHeadersFilter,
            ]
        # The chain _plainFilters stands for, when nothing was added to it.
        self._plainChain = (
            chain
            if len(chain) == 4 and self.errorHandler is defaultErrorHandler
            else None
        )
        return chain

    @property
    def serverName(self) -> str:
        return self._serverName

    @serverName.setter
    def serverName(self, value: str):
        # Written on every response without another look: checked here,
        # as every header value is on its way in.
        _checkRawValue("Server", value)
        self._serverName = value

    # The root the request factory was chosen for (see ISiteRoot), and the
    # factory (None: Request), together: one look per request, and another
    # choice only when the root is replaced.
    _requestFactory = (None, None)

    def _chooseRequestFactory(self):
        root = self.resource
        factory = root.requestFactory(self) if ISiteRoot.providedBy(root) else None
        self._requestFactory = (root, factory)
        return factory

    def __call__(self, chanRequest, method, uri, version, contentLength, headers):
        root, makeRequest = self._requestFactory
        if root is not self.resource:
            makeRequest = self._chooseRequestFactory()
        if makeRequest is not None:
            return makeRequest(chanRequest, method, uri, version, contentLength, headers)
        return Request(
            chanRequest, method, uri, version, contentLength, headers, site=self
        )


class Request(_MessageRequest):
    """
    A request being answered by a L{Site}.

    @ivar site: the L{Site}.
    @ivar scheme: C{"http"} or C{"https"} (as seen by the client, once a
        trusted proxy has said so).
    @ivar host: the host the client asked for, without the port.
    @ivar port: the port the client connected to.
    @ivar path: the decoded-later path part of the target, as sent.
    @ivar querystring: the query part, as sent, without C{?}.
    @ivar prepath: the decoded segments traversal consumed.
    @ivar postpath: the decoded segments not yet consumed.
    @ivar remoteAddr: the client's address (an L{IAddress}).
    @ivar pathPrefix: a path the client's URLs have before C{path}, set by
        a trusted proxy (X-Forwarded-Prefix) or L{web2.vhost.VHostURIRewrite};
        every URL this request builds starts with it.
    @ivar resources: the resources traversal visited, root first.
    """

    # Fields of the compiled build's extension type (server.pxd: keep the
    # two lists the same), each set in __init__ or by process(); see
    # L{http.Request}.
    __slots__ = (
        "site", "responseFilters", "resources", "_depths", "prepath",
        "postpath", "startTime", "path", "querystring", "host", "port",
    )  # fmt: skip

    scheme = "http"
    pathPrefix = ""
    params = ""
    _args = None
    _ownFilters = False

    files = _Lazy(lambda self: {})
    remoteAddr = _Lazy(lambda self: self.chanRequest.getRemoteHost())

    def __init__(
        self, chanRequest, method, uri, version, contentLength, headers, site=None,
    ):
        _MessageRequest.__init__(
            self, chanRequest, method, uri, version, contentLength, headers,
        )
        self.site = site
        self.host = ""
        self.port = 80
        self.responseFilters = site.filterChain()
        self.resources = []
        self._depths = []
        self.prepath = []
        self.postpath = []
        self.startTime = time.time()

    # URL and host

    def _parseURL(self):
        target = self.uri
        cached = _urlCache.get(target)
        if cached is not None:
            self.path, self.querystring, segments = cached
            self.postpath = list(segments)
            return
        if target[0] == "/":
            path = target
        elif target == "*":
            path = "*"
        else:
            # absolute-form, already validated by the wire reader.  Its
            # scheme is the client's claim, not a fact: the scheme comes
            # from the connection (or a trusted proxy) only.
            parts = urllib.parse.urlsplit(target)
            path = target[len(parts.scheme) + 3 + len(parts.netloc):] or "/"
        path, sep, query = path.partition("?")
        self.path = path
        self.querystring = query
        if path == "*":
            return
        segments = path[1:].split("/")
        if "%" in path:
            unquote = urllib.parse.unquote
            segments = [unquote(s, errors="surrogateescape") for s in segments]
        self.postpath = segments
        if target[0] == "/" and len(target) < 256:
            if len(_urlCache) >= _URL_CACHE_SIZE:
                _urlCache.clear()
            _urlCache[target] = (path, query, tuple(segments))

    def _parseHost(self):
        chan = self.chanRequest
        isSecure = getattr(chan, "isSecure", None)
        if isSecure() if isSecure is not None else chan.getHostInfo()[1]:
            # (An IChanRequest written before isSecure existed is asked
            # the old way.)
            self.scheme = "https"
        defaultPort = 443 if self.scheme == "https" else 80
        if self.uri[0] not in "/*":
            netloc = urllib.parse.urlsplit(self.uri).netloc
        else:
            netloc = self.headers._firstRaw("host")
        if netloc:
            key = (netloc, defaultPort)
            hostPort = _hostCache.get(key)
            if hostPort is None:
                hostPort = splitHostPort(netloc, defaultPort)
                if len(_hostCache) >= _HOST_CACHE_SIZE:
                    _hostCache.clear()
                _hostCache[key] = hostPort
            host, port = hostPort
        else:
            local = chan.getHostInfo()[0]
            host = getattr(local, "host", "localhost")
            port = getattr(local, "port", defaultPort)
        self.host = host
        self.port = port

    @property
    def args(self) -> dict[str, list[str]]:
        """
        The query arguments (and, after L{parsePOSTData}, form fields): a
        C{dict} of name to a list of values, blank values kept.
        """
        if self._args is None:
            self._args = urllib.parse.parse_qs(
                self.querystring, keep_blank_values=True, errors="surrogateescape"
            )
        return self._args

    @args.setter
    def args(self, value):
        self._args = value

    @property
    def cookies(self) -> dict[str, str]:
        """
        The request's cookies, name to value (the first of a repeated name
        wins, as browsers send the most specific first).  A malformed Cookie
        header gives no cookies rather than an error: cookies are the
        client's state, not part of the request's meaning.  Set cookies
        with C{response.headers.setHeader("set-cookie", [Cookie(...)])}.
        """
        try:
            parsed = self.headers.getHeader("cookie") or []
        except ValueError:
            return {}
        cookies: dict[str, str] = {}
        for cookie in parsed:
            cookies.setdefault(cookie.name, cookie.value)
        return cookies

    def unparseURL(
        self, scheme=None, host=None, port=None, path=None, params=None,
        querystring=None, fragment=None,
    ) -> str:
        """
        An absolute URL built from this request's, with the given parts
        replaced.  The query string is kept unless replaced.
        """
        scheme = scheme or self.scheme
        host = host or self.host
        port = self.port if port is None else port
        path = self.path if path is None else path
        querystring = self.querystring if querystring is None else querystring
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        if port == {"http": 80, "https": 443}.get(scheme):
            netloc = host
        else:
            netloc = f"{host}:{port}"
        url = f"{scheme}://{netloc}{self.pathPrefix}{path}"
        if params:
            url += ";" + params
        if querystring:
            url += "?" + querystring
        if fragment:
            url += "#" + fragment
        return url

    def prePathURL(self) -> str:
        """
        The URL of the resource traversal has reached so far.
        """
        from web2.resource import quoteSegment

        path = "/" + "/".join(quoteSegment(s) for s in self.prepath)
        return self.unparseURL(path=path, querystring="")

    def urlForResource(self, resource) -> str:
        """
        The path at which traversal found C{resource} for this request.
        """
        from web2.resource import quoteSegment

        for visited, depth in zip(self.resources, self._depths, strict=False):
            if visited is resource:
                return self.pathPrefix + "/" + "/".join(
                    quoteSegment(s) for s in self.prepath[:depth]
                )
        raise NoURLForResourceError(resource)

    def _rememberURL(self, resource):
        self._depths.append(len(self.prepath))

    def locateResource(self, url: str):
        """
        Find the resource at C{url} (a path, or an absolute URL on this
        server) by traversing from the site's root.

        @return: a Deferred firing with the resource, or C{None}.
        """
        parts = urllib.parse.urlsplit(url)
        if parts.query or parts.fragment:
            raise http.HTTPError(responsecode.BAD_REQUEST, "URL may not have a query")
        if parts.scheme or parts.netloc:
            host, port = splitHostPort(parts.netloc, self.port)
            if (parts.scheme or self.scheme) != self.scheme or host != self.host or port != self.port:
                raise http.HTTPError(responsecode.BAD_GATEWAY, "URL is not on this server")
        segments = [
            urllib.parse.unquote(s, errors="surrogateescape")
            for s in (parts.path or "/")[1:].split("/")
        ]
        probe = _Probe(self)

        def walk(resource, segments):
            while segments:
                result = resource.locateChild(probe, tuple(segments))
                if _isAsync(result):
                    return _asDeferred(result).addCallback(
                        lambda r, segments=segments: _continue(r, segments)
                    )
                child, rest = result
                if child is None:
                    return None
                if rest is StopTraversal:
                    return IResource(child)
                resource, segments = IResource(child), list(rest)
            return resource

        def _continue(result, segments):
            child, rest = result
            if child is None:
                return None
            if rest is StopTraversal:
                return IResource(child)
            return walk(IResource(child), list(rest))

        return defer.maybeDeferred(walk, self.site.resource, segments)

    def addResponseFilter(self, responseFilter, atEnd=False):
        """
        Add a filter C{f(request, response) -> response | Deferred}: at the
        front, or before the final default-headers filter with C{atEnd}.
        """
        if not self._ownFilters:
            self.responseFilters = list(self.responseFilters)
            self._ownFilters = True
        if atEnd:
            self.responseFilters.insert(len(self.responseFilters) - 1, responseFilter)
        else:
            self.responseFilters.insert(0, responseFilter)

    # Processing

    def process(self):
        try:
            if self.uri == "*":
                if self.method != "OPTIONS":
                    raise http.HTTPError(responsecode.BAD_REQUEST, "* is only for OPTIONS")
                self._parseURL()
                self._parseHost()
                response = http.Response(responsecode.OK)
                response.headers.setRawHeaders("allow", ["GET, HEAD, OPTIONS, POST, PUT, DELETE"])
                self._finish(response)
                return
            if self.method == "CONNECT":
                raise http.HTTPError(responsecode.NOT_IMPLEMENTED, "CONNECT is not supported")
            self._parseURL()
            self._parseHost()
            result = self._traverse(self.site.resource)
        except Exception:
            self._failed(Failure())
            return
        if _knownSync(type(result)) is not False and _isAsync(result):
            _asDeferred(result).addCallbacks(self._finish, self._failed)
        else:
            self._finish(result)

    def _traverse(self, resource):
        """
        Walk from C{resource} along C{postpath}, then render.
        @return: a response, or a Deferred of one.
        """
        if not self.resources or self.resources[-1] is not resource:
            self.resources.append(resource)
            self._rememberURL(resource)
        steps = 0
        while self.postpath:
            steps += 1
            if steps > _MAX_TRAVERSAL_STEPS:
                raise RuntimeError("traversal did not converge")
            segments = tuple(self.postpath)
            result = resource.locateChild(self, segments)
            if _knownSync(type(result)) is not False and _isAsync(result):
                return _asDeferred(result).addCallback(self._located, resource, segments)
            child, rest = result
            if child is None:
                raise http.HTTPError(responsecode.NOT_FOUND)
            if _knownSync(type(child)) is not False and _isAsync(child):
                return _asDeferred(self._step(result, resource, segments)).addCallback(
                    self._traverse
                )
            resource = self._stepResolved(child, rest, resource, segments)
            if resource is None:
                break
        return self._render(self.resources[-1])

    def _located(self, result, resource, segments):
        child = self._step(result, resource, segments)
        if child is None:
            return self._render(self.resources[-1])
        return self._traverse(child) if self.postpath else self._render(child)

    def _step(self, result, resource, segments):
        """
        Apply one C{locateChild} result; return the next resource to walk
        from, or C{None} when traversal stops at the last one visited.
        """
        child, rest = result
        if child is None:
            raise http.HTTPError(responsecode.NOT_FOUND)
        if _knownSync(type(child)) is not False and _isAsync(child):
            return _asDeferred(child).addCallback(
                lambda c: self._stepResolved(c, rest, resource, segments)
            )
        return self._stepResolved(child, rest, resource, segments)

    def _stepResolved(self, child, rest, resource, segments):
        if child is None:
            raise http.HTTPError(responsecode.NOT_FOUND)
        if not _providesResource(child):
            child = IResource(child)
        if rest is StopTraversal:
            self.resources.append(child)
            self._rememberURL(child)
            return None
        consumed = len(segments) - len(rest)
        if consumed <= 0 and child is resource:
            raise RuntimeError(f"{resource!r} returned itself without consuming a segment")
        if consumed > 0:
            self.prepath.extend(segments[:consumed])
        self.postpath = list(rest)
        if child is not resource:
            self.resources.append(child)
            self._rememberURL(child)
        return child

    def _render(self, resource, depth=0):
        result = resource.renderHTTP(self)
        if _knownSync(type(result)) is not False and _isAsync(result):
            return _asDeferred(result).addCallback(self._rendered, depth)
        return self._rendered(result, depth)

    def _rendered(self, result, depth):
        if isinstance(result, http.Response):
            return result
        response = IResponse(result, None)
        if response is not None:
            return response
        resource = IResource(result, None)
        if resource is not None and depth < _MAX_RERENDERS:
            return self._render(resource, depth + 1)
        raise TypeError(f"{result!r} is neither a response nor a resource")

    def _failed(self, failure):
        if failure.check(http.HTTPError):
            self._finish(failure.value.response)
            return
        if getattr(self.chanRequest, "finished", False):
            # The connection already ended this request (the client left,
            # or its body was malformed): nobody will see a response.
            log.debug("Request {uri} failed after it was abandoned: {f}",
                      uri=self.uri, f=failure.getErrorMessage())
            return
        if self._connectionLost is not None and failure.check(ConnectionLost, ConnectionDone):
            # The connection was lost (the client left mid-body, a front
            # end closed its upstream connection) and the failure is that
            # loss, met reading the body: nobody will see a response.
            log.info("{method} {uri} ended unanswered: the client went away ({f})",
                     method=self.method, uri=self.uri, f=failure.getErrorMessage())
            return
        log.failure(
            "Unhandled error while answering {method} {uri}",
            failure, method=self.method, uri=self.uri,
        )
        self._finish(http.StatusResponse(
            responsecode.INTERNAL_SERVER_ERROR,
            "An error occurred while processing this request; it was logged.",
        ))

    def _finish(self, response, start=0):
        """
        Run the response filters from index C{start}, then write.
        """
        filters = self.responseFilters
        if (
            filters is getattr(self.site, "_plainChain", None)
            and len(filters) == 4
            and start == 0
            and response.code == 200
            and self.method in ("GET", "HEAD")
            and not self.headers.hasAnyHeader(_PRECONDITION_OR_RANGE)
        ):
            self._write(_plainFilters(self, response))
            return
        for index in range(start, len(filters)):
            responseFilter = filters[index]
            if not (
                200 <= response.code < 300
                or getattr(responseFilter, "handleErrors", False)
            ):
                continue
            try:
                result = responseFilter(self, response)
            except http.HTTPError as e:
                _closeReplaced(response, e.response)
                response = e.response
                continue
            except Exception:
                self._filterFailed(Failure())
                return
            if result is not response and _isAsync(result):
                _asDeferred(result).addCallbacks(
                    lambda r, i=index: self._finish(r, i + 1),
                    lambda f, i=index: self._filterError(f, i),
                )
                return
            response = result
        self._write(response)

    def _filterError(self, failure, index):
        if failure.check(http.HTTPError):
            self._finish(failure.value.response, index + 1)
        else:
            self._filterFailed(failure)

    def _filterFailed(self, failure):
        log.failure("A response filter failed for {uri}", failure, uri=self.uri)
        response = http.StatusResponse(
            responsecode.INTERNAL_SERVER_ERROR, "A response filter failed; it was logged."
        )
        defaultHeadersFilter(self, response)
        self._write(response)

    def _write(self, response):
        if self.startedWriting:
            return
        if type(self).writeResponse is _plainWriteResponse:
            d = self._writeResponse(response)
        else:
            d = self.writeResponse(response)
        if self.site._accessLog is not None:
            if d is None:
                self._logAccess(None)
            else:
                d.addBoth(self._logAccess)

    def _logAccess(self, result):
        """
        Hand one C{web2.access} event to the site's access-log observer.
        The event is built here rather than through L{Logger.info}: it is a
        complete twisted.logger event either way, and this runs once per
        request.
        """
        headers = self.headers
        addr = getattr(self, "remoteAddr", None) or self.chanRequest.getRemoteHost()
        now = time.time()
        self.site._accessLog({
            "log_namespace": "web2.access",
            "log_level": LogLevel.info,
            "log_format": _ACCESS_FORMAT,
            "log_time": now,
            "log_source": None,
            "client": getattr(addr, "host", None) or str(addr),
            "method": self.method,
            "uri": self.uri,
            "protocol": _PROTOCOLS.get(self.clientproto) or "HTTP/{}.{}".format(*self.clientproto),
            "status": self.response.code,
            "bytes": getattr(self.chanRequest, "bytesSent", None),
            "duration": now - self.startTime,
            "referer": headers._firstRaw("referer"),
            "user_agent": headers._firstRaw("user-agent"),
            "host": self.host,
            "timestamp": self.startTime,
        })
        return result


_plainWriteResponse = Request.writeResponse


def _closeReplaced(old, new):
    """
    Close the body of a response a filter replaced, so that an open file
    behind it does not wait for the garbage collector.
    """
    if old is not new and old.stream is not None and old.stream is not new.stream:
        old.stream.close()


class _Probe:
    """
    The request seen by resources during L{Request.locateResource}: the
    real request's attributes, with a separate traversal state.
    """

    def __init__(self, request):
        self._request = request
        self.prepath = []
        self.postpath = []

    def __getattr__(self, name):
        return getattr(self._request, name)


def splitHostPort(hostport: str, defaultPort: int) -> tuple[str, int]:
    """
    Split a Host header or authority into C{(host, port)}; IPv6 brackets
    are removed, a missing or non-numeric port gives C{defaultPort}.
    """
    if hostport.startswith("["):
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    try:
        portNumber = int(port) if port else defaultPort
    except ValueError:
        portNumber = defaultPort
    return host.lower(), portNumber


def parsePOSTData(
    request, maxMem=100 * 1024, maxFields=1024, maxSize=10 * 1024 * 1024, **kwargs
):
    """
    Parse a form body into C{request.args} and C{request.files}; see
    L{web2.fileupload.parsePOSTData} for the other limits (C{maxFiles},
    C{spoolThreshold}, C{tempDir}).

    @return: a Deferred that fires when the body has been parsed.
    """
    from web2.fileupload import parsePOSTData as parse

    return parse(request, maxMem=maxMem, maxFields=maxFields, maxSize=maxSize, **kwargs)
