# -*- test-case-name: test_http -*-
"""
The HTTP message model, independent of any transport: requests, responses,
the errors that carry a response, and the conditional-request rules of
RFC 9110 section 13.
"""

from __future__ import annotations

import html
import time

from twisted.internet import defer
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.logger import Logger
from twisted.python import components
from zope.interface import classImplements, implementer

from web2 import _fileread, responsecode
from web2 import stream as stream_mod
from web2._wire import ProtocolError
from web2.http_headers import HeaderParseError, Headers, MimeType
from web2.iweb import IByteStream, IChanRequestCallbacks, IRequest, IResponse

log = Logger(namespace=__name__)

#: The request headers that make a request conditional (RFC 9110 13.1).
CONDITIONAL_HEADERS = frozenset(
    ("if-match", "if-none-match", "if-modified-since", "if-unmodified-since")
)

#: Status codes whose responses never carry a body (RFC 9110 section 6.4.1).
NO_BODY_CODES = frozenset((204, 304))

_HTML_UTF8 = MimeType("text", "html", {"charset": "utf-8"})

_memoryStream = stream_mod.MemoryStream._ofBytes


class HTTPError(Exception):
    """
    An exception that carries the response to send instead of the one the
    handler was producing.  Raise it anywhere during traversal or rendering.
    """

    def __init__(self, codeOrResponse, message=None):
        """
        @param codeOrResponse: a status code or an L{IResponse}.
        @param message: an optional human-readable explanation, shown in the
            error page of a bare status code.
        """
        if isinstance(codeOrResponse, int) and message is not None:
            response = StatusResponse(codeOrResponse, message)
        else:
            response = IResponse(codeOrResponse)
        Exception.__init__(self, response)
        self.response = response
        self.message = message

    def __repr__(self) -> str:
        return f"<{self.__class__.__name__} {self.response.code}>"


@implementer(IResponse)
class Response:
    """
    An HTTP response: a status code, headers and a body stream.
    """

    code = responsecode.OK
    headers = None
    stream = None
    #: A reason phrase to send instead of the standard one (C{bytes}, or
    #: C{str} of latin-1 text), as gateways pass on an application's;
    #: C{None} for the standard one.  One that could split the response
    #: is replaced by the standard one.
    reason = None

    def __init__(self, code=None, headers=None, stream=None):
        """
        @param code: the status code (200 when omitted).
        @param headers: a L{Headers}, or a C{dict} of parsed header values
            (for example C{{"content-type": MimeType("text", "plain")}}).
        @param stream: the body: an L{IByteStream}, C{bytes}, or C{str}
            (encoded as UTF-8).
        """
        if code is not None:
            self.code = int(code)
        if headers is None:
            headers = Headers()
        elif not isinstance(headers, Headers):
            headers = Headers(headers)
        self.headers = headers
        if stream is not None:
            cls = type(stream)
            if cls is bytes:
                stream = _memoryStream(stream)
            elif cls is str:
                stream = _memoryStream(stream.encode("utf-8"))
            else:
                stream = IByteStream(stream)
        self.stream = stream

    def __repr__(self) -> str:
        length = None if self.stream is None else self.stream.length
        return f"<{self.__class__.__name__} {self.code} length={length}>"


def _statusPage(code: int, title: str, description: str) -> bytes:
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{code} {html.escape(title)}"
        f"</title></head><body><h1>{html.escape(title)}</h1><p>{description}</p></body></html>\n"
    ).encode()


class StatusResponse(Response):
    """
    A response whose body is a small HTML page describing the status.
    The description is plain text and is escaped.
    """

    def __init__(self, code, description, title=None):
        if title is None:
            title = responsecode.reasonPhrase(code)
        body = _statusPage(code, title, html.escape(description))
        Response.__init__(self, code, {"content-type": _HTML_UTF8}, body)
        self.description = description


