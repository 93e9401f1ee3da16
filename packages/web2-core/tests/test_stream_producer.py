"""
Tests for L{web2.stream.ProducerStream}, L{web2.stream.StreamProducer} and
L{web2.stream.connectStream}.
"""

from test_stream import ChunkStream, ManualStream, drain
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IConsumer, IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from web2 import stream


class FakeProducer:
    """
    A producer that records what it is asked to do.
    """

    def __init__(self):
        self.calls = []
        self.paused = False

    def pauseProducing(self):
        self.calls.append("pause")
        self.paused = True

    def resumeProducing(self):
        self.calls.append("resume")
        self.paused = False

    def stopProducing(self):
        self.calls.append("stop")


class PullProducer(FakeProducer):
    """
    A pull producer that writes the next of its chunks to the stream each
    time it is asked, and finishes the stream after the last.
    """

    def __init__(self, target, chunks):
        FakeProducer.__init__(self)
        self.target = target
        self.chunks = list(chunks)

    def resumeProducing(self):
        self.calls.append("resume")
        if self.chunks:
            self.target.write(self.chunks.pop(0))
        else:
            self.target.finish()


@implementer(IConsumer)
class FakeConsumer:
    """
    A consumer that records writes and (un)registrations, and can pause its
    producer after a given number of writes.
    """

    def __init__(self, pauseEvery=None):
        self.written = []
        self.producer = None
        self.unregistered = 0
        self.pauseEvery = pauseEvery

    def registerProducer(self, producer, streaming):
        assert streaming
        self.producer = producer

    def unregisterProducer(self):
        self.unregistered += 1
        self.producer = None

    def write(self, data):
        self.written.append(data)
        if self.pauseEvery and len(self.written) % self.pauseEvery == 0:
            self.producer.pauseProducing()


