# -*- test-case-name: test_cgi_scgi -*-
"""
web2 behind a front end over SCGI: L{SCGIFactory} accepts connections
from nginx (C{scgi_pass}), Apache (C{mod_proxy_scgi}), lighttpd and the
like, one request per connection, and answers them with a
L{web2.server.Site}.

The head is read with L{web2.cgi._scgiwire.SCGIHeadReader}; the body is
streamed to the request with backpressure (the socket stops being read
while the application does not read); the response goes back as a CGI
response, with backpressure, and the connection is closed after it.

Bad input (a malformed netstring, a head over the limit, a head that does
not arrive in time) closes the connection with one log line; variables
that do not make a valid request are answered with a plain 400.
"""

from __future__ import annotations

from twisted.internet import interfaces, protocol
from twisted.internet.error import ConnectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from web2.cgi._gateway import GatewayChannelRequest
from web2.cgi._scgiwire import SCGIHeadReader, SCGIProtocolError

__all__ = ["SCGIFactory", "SCGIChannel"]

log = Logger(namespace="web2.cgi.scgi")


@implementer(interfaces.IHalfCloseableProtocol)
class SCGIChannel(protocol.Protocol):
    """
    One SCGI connection: one request.  It is also the carrier of that
    request (see L{web2.cgi._gateway}).
    """

    chanRequest = None
    _timer = None
    _closed = False
    _discarding = False
    _inputPaused = False
    _readClosed = False

    def __init__(self, factory):
        self.factory = factory
        self._reader = SCGIHeadReader(factory.maxHeadBytes)

    # Connection

    def connectionMade(self):
        self.factory.connections.add(self)
        if self.factory.headerTimeout is not None:
            self._timer = self.factory.reactor.callLater(
                self.factory.headerTimeout, self._headTimedOut)

    def dataReceived(self, data):
        if self._closed:
            return
        chan = self.chanRequest
        if chan is not None:
            if not self._discarding:
                chan.bodyReceived(data)
            return
        try:
            result = self._reader.feed(data)
        except SCGIProtocolError as e:
            self._refuse(str(e))
            return
        if result is None:
            return
        self._cancelTimer()
        variables, rest = result
        chan = GatewayChannelRequest.fromVariables(
            self, variables, self.factory.scriptName, defaultLength=0)
        if chan is None:
            return
        self.chanRequest = chan
        chan.start(self.factory.site)
        if rest and not self._closed:
            chan.bodyReceived(rest)

    def readConnectionLost(self):
        self._readClosed = True
        if self._closed:
            self._cancelTimer()
            self.transport.loseConnection()
            return
        chan = self.chanRequest
        if chan is None:
            if not self._closed:
                self._refuse("connection closed inside the head")
            return
        if chan.remaining:
            chan.bodyComplete()

    def writeConnectionLost(self):
        if not self._closed:
            # The front end stopped reading before the response was done.
            self._abort()

    def connectionLost(self, reason=None):
        if reason is None:
            reason = Failure(ConnectionDone())
        self._closed = True
        self._cancelTimer()
        self.factory.connections.discard(self)
        chan = self.chanRequest
        if chan is not None and not chan.finished:
            chan.inputLost(reason)

    def _refuse(self, why):
        peer = self.transport.getPeer()
        log.info("Closing SCGI connection from {peer}: {why}",
                 peer=getattr(peer, "host", peer), why=why)
        self._abort()

    def _abort(self):
        self._closed = True
        self._cancelTimer()
        self.transport.abortConnection()

    def _headTimedOut(self):
        self._timer = None
        self._refuse(f"no complete head within {self.factory.headerTimeout} seconds")

    def _cancelTimer(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    # The carrier of the request

    def writeOutput(self, data):
        if not self._closed:
            self.transport.write(data)

    def finishOutput(self):
        """
        Close after the response.  Where the transport can, only the write
        side is closed and unread input is dropped for up to
        C{lingerTimeout} seconds, so that a body we did not read does not
        make the kernel reset the connection under the response.
        """
        if self._closed:
            return
        self._closed = True
        self._resumeForClose()
        if self._readClosed or interfaces.IHalfCloseableDescriptor(
                self.transport, None) is None:
            self.transport.loseConnection()
            return
        self.transport.loseWriteConnection()
        self._timer = self.factory.reactor.callLater(
            self.factory.lingerTimeout, self.transport.loseConnection)

    def abortOutput(self):
        if not self._closed:
            self._abort()

    def registerOutputProducer(self, producer, streaming):
        self.transport.registerProducer(producer, streaming)

    def unregisterOutputProducer(self):
        self.transport.unregisterProducer()

    def pauseInput(self):
        if not self._inputPaused and not self._closed:
            self._inputPaused = True
            self.transport.pauseProducing()

    def resumeInput(self):
        if self._inputPaused:
            self._inputPaused = False
            if not self._closed:
                self.transport.resumeProducing()

    def discardInput(self):
        self._discarding = True
        self.resumeInput()

    def _resumeForClose(self):
        if self._inputPaused:
            self._inputPaused = False
            self.transport.resumeProducing()


class SCGIFactory(protocol.ServerFactory):
    """
    Serves a site over SCGI.

    @ivar connections: the open L{SCGIChannel}s.
    """

    def __init__(self, site, *, scriptName=None, maxHeadBytes: int = 65536,
                 headerTimeout: float | None = 30.0, lingerTimeout: float = 5.0,
                 reactor=None):
        """
        @param site: the L{web2.server.Site} (or any request factory).
        @param scriptName: where the URL path comes from; see
            L{web2.cgi._gateway} (C{None}: SCRIPT_NAME + PATH_INFO as RFC
            3875 says, or REQUEST_URI when both are absent).
        @param maxHeadBytes: the largest SCGI head accepted (64 KiB).
        @param headerTimeout: seconds for the head to arrive (C{None}: no
            limit).
        @param lingerTimeout: seconds unread input is dropped after the
            response, before the connection closes.
        @param reactor: for the timers.
        """
        if reactor is None:
            from twisted.internet import reactor
        self.site = site
        self.scriptName = scriptName
        self.lingerTimeout = lingerTimeout
        self.maxHeadBytes = maxHeadBytes
        self.headerTimeout = headerTimeout
        self.reactor = reactor
        self.connections: set[SCGIChannel] = set()

    def buildProtocol(self, addr):
        channel = SCGIChannel(self)
        channel.factory = self
        return channel
