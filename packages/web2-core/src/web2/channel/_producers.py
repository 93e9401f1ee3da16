# -*- test-case-name: test_channel -*-
"""
The producers that stand between a response and the transport: sending a
file region with C{os.sendfile}, watching a streaming producer for a
client that stops reading, and watching the transport's buffer drain while
the channel holds back (its send hold).
"""

from __future__ import annotations

import os
import socket
import sys

from twisted.internet import defer, error, interfaces
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

log = Logger(namespace=__name__)

_canSendfile = hasattr(os, "sendfile")
# Linux: hold a short write back to join the data that follows it.
_MSG_MORE = getattr(socket, "MSG_MORE", 0)
#: Linux's cap on the bytes a socket holds that were not sent yet (see
#: L{web2.channel.http._setSocketOptions}).
_TCP_NOTSENT_LOWAT = (
    getattr(socket, "TCP_NOTSENT_LOWAT", 25) if sys.platform.startswith("linux") else None
)
#: A file larger than this is sent without that cap: one file cannot be
#: multiplied the way many small answers can, and with the cap every few
#: hundred KiB of it would cost a wake-up (a 10 MiB file took twice the CPU).
_UNCAPPED_FILE = 1024 * 1024


def _capNotSent(sock, notSentBytes):
    """
    Set the kernel's cap on C{sock}'s unsent bytes (C{0}: the kernel's
    default, no cap); a socket already closed is left alone.
    """
    try:
        sock.setsockopt(socket.IPPROTO_TCP, _TCP_NOTSENT_LOWAT, notSentBytes)
    except OSError:
        pass
    return None


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
        self._waitingSince = None

    def resumeProducing(self):
        self._waitingSince = None
        self.channel._outputMayHaveDrained()
        scheduled = self._scheduled
        if scheduled is not None:
            self._scheduled = None
            if scheduled.active():
                scheduled.cancel()
        transport = self.channel.transport
        if self.head:
            head, self.head = self.head, b""
            if not transport.dataBuffer and not transport._tempDataBuffer:
                # Straight to the socket, held back (MSG_MORE) to leave in
                # one segment with the start of the file.
                try:
                    sent = transport.socket.send(head, _MSG_MORE)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self._fail(Failure())
                    return
                head = head[sent:]
            if head:
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
            self._cancelTimers()
            self.channel._unregisterProducer()
            self.done.callback(None)
        else:
            self._scheduled = self.channel.reactor.callLater(0, self.resumeProducing)

    def _waitForDrain(self):
        """
        Note when waiting for the socket began; one timer, re-armed only
        when it fires early, bounds every wait by C{sendTimeout} (rather
        than a timer made and cancelled per wait).
        """
        reactor = self.channel.reactor
        self._waitingSince = reactor.seconds()
        if self._timer is None:
            self._timer = reactor.callLater(self.channel.sendTimeout, self._checkStalled)

    def _checkStalled(self):
        self._timer = None
        since = self._waitingSince
        if since is None:
            # Not waiting now: nothing to bound until the next wait.
            return
        reactor = self.channel.reactor
        left = since + self.channel.sendTimeout - reactor.seconds()
        if left > 0:
            self._timer = reactor.callLater(left, self._checkStalled)
            return
        log.info("Client stopped reading a file response; aborting")
        self._fail(Failure(error.ConnectionLost("send timeout")))

    def _cancelTimers(self):
        for name in ("_timer", "_scheduled"):
            timer = getattr(self, name)
            if timer is not None and timer.active():
                timer.cancel()
            setattr(self, name, None)

    def _fail(self, failure):
        self._cancelTimers()
        self.channel._unregisterProducer()
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
        self.channel._outputMayHaveDrained()
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


@implementer(interfaces.IPullProducer)
class _DrainWatch:
    """
    Holds the transport's producer slot during the channel's send hold, as
    a pull producer: the transport resumes it each time its buffer is
    empty, which is when the hold may end.

    @ivar sink: the file descriptor it is registered with.
    """

    def __init__(self, channel, sink):
        self.channel = channel
        self.sink = sink

    def resumeProducing(self):
        self.channel._outputMayHaveDrained()

    def stopProducing(self):
        # The connection is lost: the channel hears of it from the transport.
        pass
