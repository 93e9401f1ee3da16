# -*- test-case-name: test_client -*-
"""
L{HTTP11ClientProtocol}: one client connection, carrying one exchange at a
time over the sans-I/O L{web2._wire.ResponseReader}.

Rules of this module, in the order they matter:

 1. One exchange at a time; no pipelining.  A connection goes back to its
    pool only when the response was read whole, the request was sent
    whole, the server allowed keep-alive and sent nothing extra.
 2. Both bodies stream with backpressure.  The request body is an
    L{IByteStream} written by a L{StreamProducer} that the transport
    pauses; the response body is a L{ProducerStream} whose reader pauses
    the transport (and so the server) when it does not keep up.  Neither
    body is ever held whole.
 3. Every wait has a bound: C{continueTimeout} for a C{100 Continue}
    (then the body is sent anyway), C{responseTimeout} from the end of the
    request to the final head, and C{bodyTimeout} while the response body
    is read (only while the reader reads: a paused transport is the
    reader's choice) or while the server takes none of the request body.
 4. Every failure is final and named: L{BadResponse} for garbage,
    L{ConnectionClosed} for a server that left, L{ResponseTimeout} and
    L{BodyTimeout}, L{RequestBodyError}; the connection is aborted and the
    caller gets the error either from the response Deferred (before the
    head) or from the body stream (after it).
 5. C{Expect: 100-continue} in the request headers holds the body back
    until the server says C{100}, or answers (then the body is never sent
    and the connection is not reused), or C{continueTimeout} passes.
 6. A request asking to switch protocols (C{Upgrade} named in
    C{Connection}) that is answered C{101} leaves HTTP: the response's
    C{tunnel} (a L{Tunnel}) carries the raw bytes both ways from then on,
    and the connection is no longer the pool's.
"""

from __future__ import annotations

from twisted.internet import defer
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2 import _wire
from web2.http import Response
from web2.http_headers import Headers
from web2.stream import MemoryStream, ProducerStream, StreamProducer, readAll

from ._errors import (
    BadResponse,
    BodyTimeout,
    ConnectError,
    ConnectionClosed,
    RequestBodyError,
    RequestCancelled,
    ResponseTimeout,
)

log = Logger(namespace=__name__)

_INTERIM = _wire.InterimResponse
_HEAD = _wire.ResponseHead
_DATA = _wire.BodyData
_END = _wire.EndOfResponse
_NEED_DATA = _wire.NEED_DATA
_CLOSED = _wire.CLOSED

#: Request framing fields the protocol writes itself.
_FRAMING = frozenset([b"content-length", b"transfer-encoding"])
_BODY_METHODS = frozenset(["POST", "PUT", "PATCH"])


class ClientResponse(Response):
    """
    A response as received by L{web2.client}: a L{web2.http.Response} whose
    C{stream} delivers the body as it arrives.  Read it, or C{close()} it:
    a body nobody reads holds its connection (paused) until the body
    timeout.

    @ivar reason: the reason phrase, C{bytes}.
    @ivar version: the server's HTTP version, e.g. C{(1, 1)}.
    @ivar url: the URL that was requested (the last one, after redirects).
    @ivar method: the request method.
    @ivar previous: the redirect response before this one, or C{None}.
    """

    previous = None
    url = None
    method = None
    #: After a C{101 Switching Protocols}: the L{Tunnel}; else C{None}.
    tunnel = None

    def content(self, maxLength=None):
        """
        Read the whole body.

        @param maxLength: fail with L{web2.stream.StreamTooLong} past this
            many bytes (the rest is not read).
        @return: a Deferred firing with C{bytes}.
        """
        return readAll(self.stream, maxLength)

    def text(self, encoding=None, maxLength=None):
        """
        The body decoded: with C{encoding}, else the Content-Type charset,
        else UTF-8 (undecodable bytes replaced).
        """
        if encoding is None:
            mime = self.headers.getHeader("content-type")
            encoding = (mime.params.get("charset") if mime is not None else None) or "utf-8"
        return self.content(maxLength).addCallback(lambda b: b.decode(encoding, "replace"))

    def json(self, maxLength=None):
        """
        The body parsed as JSON.
        """
        import json

        return self.content(maxLength).addCallback(json.loads)