class RedirectResponse(Response):
    """
    A redirect to C{location}: 301 by default, 307 when C{temporary}, or any
    explicit redirect C{code} (302, 303, 308).
    """

    def __init__(self, location, temporary=False, code=None):
        if code is None:
            code = (
                responsecode.TEMPORARY_REDIRECT
                if temporary
                else responsecode.MOVED_PERMANENTLY
            )
        escaped = html.escape(location, quote=True)
        body = _statusPage(
            code,
            responsecode.reasonPhrase(code),
            f'This resource has moved to <a href="{escaped}">{escaped}</a>.',
        )
        Response.__init__(self, code, {"content-type": _HTML_UTF8}, body)
        self.headers.setHeader("location", location)


# Headers a 304 must repeat from the response it replaces (RFC 9110 15.4.5).
_NOT_MODIFIED_HEADERS = (
    "cache-control",
    "content-location",
    "date",
    "etag",
    "expires",
    "vary",
    "server",
    "last-modified",
)


class NotModifiedResponse(Response):
    """
    A 304 that repeats the validators and caching headers of the response
    it stands in for.
    """

    def __init__(self, oldResponse=None):
        Response.__init__(self, responsecode.NOT_MODIFIED)
        if oldResponse is not None:
            for name in _NOT_MODIFIED_HEADERS:
                raw = oldResponse.headers.getRawHeaders(name)
                if raw is not None:
                    self.headers.setRawHeaders(name, raw)


def _codeToResponse(code):
    return Response(code)


def _bytesToResponse(data):
    return Response(responsecode.OK, None, data)


def _strToResponse(text):
    return Response(
        responsecode.OK,
        {"content-type": MimeType("text", "html", {"charset": "utf-8"})},
        text.encode("utf-8"),
    )


components.registerAdapter(_codeToResponse, int, IResponse)
components.registerAdapter(_bytesToResponse, bytes, IResponse)
components.registerAdapter(_strToResponse, str, IResponse)


# ---------------------------------------------------------------------------
# Conditional requests (RFC 9110 section 13)


def _header(request, name):
    """
    A parsed request header for a precondition; an unparseable date is
    ignored as RFC 9110 13.1.3 and 13.1.4 require, other malformed
    preconditions are a 400.
    """
    try:
        return request.headers.getHeader(name)
    except HeaderParseError as e:
        if name in ("if-modified-since", "if-unmodified-since"):
            return None
        raise HTTPError(responsecode.BAD_REQUEST, f"Malformed {name} header: {e}") from None


def _matches(etags, etag, strong: bool, entityExists: bool) -> bool:
    for candidate in etags:
        if candidate == "*":
            if entityExists:
                return True
        elif etag is not None and candidate.match(etag, strong):
            return True
    return False


def checkPreconditions(
    request, response=None, entityExists=True, etag=None, lastModified=None
):
    """
    Evaluate the preconditions of C{request} in the order of RFC 9110
    section 13.2.2, against either C{response} (its ETag and Last-Modified
    headers) or the given C{etag} and C{lastModified}.

    Returns normally when the request should proceed; raises L{HTTPError}
    with 412 (Precondition Failed) or 304 (Not Modified) otherwise.

    Dates are compared at one-second resolution, the resolution of HTTP
    dates: a C{lastModified} with a fraction (C{time.time()}) is the second
    it is sent as.
    """
    if response is not None:
        if not (200 <= response.code < 300 or response.code == 412):
            return
        etag = response.headers.getHeader("etag")
        lastModified = response.headers.getHeader("last-modified")

    if lastModified is not None and type(lastModified) is not int:
        # HTTP dates have whole seconds, and a Last-Modified of time.time()
        # goes out truncated to its second: the dates a client sends back are
        # compared with that second, not with the fraction it never saw.
        lastModified = int(lastModified)

    method = request.method
    safe = method in ("GET", "HEAD")

    ifMatch = _header(request, "if-match")
    if ifMatch is not None:
        if not _matches(ifMatch, etag, True, entityExists):
            raise HTTPError(responsecode.PRECONDITION_FAILED)
    else:
        # Ignored without a modification date to compare (RFC 9110 13.1.4).
        ius = _header(request, "if-unmodified-since")
        if ius is not None and lastModified is not None and lastModified > ius:
            raise HTTPError(responsecode.PRECONDITION_FAILED)

    ifNoneMatch = _header(request, "if-none-match")
    if ifNoneMatch is not None:
        if _matches(ifNoneMatch, etag, False, entityExists):
            if safe:
                raise HTTPError(NotModifiedResponse(response))
            raise HTTPError(responsecode.PRECONDITION_FAILED)
    elif safe:
        ims = _header(request, "if-modified-since")
        if (
            ims is not None
            and lastModified is not None
            and ims <= time.time()
            and lastModified <= ims
        ):
            raise HTTPError(NotModifiedResponse(response))