class ProducerStreamTests(SynchronousTestCase):
    """
    L{stream.ProducerStream}, the consumer read as a stream.
    """

    def test_interfaces(self):
        """
        It is an L{IConsumer} and an L{IByteStream}.
        """
        s = stream.ProducerStream()
        verifyObject(IConsumer, s)
        verifyObject(stream.IByteStream, s)

    def test_writeThenRead(self):
        """
        Written chunks are read in order; C{finish()} ends the stream; the
        declared length counts down.
        """
        s = stream.ProducerStream(length=5)
        s.write(b"ab")
        s.write(b"")
        s.write(bytearray(b"cde"))
        s.finish()
        self.assertEqual(s.read(), b"ab")
        self.assertEqual(s.length, 3)
        self.assertEqual(s.read(), b"cde")
        self.assertIsNone(s.read())

    def test_pendingRead(self):
        """
        A read with nothing buffered is answered by the next write, or with
        C{None} by C{finish()}; a second read meanwhile is an error.
        """
        s = stream.ProducerStream()
        d = s.read()
        self.assertNoResult(d)
        self.assertRaises(RuntimeError, s.read)
        s.write(b"x")
        self.assertEqual(self.successResultOf(d), b"x")
        d = s.read()
        s.finish()
        self.assertIsNone(self.successResultOf(d))

    def test_finishWithFailure(self):
        """
        A failure given to C{finish} reaches the reader after the buffered
        data, as an errback, also for a read already pending.
        """
        s = stream.ProducerStream()
        s.write(b"a")
        s.finish(Failure(ValueError("bad body")))
        self.assertEqual(s.read(), b"a")
        self.failureResultOf(s.read(), ValueError)
        s = stream.ProducerStream()
        d = s.read()
        s.finish(ConnectionLost())
        self.failureResultOf(d, ConnectionLost)

    def test_backpressureByBytes(self):
        """
        A streaming producer is paused when the buffered bytes pass the
        limit, not after some number of writes, and resumed when the reader
        has drained the buffer to half the limit.
        """
        s = stream.ProducerStream(bufferLimit=1000)
        p = FakeProducer()
        s.registerProducer(p, True)
        for _ in range(100):
            s.write(b"x")
        self.assertEqual(p.calls, [])
        s.write(b"y" * 900)
        self.assertEqual(p.calls, [])
        s.write(b"z")
        self.assertEqual(p.calls, ["pause"])
        self.assertEqual(s.buffered, 1001)
        s.write(b"more")
        self.assertEqual(p.calls, ["pause"])
        for _ in range(100):
            s.read()
        self.assertEqual(p.calls, ["pause"])
        self.assertEqual(s.read(), b"y" * 900)
        self.assertEqual(p.calls, ["pause", "resume"])
        self.assertEqual(s.buffered, 5)

    def test_registerWhenAlreadyFull(self):
        """
        A streaming producer registered while the buffer is over the limit
        is paused at once; a second producer is refused.
        """
        s = stream.ProducerStream(bufferLimit=2)
        s.write(b"abc")
        p = FakeProducer()
        s.registerProducer(p, True)
        self.assertEqual(p.calls, ["pause"])
        self.assertRaises(RuntimeError, s.registerProducer, FakeProducer(), True)

    def test_pausedProducerResumedAfterFinish(self):
        """
        A producer paused by the stream is still resumed when the reader
        drains the buffer after C{finish()} (the channel shares the pause
        with the next request); otherwise it is forgotten at finish.
        """
        s = stream.ProducerStream(bufferLimit=2)
        p = FakeProducer()
        s.registerProducer(p, True)
        s.write(b"abc")
        s.finish()
        s.read()
        self.assertEqual(p.calls, ["pause", "resume"])
        s = stream.ProducerStream(bufferLimit=2)
        p = FakeProducer()
        s.registerProducer(p, True)
        s.write(b"a")
        s.finish()
        s.close()
        self.assertIsNone(s.producer)
        self.assertEqual(p.calls, [])

    def test_closeAfterFinishLiftsOurPause(self):
        """
        Closing a finished stream whose buffer had paused the producer
        resumes it rather than stopping it: the body was complete, and the
        pause must not outlive the buffer.
        """
        s = stream.ProducerStream(bufferLimit=2)
        p = FakeProducer()
        s.registerProducer(p, True)
        s.write(b"abc")
        s.finish()
        s.close()
        self.assertEqual(p.calls, ["pause", "resume"])

    def test_pullProducer(self):
        """
        A pull producer is asked for data on each read that finds nothing
        buffered.
        """
        s = stream.ProducerStream()
        p = PullProducer(s, [b"a", b"b"])
        s.registerProducer(p, False)
        self.assertEqual(drain(s), [b"a", b"b"])
        self.assertEqual(p.calls, ["resume"] * 3)

    def test_pullProducerRegisteredDuringRead(self):
        """
        A pull producer registered while a read waits is asked at once.
        """
        s = stream.ProducerStream()
        d = s.read()
        s.registerProducer(PullProducer(s, [b"a"]), False)
        self.assertEqual(self.successResultOf(d), b"a")

    def test_closeStopsProducer(self):
        """
        C{close()} stops the producer, drops the buffer, answers a pending
        read with C{None} and ignores later writes.
        """
        s = stream.ProducerStream()
        p = FakeProducer()
        s.registerProducer(p, True)
        d = s.read()
        s.close()
        self.assertEqual(p.calls, ["stop"])
        self.assertIsNone(self.successResultOf(d))
        s.write(b"late")
        self.assertIsNone(s.read())
        s2 = stream.ProducerStream()
        s2.write(b"buffered")
        s2.close()
        self.assertIsNone(s2.read())

    def test_registerAfterClose(self):
        """
        A producer registered on a closed stream is stopped at once.
        """
        s = stream.ProducerStream()
        s.close()
        p = FakeProducer()
        s.registerProducer(p, True)
        self.assertEqual(p.calls, ["stop"])

    def test_split(self):
        """
        It splits although its length is unknown.
        """
        s = stream.ProducerStream()
        a, b = s.split(2)
        s.write(b"abcd")
        s.finish()
        self.assertEqual(b"".join(drain(a)), b"ab")
        self.assertEqual(b"".join(drain(b)), b"cd")


