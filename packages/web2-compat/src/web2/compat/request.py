# -*- test-case-name: test_compat_request -*-
"""
L{OldRequest}: a C{twisted.web.iweb.IRequest} backed by a web2 request, so
that twisted.web resources can be traversed and rendered by a web2 site.

It speaks twisted.web's types: C{bytes} method, URI, path, segments and
arguments; C{twisted.web.http_headers.Headers} for both header sets.  The
request body is read in full (within a bound) before traversal, into the
file-like C{content}, and form bodies are parsed into C{args}, as
twisted.web does.  The response side is L{web2.compat._writer}.
"""

from __future__ import annotations

import base64
import binascii
import math
from urllib.parse import parse_qs

from twisted.internet import defer
from twisted.logger import Logger
from twisted.python import components
from twisted.python.failure import Failure
from twisted.web import http as twhttp
from twisted.web import resource as twresource
from twisted.web.http_headers import Headers as TwistedHeaders
from twisted.web.iweb import IRequest
from twisted.web.server import NOT_DONE_YET
from zope.interface import implementer

from web2 import http
from web2.compat._body import formArgs, readContent
from web2.compat._location import RequestLocation
from web2.compat._writer import ResponseWriter
from web2.http_headers import HeaderParseError, Headers

log = Logger()

#: The body of L{OldRequest.processingFailed}'s 500 (the words of web2's own).
_FAILED_PAGE = (
    b"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
    b"<title>500 Internal Server Error</title></head><body>"
    b"<h1>Internal Server Error</h1><p>An error occurred while processing this "
    b"request; it was logged.</p></body></html>"
)

#: twisted.web's magic value: the request is conditional and the
#: condition means no body should be written.
CACHED = twhttp.CACHED

_SESSION_COOKIES = {False: b"TWISTED_SESSION", True: b"TWISTED_SECURE_SESSION"}


def _segment(text: str) -> bytes:
    """
    A decoded web2 path segment as the decoded bytes twisted.web uses.
    """
    return text.encode("utf-8", "surrogateescape")


def _text(segment: bytes) -> str:
    return segment.decode("utf-8", "surrogateescape")


def _twistedHeaders(headers) -> TwistedHeaders:
    converted = TwistedHeaders()
    for name, values in headers.getAllRawHeaders():
        converted.setRawHeaders(name.encode("latin-1"), [v.encode("latin-1") for v in values])
    return converted


def _asBytes(value) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("utf-8")


