# -*- test-case-name: test_channel -*-
"""
L{HTTPChannelRequest}: the channel's side of one request, through which the
request writes its response to the wire (L{web2.iweb.IChanRequest}).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from twisted.internet import interfaces
from twisted.internet.error import ConnectionLost
from twisted.logger import Logger
from zope.interface import classImplements

from web2 import _wire
from web2.channel._producers import (
    _TCP_NOTSENT_LOWAT,
    _UNCAPPED_FILE,
    _canSendfile,
    _capNotSent,
    _SendfileProducer,
    _SendWatch,
)
from web2.iweb import IChanRequest

if TYPE_CHECKING:
    from web2.channel.http import HTTPChannel

log = Logger(namespace=__name__)

_CONTINUE_HEAD = b"HTTP/1.1 100 Continue\r\n\r\n"

# A first piece of body larger than this is not joined to the head.
_JOIN_LIMIT = 16384


class HTTPChannelRequest:
    """
    The channel's side of one request: the way the request writes its
    response to the wire, and the producer that the request body stream
    pauses when the application does not keep up.
    """

    # The compiled build makes this class an extension type whose fields are
    # these (_request.pxd: keep the two lists the same), so every state is
    # set in __init__, none is a class attribute.
    __slots__ = (
        "channel", "head", "request", "persistent", "continueExpected",
        "bodyComplete", "headersWritten", "finished", "superseded",
        "completed", "bytesSent", "_framing", "_pendingHead", "_continueHead",
    )  # fmt: skip

    def __init__(self, channel: HTTPChannel, head):
        self.channel = channel
        self.head = head
        self.persistent = head.keep_alive and channel.allowPersistentConnections
        self.continueExpected = head.expect_continue and head.version >= (1, 1)
        self.bodyComplete = False
        self.request = None
        self.headersWritten = False
        self.finished = False
        self.superseded = False
        self.completed = False
        self.bytesSent = 0
        self._framing = None
        self._pendingHead = None
        self._continueHead = None

    # IChanRequest

    def writeIntermediateResponse(self, code, headers=None):
        # Until the final head is on the wire an interim one may still go
        # before it: a response whose body is the request body (an echo, a
        # proxy) owes its 100 Continue only once it starts reading.
        if self.finished or self.head.version < (1, 1) or (
            self.headersWritten and self._pendingHead is None
        ):
            return
        if code == 100 and not headers:
            self.channel._send(_CONTINUE_HEAD, now=True)
        else:
            pairs = headers.toWire() if headers is not None else []
            self.channel._send(_wire.serialize_response_head(code, pairs), now=True)

    def writeHeaders(self, code, headers):
        if self.finished:
            return
        if self.headersWritten:
            raise RuntimeError("The response headers were already written")
        self.headersWritten = True
        head = self.head
        request = self.request
        raw = headers._rawDict()
        lengthRaw = headers._firstRaw("content-length")
        length = None
        if lengthRaw is not None:
            if lengthRaw.isdigit():
                length = int(lengthRaw)
            else:
                # Not a length (an application's mistake): frame the body
                # ourselves rather than send a broken header.
                log.warn("Dropping an invalid Content-Length {value!r}", value=lengthRaw)
                headers.removeHeader("content-length")
        if "connection" in raw:
            connection = headers.getRawHeaders("connection")
            if any("close" in v.lower() for v in connection):
                self.persistent = False
            headers.removeHeader("connection")
        if self.channel.draining:
            self.persistent = False
        mode, persistent = _wire.decide_framing(
            head.method, head.version, self.persistent, code, length
        )
        self._framing = mode
        self.persistent = persistent
        if "transfer-encoding" in raw:
            headers.removeHeader("transfer-encoding")
        fields = headers._fieldText()
        if mode == "chunked":
            fields += "Transfer-Encoding: chunked\r\n"
        if not persistent:
            fields += "Connection: close\r\n"
        elif head.version < (1, 1):
            fields += "Connection: keep-alive\r\n"
        reason = getattr(getattr(request, "response", None), "reason", None)
        if reason is not None and type(reason) is not bytes:
            # The application's own reason phrase (WSGI and CGI pass them
            # on): bytes as the wire wants them, or latin-1 text.
            try:
                reason = reason.encode("latin-1")
            except (AttributeError, UnicodeEncodeError):
                reason = None
        try:
            self._pendingHead = _wire.serialize_checked_head(code, fields, reason)
        except ValueError:
            log.info("Dropping an invalid reason phrase {reason!r}", reason=reason)
            reason = None
            self._pendingHead = _wire.serialize_checked_head(code, fields)
        if (
            self.continueExpected
            and request is not None
            and getattr(request, "bodyContinueOwed", False)
        ):
            # Whether the 100 is still owed is known when the head leaves
            # (L{_headLeaving}): whoever reads the body first sends it.
            self._continueHead = (code, fields, reason)

    def _headLeaving(self, head):
        """
        The final head goes on the wire.  A client still waiting for a 100
        that nobody sent may or may not send its body, so the connection
        cannot carry another request: the head says it closes, and whatever
        body comes is discarded.

        @return: the head to send.
        """
        code, fields, reason = self._continueHead
        self._continueHead = None
        request = self.request
        if request is None or not getattr(request, "bodyContinueOwed", False):
            return head
        self.channel._discardBody = True
        if not self.persistent:
            return head
        self.persistent = False
        return _wire.serialize_checked_head(code, fields + "Connection: close\r\n", reason)

    def write(self, data):
        if not data or self.finished:
            return
        self.bytesSent += len(data)
        mode = self._framing
        if mode == "none":
            return
        if mode == "chunked":
            data = _wire.encode_chunk(data)
        pending = self._pendingHead
        if pending is not None:
            self._pendingHead = None
            if self._continueHead is not None:
                pending = self._headLeaving(pending)
            if len(data) > _JOIN_LIMIT:
                # Gathered by the socket rather than copied here.
                self.channel._sendPair(pending, data)
                return
            data = pending + data
        self.channel._send(data)

    def finish(self):
        if self.finished:
            if not self.superseded:
                log.warn("finish() called twice on {request!r}", request=self)
            return
        self.finished = True
        self.completed = True
        out = self._pendingHead or b""
        self._pendingHead = None
        if self._continueHead is not None:
            out = self._headLeaving(out)
        if self._framing == "chunked":
            out += _wire.encode_last_chunk()
        if out:
            self.channel._send(out)
        self.channel._requestFinished(self)

    def writeFile(self, fileStream):
        """
        Send a L{web2.stream.FileStream} body with C{os.sendfile}, without
        copying it through Python, where that is possible: a plain TCP
        socket, a body framed by Content-Length, and a file with a real
        descriptor.

        @return: a Deferred that fires when the body has been sent, or
            C{None} when this connection cannot send files directly (the
            caller then streams the body the ordinary way).
        """
        if not _canSendfile or self._framing != "length" or self.finished:
            return None
        transport = self.channel.transport
        if interfaces.ISSLTransport.providedBy(transport):
            return None
        try:
            handle = transport.getHandle()
            socketFd = handle.fileno()
            fileFd = fileStream.f.fileno()
        except (AttributeError, OSError, ValueError):
            return None
        length = fileStream.length
        self.bytesSent += length
        head = self._pendingHead or b""
        self._pendingHead = None
        if self._continueHead is not None:
            head = self._headLeaving(head)
        producer = _SendfileProducer(
            self.channel, socketFd, fileFd, fileStream.start, length, head,
        )
        channel = self.channel
        cap = channel.maxKernelUnsentBytes
        if length > _UNCAPPED_FILE and cap and _TCP_NOTSENT_LOWAT is not None:
            _capNotSent(handle, 0)
            producer.done.addBoth(lambda result: _capNotSent(handle, cap) or result)
        channel._flush()
        channel._unwatchOutput()
        transport.registerProducer(producer, False)
        return producer.done

    def switchProtocols(self, head, protocol):
        """
        Answer with C{head}, a complete C{101 Switching Protocols} response
        head, and hand the connection to C{protocol} (see
        L{HTTPChannel._switchProtocols}): used by L{web2.websocket}.  The
        request counts as answered; what the request object writes after
        this is ignored.

        @raise RuntimeError: the response was already started or finished.
        @raise ConnectionLost: the connection is gone (or its HTTP is over).
        """
        if self.finished or self.headersWritten:
            raise RuntimeError("The response was already started")
        if self.channel._current is not self:
            raise ConnectionLost("The connection is gone")
        self.headersWritten = True
        self.finished = self.superseded = self.completed = True
        self.persistent = False
        self.channel._switchProtocols(self, head, protocol)

    def abortConnection(self):
        if self.superseded:
            # The channel answers this request itself (a protocol error
            # met mid-request) and decides how the connection ends.
            return
        self.finished = True
        self.persistent = False
        self.channel.abortConnection()

    def registerProducer(self, producer, streaming):
        if streaming:
            producer = _SendWatch(producer, self.channel)
        channel = self.channel
        channel._flush()
        channel._unwatchOutput()
        channel.transport.registerProducer(producer, streaming)

    def unregisterProducer(self):
        self.channel._unregisterProducer()

    def getHostInfo(self):
        return self.channel.getHostInfo()

    def isSecure(self):
        return self.channel.isSecure()

    def getRemoteHost(self):
        return self.channel.getPeer()

    # IPushProducer, as the producer of the request body stream

    def pauseProducing(self):
        self.channel._pauseBody()

    def resumeProducing(self):
        self.channel._resumeBody()

    def stopProducing(self):
        # The application closed the body stream: what is left is drained
        # or the connection closed once the response is done.
        self.channel._discardBody = True
        self.channel._resumeBody()

    def __repr__(self) -> str:
        return f"<HTTPChannelRequest {self.head.method} {self.head.target}>"


# Declared after the class, not with @implementer: the compiled build's
# extension types take no class decorators.
classImplements(HTTPChannelRequest, IChanRequest, interfaces.IPushProducer)
