# -*- test-case-name: test_stream_producer -*-
"""
The bridges between streams and Twisted's producers and consumers:
L{ProducerStream} (a consumer that is read as a stream, the base of the
request body) and L{StreamProducer} (a push producer that writes a stream
to a consumer, the way a response body reaches the transport).
"""

from collections import deque

from twisted.internet.defer import Deferred, fail
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IConsumer, IPushProducer
from twisted.python.failure import Failure
from zope.interface import implementer

from web2._stream_base import SimpleStream, whenReady
from web2._stream_sources import _toBytes


@implementer(IConsumer)
class ProducerStream(SimpleStream):
    """
    A stream fed by C{write()}: the bridge from an L{IConsumer} to a
    stream.

    Backpressure: a streaming producer registered here is paused when more
    than C{bufferLimit} bytes wait unread, and resumed when the reader has
    brought them down to half of it.  A pull (non-streaming) producer is
    asked for more on each C{read()} that finds nothing buffered.

    @ivar bufferLimit: the most bytes buffered before the streaming
        producer is paused.
    @ivar buffered: how many bytes are buffered now.
    @ivar producer: the registered producer, or C{None}.
    @ivar finished: whether L{finish} (or L{close}) was called.
    """

    producer = None
    streamingProducer = False
    finished = False
    failure = None

    def __init__(self, length=None, bufferLimit=65536 * 4):
        """
        @param length: the number of bytes that will be written, if known.
        @param bufferLimit: see L{bufferLimit}; default 256 KiB.
        """
        self.length = length
        self.bufferLimit = bufferLimit
        self.buffered = 0
        self._buffer = deque()
        self._paused = False
        self._waiting = None

    # IConsumer

    def write(self, data):
        """
        Add C{data} to the stream.  Ignored once the stream is closed or
        finished.
        """
        if self.closed or self.finished or not data:
            return
        data = _toBytes(data)
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            self._consumed(len(data))
            waiting.callback(data)
            return
        self._buffer.append(data)
        self.buffered += len(data)
        if (
            self.streamingProducer
            and not self._paused
            and self.buffered > self.bufferLimit
        ):
            self._paused = True
            self.producer.pauseProducing()

    def finish(self, failure=None):
        """
        No more data will be written.

        @param failure: a L{Failure} (or exception) that ends the stream
            with an error instead: the reader gets it after the buffered
            data.
        """
        if self.finished:
            return
        self.finished = True
        if not self._paused:
            # A producer this stream paused stays known, so that the reader
            # draining the buffer resumes it: its pause is ours to lift.
            self.unregisterProducer()
        if failure is not None and not isinstance(failure, Failure):
            failure = Failure(failure)
        self.failure = failure
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            if failure is not None:
                waiting.errback(failure)
            else:
                waiting.callback(None)

    def registerProducer(self, producer, streaming):
        """
        Register the producer of this stream's data.

        @raise RuntimeError: if one is already registered.
        """
        if self.producer is not None:
            raise RuntimeError(
                f"{self!r} already has producer {self.producer!r}"
            )
        if self.closed:
            producer.stopProducing()
            return
        if self.finished:
            return
        self.producer = producer
        self.streamingProducer = bool(streaming)
        self._paused = False
        if streaming:
            if self.buffered > self.bufferLimit:
                self._paused = True
                producer.pauseProducing()
        elif self._waiting is not None:
            producer.resumeProducing()

    def unregisterProducer(self):
        """
        Forget the producer.
        """
        self.producer = None
        self.streamingProducer = False
        self._paused = False

    # IByteStream

    def read(self):
        """
        @return: the oldest buffered chunk, C{None} at the end, or a
            Deferred firing with the next chunk.
        """
        if self._waiting is not None:
            raise RuntimeError("read() called while a read is pending")
        if self._buffer:
            data = self._buffer.popleft()
            self.buffered -= len(data)
            self._consumed(len(data))
            return data
        if self.closed:
            return None
        if self.finished:
            if self.failure is not None:
                return fail(self.failure)
            return None
        producer = self.producer
        if producer is not None and not self.streamingProducer:
            producer.resumeProducing()
            if self._buffer or self.finished:
                return self.read()
        self._waiting = Deferred()
        return self._waiting

    def _consumed(self, size):
        if self.length is not None:
            self.length = max(0, self.length - size)
        if self._paused and self.buffered <= self.bufferLimit // 2:
            self._paused = False
            if self.producer is not None:
                self.producer.resumeProducing()

    def close(self):
        """
        The reader wants no more: drop the buffer, stop the producer, and
        answer a pending read with C{None}.
        """
        if self.closed:
            return
        SimpleStream.close(self)
        self._buffer.clear()
        self.buffered = 0
        producer, paused = self.producer, self._paused
        self.unregisterProducer()
        if producer is not None:
            if not self.finished:
                producer.stopProducing()
            elif paused:
                producer.resumeProducing()
        self.finished = True
        waiting, self._waiting = self._waiting, None
        if waiting is not None:
            waiting.callback(None)


