# -*- test-case-name: test_wsgi_output -*-
"""
One call of a WSGI application: C{start_response}, C{write()}, iterating
the result and calling its C{close()} in the worker thread, and turning
what it produced into a web2 response in the reactor thread.

How the body travels (fewest thread hops first):

  1. B{complete}: a list or tuple, or a body whose C{Content-Length} is at
     most C{smallBodyLimit}, is collected in the worker and handed over with
     the head in one C{callFromThread}; the response has a known length;
  2. B{file}: a L{FileWrapper} around a regular file is handed over as a
     L{web2.stream.FileStream}, which the channel sends with C{sendfile};
     the worker waits until it is sent, then calls C{close()};
  3. B{streamed}: anything else (or more than C{smallBodyLimit} bytes) goes
     chunk by chunk through an L{Outbox} with flow control, as a
     L{web2.stream.ProducerStream} body.

Failures: before the head went out, a 500 page (the traceback only in the
log); after it, the connection is aborted once what was sent is flushed.
A L{ClientDisconnected} the application lets out of its reading (the client
went away mid-body) is logged as one line, without a traceback.
C{close()} is called in every case, in the worker thread (frameworks keep
per-thread state, such as Django's database connections, that it cleans).
"""

from __future__ import annotations

from twisted.internet.error import ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure

from web2 import http, responsecode
from web2 import stream as streams
from web2.http_headers import Headers
from web2.wsgi.input import ClientDisconnected
from web2.wsgi.outbox import Outbox, OutboxStopped
from web2.wsgi.response import (
    FileWrapper,
    WSGIResponse,
    WSGIResponseError,
    parseResponseHead,
)

__all__ = ["ApplicationFailed", "WSGIJob"]

log = Logger()


class ApplicationFailed(ConnectionLost):
    """
    The application failed after its response began: the connection is
    aborted (a L{ConnectionLost}, so that the core aborts it quietly: the
    failure itself was logged with its traceback).
    """


class _Failed:
    """
    The end marker of a response whose application failed.
    """

    def __init__(self, failure):
        self.failure = failure


class _File:
    """
    The end marker of a response sent from a file region.
    """

    def __init__(self, region):
        self.region = region


_DONE = object()


class _FileBody(streams.FileStream):
    """
    A file region that reports when the channel is done with it (sent,
    closed early, or never needed).
    """

    onDone = None

    def read(self):
        data = streams.FileStream.read(self)
        if data is None:
            self._done()
        return data

    def close(self):
        streams.FileStream.close(self)
        self._done()

    def _done(self):
        onDone, self.onDone = self.onDone, None
        if onDone is not None:
            onDone()


class _StreamedBody(streams.ProducerStream):
    """
    The body of a streamed response.

    Closing it (the client went away) leaves a pending read unanswered
    instead of answering it with the end of the stream: the reader is the
    core's L{web2.stream.StreamProducer} being stopped, and an answer from
    inside its C{stopProducing} would make it finish twice
    (C{AlreadyCalledError}).
    """

    def close(self):
        self._waiting = None
        streams.ProducerStream.close(self)


def _internalError(description):
    return http.StatusResponse(responsecode.INTERNAL_SERVER_ERROR, description)