class StreamProducerTests(SynchronousTestCase):
    """
    L{stream.StreamProducer}, the stream written to a consumer.
    """

    def test_interface(self):
        """
        It is an L{IPushProducer}.
        """
        verifyObject(IPushProducer, stream.StreamProducer(None))

    def test_synchronousStream(self):
        """
        A stream with synchronous data is written whole, without copies;
        the producer registers and unregisters itself; the Deferred fires.
        """
        chunks = [b"a" * 10, b"b" * 10, b"c"]
        consumer = FakeConsumer()
        d = stream.StreamProducer(ChunkStream(chunks)).beginProducing(consumer)
        self.assertIsNone(self.successResultOf(d))
        self.assertEqual(consumer.written, chunks)
        for wrote, chunk in zip(consumer.written, chunks, strict=True):
            self.assertIs(wrote, chunk)
        self.assertEqual(consumer.unregistered, 1)

    def test_noStream(self):
        """
        A C{None} stream finishes at once.
        """
        d = stream.StreamProducer(None).beginProducing(FakeConsumer())
        self.assertIsNone(self.successResultOf(d))

    def test_manySynchronousChunks(self):
        """
        100,000 chunks available synchronously (also as fired Deferreds)
        are written without recursion.
        """
        for fired in (False, True):
            consumer = FakeConsumer()
            s = ChunkStream([b"x"] * 100000, fired=fired)
            d = stream.StreamProducer(s).beginProducing(consumer)
            self.successResultOf(d)
            self.assertEqual(len(consumer.written), 100000)

    def test_pauseAndResume(self):
        """
        A consumer that pauses the producer stops the writing until it
        resumes it.
        """
        consumer = FakeConsumer(pauseEvery=2)
        producer = stream.StreamProducer(ChunkStream([b"1", b"2", b"3", b"4", b"5"]))
        d = producer.beginProducing(consumer)
        self.assertEqual(consumer.written, [b"1", b"2"])
        self.assertNoResult(d)
        producer.resumeProducing()
        self.assertEqual(consumer.written, [b"1", b"2", b"3", b"4"])
        producer.resumeProducing()
        self.assertEqual(len(consumer.written), 5)
        self.successResultOf(d)

    def test_deferredReadFiresWhilePaused(self):
        """
        twisted.web2 #2736: a read's Deferred that fires while the producer
        is paused does not end the body early nor lose the chunk: the chunk
        is written on resume, and the rest follows.
        """
        source = ManualStream()
        consumer = FakeConsumer()
        producer = stream.StreamProducer(source)
        d = producer.beginProducing(consumer)
        source.deliver(b"one")
        producer.pauseProducing()
        source.deliver(b"two")
        self.assertEqual(consumer.written, [b"one"])
        self.assertNoResult(d)
        self.assertIsNone(source.pending)
        producer.resumeProducing()
        self.assertEqual(consumer.written, [b"one", b"two"])
        source.deliver(b"three")
        source.deliver(None)
        self.assertEqual(consumer.written, [b"one", b"two", b"three"])
        self.successResultOf(d)

    def test_pauseResumeDuringPendingRead(self):
        """
        Pausing and resuming while a read is pending neither starts a
        second read nor loses the first one's data.
        """
        source = ManualStream()
        consumer = FakeConsumer()
        producer = stream.StreamProducer(source)
        d = producer.beginProducing(consumer)
        producer.pauseProducing()
        producer.resumeProducing()
        self.assertEqual(source.reads, 1)
        source.deliver(b"a")
        source.deliver(None)
        self.assertEqual(consumer.written, [b"a"])
        self.successResultOf(d)

    def test_consumerPausesAndResumesInsideWrite(self):
        """
        A consumer that pauses and resumes the producer from inside
        C{write} (as a transport flushing synchronously may) does not get
        two reading loops.
        """
        source = ManualStream()

        class Bouncy(FakeConsumer):
            def write(self, data):
                FakeConsumer.write(self, data)
                self.producer.pauseProducing()
                self.producer.resumeProducing()

        consumer = Bouncy()
        d = stream.StreamProducer(source).beginProducing(consumer)
        source.deliver(b"a")
        self.assertIsNotNone(source.pending)
        source.deliver(b"b")
        source.deliver(None)
        self.assertEqual(consumer.written, [b"a", b"b"])
        self.successResultOf(d)

    def test_endWhilePaused(self):
        """
        The end of the stream arriving while paused finishes the producer.
        """
        source = ManualStream()
        consumer = FakeConsumer()
        producer = stream.StreamProducer(source)
        d = producer.beginProducing(consumer)
        producer.pauseProducing()
        source.deliver(None)
        self.successResultOf(d)
        self.assertEqual(consumer.unregistered, 1)

    def test_streamError(self):
        """
        A read that raises or fails fails the Deferred and unregisters.
        """
        consumer = FakeConsumer()
        d = stream.StreamProducer(ChunkStream([b"a", KeyError("x")])).beginProducing(consumer)
        self.failureResultOf(d, KeyError)
        self.assertEqual(consumer.unregistered, 1)
        source = ManualStream()
        d = stream.StreamProducer(source).beginProducing(FakeConsumer())
        source.fail(OSError("disk"))
        self.failureResultOf(d, OSError)

    def test_stopProducing(self):
        """
        C{stopProducing} closes the stream and fails the Deferred with
        L{ConnectionLost}; a read completing afterwards is ignored.
        """
        source = ManualStream()
        consumer = FakeConsumer()
        producer = stream.StreamProducer(source)
        d = producer.beginProducing(consumer)
        pending = source.pending
        producer.stopProducing()
        self.failureResultOf(d, ConnectionLost)
        self.assertEqual(source.closeCount, 1)
        pending.callback(b"late")
        self.assertEqual(consumer.written, [])