def checkIfRange(request, response) -> bool:
    """
    Whether a Range request may be honoured for C{response} (RFC 9110
    13.1.5): true without If-Range, and otherwise only when the validator
    given matches strongly (an ETag) or exactly (a Last-Modified date that
    is itself strong: at least a second older than the response's Date, so
    that two versions written within one second cannot be spliced).
    """
    try:
        ifRange = request.headers.getHeader("if-range")
    except HeaderParseError:
        return False
    if ifRange is None:
        return True
    if isinstance(ifRange, int):
        lastModified = response.headers.getHeader("last-modified")
        # Compared with the whole second it is sent as (see checkPreconditions).
        if lastModified is None or ifRange != int(lastModified):
            return False
        try:
            date = response.headers.getHeader("date")
        except HeaderParseError:
            date = None
        return (time.time() if date is None else date) - lastModified >= 1
    etag = response.headers.getHeader("etag")
    return etag is not None and ifRange.match(etag, True)


# ---------------------------------------------------------------------------
# The request


def _closeAfter(result, body):
    body.close()
    return result



class _RequestBodyStream(stream_mod.ProducerStream):
    """
    The request body: a stream fed by the channel, which sends the owed
    C{100 Continue} the first time the application reads.
    """

    continueOwed = False
    chanRequest = None

    def read(self):
        if self.continueOwed:
            self.continueOwed = False
            self.chanRequest.writeIntermediateResponse(responsecode.CONTINUE)
        return stream_mod.ProducerStream.read(self)


class _EmptyBody(stream_mod.MemoryStream):
    """
    The body of a request without one: an empty L{MemoryStream} made
    without the checks of its constructor (one per bodiless request).
    """

    mem = b""
    start = 0
    length = 0
    continueOwed = False


_newObject = object.__new__