class Tunnel:
    """
    A connection that left HTTP with a C{101 Switching Protocols}: raw
    bytes both ways.  Connect a receiver (anything with C{dataReceived(data)}
    and C{connectionLost(reason)}) to get what the server sends; until then
    the socket is not read.

    @ivar transport: the connection's transport (write to it, register a
        producer with it, or use it as a producer: it is one).
    """

    def __init__(self, protocol, buffered):
        self._protocol = protocol
        self.transport = protocol.transport
        self._receiver = None
        self._pending = buffered
        self._lostReason = None

    def connect(self, receiver):
        """
        Hand what the server sends (the bytes already received first) to
        C{receiver} from now on.
        """
        self._receiver = receiver
        pending, self._pending = self._pending, b""
        if pending:
            receiver.dataReceived(pending)
        if self._lostReason is not None:
            receiver.connectionLost(self._lostReason)
        elif self._protocol.connected:
            self.transport.resumeProducing()

    def write(self, data):
        self.transport.write(data)

    def loseConnection(self):
        self.transport.loseConnection()

    def _received(self, data):
        if self._receiver is None:
            self._pending += data
        else:
            self._receiver.dataReceived(data)

    def _lost(self, reason):
        if self._receiver is None:
            self._lostReason = reason
        else:
            self._receiver.connectionLost(reason)


class _Exchange:
    """
    The state of one request and its response on a connection.
    """

    def __init__(self, method, body, expectContinue):
        self.method = method
        self.deferred = None
        self.body = body
        self.bodyMode = "none"
        self.declared = None
        self.sent = 0
        self.producer = None
        self.waitingContinue = expectContinue and body is not None
        self.bodyWithheld = False
        self.requestDone = False
        self.response = None
        self.stream = None
        self.gotBytes = False
        self.upgrade = False


@implementer(IPushProducer)
class _ResponseProducer:
    """
    The producer of one response body stream: its reader pausing it pauses
    the transport; closing the stream early ends the exchange.
    """

    def __init__(self, protocol, exchange):
        self._protocol = protocol
        self._exchange = exchange

    def pauseProducing(self):
        if self._protocol._exchange is self._exchange:
            self._protocol._pauseReading()

    def resumeProducing(self):
        if self._protocol._exchange is self._exchange:
            self._protocol._resumeReading()

    def stopProducing(self):
        if self._protocol._exchange is self._exchange:
            self._protocol._fail(RequestCancelled("the response body was closed before its end"))


@implementer(IPushProducer)
class _UploadWatch:
    """
    Stands between the transport and the request body's producer: while
    the transport holds the upload paused (the server takes none of it),
    the body timeout runs.
    """

    def __init__(self, protocol, producer):
        self._protocol = protocol
        self._producer = producer

    def pauseProducing(self):
        self._protocol._uploadPaused(True)
        self._producer.pauseProducing()

    def resumeProducing(self):
        self._protocol._uploadPaused(False)
        self._producer.resumeProducing()

    def stopProducing(self):
        self._producer.stopProducing()


class _BodyConsumer:
    """
    The consumer the request body is written to: frames it (chunked or
    raw, checked against its declared length) onto the transport.
    """

    def __init__(self, protocol, exchange):
        self._protocol = protocol
        self._exchange = exchange

    def write(self, data):
        protocol, exchange = self._protocol, self._exchange
        if protocol._exchange is not exchange:
            return
        exchange.sent += len(data)
        if exchange.bodyMode == "chunked":
            protocol.transport.write(_wire.encode_chunk(data))
            return
        if exchange.sent > exchange.declared:
            protocol._fail(RequestBodyError(
                f"the request body is longer than its length {exchange.declared}"))
            return
        protocol.transport.write(data)

    def registerProducer(self, producer, streaming):
        if self._protocol._exchange is self._exchange:
            self._protocol.transport.registerProducer(_UploadWatch(self._protocol, producer), True)

    def unregisterProducer(self):
        protocol = self._protocol
        if protocol.transport is not None and protocol.connected:
            protocol.transport.unregisterProducer()
        protocol._uploadPaused(False)


