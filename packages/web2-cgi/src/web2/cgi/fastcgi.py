# -*- test-case-name: test_cgi_fastcgi -*-
"""
web2 behind a front end over FastCGI 1.0: L{FastCGIFactory} accepts
connections from nginx (C{fastcgi_pass}), Apache (C{mod_proxy_fcgi}),
C{cgi-fcgi} and the like, and answers their requests with a
L{web2.server.Site}, in the RESPONDER role.

What it does, against the original:

  - several requests may share a connection, told apart by their request
    id (C{FCGI_MPXS_CONNS} is C{1} in C{GET_VALUES_RESULT}), up to
    C{maxRequests} at once (more get C{FCGI_OVERLOADED});
  - C{FCGI_KEEP_CONN} is honoured: without it the connection closes after
    its request;
  - output of any size is cut into records of at most 64 KiB (the original
    looped forever past 64 KiB), padded to 8 bytes;
  - C{ABORT_REQUEST} ends the request properly (the application sees the
    connection lost) and is answered with C{END_REQUEST};
  - backpressure: the request body pauses the reading of the connection
    while the application does not read it, and every response producer
    of the connection is paused while the socket's buffer is full (FastCGI
    has no flow control of its own per request);
  - bad records (another version, a BEGIN_REQUEST for an id in use, PARAMS
    over the limit, malformed name-value pairs, records only an
    application sends) close the connection with one log line.

Roles other than RESPONDER are answered with C{FCGI_UNKNOWN_ROLE}; DATA
records (the FILTER role's) are ignored.
"""

from __future__ import annotations

from twisted.internet import interfaces, protocol
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2.cgi import _fcgiwire as wire
from web2.cgi._fcgirequest import FastCGIRequest, PullAdapter
from web2.cgi._gateway import GatewayChannelRequest

__all__ = ["FastCGIFactory", "FastCGIChannel"]

log = Logger(namespace="web2.cgi.fastcgi")

# Record types only an application sends: a peer sending them is confused.
_APPLICATION_TYPES = frozenset((
    wire.END_REQUEST, wire.STDOUT, wire.STDERR, wire.GET_VALUES_RESULT, wire.UNKNOWN_TYPE,
))


