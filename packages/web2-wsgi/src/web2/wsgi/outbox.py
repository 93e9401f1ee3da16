# -*- test-case-name: test_wsgi_output -*-
"""
The way a response travels from the worker thread to the reactor thread.

The worker L{Outbox.send}s the head, body chunks and the end; whatever is
sent before the reactor thread gets round to it travels together, so a
response produced at once costs exactly one hand-off (the
"doorbell" rings only when nothing is already waiting).

Flow control: the worker waits while more than C{bufferSize} bytes are on
their way, or while the consumer of the response body (a
L{web2.stream.ProducerStream} this outbox is the producer of) has paused it
because the client is not reading.  When the consumer stops it (the client
went away, or the response needs no body), every later C{send} raises
L{OutboxStopped}, so the worker stops producing and calls the
application's C{close()}.
"""

from __future__ import annotations

import threading

from twisted.internet.interfaces import IPushProducer
from zope.interface import implementer

__all__ = ["Outbox", "OutboxStopped"]


class OutboxStopped(Exception):
    """
    The reactor side wants no more of this response.
    """


@implementer(IPushProducer)
class Outbox:
    """
    A one-way, flow-controlled channel from one worker thread to the reactor.

    @ivar bufferSize: how many bytes may be on their way before C{send}
        waits.
    """

    def __init__(self, post, deliver, bufferSize: int = 65536):
        """
        @param post: C{post(call)} calls C{call()} soon in the reactor
            thread, from any thread.
        @param deliver: called in the reactor thread as
            C{deliver(head, chunks, end)} with what was sent since the last
            call: the head or C{None}, a list of C{bytes}, and the end
            marker or C{None}.
        @param bufferSize: see L{bufferSize}.
        """
        self._post = post
        self._deliver = deliver
        self.bufferSize = bufferSize
        self._cond = threading.Condition(threading.Lock())
        self._head = None
        self._chunks: list[bytes] = []
        self._bytes = 0
        self._end = None
        self._rung = False
        self._paused = False
        self._stopped: str | None = None

    # -- worker side ------------------------------------------------------

    def send(self, head=None, chunks=(), end=None, wait=True) -> None:
        """
        Send part of the response.

        @param head: the response head, if it is being sent now.
        @param chunks: body chunks (C{bytes}, not empty).
        @param end: an end marker (anything but C{None}): nothing follows.
        @param wait: wait, after sending, until the reactor side can take
            more (see the module docstring).
        @raise OutboxStopped: the reactor side stopped this response.
        """
        with self._cond:
            if self._stopped is not None:
                raise OutboxStopped(self._stopped)
            if head is not None:
                self._head = head
            if chunks:
                self._chunks.extend(chunks)
                self._bytes += sum(map(len, chunks))
            if end is not None:
                self._end = end
            ring = not self._rung
            self._rung = True
        if ring:
            self._post(self._ring)
        if wait:
            self.waitWritable()

    def waitWritable(self) -> None:
        """
        Wait until the reactor side can take more.

        @raise OutboxStopped: it stopped this response instead.
        """
        cond = self._cond
        with cond:
            while self._stopped is None and (self._paused or self._bytes > self.bufferSize):
                cond.wait()
            if self._stopped is not None:
                raise OutboxStopped(self._stopped)

    def waitStopped(self) -> str:
        """
        Wait until the reactor side stops this outbox (for a body it sends
        without the worker, such as a file).

        @return: the reason given to L{stop}.
        """
        cond = self._cond
        with cond:
            while self._stopped is None:
                cond.wait()
            return self._stopped

    # -- reactor side -----------------------------------------------------

    def _ring(self) -> None:
        with self._cond:
            head, self._head = self._head, None
            chunks, self._chunks = self._chunks, []
            end, self._end = self._end, None
            self._bytes = 0
            self._rung = False
            self._cond.notify_all()
        self._deliver(head, chunks, end)

    def stop(self, reason: str) -> None:
        """
        From any thread: refuse everything sent from now on and wake the
        worker.  The first reason given is kept.
        """
        with self._cond:
            if self._stopped is None:
                self._stopped = reason
            self._cond.notify_all()

    # IPushProducer, for the response body stream

    def pauseProducing(self) -> None:
        with self._cond:
            self._paused = True

    def resumeProducing(self) -> None:
        with self._cond:
            self._paused = False
            self._cond.notify_all()

    def stopProducing(self) -> None:
        self.stop("the response body was closed")
