# -*- test-case-name: test_cgi_gateway -*-
"""
The inbound half shared by SCGI, FastCGI and CGI: a request described by
CGI meta-variables becomes a web2 request for a L{web2.server.Site}, and
the response goes back as a CGI response (C{Status:} line, headers, empty
line, body).

Each transport provides a I{carrier} for one request, an object with:

  - C{writeOutput(data)}, C{finishOutput()}, C{abortOutput()}: the
    response bytes, its end, and an abrupt end;
  - C{registerOutputProducer(producer, streaming)},
    C{unregisterOutputProducer()}: backpressure on the response;
  - C{pauseInput()}, C{resumeInput()}, C{discardInput()}: backpressure on
    the request body (and its abandonment).

L{GatewayChannelRequest} is the L{web2.iweb.IChanRequest} the request
writes to; the transport feeds it the body with L{GatewayChannelRequest.bodyReceived},
L{GatewayChannelRequest.bodyComplete} and L{GatewayChannelRequest.inputLost}.

Where the site's URL comes from: with C{scriptName=None} (RFC 3875)
C{SCRIPT_NAME} is the prefix the site is mounted under and C{PATH_INFO}
the path within it; when neither is given, C{REQUEST_URI} is the path (what
nginx's C{scgi_params} sends).  With C{scriptName} set to a prefix (C{""}
for a site at the root), the path is C{REQUEST_URI} (or C{SCRIPT_NAME} +
C{PATH_INFO}) less that prefix: the setting for nginx's C{fastcgi_params},
whose C{SCRIPT_NAME} is the whole path.
"""

from __future__ import annotations

import re
import urllib.parse

from twisted.internet import address, interfaces
from twisted.internet.error import ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2 import responsecode
from web2.http_headers import Headers
from web2.iweb import IChanRequest

log = Logger(namespace="web2.cgi")

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PROTOCOL = re.compile(r"HTTP/([0-9])\.([0-9])")
_TARGET = re.compile(r"/[\x21-\x7e]*")
_SAFE_PATH = "/!$&'()*+,;=:@-._~"
_SKIPPED = frozenset((
    "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
    "proxy-connection", "proxy", "content-length", "content-type",
))
_RESPONSE_SKIPPED = frozenset(("connection", "keep-alive", "transfer-encoding"))
_REASON = re.compile(rb"[\t\x20-\x7e\x80-\xff]+")


class GatewayError(Exception):
    """
    The variables do not describe a request web2 can answer.

    @ivar status: the status to answer with.
    @ivar reason: what is wrong (logged, and shown in the plain-text body).
    """

    def __init__(self, status: int, reason: str):
        Exception.__init__(self, status, reason)
        self.status = status
        self.reason = reason


def _quotePath(text: str) -> str:
    return urllib.parse.quote(text.encode("latin-1"), safe=_SAFE_PATH)


def _address(host: str, port: str | int):
    try:
        number = int(port)
    except (TypeError, ValueError):
        number = 0
    if ":" in host:
        return address.IPv6Address("TCP", host, number)
    return address.IPv4Address("TCP", host, number)


def _target(v, scriptName):
    """
    C{(prefix, path, query)}: the quoted prefix, the quoted path (starting
    with C{/}) and the raw query.
    """
    requestURI = v.get("REQUEST_URI") or None
    uriPath = uriQuery = None
    if requestURI is not None:
        if _TARGET.fullmatch(requestURI) is None:
            raise GatewayError(400, "REQUEST_URI is not an absolute path")
        uriPath, _, uriQuery = requestURI.partition("?")
    query = v.get("QUERY_STRING")
    if query is None:
        query = uriQuery or ""
    elif re.search(r"[\x00-\x20\x7f]", query):
        raise GatewayError(400, "QUERY_STRING has a control character or space")
    scriptVar, pathInfo = v.get("SCRIPT_NAME"), v.get("PATH_INFO")
    for name, value in (("SCRIPT_NAME", scriptVar), ("PATH_INFO", pathInfo)):
        if value and "\0" in value:
            raise GatewayError(400, f"{name} has a NUL byte")
    if scriptName is None:
        if scriptVar is None and pathInfo is None and uriPath is not None:
            return "", uriPath, query
        prefix = _quotePath((scriptVar or "").rstrip("/"))
        path = _quotePath(pathInfo or "")
    else:
        if uriPath is not None:
            full = uriPath
        else:
            full = _quotePath((scriptVar or "") + (pathInfo or ""))
        prefix = scriptName.rstrip("/")
        if full == prefix or full.startswith(prefix + "/"):
            path = full[len(prefix):]
        else:
            log.info("Gateway request for {path} is outside the prefix {prefix}",
                     path=full, prefix=prefix)
            prefix, path = "", full
    if not path.startswith("/"):
        path = "/" + path
    return prefix, path, query