class Echo(Protocol):
    """
    Upper-cases what it receives; records how the connection ended.
    """

    reason = None

    def dataReceived(self, data):
        self.transport.write(data.upper())

    def connectionLost(self, reason):
        Echo.reason = reason


class ConnectStreamTests(SynchronousTestCase):
    """
    L{stream.connectStream}.
    """

    def test_protocolOverStream(self):
        """
        The protocol gets the input and its output is the result; at the
        end it loses its connection with L{ConnectionDone}.
        """
        out = stream.connectStream(ChunkStream([b"ab", b"cd"]), Factory.forProtocol(Echo))
        self.assertEqual(drain(out), [b"AB", b"CD"])
        self.assertTrue(Echo.reason.check(ConnectionDone))

    def test_inputError(self):
        """
        An input error reaches the protocol and the output's reader.
        """
        out = stream.connectStream(ChunkStream([b"a", ValueError("in")]), Factory.forProtocol(Echo))
        self.assertEqual(out.read(), b"A")
        self.failureResultOf(out.read(), ValueError)
        self.assertTrue(Echo.reason.check(ValueError))

    def test_outputBackpressure(self):
        """
        The input is read only while the output is below its limit, and
        closing the output stops the input.
        """
        source = ManualStream()
        out = stream.connectStream(source, Factory.forProtocol(Echo))
        out.bufferLimit = 3
        source.deliver(b"abcd")
        self.assertIsNone(source.pending)
        self.assertEqual(out.read(), b"ABCD")
        self.assertIsNotNone(source.pending)
        out.close()
        self.assertEqual(source.closeCount, 1)
        self.assertTrue(Echo.reason.check(ConnectionLost))

    def test_deferredInput(self):
        """
        Input that arrives later is passed on when it arrives.
        """
        source = ManualStream()
        out = stream.connectStream(source, Factory.forProtocol(Echo))
        d = out.read()
        self.assertNoResult(d)
        source.deliver(b"x")
        self.assertEqual(self.successResultOf(d), b"X")
        source.deliver(None)
        self.assertIsNone(out.read())
