# -*- test-case-name: test_asgi_cycle -*-
"""
One ASGI C{http} request/response cycle: the C{receive} and C{send}
callables one call of the application gets, and the web2 response they
make.

Rules, in the order they matter:

 1. B{The request body flows at the application's pace.}  The body stream
    is read only inside C{receive()}: nothing is read ahead, so a body the
    application does not read holds the socket (web2's body stream pauses
    the channel) and a C{100 Continue} goes out only when it first reads.
    One C{http.request} message carries what has already arrived, up to
    C{maxChunk} bytes; the last one says C{more_body: False}.
 2. B{The response body flows at the client's pace.}  A response sent in
    one message (the usual case) goes out whole, with its length.  A
    streamed one (C{more_body: True}) goes through a
    L{web2.stream.ProducerStream} of which this cycle is the producer:
    when the transport is over its high-water mark the stream stops being
    read, fills to C{bufferSize} and pauses us, and C{send()} then waits
    until the client has taken enough.  What waits in memory is bounded
    by the transport's buffer, C{bufferSize} and one message.
 3. B{The client leaving is seen.}  C{receive()} answers C{http.disconnect}
    once the connection is gone (a pending one is woken), or once the
    response is complete; C{send()} then raises L{ClientDisconnected}
    (an L{OSError}, as ASGI 2.4 says).
 4. B{Every failure ends in one log line and a precise answer.}  An
    application that raises (or breaks the protocol) before its response
    starts gets a 500 page; after, the connection is aborted.  One that
    returns without responding gets a 500; one that does not start its
    response within C{responseTimeout} seconds is cancelled and answered
    504.  An exception raised after the client left is logged at debug
    level only: it is the application noticing, not failing.
 5. B{Extensions.}  C{http.response.pathsend} sends a file with web2's
    file path (C{sendfile} on plain TCP); trailers are not supported and
    asking for them is a protocol error (500 before the response starts).
"""

from __future__ import annotations

import os
import re

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionLost
from twisted.internet.interfaces import IPushProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2 import http, responsecode
from web2 import stream as streams
from web2.http_headers import Headers

__all__ = ["ASGIProtocolError", "ApplicationFailed", "ClientDisconnected", "HTTPCycle"]

log = Logger()


class ClientDisconnected(OSError):
    """
    Raised by C{send()} once the client has gone (ASGI 2.4).
    """


class ASGIProtocolError(RuntimeError):
    """
    The application broke the ASGI HTTP protocol (a message out of order,
    a malformed status or header, an unsupported extension).
    """


class ApplicationFailed(ConnectionLost):
    """
    The application failed after its response began: the connection is
    aborted (a L{ConnectionLost}, so that the core aborts it quietly: the
    failure itself was logged).
    """


_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9a-z]+")
_UNSAFE = re.compile(rb"[\r\n\0]")
# Lower-cased header names known to be tokens: applications send the same
# few again and again.
_goodNames: set = set()

_DISCONNECT = {"type": "http.disconnect"}

# States of the response.
_START, _STARTED, _STREAMING, _DONE = range(4)


def _checkHeaders(headers):
    """
    The response headers as the wire wants them, and the C{Content-Length}
    the application gave (C{None} if none).

    @raise ASGIProtocolError: a malformed name or value.
    """
    pairs = []
    length = None
    for item in headers:
        try:
            name, value = item
        except (TypeError, ValueError):
            raise ASGIProtocolError(f"header {item!r} is not a (name, value) pair") from None
        if type(name) is not bytes or type(value) is not bytes:
            raise ASGIProtocolError(f"header {item!r}: names and values must be bytes")
        if name not in _goodNames:
            lower = name.lower()
            if _TOKEN.fullmatch(lower) is None:
                raise ASGIProtocolError(f"invalid header name {name!r}")
            if len(_goodNames) < 1024 and lower == name:
                _goodNames.add(name)
            name = lower
        if _UNSAFE.search(value):
            raise ASGIProtocolError(f"CR, LF or NUL in the value of {name.decode()}")
        value = value.strip(b" \t")
        if name == b"content-length":
            if not value.isdigit() or (length is not None and int(value) != length):
                raise ASGIProtocolError(f"invalid content-length {value!r}")
            length = int(value)
            continue
        pairs.append((name, value))
    return pairs, length