class Request:
    """
    An HTTP request as received, with the means to answer it.  The
    framework's L{web2.server.Request} adds URL parsing and traversal.

    @ivar method: the method, C{str}.
    @ivar uri: the request target as sent, C{str}.
    @ivar clientproto: the version tuple, e.g. C{(1, 1)}.
    @ivar headers: the request L{Headers}.
    @ivar stream: the body, an L{IByteStream}.
    @ivar chanRequest: the L{web2.iweb.IChanRequest} to answer on.
    @ivar response: the response once L{writeResponse} was called.
    """

    # The compiled build makes this class an extension type (http.pxd: keep
    # the two lists the same) whose fields are these slots, each set in
    # __init__ or on every request's way, so that its methods reach them
    # without a lookup by name.  Any other attribute lives in the
    # instance's __dict__, as on any class: applications and subclasses
    # keep setting their own.
    __slots__ = (
        "chanRequest", "method", "uri", "clientproto", "headers", "stream",
        "response", "startedWriting", "__dict__", "__weakref__",
    )  # fmt: skip

    #: The failure L{connectionLost} was told of (the connection ended
    #: before the response was complete), or C{None}.
    _connectionLost = None

    def __init__(self, chanRequest, method, uri, version, contentLength, headers):
        self.chanRequest = chanRequest
        self.method = method
        self.uri = uri
        self.clientproto = version
        self.headers = headers
        self.response = None
        self.startedWriting = False
        if contentLength == 0:
            self.stream = _newObject(_EmptyBody)
        else:
            body = _RequestBodyStream(contentLength)
            body.chanRequest = chanRequest
            body.continueOwed = getattr(chanRequest, "continueExpected", False)
            if chanRequest is not None:
                body.registerProducer(chanRequest, True)
            self.stream = body

    # IChanRequestCallbacks

    def process(self):
        """
        Handle the request; the plain message layer has nothing to do.
        """

    def handleContentChunk(self, data):
        self.stream.write(data)

    def handleContentComplete(self, trailers=None):
        self.trailers = trailers or []
        if isinstance(self.stream, stream_mod.ProducerStream):
            self.stream.finish()

    def connectionLost(self, reason):
        self._connectionLost = reason
        if isinstance(self.stream, stream_mod.ProducerStream):
            self.stream.finish(reason)

    @property
    def bodyContinueOwed(self) -> bool:
        """
        Whether a C{100 Continue} is still owed, i.e. the client is waiting
        for permission to send a body nobody has asked for.
        """
        return getattr(self.stream, "continueOwed", False)

    # Answering

    def writeResponse(self, response):
        """
        Send C{response}; see L{IRequest.writeResponse}.
        """
        d = self._writeResponse(response)
        return defer.succeed(None) if d is None else d

    def _writeResponse(self, response):
        """
        L{writeResponse}, returning C{None} instead of a fired Deferred
        when the whole response was written at once (the common case).
        """
        chan = self.chanRequest
        self.response = response
        self.startedWriting = True
        code = response.code
        headers = response.headers
        body = response.stream
        if code != responsecode.NOT_MODIFIED and code not in (204,) and code >= 200:
            length = 0 if body is None else body.length
            if length is None:
                headers.removeHeader("content-length")
            else:
                headers._setTrusted("content-length", str(length))
        elif code == 204:
            # RFC 9110 8.6: no Content-Length on a 204.
            headers.removeHeader("content-length")
        chan.writeHeaders(code, headers)
        if body is None or self.method == "HEAD" or code in NO_BODY_CODES:
            if body is not None:
                body.close()
            chan.finish()
            return None
        if isinstance(body, stream_mod.MemoryStream):
            data = body.read()
            if data is not None:
                chan.write(data)
            chan.finish()
            return None
        if isinstance(body, stream_mod.FileStream) and body.length:
            writeFile = getattr(chan, "writeFile", None)
            d = writeFile(body) if writeFile is not None else None
            if d is not None:
                d.addBoth(_closeAfter, body)
                d.addCallbacks(lambda _: chan.finish(), self._streamingFailed)
                return d
            # No sendfile: over TLS, read the file in threads (web2._fileread).
            body = _fileread.offReactor(chan, body)
        d = stream_mod.StreamProducer(body).beginProducing(chan)
        d.addCallbacks(lambda _: chan.finish(), self._streamingFailed)
        return d

    def _streamingFailed(self, failure):
        if failure.check(ProtocolError):
            # The body was the request's own, cut short by a framing error
            # the channel logged.
            self.chanRequest.abortConnection()
            return
        if failure.check(ConnectionLost, ConnectionDone):
            log.debug("Client went away during {method} {uri}", method=self.method, uri=self.uri)
            self.chanRequest.abortConnection()
            return
        log.failure(
            "Failure while sending the body of {method} {uri}; aborting the "
            "connection", failure, method=self.method, uri=self.uri,
        )
        self.chanRequest.abortConnection()


# Declared after the class, not with @implementer: the compiled build's
# extension types take no class decorators.
classImplements(Request, IRequest, IChanRequestCallbacks)