@implementer(IPushProducer)
class StreamProducer:
    """
    Write a stream to a consumer as a push producer, chunk by chunk,
    without copying.

    Synchronously available data is written in a loop (not by recursion);
    the producer waits only when a read returns a pending Deferred or the
    consumer pauses it.  A chunk whose Deferred fires while the producer is
    paused is kept and written on resume, not lost.

    @ivar stream: the stream being written, or C{None} once done.
    @ivar consumer: the consumer, or C{None} once done.
    """

    consumer = None
    deferred = None

    def __init__(self, stream):
        self.stream = stream
        self._paused = False
        self._reading = False
        self._looping = False
        self._held = None
        self._done = False

    def beginProducing(self, consumer):
        """
        Register with C{consumer} and write the whole stream to it.

        @return: a Deferred that fires with C{None} when the stream is
            exhausted (after the producer is unregistered), or fails with
            the stream's error, or with the failure passed to
            L{stopProducing}.
        """
        self.consumer = consumer
        self.deferred = Deferred()
        if self.stream is None:
            self._done = True
            self.deferred.callback(None)
            return self.deferred
        consumer.registerProducer(self, True)
        self._loop()
        return self.deferred

    def pauseProducing(self):
        """
        Stop writing until L{resumeProducing}.
        """
        self._paused = True

    def resumeProducing(self):
        """
        Write again: first any chunk that arrived while paused.
        """
        self._paused = False
        if self._done or self._looping or self._reading:
            return
        data, self._held = self._held, None
        self._writeThenLoop(data)

    def stopProducing(self, failure=None):
        """
        Stop for good: close the stream and fail the Deferred of
        L{beginProducing}.

        @param failure: the failure to report; default L{ConnectionLost}.
        """
        if self._done:
            return
        self._held = None
        if self.stream is not None:
            self.stream.close()
            # Closing may answer a pending read, which can finish us.
            if self._done:
                return
        self._finish(failure if failure is not None else Failure(ConnectionLost()))

    def _loop(self):
        self._looping = True
        try:
            while not (self._paused or self._done):
                try:
                    data = self.stream.read()
                except BaseException:
                    self._finish(Failure())
                    return
                if isinstance(data, Deferred):
                    ready, data = whenReady(data, self._later)
                    if not ready:
                        self._reading = True
                        return
                if not self._handle(data):
                    return
        finally:
            self._looping = False

    def _later(self, data):
        self._reading = False
        if self._done:
            return
        if data is None or isinstance(data, Failure):
            self._handle(data)
        elif self._paused:
            # twisted.web2 #2736: the chunk is kept for resumeProducing.
            self._held = data
        else:
            self._writeThenLoop(data)

    def _writeThenLoop(self, data):
        """
        Write C{data} (if not C{None}: a held chunk or a late read's
        result), then read on.  The consumer may pause and resume this
        producer from inside C{write}; the flag keeps that from starting a
        second loop.
        """
        if data is not None:
            self._looping = True
            try:
                if not self._handle(data):
                    return
            finally:
                self._looping = False
        self._loop()

    def _handle(self, data):
        """
        Write one result of C{read()}, or finish on C{None} or a failure.

        @return: whether to read on.
        """
        if isinstance(data, Failure):
            self._finish(data)
            return False
        if data is None:
            self._finish(None)
            return False
        self.consumer.write(data)
        return True

    def _finish(self, failure):
        self._done = True
        self.stream = None
        consumer, self.consumer = self.consumer, None
        if consumer is not None:
            consumer.unregisterProducer()
        if failure is None:
            self.deferred.callback(None)
        else:
            self.deferred.errback(failure)


@implementer(IConsumer)
class _ProtocolFeeder:
    """
    A consumer that hands what it is written to a protocol's
    C{dataReceived}.
    """

    def __init__(self, protocol):
        self.protocol = protocol

    def write(self, data):
        self.protocol.dataReceived(data)

    def registerProducer(self, producer, streaming):
        pass

    def unregisterProducer(self):
        pass


class _StreamTransport:
    """
    The transport of a protocol run by L{connectStream}: what the protocol
    writes goes to the output stream.
    """

    disconnecting = False

    def __init__(self, out):
        self._out = out

    def write(self, data):
        self._out.write(data)

    def writeSequence(self, seq):
        for data in seq:
            self._out.write(data)

    def loseConnection(self):
        self.disconnecting = True
        self._out.finish()

    abortConnection = loseConnection

    def getPeer(self):
        return None

    def getHost(self):
        return None

    def registerProducer(self, producer, streaming):
        raise RuntimeError("connectStream transports take no producer")

    def unregisterProducer(self):
        pass


def connectStream(inputStream, protocolFactory):
    """
    Run a protocol over a stream: the protocol receives C{inputStream} as
    its incoming data, and what it writes becomes the returned stream.

    Reading of the input pauses while the output holds more than its
    buffer limit unread; closing the output stops reading the input.  When
    the input ends, the protocol's C{connectionLost} is called (with
    L{ConnectionDone}, or the input's failure) and the output finishes.

    @param protocolFactory: an L{IProtocolFactory}; its
        C{buildProtocol(None)} is called.
    @return: a L{ProducerStream} of the protocol's output.
    """
    protocol = protocolFactory.buildProtocol(None)
    out = ProducerStream()
    protocol.makeConnection(_StreamTransport(out))
    pump = StreamProducer(inputStream)
    d = pump.beginProducing(_ProtocolFeeder(protocol))
    if not pump._done:
        out.registerProducer(pump, True)

    def ended(result):
        if out.producer is pump:
            out.unregisterProducer()
        if isinstance(result, Failure):
            protocol.connectionLost(result)
            out.finish(result)
        else:
            protocol.connectionLost(Failure(ConnectionDone()))
            out.finish()

    d.addBoth(ended)
    return out
