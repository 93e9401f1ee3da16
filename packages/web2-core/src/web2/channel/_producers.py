# -*- test-case-name: test_channel -*-
"""
The producers that stand between a response and the transport: sending a
file region with C{os.sendfile}, and watching a streaming producer for a
client that stops reading.
"""

from __future__ import annotations

import os

from twisted.internet import defer, error, interfaces
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

log = Logger()

_canSendfile = hasattr(os, "sendfile")


@implementer(interfaces.IPullProducer)
class _SendfileProducer:
    """
    Sends a region of a file to a TCP socket with C{os.sendfile}.

    As a pull producer it is resumed by the transport whenever the
    transport's own buffer is empty, which is the only time bytes may go to
    the socket directly without overtaking buffered ones.  When the socket
    is full it hands one ordinary chunk to the transport, so that the
    reactor resumes it once the socket drains; while waiting, C{sendTimeout}
    bounds a client that does not read.
    """

    burst = 4 * 1024 * 1024
    fallbackChunk = 65536

    def __init__(self, channel, socketFd, fileFd, offset, length, head):
        self.channel = channel
        self.socketFd = socketFd
        self.fileFd = fileFd
        self.offset = offset
        self.remaining = length
        self.head = head
        self.done = defer.Deferred()
        self._timer = None
        self._scheduled = None

    def resumeProducing(self):
        self._cancelTimers()
        transport = self.channel.transport
        if self.head:
            head, self.head = self.head, b""
            transport.write(head)
            self._waitForDrain()
            return
        sent = 0
        try:
            while self.remaining and sent < self.burst:
                count = os.sendfile(
                    self.socketFd, self.fileFd, self.offset, min(self.remaining, self.burst)
                )
                if count == 0:
                    raise OSError("the file is shorter than its announced length")
                self.offset += count
                self.remaining -= count
                sent += count
        except BlockingIOError:
            # The socket is full.  Asking the transport to watch for
            # writability with its buffer empty makes it resume us, as a
            # pull producer, once the socket drains: no byte is copied.
            transport.startWriting()
            self._waitForDrain()
            return
        except OSError:
            self._fail(Failure())
            return
        if not self.remaining:
            transport.unregisterProducer()
            self.done.callback(None)
        else:
            self._scheduled = self.channel.reactor.callLater(0, self.resumeProducing)

    def _waitForDrain(self):
        self._timer = self.channel.reactor.callLater(
            self.channel.sendTimeout, self._stalled
        )

    def _cancelTimers(self):
        for name in ("_timer", "_scheduled"):
            timer = getattr(self, name)
            if timer is not None and timer.active():
                timer.cancel()
            setattr(self, name, None)

    def _stalled(self):
        self._timer = None
        log.info("Client stopped reading a file response; aborting")
        self._fail(Failure(error.ConnectionLost("send timeout")))

    def _fail(self, failure):
        self._cancelTimers()
        transport = self.channel.transport
        transport.unregisterProducer()
        if not self.done.called:
            self.done.errback(failure)

    def stopProducing(self):
        self._cancelTimers()
        if not self.done.called:
            self.done.errback(Failure(error.ConnectionLost("client went away")))


@implementer(interfaces.IPushProducer)
class _SendWatch:
    """
    Stands between the transport and a response producer: while the
    transport holds the producer paused (the client is not reading), a timer
    runs, and after C{sendTimeout} seconds the connection is aborted.
    """

    _timer = None

    def __init__(self, producer, channel):
        self.producer = producer
        self.channel = channel

    def pauseProducing(self):
        if self._timer is None:
            channel = self.channel
            self._timer = channel.reactor.callLater(
                channel.sendTimeout, self._stalled
            )
        self.producer.pauseProducing()

    def resumeProducing(self):
        if self._timer is not None:
            if self._timer.active():
                self._timer.cancel()
            self._timer = None
        self.producer.resumeProducing()

    def stopProducing(self):
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        self.producer.stopProducing()

    def _stalled(self):
        self._timer = None
        log.info("Client stopped reading the response for {t}s; aborting",
                 t=self.channel.sendTimeout)
        self.channel.abortConnection()