def _wireHeaders(headers):
    """
    C{(name, value)} byte pairs from a L{Headers}, a C{dict} of name to
    value or list of values, or an iterable of pairs.
    """
    if headers is None:
        return []
    if isinstance(headers, Headers):
        return headers.toWire()
    if hasattr(headers, "items"):
        headers = [
            (name, v)
            for name, value in headers.items()
            for v in (value if isinstance(value, (list, tuple)) else [value])
        ]
    out = []
    for name, value in headers:
        if isinstance(name, str):
            name = name.encode("latin-1")
        if isinstance(value, str):
            value = value.encode("latin-1")
        out.append((name, value))
    return out


class HTTP11ClientProtocol(Protocol):
    """
    One client connection (see the rules at the top of this module).

    @ivar exchanges: how many exchanges this connection completed.
    @ivar onDone: called with C{(protocol, reusable)} when an exchange ends.
    @ivar onLost: called with C{(protocol)} when the connection is lost.
    """

    exchanges = 0
    onDone = None
    onLost = None
    connected = False
    _tunnel = None

    def __init__(self, reactor, limits=None, responseTimeout=60.0, bodyTimeout=60.0,
                 continueTimeout=1.0):
        """
        @param reactor: the reactor for timers (an L{IReactorTime}).
        @param limits: the L{web2._wire.Limits} for responses: status line
            length, header bytes and count, body size.
        @param responseTimeout: seconds from the end of the request to the
            final response head.
        @param bodyTimeout: seconds without progress while a body moves.
        @param continueTimeout: seconds to wait for a C{100 Continue}
            before sending the body anyway.
        """
        self._reactor = reactor
        self._reader = _wire.ResponseReader(limits)
        self.responseTimeout = responseTimeout
        self.bodyTimeout = bodyTimeout
        self.continueTimeout = continueTimeout
        self._exchange = None
        self._timer = None
        self._timerKind = None
        self._readingPaused = False
        self._lostReason = None

    # Twisted protocol

    def connectionMade(self):
        self.connected = True

    def dataReceived(self, data):
        if self._tunnel is not None:
            self._tunnel._received(data)
            return
        exchange = self._exchange
        if exchange is not None:
            exchange.gotBytes = True
            if self._timerKind == "body":
                self._timer.reset(self.bodyTimeout)
        self._reader.receive(data)
        self._process()

    def connectionLost(self, reason):
        self.connected = False
        self._lostReason = reason
        self._disarm()
        if self._tunnel is not None:
            self._tunnel._lost(reason)
        exchange = self._exchange
        if exchange is not None:
            self._reader.receive_eof()
            self._process()
            if self._exchange is exchange:
                self._fail(self._closedError(reason, exchange))
        if self.onLost is not None:
            self.onLost(self)

    def _closedError(self, reason, exchange, detail=None):
        try:
            from OpenSSL import SSL

            if reason is not None and (reason.check(SSL.Error) or "Verification" in type(reason.value).__name__):
                return ConnectError(f"TLS failed: {reason.getErrorMessage()}")
        except ImportError:  # pragma: no cover - no TLS support installed
            pass
        if exchange.response is None:
            return ConnectionClosed(
                detail or "the server closed the connection before a response",
                beforeResponse=not exchange.gotBytes,
            )
        return ConnectionClosed(detail or "the server closed the connection in the middle of the body")

    # The exchange

    def request(self, method, target, headers=None, body=None):
        """
        Send a request and read its response.

        @param method: the method, C{str}.
        @param target: the request-target, C{str} or C{bytes}.
        @param headers: the request fields (L{Headers}, a C{dict} or pairs),
            Host included; framing fields are replaced by the body's own.
        @param body: an L{IByteStream} (or C{bytes}) or C{None}.
        @return: a Deferred firing with a L{ClientResponse} when its head
            arrives, or failing with a L{ClientError}.  Cancelling it aborts
            the exchange.
        """
        if self._exchange is not None or not self.connected:
            return defer.fail(RuntimeError("this connection is busy or closed"))
        if body is not None and not hasattr(body, "read"):
            from web2.iweb import IByteStream

            body = IByteStream(body)
        pairs = [(n, v) for n, v in _wireHeaders(headers) if n.lower() not in _FRAMING]
        expect = any(
            n.lower() == b"expect" and v.strip().lower() == b"100-continue" for n, v in pairs
        )
        exchange = _Exchange(method, body, expect)
        exchange.upgrade = any(n.lower() == b"upgrade" for n, _ in pairs) and any(
            n.lower() == b"connection" and b"upgrade" in v.lower() for n, v in pairs)
        if not exchange.waitingContinue:
            pairs = [(n, v) for n, v in pairs if n.lower() != b"expect"]
        if body is None:
            if method in _BODY_METHODS:
                pairs.append((b"Content-Length", b"0"))
        elif body.length is not None:
            exchange.bodyMode = "length"
            exchange.declared = body.length
            pairs.append((b"Content-Length", b"%d" % body.length))
        else:
            exchange.bodyMode = "chunked"
            pairs.append((b"Transfer-Encoding", b"chunked"))
        try:
            head = _wire.serialize_request_head(method, target, pairs)
        except ValueError as e:
            if body is not None:
                body.close()
            return defer.fail(e)
        exchange.deferred = defer.Deferred(lambda d: self._cancelled(exchange))
        self._exchange = exchange
        self._reader.start(method, exchange.upgrade)
        self.transport.write(head)
        if body is None:
            self._requestSent(exchange)
        elif exchange.waitingContinue:
            self._arm("continue", self.continueTimeout)
        else:
            self._sendBody(exchange)
        return exchange.deferred

    def _cancelled(self, exchange):
        if self._exchange is exchange:
            self._fail(RequestCancelled("the request was cancelled"), errback=False)

    def _sendBody(self, exchange):
        exchange.waitingContinue = False
        if self._timerKind == "continue":
            self._disarm()
        producer = exchange.producer = StreamProducer(exchange.body)
        d = producer.beginProducing(_BodyConsumer(self, exchange))
        d.addCallbacks(self._bodySent, self._bodyFailed, (exchange,), None, (exchange,))

    def _bodySent(self, result, exchange):
        exchange.producer = None
        if self._exchange is not exchange:
            return
        if exchange.bodyMode == "length" and exchange.sent != exchange.declared:
            self._fail(RequestBodyError(
                f"the request body ended after {exchange.sent} of its {exchange.declared} bytes"))
            return
        if exchange.bodyMode == "chunked":
            self.transport.write(_wire.encode_last_chunk())
        self._requestSent(exchange)

    def _bodyFailed(self, failure, exchange):
        exchange.producer = None
        if self._exchange is exchange:
            log.info("Request body failed: {f}", f=failure.getErrorMessage())
            self._fail(RequestBodyError(f"the request body failed: {failure.getErrorMessage()}"))

    def _requestSent(self, exchange):
        exchange.requestDone = True
        if exchange.response is None:
            self._arm("response", self.responseTimeout)

    def _process(self):
        reader = self._reader
        while True:
            exchange = self._exchange
            try:
                event = reader.next_event()
            except _wire.ProtocolError as e:
                if exchange is None:
                    log.info("Dropping a connection whose server sent {reason}", reason=e.reason)
                    self.transport.abortConnection()
                elif self._lostReason is not None and "closed" in e.reason:
                    self._fail(self._closedError(self._lostReason, exchange, e.reason))
                else:
                    self._fail(BadResponse(e.reason))
                return
            if event is _NEED_DATA or event is _CLOSED:
                return
            cls = type(event)
            if cls is _DATA:
                exchange.stream.write(event.data)
            elif cls is _HEAD:
                self._gotHead(exchange, event)
            elif cls is _END:
                self._finished(exchange)
                return
            elif event.status == 100 and exchange.waitingContinue:
                self._sendBody(exchange)
            if self._exchange is not exchange:
                return

    def _gotHead(self, exchange, head):
        if self._timerKind in ("response", "continue"):
            self._disarm()
        if exchange.waitingContinue:
            # The server answered without asking for the body: it is never
            # sent, and the connection cannot carry another request.
            exchange.waitingContinue = False
            exchange.bodyWithheld = True
            exchange.body.close()
        if head.framing == "switch":
            self._switched(exchange, head)
            return
        if head.framing == "none":
            stream = MemoryStream(b"")
        else:
            stream = ProducerStream(head.content_length)
            stream.registerProducer(_ResponseProducer(self, exchange), True)
            self._arm("body", self.bodyTimeout)
        response = ClientResponse(head.status, Headers.fromWire(head.headers), None)
        response.stream = stream
        response.reason = head.reason
        response.version = head.version
        response.method = exchange.method
        exchange.response = response
        exchange.stream = stream
        exchange.deferred.callback(response)

    def _switched(self, exchange, head):
        """
        A C{101}: the exchange ends and the connection becomes a L{Tunnel},
        not read until its receiver is connected.
        """
        self._disarm()
        self._exchange = None
        self.transport.pauseProducing()
        self._tunnel = Tunnel(self, self._reader.take_buffered())
        if exchange.producer is not None:
            exchange.producer.stopProducing(Failure(RequestCancelled("protocol switched")))
        response = ClientResponse(101, Headers.fromWire(head.headers), None)
        response.stream = MemoryStream(b"")
        response.reason = head.reason
        response.version = head.version
        response.method = exchange.method
        response.tunnel = self._tunnel
        if self.onDone is not None:
            self.onDone(self, False)
        exchange.deferred.callback(response)

    def _finished(self, exchange):
        self._disarm()
        self._exchange = None
        self.exchanges += 1
        if self._readingPaused:
            self._readingPaused = False
            self.transport.resumeProducing()
        reusable = (
            self._reader.idle
            and exchange.requestDone
            and not exchange.bodyWithheld
            and self._reader.buffered == 0
            and self.connected
        )
        if exchange.producer is not None:
            # The response is complete before the request body was sent:
            # the rest of it is not wanted.
            exchange.producer.stopProducing(Failure(RequestCancelled("response complete")))
        if not reusable:
            self.transport.loseConnection()
        # Back to the pool before the reader learns the body ended, so that
        # a request it makes at once can have this connection.
        if self.onDone is not None:
            self.onDone(self, reusable)
        if isinstance(exchange.stream, ProducerStream):
            exchange.stream.finish()

    def _fail(self, error, errback=True):
        """
        End the current exchange with C{error}: the caller learns it, the
        connection is aborted.
        """
        exchange = self._exchange
        self._exchange = None
        self._disarm()
        if self.connected:
            self.transport.abortConnection()
        if exchange is None:
            return
        log.debug("Exchange failed: {error}", error=error)
        if exchange.producer is not None:
            exchange.producer.stopProducing(Failure(error))
        elif exchange.waitingContinue and exchange.body is not None:
            exchange.body.close()
        if exchange.response is None:
            if errback:
                exchange.deferred.errback(Failure(error))
        elif isinstance(exchange.stream, ProducerStream):
            exchange.stream.finish(Failure(error))
        if self.onDone is not None:
            self.onDone(self, False)

    # Flow control and timers

    def _pauseReading(self):
        if not self._readingPaused:
            self._readingPaused = True
            if self._timerKind == "body":
                self._disarm()
            self.transport.pauseProducing()

    def _resumeReading(self):
        if self._readingPaused:
            self._readingPaused = False
            exchange = self._exchange
            if exchange is not None and exchange.response is not None:
                self._arm("body", self.bodyTimeout)
            self.transport.resumeProducing()

    def _uploadPaused(self, paused):
        exchange = self._exchange
        if exchange is None or exchange.response is not None:
            return
        if paused:
            self._arm("upload", self.bodyTimeout)
        elif self._timerKind == "upload":
            self._disarm()

    def _arm(self, kind, seconds):
        self._disarm()
        if seconds is None:
            return
        self._timerKind = kind
        self._timer = self._reactor.callLater(seconds, self._timedOut, kind)

    def _disarm(self):
        timer, self._timer = self._timer, None
        self._timerKind = None
        if timer is not None and timer.active():
            timer.cancel()

    def _timedOut(self, kind):
        self._timer = None
        self._timerKind = None
        exchange = self._exchange
        if exchange is None:
            return
        if kind == "continue":
            if exchange.waitingContinue:
                self._sendBody(exchange)
            return
        if kind == "response":
            error = ResponseTimeout(f"no response within {self.responseTimeout} s")
        elif kind == "upload":
            error = BodyTimeout(f"the server took none of the request body for {self.bodyTimeout} s")
        else:
            error = BodyTimeout(f"no response body data for {self.bodyTimeout} s")
        self._fail(error)