def requestFromVariables(v, scriptName=None, defaultLength=0):
    """
    Read a request out of CGI meta-variables.

    @param v: a mapping of C{str} to C{str} (bytes decoded as latin-1).
    @param scriptName: see the module docstring.
    @param defaultLength: the body length when C{CONTENT_LENGTH} is absent
        or empty: C{0}, or C{None} when the transport delimits the body
        itself (FastCGI).
    @return: a C{dict} with C{method}, C{uri}, C{version}, C{length},
        C{headers}, C{prefix}, C{host}, C{secure}, C{remote}.
    @raise GatewayError: the variables are unusable.
    """
    method = v.get("REQUEST_METHOD", "")
    if _TOKEN.fullmatch(method) is None:
        raise GatewayError(400, f"bad REQUEST_METHOD {method[:40]!r}")
    protocol = v.get("SERVER_PROTOCOL", "")
    match = _PROTOCOL.fullmatch(protocol)
    if match:
        version = (int(match.group(1)), int(match.group(2)))
    elif protocol in ("", "INCLUDED"):
        version = (1, 0)
    else:
        raise GatewayError(400, f"bad SERVER_PROTOCOL {protocol[:40]!r}")
    rawLength = v.get("CONTENT_LENGTH", "")
    if rawLength == "":
        length = defaultLength
    elif rawLength.isdigit() and len(rawLength) <= 18:
        length = int(rawLength)
    else:
        raise GatewayError(400, f"bad CONTENT_LENGTH {rawLength[:40]!r}")
    prefix, path, query = _target(v, scriptName)
    headers = Headers()
    try:
        for name, value in v.items():
            if not name.startswith("HTTP_"):
                continue
            field = name[5:].lower().replace("_", "-")
            if field in _SKIPPED or _TOKEN.fullmatch(field) is None:
                continue
            headers.addRawHeader(field, value)
        if v.get("CONTENT_TYPE"):
            headers.setRawHeaders("content-type", [v["CONTENT_TYPE"]])
        if length:
            headers.setRawHeaders("content-length", [str(length)])
    except ValueError as e:
        raise GatewayError(400, f"bad header: {e}") from None
    secure = v.get("HTTPS", "").lower() in ("on", "1") or v.get("REQUEST_SCHEME") == "https"
    serverName = v.get("SERVER_NAME") or v.get("SERVER_ADDR") or "localhost"
    serverPort = v.get("SERVER_PORT") or ("443" if secure else "80")
    return {
        "method": method,
        "uri": path + ("?" + query if query else ""),
        "version": version,
        "length": length,
        "headers": headers,
        "prefix": prefix,
        "host": _address(serverName, serverPort),
        "secure": secure,
        "remote": _address(v.get("REMOTE_ADDR") or "0.0.0.0", v.get("REMOTE_PORT") or 0),
    }


def errorOutput(status: int, reason: str) -> bytes:
    """
    A whole CGI response for an error found before the site saw the
    request.
    """
    body = f"{status} {responsecode.reasonPhrase(status)}: {reason}\n".encode(
        "utf-8", "replace")
    return (
        b"Status: %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n" % (
            status, responsecode.reasonPhrase(status).encode("latin-1"), len(body))
    ) + body


def _reasonPhrase(code: int, reason) -> bytes:
    """
    C{reason} (C{bytes}, or latin-1 C{str}) if it is a non-empty
    reason-phrase (RFC 9112: tabs, spaces, visible and obs-text octets);
    otherwise the standard phrase of C{code}.
    """
    if isinstance(reason, str):
        try:
            reason = reason.encode("latin-1")
        except UnicodeEncodeError:
            reason = None
    if isinstance(reason, bytes) and reason and _REASON.fullmatch(reason):
        return reason
    return responsecode.reasonPhrase(code).encode("latin-1")


def responseHead(code: int, headers, reason=None) -> bytes:
    """
    The CGI head of a response: the C{Status} line, then the headers
    without the hop-by-hop ones (the front end frames the response).

    @param reason: the application's own reason phrase (a response's
        C{reason}, as web2-wsgi sets from a WSGI status line), passed on
        to the front end, which sends it to the client; C{None}, or one
        that is not a valid reason phrase, for the standard one.
    """
    lines = [b"Status: %d %s\r\n" % (code, _reasonPhrase(code, reason))]
    for name, value in headers.toWire():
        if name.lower().decode("latin-1") in _RESPONSE_SKIPPED:
            continue
        lines.append(name + b": " + value + b"\r\n")
    lines.append(b"\r\n")
    return b"".join(lines)