class WSGIJob:
    """
    The call of the application for one request.  L{run} runs in a worker
    thread; L{abort} and everything the outbox delivers run in the reactor
    thread.

    @ivar deferred: fires (in the reactor thread) with the response.
    """

    outbox = None

    def __init__(self, application, environ, inputStream, post, deferred, *,
                 smallBodyLimit=65536, bufferSize=65536):
        """
        @param post: C{post(call, *args)} calls C{call(*args)} soon in the
            reactor thread, from any thread (L{WSGIThreadPool.post}).
        """
        self.application = application
        self.environ = environ
        self.input = inputStream
        self.deferred = deferred
        self.smallBodyLimit = smallBodyLimit
        self.bufferSize = bufferSize
        self._post = post
        self._head = None
        self._invalid = None
        self._headersSent = False
        self._streaming = False
        self._buffer: list[bytes] = []
        # Reactor side.
        self._responded = False
        self._body = None
        self._left = None
        self._overflowed = False
        self._aborted = False

    # -- worker thread ----------------------------------------------------

    def startResponse(self, status, headers, exc_info=None):
        """
        PEP 3333's C{start_response}.
        """
        if exc_info is not None:
            try:
                if self._headersSent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._head is not None or self._invalid is not None:
            raise WSGIResponseError("start_response was already called")
        try:
            self._head = parseResponseHead(status, headers)
        except WSGIResponseError as e:
            self._head = None
            self._invalid = str(e)
            raise
        self._invalid = None
        return self.write

    def write(self, data):
        """
        The C{write()} callable of PEP 3333: send C{data} now.
        """
        if type(data) is not bytes:
            raise TypeError(f"write() takes bytes, not {type(data).__name__}")
        self._checkStarted()
        if data:
            self._stream([data])

    def _checkStarted(self):
        if self._invalid is not None:
            raise WSGIResponseError(self._invalid)
        if self._head is None:
            raise WSGIResponseError("the application sent body data before start_response")

    def _stream(self, chunks):
        """
        Send C{chunks} (after the collected ones), switching to streaming.
        """
        buffered, self._buffer = self._buffer, []
        if self._streaming:
            self.outbox.send(chunks=buffered + chunks)
            return
        self._streaming = self._headersSent = True
        self._openOutbox().send(head=self._head, chunks=buffered + chunks)

    def _openOutbox(self) -> Outbox:
        self.outbox = Outbox(self._post, self._deliver, self.bufferSize)
        return self.outbox

    def run(self):
        """
        Call the application and send its response.
        """
        if self._aborted:
            return
        result = None
        try:
            try:
                result = self.application(self.environ, self.startResponse)
                self._send(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    try:
                        close()
                    except Exception:
                        log.failure("close() of the response of {uri} failed",
                                    uri=self.environ["REQUEST_URI"])
        except OutboxStopped as e:
            log.debug("Stopped the response of {uri}: {why}",
                      uri=self.environ["REQUEST_URI"], why=e)
        except BaseException:
            self._failed(Failure())

    def _send(self, result):
        if isinstance(result, FileWrapper) and not self._streaming and self._head is not None:
            if self._sendFile(result):
                return
        bufferAll = type(result) in (list, tuple)
        limit = self.smallBodyLimit
        buffer = self._buffer
        size = 0
        for chunk in result:
            if type(chunk) is not bytes:
                raise TypeError(f"the response iterable gave {type(chunk).__name__}, not bytes")
            if not chunk:
                continue
            self._checkStarted()
            if self._streaming:
                self.outbox.send(chunks=[chunk])
                continue
            buffer.append(chunk)
            size += len(chunk)
            if size > limit or not (bufferAll or (
                    self._head.length is not None and self._head.length <= limit)):
                self._stream([])
        self._checkStarted()
        buffered, self._buffer = self._buffer, []
        if self._streaming:
            self.outbox.send(chunks=buffered, end=_DONE, wait=False)
        else:
            # The whole response at once: one hand-off, no outbox.
            self._headersSent = True
            self._post(self._deliver, self._head, buffered, _DONE)

    def _sendFile(self, wrapper) -> bool:
        self._checkStarted()
        region = wrapper.region(self._head.length)
        if region is None:
            return False
        self._headersSent = True
        outbox = self._openOutbox()
        outbox.send(head=self._head, end=_File(region), wait=False)
        outbox.waitStopped()
        return True

    def _failed(self, failure):
        uri = self.environ["REQUEST_URI"]
        method = self.environ["REQUEST_METHOD"]
        if failure.check(ClientDisconnected):
            # The body could not be read to its end (the client went away,
            # or the server is stopping) and the application let the error
            # out, as most do: not the application's failure, and nobody
            # waits for the 500.  One line, no traceback.
            log.info("The client went away during {method} {uri}: {reason}",
                     method=method, uri=uri, reason=failure.value)
        elif self._headersSent:
            log.failure("The WSGI application failed during the response to {method} "
                        "{uri}; aborting the connection", failure, method=method, uri=uri)
        else:
            log.failure("The WSGI application failed on {method} {uri}; answering 500",
                        failure, method=method, uri=uri)
        if self.outbox is None:
            self._post(self._deliver, None, [], _Failed(failure))
            return
        try:
            self.outbox.send(end=_Failed(failure), wait=False)
        except OutboxStopped:
            pass

    # -- reactor thread ---------------------------------------------------

    def abort(self, reason: str):
        """
        Stop this job: answer 503 if nothing was answered yet, and wake the
        worker from any wait (pool shutdown).
        """
        self._aborted = True
        if self.outbox is not None:
            self.outbox.stop(reason)
        self.input.abort(reason)
        if self._body is not None:
            self._abortBody(self._body, ApplicationFailed(reason))
        elif not self._responded:
            response = http.StatusResponse(responsecode.SERVICE_UNAVAILABLE, reason)
            response.headers.setRawHeaders("retry-after", ["5"])
            self._respond(response)

    def _respond(self, response):
        self._responded = True
        self.deferred.callback(response)

    def _deliver(self, head, chunks, end):
        if self._aborted:
            if self.outbox is not None:
                self.outbox.stop("aborted")
            return
        if not self._responded:
            if isinstance(end, _Failed):
                self._respond(_internalError(
                    "The application failed; the error was logged."))
            elif head is not None:
                self._start(head, chunks, end)
            return
        body = self._body
        if chunks and body is not None:
            self._write(body, chunks)
        if end is _DONE:
            self._finish(body)
        elif isinstance(end, _Failed):
            self._abortBody(body, ApplicationFailed("the application failed"))

    def _start(self, head, chunks, end):
        headers = Headers.fromWire(head.pairs)
        isHead = self.environ["REQUEST_METHOD"] == "HEAD"
        if end is _DONE:
            data = b"".join(chunks)
            if isHead:
                body = streams.ProducerStream(
                    head.length if head.length is not None else len(data))
            else:
                if head.length is not None and head.length != len(data):
                    log.warn("The WSGI application declared Content-Length {declared} but "
                             "gave {actual} bytes for {uri}; sending {sent}",
                             declared=head.length, actual=len(data),
                             sent=min(head.length, len(data)), uri=self.environ["REQUEST_URI"])
                    data = data[:head.length]
                body = streams.MemoryStream(data)
        elif isinstance(end, _File):
            f, offset, length = end.region
            body = _FileBody(f, offset, length)
            body.onDone = lambda: self.outbox.stop("the file was sent")
        else:
            body = _StreamedBody(head.length, bufferLimit=self.outbox.bufferSize)
            body.registerProducer(self.outbox, True)
            self._body = body
            self._left = head.length
            if chunks:
                self._write(body, chunks)
        response = WSGIResponse(head.code, headers, body)
        response.reason = head.reason
        self._respond(response)

    def _write(self, body, chunks):
        if self._overflowed:
            return
        left = self._left
        if left is not None:
            size = sum(map(len, chunks))
            if size > left:
                log.warn("The WSGI application gave more than its Content-Length "
                         "for {uri}; the rest is dropped", uri=self.environ["REQUEST_URI"])
                data = b"".join(chunks)[:left]
                chunks = [data] if data else []
                self._overflowed = True
                self._left = 0
            else:
                self._left = left - size
        for chunk in chunks:
            body.write(chunk)

    def _finish(self, body):
        if body is None:
            return
        if self._left is not None and self._left > 0:
            log.error("The WSGI application gave {left} bytes less than its "
                      "Content-Length for {uri}; aborting the connection",
                      left=self._left, uri=self.environ["REQUEST_URI"])
            self._abortBody(body, ApplicationFailed("the body was too short"))
            return
        body.finish()

    def _abortBody(self, body, exception):
        if body is not None:
            body.finish(Failure(exception))