@implementer(IRequest)
class OldRequest(ResponseWriter, RequestLocation, components.Componentized):
    """
    A twisted.web request for one web2 request.

    @ivar method: the method, C{bytes}.
    @ivar uri: the request target as the client sent it, C{bytes}: under a
        prefix web2 knows of (the web2 request's C{pathPrefix}, from a
        gateway's C{SCRIPT_NAME} or a trusted proxy), the prefix comes
        first, as in C{prePathURL}.
    @ivar path: the path part of C{uri}, still percent-encoded, C{bytes}.
    @ivar clientproto: e.g. C{b"HTTP/1.1"}.
    @ivar args: query (and, for a POST form, body) arguments: C{bytes}
        names to lists of C{bytes} values.
    @ivar prepath: the decoded segments traversal consumed (C{bytes}).
    @ivar postpath: the decoded segments still to traverse (C{bytes}).
    @ivar sitepath: C{prepath} where the twisted.web tree begins (its mount
        point); it names the session cookie.
    @ivar content: the request body, a file (C{None} until it is read,
        before the first twisted.web resource sees the request).
    @ivar site: the L{web2.compat.session.SessionStore}, which plays the
        twisted.web site's part for sessions.
    @ivar webRequest: the web2 request behind this one.
    """

    content = None
    lastModified = None
    etag = None
    session = None
    _insecureSession = None
    _secureSession = None
    _received = None
    _user = None
    _notified = False
    _lostReason = None

    def __init__(
        self, request, sessionStore, reactor,
        maxBodySize: int = 10 * 1024 * 1024,
        spoolThreshold: int = 100 * 1024,
        maxFormFields: int = 10000,
    ):
        """
        @param request: the web2 L{web2.server.Request}.
        @param sessionStore: the L{SessionStore} of L{getSession}.
        @param reactor: the L{IReactorTime} for deferred notifications.
        @param maxBodySize: the largest request body read; more is a 413.
        @param spoolThreshold: bodies longer than this are kept in a
            temporary file rather than in memory.
        @param maxFormFields: the most form fields parsed from a body.
        """
        components.Componentized.__init__(self)
        self.webRequest = request
        self.site = sessionStore
        self._reactor = reactor
        self.maxBodySize = maxBodySize
        self.spoolThreshold = spoolThreshold
        self.maxFormFields = maxFormFields
        self.method = request.method.encode("latin-1")
        prefix = getattr(request, "pathPrefix", "")
        self.uri = (prefix + request.uri).encode("latin-1")
        self.clientproto = b"HTTP/%d.%d" % tuple(request.clientproto)
        self.path = (prefix + getattr(request, "path", request.uri)).encode("latin-1")
        query = getattr(request, "querystring", "").encode("latin-1")
        self.args = parse_qs(query, keep_blank_values=True)
        self.requestHeaders = _twistedHeaders(request.headers)
        self.responseHeaders = TwistedHeaders()
        self.cookies: list[bytes] = []
        self.notifications: list[defer.Deferred] = []
        self.prepath = [_segment(s) for s in request.prepath]
        self.postpath = [_segment(s) for s in request.postpath]
        self.sitepath = list(self.prepath)
        self.host = self._localAddress()
        self._contentReady = False

    def __repr__(self) -> str:
        return f"<OldRequest {self.method.decode('latin-1')} {self.uri.decode('latin-1')!r}>"

    # -- body -----------------------------------------------------------

    def _readContent(self):
        """
        Read the body into C{content} and its form fields into C{args}.
        Traversal calls this before the first twisted.web resource sees the
        request, and waits for it.

        @return: C{None} when done, or a Deferred firing when done.
        """
        if self.content is not None:
            return None
        if self._contentReady:
            raise RuntimeError("the request body is already being read")
        self._contentReady = True
        d = readContent(self.webRequest.stream, self.maxBodySize, self.spoolThreshold)
        d.addCallback(self._gotContent)
        if self.content is not None and d.called:
            return None
        return d

    def _gotContent(self, content):
        if self.method == b"POST":
            contentType = self.getHeader(b"content-type")
            if contentType:
                fields = formArgs(content, contentType, self.maxFormFields)
                for name, values in fields.items():
                    self.args.setdefault(name, []).extend(values)
        self.content = content
        return None

    # -- traversal state --------------------------------------------------

    def _syncPath(self, request, remaining) -> None:
        """
        Take C{prepath} and C{postpath} from the web2 request: web2
        resources traversed in between may have moved segments.
        """
        self.prepath = [_segment(s) for s in request.prepath]
        self.postpath = [_segment(s) for s in remaining]

    def _remaining(self) -> tuple[str, ...]:
        return tuple(_text(s) for s in self.postpath)

    # -- request headers ------------------------------------------------

    def getHeader(self, key):
        """
        The last value of request header C{key}, of the same type as
        C{key} (C{bytes} or C{str}), or C{None}.
        """
        values = self.requestHeaders.getRawHeaders(key)
        return values[-1] if values else None

    def getAllHeaders(self) -> dict[bytes, bytes]:
        """
        The request headers: lower-case C{bytes} names to their last value.
        """
        return {name.lower(): values[-1]
                for name, values in self.requestHeaders.getAllRawHeaders()}

    @property
    def received_cookies(self) -> dict[bytes, bytes]:
        """
        The cookies of the request, C{bytes} names to C{bytes} values.
        """
        if self._received is None:
            cookies = {}
            for header in self.requestHeaders.getRawHeaders(b"cookie", []):
                for pair in header.split(b";"):
                    name, sep, value = pair.strip().partition(b"=")
                    if sep and name:
                        cookies[name] = value
            self._received = cookies
        return self._received

    def getCookie(self, key: bytes):
        """
        The value of the request's cookie C{key}, or C{None}.
        """
        return self.received_cookies.get(key)

    def _authorize(self) -> tuple[bytes, bytes]:
        if self._user is None:
            self._user = (b"", b"")
            value = self.getHeader(b"authorization")
            if value:
                scheme, _, token = value.strip().partition(b" ")
                if scheme.lower() == b"basic":
                    try:
                        decoded = base64.b64decode(token.strip(), validate=True)
                    except (binascii.Error, ValueError):
                        decoded = b""
                    user, sep, password = decoded.partition(b":")
                    if sep:
                        self._user = (user, password)
        return self._user

    def getUser(self) -> bytes:
        """
        The user of Basic authentication, or C{b""}.
        """
        return self._authorize()[0]

    def getPassword(self) -> bytes:
        """
        The password of Basic authentication, or C{b""}.
        """
        return self._authorize()[1]

    # -- response helpers ----------------------------------------------

    def redirect(self, url) -> None:
        """
        Make the response a 302 redirect to C{url}; call L{finish} after.
        """
        self.setResponseCode(twhttp.FOUND)
        self.setHeader(b"location", _asBytes(url))

    def addCookie(self, k, v, expires=None, domain=None, path=None, max_age=None,
                  comment=None, secure=None, httpOnly=False, sameSite=None) -> None:
        """
        Add a C{Set-Cookie} to the response, as twisted.web's C{addCookie}
        (same parameters; CR, LF and C{;} in values become spaces).

        @raise ValueError: C{sameSite} is not lax, strict or none (none
            needs C{secure}).
        """
        def clean(value) -> bytes:
            value = _asBytes(value)
            for bad in (b"\r\n", b"\r", b"\n", b";", b"\0"):
                value = value.replace(bad, b" ")
            return value

        cookie = clean(k) + b"=" + clean(v)
        for label, value in ((b"Expires", expires), (b"Domain", domain), (b"Path", path),
                             (b"Max-Age", max_age), (b"Comment", comment)):
            if value is not None:
                cookie += b"; " + label + b"=" + clean(value)
        if secure:
            cookie += b"; Secure"
        if httpOnly:
            cookie += b"; HttpOnly"
        if sameSite:
            mode = _asBytes(sameSite).lower()
            if mode not in (b"lax", b"strict", b"none") or (mode == b"none" and not secure):
                raise ValueError(f"invalid sameSite {sameSite!r} (none needs secure)")
            cookie += b"; SameSite=" + mode
        self.cookies.append(cookie)

    def _validators(self):
        """
        This response's ETag (parsed by web2) and Last-Modified.
        """
        etag = None
        if self.etag is not None:
            probe = Headers()
            probe.setRawHeaders("etag", [self.etag.decode("latin-1")])
            try:
                etag = probe.getHeader("etag")
            except HeaderParseError:
                etag = None
        return etag, self.lastModified

    def _conditional(self):
        """
        Evaluate the request's preconditions with web2's rules against the
        validators known so far: C{CACHED} (and status 304) when the body
        need not be written.  A 412 is left to web2's precondition filter,
        which sees the final validators of the response.
        """
        if self.method not in (b"GET", b"HEAD") or self._response is not None:
            return None
        etag, lastModified = self._validators()
        try:
            http.checkPreconditions(self.webRequest, etag=etag, lastModified=lastModified)
        except http.HTTPError as e:
            if e.response.code == twhttp.NOT_MODIFIED:
                self.setResponseCode(twhttp.NOT_MODIFIED)
                return CACHED
        return None

    def setLastModified(self, when):
        """
        Set Last-Modified (only ever moving it later).

        @return: C{CACHED} if the request's conditions mean the client's
            copy is current (the status is then 304), else C{None}.
        """
        when = int(math.ceil(when))
        if self.lastModified is None or self.lastModified < when:
            self.lastModified = when
            self.setHeader(b"last-modified", twhttp.datetimeToString(when))
        return self._conditional()

    def setETag(self, etag):
        """
        Set the ETag (quoted if the application gave a bare tag).

        @return: C{CACHED} if If-None-Match matches (the status is then
            304), else C{None}.
        """
        if not etag:
            return None
        etag = _asBytes(etag)
        if not (etag.endswith(b'"') and (etag.startswith(b'"') or etag.startswith(b'W/"'))):
            etag = b'"' + etag.replace(b'"', b"") + b'"'
        self.etag = etag
        self.setHeader(b"etag", etag)
        return self._conditional()

    # -- sessions -------------------------------------------------------

    def getSession(self, sessionInterface=None, forceNotSecure: bool = False):
        """
        The session named by this request's session cookie, or a new one
        (whose cookie is added to the response: HttpOnly, SameSite=Lax,
        Secure over TLS).

        @param sessionInterface: return this component of the session.
        @param forceNotSecure: use the plain-HTTP session even over TLS.
        """
        secure = self.isSecure() and not forceNotSecure
        attribute = "_secureSession" if secure else "_insecureSession"
        session = getattr(self, attribute)
        if session is not None:
            if self.site.sessions.get(session.uid) is session:
                session.touch()
            else:
                session = None  # it expired since this request got it
        if session is None:
            name = b"_".join([_SESSION_COOKIES[secure]] + self.sitepath)
            uid = self.getCookie(name)
            if uid:
                try:
                    session = self.site.getSession(uid)
                except KeyError:
                    session = None
                else:
                    session.touch()
            if session is None:
                session = self.site.makeSession()
                self.addCookie(name, session.uid, path=b"/", secure=secure,
                               httpOnly=True, sameSite=b"lax")
        setattr(self, attribute, session)
        self.session = session
        if sessionInterface is not None:
            return session.getComponent(sessionInterface)
        return session

    # -- rendering another resource, failing ---------------------------

    def render(self, resource) -> None:
        """
        Answer this request with the twisted.web C{resource}, as
        C{twisted.web.server.Request.render} does: the C{bytes} its
        C{render} returns are written and the request finished;
        C{NOT_DONE_YET} leaves that to the resource.  A method it does not
        render is answered 405 with C{Allow}, except a HEAD, rendered as a
        GET (web2 sends no body).  Applications use it to answer with
        another resource: Klein does, when a route returns one.
        """
        try:
            body = resource.render(self)
        except twresource.UnsupportedMethod as e:
            allowed = [m if isinstance(m, bytes) else str(m).encode("latin-1")
                       for m in (e.allowedMethods or ())]
            if self.method == b"HEAD" and b"GET" in allowed:
                self.method = b"GET"
                try:
                    body = resource.render(self)
                finally:
                    self.method = b"HEAD"
            else:
                self.setResponseCode(405)
                self.setHeader(b"allow", b", ".join(allowed))
                self.setHeader(b"content-type", b"text/plain; charset=utf-8")
                body = b"The method %s is not allowed here.\n" % (self.method,)
        if body is NOT_DONE_YET:
            return
        if not isinstance(body, bytes):
            self.processingFailed(Failure(TypeError(
                f"{resource!r}.render returned {body!r}, neither bytes nor NOT_DONE_YET")))
            return
        if self.finished or self._disconnected:
            return
        if body or self.method != b"HEAD":
            # A HEAD answered with no body keeps the length the resource set.
            self.setHeader(b"content-length", b"%d" % (len(body),))
        self.write(body)
        self.finish()

    def processingFailed(self, reason: Failure) -> Failure:
        """
        The application failed to answer: log C{reason} and answer 500 (the
        page says only that the error was logged), or abort the response
        if part of it was already released.  twisted.web's C{Request} has
        this method, and Klein calls it for an error no handler took.

        @return: C{reason}.
        """
        log.failure("Unhandled error while answering {request!r}", reason, request=self)
        if self.finished or self._disconnected:
            return reason
        if self.startedWriting:
            if self._mode == "collect":
                self._openStream()
            self._abortResponse(reason)
            return reason
        self.setResponseCode(500)
        self.setHeader(b"content-type", b"text/html; charset=utf-8")
        self.setHeader(b"content-length", b"%d" % (len(_FAILED_PAGE),))
        self.write(_FAILED_PAGE)
        self.finish()
        return reason

    # -- the end of the request -----------------------------------------

    def notifyFinish(self) -> defer.Deferred:
        """
        A Deferred firing C{None} when the response is finished, or failing
        when the client goes away first.
        """
        if self._notified:
            if self._lostReason is not None:
                return defer.fail(self._lostReason)
            return defer.succeed(None)
        d = defer.Deferred()
        self.notifications.append(d)
        return d

    def _notify(self, failure) -> None:
        if self._notified:
            return
        self._notified = True
        self._lostReason = failure
        notifications, self.notifications = self.notifications, []
        for d in notifications:
            if failure is None:
                d.callback(None)
            else:
                d.errback(failure)

    def _connectionLost(self, reason) -> None:
        """
        The client went away: writes are dropped from now on, the producer
        is stopped, and C{notifyFinish} fails unless already fired.
        """
        if self._disconnected:
            return
        if not isinstance(reason, Failure):
            reason = Failure(reason)
        self._disconnected = True
        self._discarding = True
        producer, self.producer = self.producer, None
        if self._body is not None:
            self._body.close()
        elif producer is not None:
            producer.stopProducing()
        self._notify(reason)

    def loseConnection(self) -> None:
        """
        Drop the connection at once.
        """
        self.webRequest.chanRequest.abortConnection()