@implementer(IChanRequest, interfaces.IPushProducer)
class GatewayChannelRequest:
    """
    One request arriving through a gateway: the L{IChanRequest} its web2
    request writes the response to, and the producer its body stream
    pauses.

    @ivar request: the web2 request, once L{start} made it.
    @ivar finished: whether the response is complete (or abandoned).
    @ivar bytesSent: the body bytes written.
    """

    persistent = False
    finished = False
    headersWritten = False
    bytesSent = 0
    request = None

    def __init__(self, carrier, info):
        self.carrier = carrier
        self.info = info
        self.remaining = info["length"]
        self._overrunLogged = False

    @classmethod
    def fromVariables(cls, carrier, variables, scriptName=None, defaultLength=0):
        """
        @return: the channel request, or C{None} when the variables were
            refused (the error response was then written and finished).
        """
        try:
            info = requestFromVariables(variables, scriptName, defaultLength)
        except GatewayError as e:
            log.info("Refusing a gateway request: {status} {reason}",
                     status=e.status, reason=e.reason)
            carrier.writeOutput(errorOutput(e.status, e.reason))
            carrier.finishOutput()
            return None
        return cls(carrier, info)

    def start(self, site):
        """
        Make the web2 request with C{site} and process it.
        """
        info = self.info
        request = site(self, info["method"], info["uri"], info["version"],
                       info["length"], info["headers"])
        if info["prefix"]:
            request.pathPrefix = info["prefix"]
        self.request = request
        try:
            request.process()
        except Exception:
            log.failure("Unhandled error processing {uri}", uri=info["uri"])
            if not self.headersWritten and not self.finished:
                self.carrier.writeOutput(errorOutput(500, "internal error"))
                self.finish()
        if info["length"] == 0:
            self.bodyComplete()

    # The body, from the transport

    def bodyReceived(self, data: bytes) -> None:
        """
        More of the request body.  Beyond C{CONTENT_LENGTH} it is dropped.
        """
        if self.remaining is not None:
            if len(data) > self.remaining:
                if not self._overrunLogged:
                    self._overrunLogged = True
                    log.info("Gateway request body longer than its CONTENT_LENGTH; "
                             "the excess is dropped")
                data = data[:self.remaining]
            self.remaining -= len(data)
        if data and self.request is not None and not self.finished:
            self.request.handleContentChunk(data)
        if self.remaining == 0 and data:
            self.bodyComplete()

    def bodyComplete(self) -> None:
        """
        The transport says the body is over.
        """
        if getattr(self, "_bodyDone", False):
            return
        self._bodyDone = True
        if self.remaining:
            log.info("Gateway request body ended before its CONTENT_LENGTH")
            self.inputLost(Failure(ConnectionLost("the body ended before CONTENT_LENGTH")))
            self.carrier.abortOutput()
            return
        if self.request is not None:
            self.request.handleContentComplete()

    def inputLost(self, reason) -> None:
        """
        The request went away (connection lost, FastCGI abort).
        """
        self._bodyDone = True
        if self.request is not None and not self.finished:
            # Like the HTTP channel: the request is over, and whatever the
            # application still does with it is discarded quietly.
            self.finished = True
            self.request.connectionLost(reason)

    # IChanRequest

    def writeIntermediateResponse(self, code, headers=None):
        """
        1xx responses cannot cross a gateway: ignored.
        """

    def writeHeaders(self, code, headers):
        if self.finished:
            return
        if self.headersWritten:
            raise RuntimeError("The response headers were already written")
        self.headersWritten = True
        reason = getattr(getattr(self.request, "response", None), "reason", None)
        self.carrier.writeOutput(responseHead(code, headers, reason))

    def write(self, data):
        if not data or self.finished:
            return
        self.bytesSent += len(data)
        self.carrier.writeOutput(data)

    def finish(self):
        if self.finished:
            return
        self.finished = True
        self.carrier.finishOutput()

    def abortConnection(self):
        if self.finished:
            return
        self.finished = True
        self.carrier.abortOutput()

    def registerProducer(self, producer, streaming):
        self.carrier.registerOutputProducer(producer, streaming)

    def unregisterProducer(self):
        self.carrier.unregisterOutputProducer()

    def getHostInfo(self):
        return self.info["host"], self.info["secure"]

    def isSecure(self):
        return self.info["secure"]

    def getRemoteHost(self):
        return self.info["remote"]

    # IPushProducer, for the request body stream

    def pauseProducing(self):
        self.carrier.pauseInput()

    def resumeProducing(self):
        self.carrier.resumeInput()

    def stopProducing(self):
        self.carrier.discardInput()

    def __repr__(self) -> str:
        return f"<GatewayChannelRequest {self.info['method']} {self.info['uri']}>"