@implementer(interfaces.IPushProducer, interfaces.IHalfCloseableProtocol)
class FastCGIChannel(protocol.Protocol):
    """
    One FastCGI connection.  It is registered with its transport as the
    single producer of the connection's output, and passes pauses and
    resumptions on to the producers of all its requests.

    @ivar requests: the active requests by id.
    """

    _closed = False
    _outputPaused = False
    _inputPaused = False
    _idleTimer = None
    _lingerTimer = None
    _readClosed = False
    _keepConn = True

    def __init__(self, factory):
        self.factory = factory
        self.reactor = factory.reactor
        self.requests: dict[int, FastCGIRequest] = {}
        self._reader = wire.RecordReader()
        self._producers: dict = {}
        self._pausedBy: set = set()

    # Connection

    def connectionMade(self):
        self.factory.connections.add(self)
        self.transport.registerProducer(self, True)
        self._armIdle()

    def dataReceived(self, data):
        if self._closed:
            return
        try:
            records = self._reader.feed(data)
            for record in records:
                if self._closed:
                    return
                self._handle(record)
        except wire.FastCGIProtocolError as e:
            self._abort(str(e))

    def readConnectionLost(self):
        self._readClosed = True
        if self._closed:
            self.transport.loseConnection()
            return
        # The front end sent all it will: finish what is under way, then
        # close.  A request whose PARAMS or body is still incomplete can
        # never complete.
        self._keepConn = False
        for request in list(self.requests.values()):
            chan = request.chan
            if chan is None:
                request._end(1)
            elif not getattr(chan, "_bodyDone", False):
                chan.bodyComplete()
        self._closeIfDone()

    def writeConnectionLost(self):
        if not self._closed:
            self._abort("the front end stopped reading")

    def connectionLost(self, reason=None):
        if reason is None:
            reason = Failure(ConnectionDone())
        self._closed = True
        self._cancelIdle()
        if self._lingerTimer is not None and self._lingerTimer.active():
            self._lingerTimer.cancel()
        self.factory.connections.discard(self)
        requests, self.requests = self.requests, {}
        for request in requests.values():
            request.ended = True
            request.cancelTimer()
            request.stopProducer()
            if request.chan is not None and not request.chan.finished:
                request.chan.inputLost(reason)
        self._producers.clear()

    def _abort(self, why):
        if self._closed:
            return
        peer = self.transport.getPeer()
        log.info("Closing FastCGI connection from {peer}: {why}",
                 peer=getattr(peer, "host", peer), why=why)
        self._closed = True
        self.transport.abortConnection()

    # Records

    def _handle(self, record):
        handler = self._HANDLERS.get(record.type)
        if handler is not None:
            handler(self, record)
        elif record.type in _APPLICATION_TYPES:
            raise wire.FastCGIProtocolError(f"peer sent record type {record.type}")
        else:
            self._send([wire.encodeRecord(wire.UNKNOWN_TYPE, 0,
                                          bytes((record.type & 0xFF,)) + bytes(7))])

    def _begin(self, record):
        role, flags = wire.decodeBeginRequest(record.content)
        requestId = record.requestId
        if requestId == 0:
            raise wire.FastCGIProtocolError("BEGIN_REQUEST with request id 0")
        if requestId in self.requests:
            raise wire.FastCGIProtocolError(f"request id {requestId} is already in use")
        keepConn = bool(flags & wire.KEEP_CONN)
        self._keepConn = keepConn
        if role != wire.RESPONDER:
            self._send([wire.encodeEndRequest(requestId, 0, wire.UNKNOWN_ROLE)])
            self._closeIfDone()
            return
        if len(self.requests) >= self.factory.maxRequests:
            log.info("FastCGI connection at its {max} requests; refusing another",
                     max=self.factory.maxRequests)
            self._send([wire.encodeEndRequest(requestId, 0, wire.OVERLOADED)])
            return
        self._cancelIdle()
        request = self.requests[requestId] = FastCGIRequest(self, requestId, keepConn)
        if self.factory.headerTimeout is not None:
            request._timer = self.reactor.callLater(
                self.factory.headerTimeout, self._abort,
                f"request {requestId} sent no complete PARAMS within "
                f"{self.factory.headerTimeout} seconds")

    def _params(self, record):
        request = self.requests.get(record.requestId)
        if request is None or request.ended:
            return
        if request.chan is not None:
            raise wire.FastCGIProtocolError("PARAMS after the end of PARAMS")
        if record.content:
            request.params += record.content
            if len(request.params) > self.factory.maxParamsBytes:
                raise wire.FastCGIProtocolError(
                    f"PARAMS over the limit of {self.factory.maxParamsBytes} bytes")
            return
        request.cancelTimer()
        variables = {}
        for name, value in wire.decodeNameValues(bytes(request.params)):
            variables[name.decode("latin-1")] = value.decode("latin-1")
        request.params = None
        chan = GatewayChannelRequest.fromVariables(
            request, variables, self.factory.scriptName, defaultLength=None)
        if chan is None:
            return
        request.chan = chan
        chan.start(self.factory.site)

    def _stdin(self, record):
        request = self.requests.get(record.requestId)
        if request is None or request.ended:
            return
        chan = request.chan
        if chan is None:
            raise wire.FastCGIProtocolError("STDIN before the end of PARAMS")
        if request.discarding:
            return
        if record.content:
            chan.bodyReceived(record.content)
        else:
            chan.bodyComplete()

    def _abortRequest(self, record):
        request = self.requests.get(record.requestId)
        if request is None or request.ended:
            return
        log.info("FastCGI request {id} aborted by the front end", id=record.requestId)
        chan = request.chan
        request.stopProducer()
        if chan is not None:
            chan.inputLost(Failure(ConnectionLost("the front end aborted the request")))
        request._end(1)

    def _data(self, record):
        """
        DATA belongs to the FILTER role, which is not offered: ignored.
        """

    def _getValues(self, record):
        if record.requestId != 0:
            raise wire.FastCGIProtocolError("GET_VALUES with a request id")
        known = {
            b"FCGI_MAX_CONNS": str(self.factory.maxConnections).encode(),
            b"FCGI_MAX_REQS": str(self.factory.maxRequests).encode(),
            b"FCGI_MPXS_CONNS": b"1",
        }
        answer = [(name, known[name])
                  for name, _ in wire.decodeNameValues(record.content) if name in known]
        self._send([wire.encodeRecord(wire.GET_VALUES_RESULT, 0,
                                      wire.encodeNameValues(answer))])

    _HANDLERS = {
        wire.BEGIN_REQUEST: _begin,
        wire.ABORT_REQUEST: _abortRequest,
        wire.PARAMS: _params,
        wire.STDIN: _stdin,
        wire.DATA: _data,
        wire.GET_VALUES: _getValues,
    }

    # Output

    def _send(self, pieces):
        if not self._closed:
            self.transport.writeSequence(pieces)

    def _requestEnded(self, request):
        self.requests.pop(request.requestId, None)
        self._pausedBy.discard(request)
        self._updateInput()
        self._closeIfDone()

    def _closeIfDone(self):
        if self._closed or self.requests:
            return
        if not self._keepConn:
            self._closeGracefully()
        else:
            self._armIdle()

    # Producers of the responses (fan-out of the transport's pauses)

    def _addProducer(self, producer, streaming):
        if not streaming:
            adapter = PullAdapter(producer, self.reactor)
            self._producers[producer] = adapter
            producer = adapter
        else:
            self._producers[producer] = producer
        if self._outputPaused:
            producer.pauseProducing()

    def _removeProducer(self, producer):
        adapter = self._producers.pop(producer, None)
        if isinstance(adapter, PullAdapter):
            adapter.stopped = True

    def pauseProducing(self):
        self._outputPaused = True
        for producer in list(self._producers.values()):
            producer.pauseProducing()

    def resumeProducing(self):
        self._outputPaused = False
        for producer in list(self._producers.values()):
            producer.resumeProducing()

    def stopProducing(self):
        for request in list(self.requests.values()):
            request.stopProducer()

    # Reading (backpressure from the request bodies)

    def _pauseInput(self, request):
        self._pausedBy.add(request)
        self._updateInput()

    def _resumeInput(self, request):
        self._pausedBy.discard(request)
        self._updateInput()

    def _updateInput(self):
        if self._closed:
            return
        if self._pausedBy and not self._inputPaused:
            self._inputPaused = True
            self.transport.pauseProducing()
        elif not self._pausedBy and self._inputPaused:
            self._inputPaused = False
            self.transport.resumeProducing()

    def _resumeForClose(self):
        self._pausedBy.clear()
        if self._inputPaused:
            self._inputPaused = False
            self.transport.resumeProducing()

    # Idle connections

    def _armIdle(self):
        timeout = self.factory.idleTimeout
        if timeout is not None and self._idleTimer is None and not self._closed:
            self._idleTimer = self.reactor.callLater(timeout, self._idle)

    def _cancelIdle(self):
        if self._idleTimer is not None and self._idleTimer.active():
            self._idleTimer.cancel()
        self._idleTimer = None

    def _idle(self):
        self._idleTimer = None
        if not self.requests and not self._closed:
            self._closeGracefully()

    def _closeGracefully(self):
        """
        Close after what was written.  Where the transport can, only the
        write side is closed, and what the front end still sends (a STDIN
        record we had no use for) is read and dropped for up to
        C{lingerTimeout} seconds: closing a socket with unread input
        resets it, and the reset can destroy the response in flight.
        """
        self._closed = True
        self._resumeForClose()
        self.transport.unregisterProducer()
        if self._readClosed or interfaces.IHalfCloseableDescriptor(
                self.transport, None) is None:
            self.transport.loseConnection()
            return
        self.transport.loseWriteConnection()
        self._lingerTimer = self.reactor.callLater(
            self.factory.lingerTimeout, self.transport.loseConnection)