@implementer(IPushProducer)
class HTTPCycle:
    """
    The C{receive}/C{send} pair of one request, and the response they make.

    @ivar deferred: fires with the L{web2.http.Response} once the
        application starts its response (or fails, or times out); C{None}
        when the response goes to the C{respond} callable instead.
    @ivar disconnected: whether the client has gone.
    """

    #: Called once when the application's call is over.
    whenEnded = None
    #: The resource watching the time this cycle takes to respond.
    watched = None
    disconnected = False
    _state = _START
    _head = None
    _body = None
    _left = None
    _overflowed = False
    _paused = False
    _resume = None
    _waiter = None
    _bodyDone = False
    _responded = False
    _task = None
    _timedOut = False

    def __init__(self, request, runner, *, maxChunk=65536, bufferSize=65536,
                 appName="the ASGI application", respond=None):
        """
        @param respond: called once with the response, when the
            application starts it (or fails, or times out); by default
            L{deferred} fires with it.
        """
        self.request = request
        self.runner = runner
        self.maxChunk = maxChunk
        self.bufferSize = bufferSize
        self.appName = appName
        if respond is None:
            self.deferred = Deferred()
            respond = self.deferred.callback
        else:
            self.deferred = None
        self._deliver = respond
        # The channel tells the request when the connection is lost before
        # its response is complete; the cycle hears it too, until the
        # application's call is over (L{_ended} undoes this: the request
        # and the cycle must not keep each other alive, or every request
        # would leave its whole object graph to the cyclic garbage
        # collector).
        self._requestLost = request.connectionLost
        request.connectionLost = self._connectionLost

    def _connectionLost(self, reason):
        self._requestLost(reason)
        self._clientGone()

    def run(self, application, scope):
        """
        Call C{application(scope, receive, send)}.

        @return: the response when the application gave it at once (the
            Twisted runner), else C{self.deferred} (C{None} when this cycle
            was given C{respond}).
        """
        try:
            coroutine = application(scope, self.receive, self.send)
        except Exception:
            self._ended(Failure().value)
        else:
            self._task = self.runner.start(coroutine, self._ended)
        deferred = self.deferred
        if deferred is not None and deferred.called and self._response is not None:
            # Answered synchronously: no Deferred for the site to chain on.
            return self._response
        return deferred

    #: The response, once given.
    _response = None

    # -- receive ------------------------------------------------------------

    async def receive(self):
        """
        ASGI's C{receive}: the next C{http.request} message, then
        C{http.disconnect} once the client has gone or the response is
        complete.
        """
        if self._bodyDone:
            if not (self.disconnected or self._state == _DONE):
                waiter = self._waiter = self.runner.future()
                await waiter
            return _DISCONNECT
        if self.disconnected:
            return _DISCONNECT
        stream = self.request.stream
        chunks = []
        size = 0
        while True:
            try:
                data = stream.read()
                if isinstance(data, Deferred):
                    data = await self.runner.wait(data)
            except Exception as e:
                # The client went away mid-body (or sent a malformed one,
                # which the channel answered and logged).
                log.info("The request body of {method} {uri} ended early: {why}",
                         method=self.request.method, uri=self.request.uri, why=e)
                self._bodyDone = True
                self._clientGone()
                return _DISCONNECT
            if data is None:
                self._bodyDone = True
                break
            chunks.append(data)
            size += len(data)
            if _atEnd(stream):
                self._bodyDone = True
                break
            if size >= self.maxChunk or not _buffered(stream):
                # Only what is already here goes in one message: the next
                # read would wait.
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        return {"type": "http.request", "body": body, "more_body": not self._bodyDone}

    # -- send ---------------------------------------------------------------

    async def send(self, message):
        """
        ASGI's C{send}: C{http.response.start}, then C{http.response.body}
        messages (or one C{http.response.pathsend}).

        @raise ClientDisconnected: the client has gone.
        @raise ASGIProtocolError: the message is out of order or malformed.
        """
        kind = message["type"]
        state = self._state
        if self.disconnected:
            raise ClientDisconnected("the client has gone")
        if kind == "http.response.body":
            body = message.get("body", b"")
            if body.__class__ is not bytes:
                if not isinstance(body, (bytes, bytearray, memoryview)):
                    raise ASGIProtocolError(f"http.response.body needs bytes, not "
                                            f"{type(body).__name__}")
                body = bytes(body)
            if state == _STARTED:
                self._firstBody(body, message.get("more_body", False))
            elif state == _STREAMING:
                self._moreBody(body, message.get("more_body", False))
            elif state == _START:
                raise ASGIProtocolError("http.response.body before http.response.start")
            else:
                raise ASGIProtocolError("http.response.body after the response was complete")
            if self._paused and self._state == _STREAMING:
                await self._whenResumed()
            return
        if kind == "http.response.start":
            if state != _START:
                raise ASGIProtocolError("http.response.start sent twice")
            self._start(message)
            return
        if kind == "http.response.pathsend":
            if state != _STARTED:
                raise ASGIProtocolError("http.response.pathsend must follow "
                                        "http.response.start, alone")
            self._pathsend(message.get("path"))
            return
        if kind == "http.response.trailers":
            raise ASGIProtocolError("http.response.trailers: trailers are not supported")
        raise ASGIProtocolError(f"unexpected message {kind!r} in an http scope")

    def _start(self, message):
        status = message.get("status")
        if type(status) is not int or not 200 <= status <= 599:
            if type(status) is int and 100 <= status < 200:
                raise ASGIProtocolError(f"status {status}: an informational status cannot "
                                        "be a response (use http.response.start's final one)")
            raise ASGIProtocolError(f"invalid status {status!r}")
        if message.get("trailers"):
            raise ASGIProtocolError("trailers: True, but this server does not support "
                                    "response trailers (no http.response.trailers extension)")
        pairs, length = _checkHeaders(message.get("headers", ()))
        self._head = (status, pairs, length)
        self._state = _STARTED

    def _makeResponse(self, stream):
        status, pairs, _ = self._head
        return http.Response(status, Headers.fromWire(pairs), stream)

    def _respond(self, response):
        self._responded = True
        watched = self.watched
        if watched is not None:
            self.watched = None
            watched.unwatch(self)
        self._response = response
        self._deliver(response)

    def _firstBody(self, data, more):
        declared = self._head[2]
        isHead = self.request.method == "HEAD"
        if not more:
            self._state = _DONE
            if isHead:
                body = streams.ProducerStream(declared if declared is not None else len(data))
                body.finish()
            else:
                if declared is not None and declared != len(data):
                    log.warn("{app} declared content-length {declared} but sent {actual} "
                             "bytes for {uri}; sending {sent}", app=self.appName,
                             declared=declared, actual=len(data), uri=self.request.uri,
                             sent=min(declared, len(data)))
                    data = data[:declared]
                # Bytes, not a MemoryStream: Response makes its own at
                # once, without adapting a stream to IByteStream.
                body = data
            self._respond(self._makeResponse(body))
            self._wake()
            return
        self._state = _STREAMING
        body = self._body = streams.ProducerStream(declared, bufferLimit=self.bufferSize)
        body.registerProducer(self, True)
        self._left = declared
        self._respond(self._makeResponse(body))
        self._write(data)

    def _moreBody(self, data, more):
        self._write(data)
        if not more:
            self._state = _DONE
            self._finishBody()
            self._wake()

    def _write(self, data):
        if not data or self._overflowed or self._body is None:
            return
        left = self._left
        if left is not None:
            if len(data) > left:
                log.warn("{app} sent more than its content-length for {uri}; the rest "
                         "is dropped", app=self.appName, uri=self.request.uri)
                data = data[:left]
                self._overflowed = True
            self._left = left - len(data)
        if data:
            self._body.write(data)

    def _finishBody(self):
        body = self._body
        if body is None:
            return
        if self._left:
            log.error("{app} sent {left} bytes less than its content-length for {uri}; "
                      "aborting the connection", app=self.appName, left=self._left,
                      uri=self.request.uri)
            body.finish(Failure(ApplicationFailed("the body was too short")))
            return
        body.finish()

    def _pathsend(self, path):
        if not isinstance(path, str) or not os.path.isabs(path):
            raise ASGIProtocolError(f"http.response.pathsend needs an absolute path, "
                                    f"not {path!r}")
        f = open(path, "rb")
        try:
            size = os.fstat(f.fileno()).st_size
        except OSError:
            f.close()
            raise
        status, pairs, declared = self._head
        length = size if declared is None else min(size, declared)
        self._state = _DONE
        body = streams.FileStream(f, 0, length, closeFile=True)
        if self.request.method == "HEAD":
            body.close()
            body = streams.ProducerStream(length)
            body.finish()
        self._respond(self._makeResponse(body))
        self._wake()

    async def _whenResumed(self):
        resume = self._resume = self.runner.future()
        await resume
        if self.disconnected and self._state != _DONE:
            raise ClientDisconnected("the client has gone")

    # IPushProducer, for the streamed response body

    def pauseProducing(self):
        self._paused = True

    def resumeProducing(self):
        self._paused = False
        resume, self._resume = self._resume, None
        if resume is not None and not resume.done():
            resume.set_result(None)

    def stopProducing(self):
        # The body stream was closed: the client went away (or the
        # response needs no body after all).
        self._clientGone()

    # -- the end ------------------------------------------------------------

    def _wake(self):
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _clientGone(self):
        if self.disconnected:
            return
        self.disconnected = True
        self._wake()
        self.resumeProducing()

    def timedOut(self, seconds):
        """
        The application did not start its response within C{seconds}:
        cancel it and answer 504 (nothing if it has answered).
        """
        if self._responded or self._state == _DONE:
            return
        log.warn("{app} did not start a response to {method} {uri} within {seconds} s; "
                 "cancelled, answering 504", app=self.appName, method=self.request.method,
                 uri=self.request.uri, seconds=seconds)
        self._timedOut = True
        self._state = _DONE
        self._respond(http.StatusResponse(
            responsecode.GATEWAY_TIMEOUT,
            "The application did not answer in time."))
        self._wake()
        if self._task is not None:
            self.runner.cancel(self._task)

    @property
    def waitingForResponse(self) -> bool:
        """
        Whether the application has yet to start its response.
        """
        return not self._responded and self._state != _DONE

    def _ended(self, exception):
        """
        The application's call is over: returned (C{exception} is C{None})
        or raised.
        """
        ended, self.whenEnded = self.whenEnded, None
        if ended is not None:
            ended()
        request = self.request
        if request.__dict__.get("connectionLost") == self._connectionLost:
            del request.connectionLost
        state = self._state
        if exception is not None:
            if self._timedOut:
                return
            if self.disconnected:
                log.debug("{app} ended with {e!r} after the client left {uri}",
                          app=self.appName, e=exception, uri=request.uri)
                if state == _STREAMING:
                    self._body.finish(Failure(ApplicationFailed("the client left")))
                return
            failure = Failure(exception, type(exception), exception.__traceback__)
            if not self._responded:
                log.failure("{app} failed on {method} {uri}; answering 500", failure,
                            app=self.appName, method=request.method, uri=request.uri)
                self._fail500()
            elif state == _STREAMING:
                log.failure("{app} failed during the response to {method} {uri}; "
                            "aborting the connection", failure, app=self.appName,
                            method=request.method, uri=request.uri)
                self._state = _DONE
                self._body.finish(Failure(ApplicationFailed("the application failed")))
            else:
                log.failure("{app} failed after its response to {method} {uri} was "
                            "complete", failure, app=self.appName, method=request.method,
                            uri=request.uri)
            return
        if state in (_START, _STARTED) and not self.disconnected:
            log.error("{app} returned without {what} to {method} {uri}; answering 500",
                      app=self.appName, method=request.method, uri=request.uri,
                      what="a response" if state == _START else "a response body")
            self._fail500()
        elif state == _STREAMING and not self.disconnected:
            log.error("{app} returned before its response to {method} {uri} was "
                      "complete; aborting the connection", app=self.appName,
                      method=request.method, uri=request.uri)
            self._state = _DONE
            self._body.finish(Failure(ApplicationFailed("the response was not complete")))
        elif not self._responded:
            # The client left before any answer: nobody will read one.
            self._state = _DONE
            self._respond(http.StatusResponse(responsecode.INTERNAL_SERVER_ERROR,
                                              "The client went away."))

    def _fail500(self):
        self._state = _DONE
        self._wake()
        self._respond(http.StatusResponse(
            responsecode.INTERNAL_SERVER_ERROR,
            "The application failed; the error was logged."))


def _atEnd(stream) -> bool:
    """
    Whether C{stream} has nothing left, known without reading it.
    """
    if getattr(stream, "length", None) == 0:
        return True
    return (getattr(stream, "finished", False) and not getattr(stream, "buffered", 1)
            and getattr(stream, "failure", None) is None)


def _buffered(stream) -> bool:
    """
    Whether a read of C{stream} would answer at once with data.
    """
    return getattr(stream, "buffered", 0) > 0
