# -*- test-case-name: test_cgi_fastcgi -*-
"""
The per-request half of the FastCGI gateway: L{FastCGIRequest}, the state
of one request and the carrier (see L{web2.cgi._gateway}) its response is
written through, and L{PullAdapter}, which lets a pull producer share a
connection whose output producers are all pushed.
"""

from __future__ import annotations

from twisted.internet import interfaces
from zope.interface import implementer

from web2.cgi import _fcgiwire as wire


class FastCGIRequest:
    """
    The state of one FastCGI request, and the carrier its
    L{GatewayChannelRequest} writes through.
    """

    chan = None
    ended = False
    producer = None
    discarding = False
    _timer = None

    def __init__(self, channel, requestId, keepConn):
        self.channel = channel
        self.requestId = requestId
        self.keepConn = keepConn
        self.params = bytearray()

    # carrier

    def writeOutput(self, data):
        if not self.ended:
            self.channel._send(wire.encodeStream(wire.STDOUT, self.requestId, data))

    def finishOutput(self):
        self._end(0)

    def abortOutput(self):
        channel = self.channel
        if len(channel.requests) == 1 and not channel._closed:
            # Alone on the connection: closing it is the clearest signal of
            # a truncated response.
            self.ended = True
            channel.requests.pop(self.requestId, None)
            channel._abort("a response failed midway")
        else:
            self._end(1)

    def registerOutputProducer(self, producer, streaming):
        self.producer = producer
        self.channel._addProducer(producer, streaming)

    def unregisterOutputProducer(self):
        producer, self.producer = self.producer, None
        if producer is not None:
            self.channel._removeProducer(producer)

    def pauseInput(self):
        self.channel._pauseInput(self)

    def resumeInput(self):
        self.channel._resumeInput(self)

    def discardInput(self):
        self.discarding = True
        self.channel._resumeInput(self)

    # ending

    def _end(self, appStatus, protocolStatus=wire.REQUEST_COMPLETE):
        if self.ended:
            return
        self.ended = True
        self.cancelTimer()
        channel = self.channel
        if protocolStatus == wire.REQUEST_COMPLETE:
            channel._send([wire.encodeRecord(wire.STDOUT, self.requestId)])
        channel._send([wire.encodeEndRequest(self.requestId, appStatus, protocolStatus)])
        channel._requestEnded(self)

    def stopProducer(self):
        producer, self.producer = self.producer, None
        if producer is not None:
            self.channel._removeProducer(producer)
            producer.stopProducing()

    def cancelTimer(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None


@implementer(interfaces.IPushProducer)
class PullAdapter:
    """
    Drives a pull producer as if it were a push producer: it is asked for
    more once per reactor turn while the connection is not paused.
    """

    def __init__(self, producer, reactor):
        self.producer = producer
        self.reactor = reactor
        self.paused = False
        self.stopped = False
        self._call = reactor.callLater(0, self._pull)

    def _pull(self):
        self._call = None
        if self.paused or self.stopped:
            return
        self.producer.resumeProducing()
        if not self.stopped:
            self._call = self.reactor.callLater(0, self._pull)

    def pauseProducing(self):
        self.paused = True

    def resumeProducing(self):
        self.paused = False
        if self._call is None and not self.stopped:
            self._call = self.reactor.callLater(0, self._pull)

    def stopProducing(self):
        self.stopped = True
        if self._call is not None and self._call.active():
            self._call.cancel()
        self._call = None
        self.producer.stopProducing()