class FastCGIFactory(protocol.ServerFactory):
    """
    Serves a site over FastCGI.

    @ivar connections: the open L{FastCGIChannel}s.
    """

    def __init__(self, site, *, scriptName=None, maxRequests: int = 64,
                 maxConnections: int = 1024, maxParamsBytes: int = 131072,
                 headerTimeout: float | None = 30.0, idleTimeout: float | None = 300.0,
                 lingerTimeout: float = 5.0, reactor=None):
        """
        @param site: the L{web2.server.Site} (or any request factory).
        @param scriptName: where the URL path comes from; see
            L{web2.cgi._gateway}.  For nginx's stock C{fastcgi_params}
            (whose C{SCRIPT_NAME} is the whole path) pass the prefix the
            site is served under, C{""} for the root.
        @param maxRequests: requests at once on one connection
            (C{FCGI_MAX_REQS}); more get C{FCGI_OVERLOADED}.
        @param maxConnections: connections at once (C{FCGI_MAX_CONNS});
            more are closed at once.
        @param maxParamsBytes: the largest PARAMS stream of a request.
        @param headerTimeout: seconds from BEGIN_REQUEST to the end of its
            PARAMS before the connection is closed.
        @param idleTimeout: seconds a connection without requests stays
            open.
        @param lingerTimeout: seconds input is still read and dropped after
            the connection was closed for writing.
        @param reactor: for the timers.
        """
        if reactor is None:
            from twisted.internet import reactor
        self.site = site
        self.scriptName = scriptName
        self.maxRequests = maxRequests
        self.maxConnections = maxConnections
        self.maxParamsBytes = maxParamsBytes
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.lingerTimeout = lingerTimeout
        self.reactor = reactor
        self.connections: set[FastCGIChannel] = set()

    def buildProtocol(self, addr):
        if len(self.connections) >= self.maxConnections:
            log.warn("Refusing a FastCGI connection from {addr}: {count} open",
                     addr=addr, count=len(self.connections))
            return None
        return FastCGIChannel(self)
