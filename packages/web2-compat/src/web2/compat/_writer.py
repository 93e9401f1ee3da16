# -*- test-case-name: test_compat_writer -*-
"""
The response half of L{web2.compat.request.OldRequest}: twisted.web's
C{setResponseCode}/C{setHeader}/C{write}/C{finish}/C{registerProducer}
turned into one web2 L{http.Response}.

The response is "released" (its status and headers are fixed, as
twisted.web sends them) by the first C{write}, C{finish} or
C{registerProducer}.  What happens to the body depends on when:

  - during C{render()} (or while its return value is handled) the writes
    are collected; if the resource also finishes before returning, the
    body is one L{MemoryStream} and the response gets a Content-Length;
  - otherwise the body is a L{_ResponseBody} (a L{ProducerStream}): the
    application's writes are streamed to the client, and a producer the
    application registers is paused and resumed by the stream's buffer
    bound (a streaming producer) or asked for data as the client reads (a
    pull producer).

A Content-Length the application declared for a streamed body is held to:
extra bytes are dropped, and a body that ends short aborts the connection
instead of leaving the client waiting.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.error import ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure
from twisted.web.http import RESPONSES

from web2 import http
from web2.http_headers import Headers
from web2.stream import MemoryStream, ProducerStream

log = Logger()

#: Status codes whose responses have no body, and so no default type.
_NO_BODY_CODES = (204, 304)


class ShortBody(Exception):
    """
    The application finished a response before writing the Content-Length
    it declared.
    """


class _ResponseBody(ProducerStream):
    """
    The streamed body of a released response: tells its owner when the
    server stops reading it before the application finished (the client
    left, the response was replaced by a 304, or it answers a HEAD).
    """

    owner = None

    def close(self):
        if self.closed:
            return
        owner, self.owner = self.owner, None
        # A read the closer is waiting for is answered on the next turn,
        # not from inside close(): web2's StreamProducer.stopProducing
        # closes its stream and then fails its own Deferred, which must not
        # have been fired by that read in between.
        waiting, self._waiting = self._waiting, None
        ProducerStream.close(self)
        if waiting is not None:
            if owner is not None:
                owner._reactor.callLater(0, waiting.callback, None)
            else:
                waiting.callback(None)
        if owner is not None:
            owner._bodyClosed()


def _transportGone(request) -> bool:
    """
    Whether the connection under the web2 C{request} has been lost.
    """
    channel = getattr(request.chanRequest, "channel", None)
    transport = getattr(channel, "transport", None)
    if transport is None:
        return False
    return bool(getattr(transport, "disconnected", False)) or (
        getattr(transport, "connected", True) in (0, False))


def _contentLength(headers) -> int | None:
    values = headers.getRawHeaders(b"content-length")
    if not values:
        return None
    try:
        length = int(values[-1])
    except ValueError:
        return None
    return length if length >= 0 else None


class ResponseWriter:
    """
    A mixin giving L{OldRequest} the response methods of twisted.web's
    C{IRequest}.  The class using it provides C{method} (C{bytes}),
    C{responseHeaders}, C{cookies}, C{webRequest}, C{_reactor},
    C{_notify(failure)} and C{_connectionLost(reason)}.
    """

    code = 200
    code_message = b"OK"
    startedWriting = False
    finished = False
    producer = None
    sentLength = 0
    defaultContentType = b"text/html"

    _response = None
    _mode = None  # None, "collect", "stream" or "done"
    _chunks = None
    _body = None
    _declared = None
    _streamed = 0
    _waiting = None
    _inRender = False
    _discarding = False
    _disconnected = False

    # -- status and headers ---------------------------------------------

    def setResponseCode(self, code: int, message: bytes | None = None) -> None:
        """
        Set the status code (and reason phrase, which web2 does not send:
        it writes the standard phrase).

        @raise TypeError: C{code} is not an C{int}.
        @raise ValueError: C{code} is not a final status (200 to 599).
        """
        if not isinstance(code, int) or isinstance(code, bool):
            raise TypeError(f"status code must be an int, not {code!r}")
        if not 200 <= code <= 599:
            raise ValueError(f"status code {code} is not a final status (200-599)")
        self.code = code
        self.code_message = message if message is not None else RESPONSES.get(
            code, b"Unknown Status")

    def setHeader(self, name, value) -> None:
        """
        Set a response header, replacing any earlier value.  Ignored, as in
        twisted.web, once the response is released.
        """
        self.responseHeaders.setRawHeaders(name, [value])

    # -- body ---------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """
        Write a piece of the body; the first call releases the response.

        @raise RuntimeError: the application already called L{finish}.
        """
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        if self.finished:
            raise RuntimeError("Request.write called on a request after Request.finish")
        if self._discarding:
            return
        self._release()
        if not data:
            return
        data = bytes(data)
        self.sentLength += len(data)
        if self._mode == "collect":
            self._chunks.append(data)
        else:
            self._streamWrite(data)

    def finish(self) -> None:
        """
        The response is complete: fire C{notifyFinish}'s Deferreds.

        @raise RuntimeError: the client is gone (as twisted.web does; use
            C{notifyFinish} to know).
        """
        if self._disconnected:
            raise RuntimeError(
                "Request.finish called on a request after its connection was lost; "
                "use Request.notifyFinish to keep track of this.")
        if self.finished:
            log.warn("Warning! request.finish called twice on {request!r}", request=self)
            return
        self.finished = True
        self._release(finishing=True)
        body = self._body
        if body is not None and not body.finished:
            declared = self._declared
            if declared is not None and self._streamed < declared and self.method != b"HEAD":
                body.finish(Failure(ShortBody(
                    f"finished after {self._streamed} of {declared} declared bytes")))
            else:
                body.finish()
        self._notify(None)

    def registerProducer(self, producer, streaming) -> None:
        """
        Register the producer of the body: a streaming (push) producer is
        paused while the client does not keep up; a pull producer is asked
        for more each time the client has taken what was written.

        @raise ValueError: a producer is already registered.
        """
        if self.producer is not None:
            raise ValueError(
                f"registering producer {producer!r} before the previous one "
                f"({self.producer!r}) was unregistered")
        if self._discarding or self.finished:
            producer.stopProducing()
            return
        self.producer = producer
        self._release()
        if self._mode == "collect":
            self._openStream()
        self._body.registerProducer(producer, streaming)

    def unregisterProducer(self) -> None:
        """
        Forget the registered producer.
        """
        self.producer = None
        if self._body is not None:
            self._body.unregisterProducer()

    # -- releasing the response -----------------------------------------

    def _webHeaders(self) -> Headers:
        """
        The web2 headers of the response: the application's, its cookies,
        and the default Content-Type twisted.web adds.
        """
        headers = Headers()
        for name, values in self.responseHeaders.getAllRawHeaders():
            textName = name.decode("latin-1")
            try:
                headers.setRawHeaders(textName, [v.decode("latin-1") for v in values])
            except ValueError as e:
                log.warn("Dropped the invalid response header {name!r}: {e}",
                         name=textName, e=str(e))
        for cookie in self.cookies:
            headers.addRawHeader("set-cookie", cookie.decode("latin-1"))
        if (
            self.code not in _NO_BODY_CODES
            and not headers.hasHeader("content-type")
            and self.defaultContentType is not None
        ):
            headers.setRawHeaders("content-type", [self.defaultContentType.decode("latin-1")])
        return headers

    def _release(self, finishing: bool = False) -> None:
        """
        Fix the status and headers, as twisted.web's first write does.
        """
        if self._response is not None:
            return
        self.startedWriting = True
        self._response = http.Response(self.code, self._webHeaders())
        self._declared = _contentLength(self.responseHeaders)
        if self._inRender:
            self._mode = "collect"
            self._chunks = []
        elif finishing:
            self._response.stream = self._emptyBody()
            self._mode = "done"
            self._deliver()
        else:
            self._openStream()
            self._deliver()

    def _emptyBody(self):
        """
        The body of a response finished without data: empty, except that a
        HEAD keeps the Content-Length the application declared.
        """
        if self.method == b"HEAD" and self._declared:
            placeholder = ProducerStream(self._declared)
            placeholder.finish()
            return placeholder
        return MemoryStream(b"")

    def _openStream(self) -> None:
        body = _ResponseBody(self._declared)
        body.owner = self
        self._body = body
        self._mode = "stream"
        self._response.stream = body
        chunks, self._chunks = self._chunks or [], None
        for chunk in chunks:
            self._streamWrite(chunk)

    def _streamWrite(self, data: bytes) -> None:
        declared = self._declared
        if declared is not None and self.method != b"HEAD":
            room = declared - self._streamed
            if len(data) > room:
                log.warn("{request!r} wrote more than its Content-Length of {length}; "
                         "the excess is dropped", request=self, length=declared)
                data = data[:room]
        self._streamed += len(data)
        self._body.write(data)

    def _collected(self):
        """
        The response once C{render()} has returned: a collected body
        becomes one L{MemoryStream} if finished, or the start of a stream.
        """
        if self._mode == "collect":
            if self.finished:
                data = b"".join(self._chunks)
                self._chunks = None
                self._response.stream = MemoryStream(data) if data else self._emptyBody()
                self._mode = "done"
            else:
                self._openStream()
        if self._response is None:
            # Nothing was released (the client left during render()).
            return http.Response(self.code)
        return self._response

    def _deliver(self) -> None:
        """
        Hand the released response to web2, which is waiting for it.
        """
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.callback(self._response)

    def _waitForResponse(self) -> defer.Deferred:
        self._waiting = defer.Deferred()
        return self._waiting

    # -- the end of the response ----------------------------------------

    def _bodyClosed(self) -> None:
        """
        The server stopped reading the body before the application
        finished.  If the transport is gone (the client left: the transport
        stops its producer as it disconnects) C{notifyFinish} fails now.
        Otherwise (a HEAD, a 304 that replaced the response, a range that
        was sent) the response is complete as far as the client knows, so
        it succeeds on the next turn, unless C{connectionLost} comes first.
        """
        if self.finished or self._disconnected:
            return
        self._discarding = True
        self.producer = None
        if _transportGone(self.webRequest):
            self._connectionLost(Failure(ConnectionLost("the client went away")))
        else:
            self._reactor.callLater(0, self._settle)

    def _settle(self) -> None:
        if not self._disconnected:
            self._notify(None)

    def _abortResponse(self, failure: Failure) -> None:
        """
        The application failed after the response was released: end the
        body with the failure (the connection is aborted, nothing else can
        tell the client) and stop whatever is still producing.
        """
        self._discarding = True
        if self._body is not None and not self._body.finished:
            self._body.finish(failure)
        self._notify(failure)
